/**
 * The plan over tiers in a real VS Code (code-server): Choose Tier Preset, the Branches view's tiers
 * row, each block's tier and the cut rows; a cut moved with its inline arrow and Move Cut Here; the
 * Results panel of a run of that experiment following the file, and its changes saved to the file.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { BranchNode } from '../../src/extension/branchesTree';
import { Commands, EXTENSION_ID, ViewContainer } from '../../src/extension/constants';
import type { EarlyExitApi } from '../../src/extension/extension';
import { makeRun } from '../fixtures/make-run';
import { canSeeWorkbench, clickIn, requireWorkbench, inWebview, readJson, screenshot, showViews, texts, until, workspaceFile } from './automation';

async function api(): Promise<EarlyExitApi> {
  return vscode.extensions.getExtension<EarlyExitApi>(EXTENSION_ID)!.activate();
}

/** The backbone's children of the Branches tree once it shows `file`. */
async function rows(a: EarlyExitApi, file: vscode.Uri): Promise<BranchNode[]> {
  return until(async () => {
    const [root] = await a.branches.getChildren();
    return root && root.kind === 'backbone' && root.file.toString() === file.toString() ? a.branches.getChildren(root) : undefined;
  }, 15_000, `the Branches tree to show ${file.path}`);
}

/** What the results panel's tiers section says (its summary line), read inside the webview. */
const tierSummary = () => inWebview<string>('(body) => { const s = body.ownerDocument.querySelector(".ee-tiers-summary"); return s ? s.textContent : ""; }', 'Results', 5000);

