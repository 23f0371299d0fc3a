import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { BranchNode } from '../../src/extension/branchesTree';
import { Commands, EXTENSION_ID, ViewContainer } from '../../src/extension/constants';
import type { EarlyExitApi } from '../../src/extension/extension';
import { canSeeWorkbench, click, screenshot, texts, until, workspaceFile } from './automation';

const RESNET_POINTS = ['block1', 'block2', 'block3', 'block4', 'block5', 'block6', 'block7', 'block8'];

async function api(): Promise<EarlyExitApi> {
  const ext = vscode.extensions.getExtension<EarlyExitApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed in the test host`);
  return ext.activate();
}

async function tree(a: EarlyExitApi): Promise<{ root: BranchNode; points: BranchNode[] }> {
  const [root] = await a.branches.getChildren();
  assert.ok(root, 'the Branches tree is empty');
  return { root, points: await a.branches.getChildren(root) };
}

const placed = (points: BranchNode[]) => points.filter((p) => p.kind === 'point' && p.placed).map((p) => (p.kind === 'point' ? p.point.id : ''));

suite('Early Exit extension', () => {
  test('activates in a workspace with an experiment file', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    // workspaceContains:**/*.exits.json activates it without anything else asking for it.
    await until(() => ext.isActive, 10_000, 'activation by workspaceContains');
    const a = await api();
    assert.ok(a.branches && a.runs && a.branchesView);
  });

  test('registers every command contributed in package.json', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const contributed: string[] = ext.packageJSON.contributes.commands.map((c: { command: string }) => c.command);
    assert.deepEqual([...contributed].sort(), Object.values(Commands).sort(), 'package.json and constants.ts disagree');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
    for (const c of ext.packageJSON.contributes.commands) assert.equal(c.category, 'Early Exit', `${c.command} has no "Early Exit" category`);
  });

  test('the Branches tree lists the fixture ResNet-18 and its candidate exit points', async () => {
    const { root, points } = await tree(await api());
    assert.equal(root.kind, 'backbone');
    if (root.kind !== 'backbone') return;
    assert.equal(root.description.label, 'ResNet-18');
    assert.ok(root.file.path.endsWith('/resnet18.exits.json'));
    assert.deepEqual(points.map((p) => (p.kind === 'point' ? p.point.id : p.kind)), RESNET_POINTS);
    assert.deepEqual(placed(points), ['block2', 'block4']);
    const item = (await api()).branches.getTreeItem(points[1]);
    assert.equal(item.checkboxState, vscode.TreeItemCheckboxState.Checked);
    assert.match(String(item.description), /^16×16×128|^32×32×64/);
  });

  test('the Runs view lists the run folders, grouped by experiment, with their state', async () => {
    const a = await api();
    const write = async (id: string, status: object) =>
      vscode.workspace.fs.writeFile(workspaceFile(`.early-exit/runs/${id}/status.json`), new TextEncoder().encode(JSON.stringify({ id, ...status })));
    await write('20260101-000000-resnet18', { experiment: 'resnet18', state: 'finished', epoch: 3, epochs: 3, backend: 'wasm', createdAt: '2026-01-01T00:00:00Z' });
    await write('20260102-000000-resnet18', { experiment: 'resnet18', state: 'failed', epoch: 1, epochs: 3, backend: 'cpu', error: 'NaN loss at epoch 2, step 17', createdAt: '2026-01-02T00:00:00Z' });
    const groups = await until(async () => {
      const g = await a.runs.getChildren();
      return g.length === 1 && g[0].kind === 'experiment' && g[0].runs.length === 2 ? g : undefined;
    }, 5000, 'the runs to be listed');
    const runs = await a.runs.getChildren(groups[0]);
    const items = runs.map((r) => a.runs.getTreeItem(r));
    assert.deepEqual(items.map((i) => i.label), ['20260102-000000-resnet18', '20260101-000000-resnet18']);
    assert.equal(items[0].description, 'failed · epoch 1/3 · cpu');
    assert.match(String(items[0].tooltip), /NaN loss at epoch 2/);
    assert.equal(items[1].contextValue, 'run.finished');
  });

  test('the Branches view renders in the workbench (screenshot)', async function () {
    await vscode.window.showTextDocument(workspaceFile('resnet18.exits.json'));
    await vscode.commands.executeCommand(`workbench.view.extension.${ViewContainer}`);
    if (!canSeeWorkbench) this.skip();
    const rows = await until(async () => {
      const t = await texts('.pane-body .monaco-list-row', 10_000);
      return t?.some((r) => r.includes('ResNet-18')) && t.some((r) => r.includes('block8')) ? t : undefined;
    }, 20_000, 'the Branches rows to render');
    assert.ok(rows.some((r) => r.includes('block1')), rows.join(' | '));
    const headers = await texts('.pane-header', 1000);
    assert.ok(headers?.some((h) => /branches/i.test(h)) && headers.some((h) => /runs/i.test(h)), `view headers: ${headers?.join(' | ')}`);
    await until(async () => (await texts('.pane-body .monaco-list-row', 5000))?.some((r) => r.includes('20260102-000000-resnet18')), 10_000, 'the Runs rows to render');
    const png = await screenshot('workbench-early-exit');
    assert.ok(png);
  });

  test('placing an exit edits the file, and a hand edit updates the tree', async () => {
    const a = await api();
    const file = workspaceFile('resnet18.exits.json');
    assert.ok(await a.branches.setExits(file, [{ point: 'block6', on: true }, { point: 'block2', on: false }]));
    const saved = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(file)));
    assert.deepEqual(saved.exits.map((e: { point: string }) => e.point), ['block4', 'block6']);
    assert.deepEqual(placed((await tree(a)).points), ['block4', 'block6']);

    const doc = await vscode.workspace.openTextDocument(file);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(file, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), JSON.stringify({ ...saved, exits: [{ point: 'block1' }] }, null, 2));
    assert.ok(await vscode.workspace.applyEdit(edit));
    await until(async () => placed((await tree(a)).points).join() === 'block1', 5000, 'the tree to follow the hand edit');
    await doc.save();
  });

  test('ticking a checkbox in the rendered tree places an exit in the file', async function () {
    if (!canSeeWorkbench) this.skip();
    const a = await api();
    const file = workspaceFile('resnet18.exits.json');
    await vscode.commands.executeCommand(`workbench.view.extension.${ViewContainer}`);
    const before = placed((await tree(a)).points);
    assert.ok(!before.includes('block7'), before.join());
    await click('.pane-body .monaco-list-row', 'block7', '.custom-view-tree-node-item-checkbox');
    await until(async () => {
      const saved = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(file)));
      return saved.exits.some((e: { point: string }) => e.point === 'block7');
    }, 5000, 'the click to reach the file');
    assert.deepEqual(placed((await tree(a)).points), [...before, 'block7']);
  });

  test('New Experiment writes a file and Select Backbone edits it', async () => {
    const uri = await vscode.commands.executeCommand<vscode.Uri>(Commands.newExperiment, { backbone: 'vgg13' });
    assert.ok(uri?.path.endsWith('/vgg13.exits.json'), String(uri));
    const read = async () => JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)));
    assert.equal((await read()).backbone.name, 'vgg13');
    assert.ok(await vscode.commands.executeCommand(Commands.selectBackbone, uri, 'alexnet'));
    assert.equal((await read()).backbone.name, 'alexnet');
    // The tree shows the active editor's experiment.
    await vscode.window.showTextDocument(uri);
    await until(async () => {
      const [root] = await (await api()).branches.getChildren();
      return root?.kind === 'backbone' && root.description.label === 'AlexNet';
    }, 5000, 'the tree to show the active experiment');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.fs.delete(uri);
  });
});
