import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { TrainingRun } from '../../src/runs/manager';
import type { TrainResult } from '../../src/extension/commands';
import { Commands, EXTENSION_ID } from '../../src/extension/constants';
import type { EarlyExitApi } from '../../src/extension/extension';
import { until, workspaceFile } from './automation';

async function api(): Promise<EarlyExitApi> {
  const ext = vscode.extensions.getExtension<EarlyExitApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed in the test host`);
  return ext.activate();
}

/** The tiny fixture experiment (ResNet-18 ×1/32, exits at block2 and block5, 256 synthetic images), changed by `patch`. */
function tinyExperiment(patch: (x: Record<string, any>) => void = () => {}): string {
  const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
  const x = JSON.parse(readFileSync(join(ext.extensionPath, 'test/fixtures/tiny.exits.json'), 'utf8'));
  patch(x);
  return JSON.stringify(x, null, 2) + '\n';
}

async function writeWorkspaceFile(name: string, text: string): Promise<vscode.Uri> {
  const uri = workspaceFile(name);
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
  return uri;
}

const ours = (uri: vscode.Uri) => vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'Early Exit');
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

suite('Training from the extension', function () {
  this.timeout(120_000);

  teardown(() => vscode.commands.executeCommand('workbench.action.closeAllEditors'));

  test('an invalid experiment file shows a diagnostic at the field, and training refuses naming it', async () => {
    const uri = await writeWorkspaceFile('invalid.exits.json', tinyExperiment((x) => (x.training.batchSize = 0)));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const [d] = await until(() => ours(uri).length && ours(uri), 5000, 'the diagnostic');
    assert.match(d.message, /^training\.batchSize: must be ≥ 1, got 0/);
    assert.equal(d.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(doc.getText(d.range), '"batchSize"');

    const result = await vscode.commands.executeCommand<TrainResult>(Commands.train, uri);
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.error, /^cannot train invalid\.exits\.json: training\.batchSize: must be ≥ 1/);
    assert.equal((await api()).training.active.size, 0);

    // A hand fix clears the diagnostic.
    const edit = new vscode.WorkspaceEdit();
    edit.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), tinyExperiment());
    assert.ok(await vscode.workspace.applyEdit(edit));
    await until(() => ours(uri).length === 0, 5000, 'the diagnostic to clear');
    await doc.save();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.fs.delete(uri);
  });

  test('"Train multi-exit model" trains the tiny fixture: a finished run with results on disk and in the Runs view', async () => {
    const a = await api();
    const uri = await writeWorkspaceFile('tiny.exits.json', tinyExperiment());
    const messages: string[] = [];
    const sub = a.training.onDidReceive((e) => messages.push(e.message.type));
    const result = await vscode.commands.executeCommand<TrainResult>(Commands.train, uri);
    sub.dispose();
    assert.ok(result.ok, result.ok ? '' : result.error);
    assert.equal(result.runs.length, 1);
    const [run] = result.runs;
    assert.equal(run.state, 'finished', run.error);
    for (const type of ['started', 'progress', 'epochEnd', 'evaluated', 'finished']) assert.ok(messages.includes(type), `no "${type}" message: ${messages.join()}`);

    assert.ok(existsSync(join(run.dir, 'results.json')), 'results.json is missing');
    const results = readJson(join(run.dir, 'results.json'));
    assert.equal(results.epochs, 1);
    assert.equal(results.backbone.width, 0.03125);
    assert.equal(results.backend, 'wasm');
    const status = readJson(join(run.dir, 'status.json'));
    assert.equal(status.state, 'finished');
    assert.equal(status.experiment, 'tiny');

    const item = await until(async () => {
      for (const group of await a.runs.getChildren()) {
        if (group.kind !== 'experiment' || group.name !== 'tiny') continue;
        const node = (await a.runs.getChildren(group)).find((n) => n.kind === 'run' && n.run.status.id === run.id);
        if (node) return a.runs.getTreeItem(node);
      }
      return undefined;
    }, 5000, 'the run in the Runs view');
    assert.equal(item.contextValue, 'run.finished');
    assert.equal(a.training.active.size, 0);
    // Open Results (also the notification's button) shows the run in the results panel.
    assert.equal(await vscode.commands.executeCommand<boolean>(Commands.openResults, run.dir), true);
    await until(
      () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('earlyExit.results')),
      5000,
      'the results panel',
    );
    // The extension host never loads tfjs: training happened in the worker.
    assert.deepEqual(Object.keys(require.cache).filter((k) => k.includes('@tensorflow')), []);
    await vscode.workspace.fs.delete(uri);
  });

  test('Stop Training cancels a running job', async () => {
    const a = await api();
    const uri = await writeWorkspaceFile('tiny-stop.exits.json', tinyExperiment((x) => {
      x.name = 'tiny-stop';
      x.training.epochs = 20;
    }));
    const firstProgress = new Promise<TrainingRun>((resolve) => {
      const sub = a.training.onDidReceive((e) => {
        if (e.message.type !== 'progress') return;
        sub.dispose();
        resolve(e.run);
      });
    });
    const pending = vscode.commands.executeCommand<TrainResult>(Commands.train, uri);
    const running = await firstProgress;
    assert.equal(a.training.active.size, 1);
    assert.equal(await vscode.commands.executeCommand<number>(Commands.stopTraining), 1);
    const result = await pending;
    assert.ok(result.ok);
    assert.deepEqual(result.runs.map((r) => r.state), ['cancelled']);
    assert.equal(readJson(join(running.dir, 'status.json')).state, 'cancelled');
    assert.ok(!existsSync(join(running.dir, 'results.json')), 'a cancelled run has no results');
    assert.equal(a.training.active.size, 0);
    await vscode.workspace.fs.delete(uri);
  });
});