suite('Exits across tiers in the editor', function () {
  this.timeout(90_000);
  const file = workspaceFile('tiers.exits.json');
  const runDir = workspaceFile('.early-exit/runs/20260301-000000-tiers');

  suiteSetup(async () => {
    // an experiment and a finished run of it (same name, backbone and exits): the panel follows the file's plan
    const x = { name: 'tiers', backbone: { name: 'resnet18', width: 1, input: [32, 32, 3], classes: 10 }, exits: [{ point: 'block2' }, { point: 'block4' }, { point: 'block6' }] };
    await vscode.workspace.fs.writeFile(file, new TextEncoder().encode(JSON.stringify(x, null, 2) + '\n'));
    makeRun(runDir.fsPath, { seed: 11 });
    const status = JSON.parse(fs.readFileSync(`${runDir.fsPath}/status.json`, 'utf8'));
    fs.writeFileSync(`${runDir.fsPath}/status.json`, JSON.stringify({ ...status, experiment: 'tiers' }));
  });
  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.fs.delete(file).then(undefined, () => undefined);
    await vscode.workspace.fs.delete(runDir, { recursive: true }).then(undefined, () => undefined);
  });

  test('Choose Tier Preset writes the plan; the Branches view shows the tiers, each block\'s tier and the cuts', async () => {
    const a = await api();
    await vscode.window.showTextDocument(file);
    assert.ok((await rows(a, file)).every((n) => n.kind === 'point'), 'no plan: only the blocks');
    assert.equal(await vscode.commands.executeCommand(Commands.chooseTierPreset, file, 'phone-wifi-cloud'), true);
    assert.deepEqual((await readJson(file)).deployment, { preset: 'phone-wifi-cloud', cuts: ['block2', 'block4'], quantization: 'float32' });
    const kids = await until(async () => { const r = await rows(a, file); return r[0]?.kind === 'tiers' ? r : undefined; }, 15_000, 'the tiers row');
    assert.deepEqual(kids.map((n) => (n.kind === 'point' ? n.point.id : n.kind)), ['tiers', 'block1', 'block2', 'cut', 'block3', 'block4', 'cut', 'block5', 'block6', 'block7', 'block8']);
    const item = (n: BranchNode) => a.branches.getTreeItem(n);
    assert.equal(item(kids[0]).description, 'phone + Wi-Fi edge + WAN cloud · float32 maps');
    assert.match(String(item(kids[2]).description), /· device$/);
    assert.match(String(item(kids[4]).description), /· edge$/);
    assert.match(String(item(kids[10]).description), /· cloud$/);
    assert.equal(item(kids[3]).label, 'device → edge');
    assert.match(String(item(kids[3]).description), /^after block2 · Wi-Fi 18\.9 Mbit\/s, RTT 5\.00 ms · 262\.1 KB f32 \/ 65\.5 KB int8$/);
    assert.equal(item(kids[3]).contextValue, 'tierCut.up.down');
  });

  test('a cut moved in the Branches view moves in the Results panel of the run; a plan changed in the panel is saved to the file', async () => {
    // the panel and the inline action need the rendered workbench: without it the test fails saying so
    requireWorkbench('the Results panel and the inline Move Cut Down action');
    const a = await api();
    if (canSeeWorkbench) {
      assert.equal(await vscode.commands.executeCommand<boolean>(Commands.openResults, runDir.fsPath), true);
      await until(async () => /cuts after block2 \| block4/.test((await tierSummary()) ?? ''), 20_000, 'the panel to show the file\'s plan');
    }
    await vscode.window.showTextDocument(file, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false });
    const cut = (await rows(a, file)).find((n) => n.kind === 'cut')!;
    if (canSeeWorkbench) {
      // the real UI: select the cut's row, then its inline "Move Cut Down" arrow
      await showViews(ViewContainer);
      await until(async () => (await texts('.pane-body .monaco-list-row', 5000))?.some((r) => r.includes('device → edge')), 10_000, 'the cut row');
      await until(async () => {
        await clickIn({ selector: '.pane-body .monaco-list-row', hasText: 'device → edge' });
        return clickIn({ selector: '.pane-body .monaco-list-row', hasText: 'device → edge', hover: true, child: '.action-label[aria-label="Move Cut Down"]', timeout: 1500 }).catch(() => false);
      }, 10_000, 'the inline Move Cut Down action');
    } else {
      assert.equal(await vscode.commands.executeCommand(Commands.moveCutDown, cut), true);
    }
    await until(async () => (await readJson(file)).deployment?.cuts?.[0] === 'block3', 10_000, 'the cut to move in the file');
    assert.deepEqual((await readJson(file)).deployment.cuts, ['block3', 'block4']);
    // Move Cut Here on block6, for the edge's cut
    const block6 = (await rows(a, file)).find((n) => n.kind === 'point' && n.point.id === 'block6');
    assert.equal(await vscode.commands.executeCommand(Commands.moveCutHere, block6, 1), true);
    await until(async () => (await readJson(file)).deployment?.cuts?.[1] === 'block6', 10_000, 'Move Cut Here');
    await until(async () => /cuts after block3 \| block6/.test((await tierSummary()) ?? ''), 20_000, 'the panel to follow the file');
    await inWebview('(body) => { body.ownerDocument.querySelector(".ee-tiers").scrollIntoView(); return true; }', 'Results', 5000);
    await screenshot('workbench-tiers');
    // the panel's precision select → setDeployment → the file
    await inWebview('(body) => { const s = body.ownerDocument.querySelector(".ee-tier-quant"); s.value = "int8"; s.dispatchEvent(new Event("change")); return true; }', 'Results', 5000);
    await until(async () => (await readJson(file)).deployment?.quantization === 'int8', 10_000, 'the panel\'s change to reach the file');
    assert.deepEqual((await readJson(file)).deployment, { preset: 'phone-wifi-cloud', cuts: ['block3', 'block6'], quantization: 'int8' });
    await until(async () => a.branches.getTreeItem((await rows(a, file))[0]).description === 'phone + Wi-Fi edge + WAN cloud · int8 maps', 10_000, 'the tree to follow');
  });

  test('Remove Tier Plan takes the section out of the file and the rows out of the tree', async () => {
    const a = await api();
    assert.equal(await vscode.commands.executeCommand(Commands.removeTierPlan, file), true);
    assert.equal((await readJson(file)).deployment, undefined);
    await until(async () => (await rows(a, file)).every((n) => n.kind === 'point'), 10_000, 'the tier rows to go');
  });
});
