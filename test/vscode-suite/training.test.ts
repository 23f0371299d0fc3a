import * as assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { TrainingRun } from '../../src/runs/manager';
import type { TrainResult } from '../../src/extension/commands';
import { Commands, EXTENSION_ID } from '../../src/extension/constants';
import type { EarlyExitApi } from '../../src/extension/extension';
import { clickIn, evaluate, expectScreenshot, inWebview, REPO, requireWorkbench, runRow, screenshot, showViews, texts, trustWorkspace, until, workspaceFile } from './automation';
import { ViewContainer } from '../../src/extension/constants';

async function api(): Promise<EarlyExitApi> {
  const ext = vscode.extensions.getExtension<EarlyExitApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed in the test host`);
  return ext.activate();
}

/** The tiny fixture experiment (ResNet-18 ×1/32, exits at block2 and block5, 256 synthetic images), changed by `patch`. */
function tinyExperiment(patch: (x: Record<string, any>) => void = () => {}): string {
  const x = JSON.parse(readFileSync(join(REPO, 'test/fixtures/tiny.exits.json'), 'utf8'));
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
  // Training needs a trusted workspace; the code-server host starts untrusted (extension.test.ts checks the refusal).
  suiteSetup(() => trustWorkspace());
  /** The run the training test finished, for the results-panel test. */
  let trained: { dir: string; points: string[] } | undefined;

  test('an invalid experiment file shows a diagnostic at the field, and training refuses naming it', async () => {
    const uri = await writeWorkspaceFile('invalid.exits.json', tinyExperiment((x) => (x.training.batchSize = 0)));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const [d] = await until(() => ours(uri).length && ours(uri), 15_000, 'the diagnostic');
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
    await until(() => ours(uri).length === 0, 15_000, 'the diagnostic to clear');
    await doc.save();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.fs.delete(uri);
  });

  test('"Train multi-exit model" trains the tiny fixture as the editor shows it: a finished run with results on disk and in the Runs view', async () => {
    const a = await api();
    const uri = await writeWorkspaceFile('tiny.exits.json', tinyExperiment());
    // An edit not saved yet: Train saves it first and trains what the editor shows (6 timing images, not 4;
    // a field that leaves the numbers the next tests check as they were).
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), tinyExperiment((x) => { x.evaluation.timingImages = 6; }));
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(doc.isDirty);
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
    assert.equal(readJson(join(run.dir, 'experiment.json')).evaluation.timingImages, 6, 'the run trained the editor\'s content');
    assert.equal(readJson(join(run.dir, 'results.json')).timing.images, 6);
    assert.equal(doc.isDirty, false, 'and the editor was saved first');
    assert.equal(JSON.parse(readFileSync(uri.fsPath, 'utf8')).evaluation.timingImages, 6);
    const results = readJson(join(run.dir, 'results.json'));
    trained = { dir: run.dir, points: results.points };
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
    }, 15_000, 'the run in the Runs view');
    assert.equal(item.contextValue, 'run.finished');
    assert.equal(a.training.active.size, 0);
    // Open Results (also the notification's button) shows the run in the results panel.
    assert.equal(await vscode.commands.executeCommand<boolean>(Commands.openResults, run.dir), true);
    await until(
      () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('earlyExit.results')),
      15_000,
      'the results panel',
    );
    // The extension host never loads tfjs: training happened in the worker.
    assert.deepEqual(Object.keys(require.cache).filter((k) => k.includes('@tensorflow')), []);
    await vscode.workspace.fs.delete(uri);
  });

  test('with the backend setting "torch" (and Python Path set) the same command trains on the PyTorch engine', async () => {
    const a = await api();
    const cfg = () => vscode.workspace.getConfiguration('earlyExit');
    // Debian's python3-torch, which `npm run test:install` installs (EARLY_EXIT_PYTHON overrides)
    const python = process.env.EARLY_EXIT_PYTHON || '/usr/bin/python3';
    await cfg().update('backend', 'torch', vscode.ConfigurationTarget.Global);
    await cfg().update('pythonPath', python, vscode.ConfigurationTarget.Global);
    try {
      const uri = await writeWorkspaceFile('tiny-torch.exits.json', tinyExperiment((x) => { x.name = 'tiny-torch'; x.evaluation.timingImages = 0; }));
      const result = await vscode.commands.executeCommand<TrainResult>(Commands.train, uri);
      assert.ok(result.ok, result.ok ? '' : result.error);
      const [run] = result.runs;
      assert.equal(run.state, 'finished', run.error);
      const status = readJson(join(run.dir, 'status.json'));
      assert.equal(status.backend, 'torch-cpu');
      assert.match(status.backendReason, /^torch \S+ on cpu .*Python \d+\.\d+\.\d+ at \S+ \(earlyExit\.pythonPath\)/);
      assert.equal(readJson(join(run.dir, 'results.json')).backend, 'torch-cpu');
      assert.ok(existsSync(join(run.dir, 'model', 'weights.bin')));
      assert.equal(a.training.active.size, 0);
      await vscode.workspace.fs.delete(uri);
    } finally {
      await cfg().update('backend', undefined, vscode.ConfigurationTarget.Global);
      await cfg().update('pythonPath', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('Open Results shows the panel with its charts drawn and the exit table filled', async () => {
    assert.ok(trained, 'the training test before this one did not finish a run');
    requireWorkbench('this test');
    assert.equal(await vscode.commands.executeCommand<boolean>(Commands.openResults, trained.dir), true);
    // Inside the webview: every canvas (trade-off, one histogram per exit, loss, accuracy) has
    // pixels other than its background; the exit table has a row per exit, the final classifier
    // and the totals; the Pareto front's band (charts foreground, translucent) is on the trade-off chart.
    const probe = `(body) => {
      const doc = body.ownerDocument;
      const css = getComputedStyle(body);
      const parse = (c) => {
        const ctx = doc.createElement('canvas').getContext('2d');
        ctx.fillStyle = c; ctx.fillRect(0, 0, 1, 1);
        return [...ctx.getImageData(0, 0, 1, 1).data];
      };
      const bg = parse(css.getPropertyValue('--vscode-editor-background').trim() || '#ffffff');
      const fg = parse(css.getPropertyValue('--vscode-charts-foreground').trim() || '#616161');
      const dark = body.classList.contains('vscode-dark') || body.classList.contains('vscode-high-contrast');
      const a = dark ? 0.45 : 0.35;
      const band = [0, 1, 2].map((i) => Math.round(a * fg[i] + (1 - a) * bg[i]));
      const canvases = [...doc.querySelectorAll('canvas')].map((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let drawn = 0, bandPx = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (Math.abs(d[i] - bg[0]) + Math.abs(d[i + 1] - bg[1]) + Math.abs(d[i + 2] - bg[2]) > 30) drawn++;
          if (Math.abs(d[i] - band[0]) + Math.abs(d[i + 1] - band[1]) + Math.abs(d[i + 2] - band[2]) <= 12) bandPx++;
        }
        const card = c.closest('.ee-card');
        return { cls: card ? card.className : '', w: c.width, h: c.height, drawn: drawn / (c.width * c.height), bandPx };
      });
      const rows = [...doc.querySelectorAll('.ee-exit-table tbody tr')].map((r) => r.textContent);
      return { canvases, rows, title: doc.querySelector('h2') && doc.querySelector('h2').textContent };
    }`;
    const seen = await until(async () => {
      const v = await inWebview<{ canvases: { cls: string; w: number; h: number; drawn: number; bandPx: number }[]; rows: string[]; title: string }>(probe, 'Results', 15_000).catch(() => undefined);
      return v && v.rows.length && v.canvases.length === 4 + trained!.points.length && v.canvases.every((c) => c.drawn > 0.01) ? v : undefined;
    }, 45_000, 'the results webview to draw its charts');
    const summary = JSON.stringify(seen.canvases);
    assert.equal(seen.rows.length, trained.points.length + 2, `exit table rows: ${seen.rows.join(' | ')}`);
    trained.points.forEach((p, b) => assert.match(seen.rows[b], new RegExp(`#\\d+ ${p}`)));
    assert.match(seen.rows[seen.rows.length - 2], /^final/);
    assert.match(seen.rows[seen.rows.length - 1], /^total/);
    assert.match(seen.title, /Proposed.*ResNet-18.*synthetic/);
    const tradeOff = seen.canvases.find((c) => c.cls.includes('ee-tradeoff'));
    assert.ok(tradeOff, summary);
    assert.ok(tradeOff.bandPx > 200, `the Pareto front band is not visible on the trade-off chart: ${summary}`);
    assert.equal(seen.canvases.filter((c) => c.cls.includes('ee-hist')).length, trained.points.length, summary);
    // trade-off, every rule on this network, loss, accuracy and one histogram per exit
    assert.equal(seen.canvases.filter((c) => c.cls.includes('ee-rules')).length, 1, summary);
    await vscode.commands.executeCommand('notifications.clearAll');
    // the run's id (its start time) and the measured speed-up change from run to run
    await expectScreenshot('results-panel', {
      mask: [
        { selector: '.tabs-container .tab', hasText: 'Results:' },
        // the rows of the runs this suite trained (ids …-tiny, …-tiny-torch): their labels are the time they were trained
        { selector: '.pane-body .monaco-list-row[aria-label*="-tiny"]' },
        { selector: '.ee-run-id', inWebview: true },
        { selector: '.ee-stat[title*="per image"] .ee-stat-value', inWebview: true },
      ],
    });
  });

  /** Starts "Train multi-exit model" on a 20-epoch tiny experiment and resolves at its first progress message. */
  async function startLongRun(a: Awaited<ReturnType<typeof api>>, name: string) {
    const uri = await writeWorkspaceFile(`${name}.exits.json`, tinyExperiment((x) => {
      x.name = name;
      x.training.epochs = 20;
    }));
    const firstProgress = new Promise<TrainingRun>((resolve) => {
      const sub = a.training.onDidReceive((e) => {
        // this experiment's run only (run ids are <time>-<name>-<suffix>)
        if (e.message.type !== 'progress' || !e.run.id.includes(`-${name}-`)) return;
        sub.dispose();
        resolve(e.run);
      });
    });
    const pending = vscode.commands.executeCommand<TrainResult>(Commands.train, uri);
    return { uri, pending, running: await firstProgress };
  }

  test('a running run shows live progress in the Runs view, and its Stop action stops it', async () => {
    const a = await api();
    const { uri, pending, running } = await startLongRun(a, 'tiny-live');
    await showViews(ViewContainer);
    const live = /^epoch \d+\/20 · \d+% · loss \d+\.\d{3}$/;
    const node = await until(async () => {
      for (const g of await a.runs.getChildren()) {
        if (g.kind !== 'experiment' || g.name !== 'tiny-live') continue;
        const n = (await a.runs.getChildren(g)).find((r) => r.kind === 'run' && r.run.status.id === running.id);
        // the progress is the label while it trains (first, so the sidebar never hides it), when it started the description
        if (n && live.test(String(a.runs.getTreeItem(n).label))) return n;
      }
      return undefined;
    }, 10_000, 'live progress on the run item');
    assert.equal(a.runs.getTreeItem(node).contextValue, 'run.running');
    requireWorkbench('the rendered run row');
    await until(async () => (await texts(runRow(running.id), 3000))?.some((r) => /epoch \d+\/20 · \d+% · loss/.test(r)), 10_000,
      'the rendered run row to show live progress');
    // At the default sidebar width the progress is in sight: its label ends inside the row (no ellipsis over it).
    const fits = await evaluate<{ label: number; row: number; text: string }[]>(`${runRow(running.id)} .monaco-icon-label-container`,
      '(els) => els.map((e) => ({ label: e.querySelector(".label-name").getBoundingClientRect().right, row: e.getBoundingClientRect().right, text: e.textContent }))');
    assert.ok(fits?.length && fits.every((f) => f.label <= f.row), `the progress is cut off: ${JSON.stringify(fits)}`);
    await screenshot('runs-live-progress');
    assert.equal(await vscode.commands.executeCommand<string>(Commands.stopRun, node), 'stopped');
    const result = await pending;
    assert.ok(result.ok);
    assert.deepEqual(result.runs.map((r) => r.state), ['cancelled']);
    assert.equal(a.runs.progressOf(running.id), undefined, 'live progress is dropped when the worker exits');
    await vscode.workspace.fs.delete(uri);
  });

  test('Stop Training cancels a running job; stopped in epoch 1, it says there is nothing to resume', async () => {
    const a = await api();
    await vscode.commands.executeCommand('notifications.clearAll');
    const { uri, pending, running } = await startLongRun(a, 'tiny-stop');
    assert.equal(a.training.active.size, 1);
    assert.equal(await vscode.commands.executeCommand<number>(Commands.stopTraining), 1);
    const result = await pending;
    assert.ok(result.ok);
    assert.deepEqual(result.runs.map((r) => r.state), ['cancelled']);
    assert.equal(readJson(join(running.dir, 'status.json')).state, 'cancelled');
    assert.equal(readJson(join(running.dir, 'status.json')).epoch, 0);
    assert.ok(!existsSync(join(running.dir, 'results.json')), 'a cancelled run has no results');
    assert.equal(a.training.active.size, 0);
    requireWorkbench('the notification and the rendered workbench');
    const toast = await until(async () => (await texts('.notification-toast .notification-list-item-message', 3000))?.find((m) => m.includes(running.id)), 15_000, 'the cancel notification');
    assert.equal(toast, `Early Exit: training of ${running.id} was cancelled; no epoch had finished, so there is no checkpoint to resume from.`);
    const resume = await vscode.commands.executeCommand<TrainResult>(Commands.resumeRun, running.dir);
    assert.equal(resume.ok, false);
    if (!resume.ok) assert.match(resume.error, /has no checkpoint to resume from \(no epoch had finished\); train its experiment again/);
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.workspace.fs.delete(uri);
  });

  test('a run stopped after an epoch offers "Resume", and Resume Run finishes it from its checkpoint', async () => {
    const a = await api();
    await vscode.commands.executeCommand('notifications.clearAll');
    const uri = await writeWorkspaceFile('tiny-resume.exits.json', tinyExperiment((x) => { x.name = 'tiny-resume'; x.training.epochs = 3; }));
    let stopping: Promise<unknown> | undefined;
    const sub = a.training.onDidReceive((e) => {
      if (e.message.type === 'epochEnd' && e.message.metrics.epoch === 1 && !stopping) stopping = e.run.stop();
    });
    const first = await vscode.commands.executeCommand<TrainResult>(Commands.train, uri);
    sub.dispose();
    assert.ok(first.ok);
    const [stopped] = first.runs;
    assert.equal(stopped.state, 'cancelled');
    assert.equal(stopped.epoch, 1);
    requireWorkbench('the notification and the rendered workbench');
    const toast = await until(async () => (await texts('.notification-toast .notification-list-item-message', 3000))?.find((m) => m.includes(stopped.id)), 15_000, 'the cancel notification');
    assert.equal(toast, `Early Exit: training of ${stopped.id} was cancelled; the checkpoint of epoch 1 of 3 is kept.`);
    const actions = await texts('.notification-toast .monaco-button', 3000);
    assert.ok(actions?.includes('Resume'), `actions: ${actions?.join(' | ')}`);
    assert.ok(!(await texts('.notification-toast', 1000))?.some((t) => t.includes('--resume')), 'no CLI flag in VS Code');
    await vscode.commands.executeCommand('notifications.clearAll');
    const resumed = await vscode.commands.executeCommand<TrainResult>(Commands.resumeRun, stopped.dir);
    assert.ok(resumed.ok, resumed.ok ? '' : resumed.error);
    assert.deepEqual(resumed.runs.map((r) => r.state), ['finished']);
    const epochs = readFileSync(join(stopped.dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).epoch);
    assert.deepEqual(epochs, [1, 2, 3], 'epoch 1 kept, 2 and 3 trained after the resume');
    assert.ok(existsSync(join(stopped.dir, 'results.json')));
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.workspace.fs.delete(uri);
  });

  test('a worker that dies at start-up: the notification names the cause, its stderr is in worker.log and the output channel', async function () {
    await vscode.commands.executeCommand('notifications.clearAll');
    // A broken installation: the worker bundle alone in a folder where its runtime packages are missing.
    const broken = mkdtempSync(join(tmpdir(), 'ees-broken-'));
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    copyFileSync(join(ext.extensionPath, 'dist/worker.js'), join(broken, 'worker.js'));
    const node = join(broken, 'node');
    // Stands in for the Node that runs the worker (earlyExit.workerNodePath): runs the copy instead.
    writeFileSync(node, `#!/bin/sh\nexec "${process.execPath}" "${join(broken, 'worker.js')}"\n`, { mode: 0o755 });
    const cfg = vscode.workspace.getConfiguration('earlyExit');
    await cfg.update('workerNodePath', node, vscode.ConfigurationTarget.Global);
    try {
      const uri = await writeWorkspaceFile('tiny-broken.exits.json', tinyExperiment((x) => { x.name = 'tiny-broken'; }));
      const result = await vscode.commands.executeCommand<TrainResult>(Commands.train, uri);
      assert.ok(result.ok);
      const [run] = result.runs;
      assert.equal(run.state, 'failed');
      const cause = 'worker could not start: the module @tensorflow/tfjs-core is missing (the installation is incomplete: reinstall the extension, or run npm install in a checkout)';
      assert.ok(run.error?.startsWith(cause), run.error);
      assert.match(readFileSync(join(run.dir, 'worker.log'), 'utf8'), /Cannot find module '@tensorflow\/tfjs-core'[\s\S]*Require stack/);
      requireWorkbench('the notification and the rendered workbench');
      const toast = await until(async () => (await texts('.notification-toast .notification-list-item-message', 3000))?.find((m) => m.includes(run.id)), 15_000, 'the failure notification');
      assert.ok(toast.startsWith(`Early Exit: run ${run.id} failed: ${cause}`), toast);
      assert.doesNotMatch(toast, /\bat \S+ \(|--resume/, 'no stack trace, no CLI flag');
      // "Show Output": the channel has the worker's stderr, line by line
      await clickIn({ selector: '.notification-toast .monaco-button', exactText: 'Show Output', timeout: 10_000 });
      const lines = await until(async () => {
        const t = await texts('.part.panel .view-lines', 3000);
        // the editor draws spaces as no-break spaces
        const shown = t?.map((x) => x.replace(/\u00a0/g, ' '));
        return shown?.some((x) => x.includes(`${run.id} stderr:`) && x.includes('MODULE_NOT_FOUND')) ? shown : undefined;
      }, 15_000, 'the stderr in the Early Exit output channel');
      assert.ok(lines.length);
      await screenshot('worker-startup-failure');
      await vscode.commands.executeCommand('workbench.action.closePanel');
      await vscode.commands.executeCommand('notifications.clearAll');
      await vscode.workspace.fs.delete(uri);
    } finally {
      await cfg.update('workerNodePath', undefined, vscode.ConfigurationTarget.Global);
      rmSync(broken, { recursive: true, force: true });
    }
  });
});
