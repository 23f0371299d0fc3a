/**
 * The README's "Use it in VS Code", done in the installed extension: New Experiment, the Branches
 * and Runs views, Train multi-exit model (a λ sweep of two runs on the Fashion-MNIST subset that
 * ships with it), Open Results, Compare Runs — asserting what each step shows and taking the
 * README's screenshots of each scene in the light and the dark theme (readme-shots.ts).
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { TrainResult } from '../../src/extension/commands';
import { Commands, EXTENSION_ID, ViewContainer } from '../../src/extension/constants';
import type { EarlyExitApi } from '../../src/extension/extension';
import { inWebview, readJson, requireWorkbench, screenshot, showViews, texts, trustWorkspace, until } from './automation';
import { README_THEMES, readmeShotDir, readmeShotName, THEME_IDS, type ReadmeScene } from './readme-shots';

const SHOTS = readmeShotDir(process.env, process.env.EARLY_EXIT_TEST_RESULTS ?? 'test-results');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function api(): Promise<EarlyExitApi> {
  return vscode.extensions.getExtension<EarlyExitApi>(EXTENSION_ID)!.activate();
}

/** Switches VS Code's colour theme and waits until it is applied (then a moment for the webviews to repaint). */
async function setTheme(theme: keyof typeof THEME_IDS): Promise<void> {
  const want = theme === 'dark' ? vscode.ColorThemeKind.Dark : vscode.ColorThemeKind.Light;
  if (vscode.window.activeColorTheme.kind !== want) {
    const applied = new Promise<void>((ok) => {
      const sub = vscode.window.onDidChangeActiveColorTheme((t) => { if (t.kind === want) { sub.dispose(); ok(); } });
    });
    await vscode.workspace.getConfiguration('workbench').update('colorTheme', THEME_IDS[theme], vscode.ConfigurationTarget.Global);
    await Promise.race([applied, sleep(15_000).then(() => { throw new Error(`the ${theme} theme (${THEME_IDS[theme]}) was not applied within 15 s; active: ${vscode.window.activeColorTheme.kind}`); })]);
  }
  await sleep(1000);
}

/** Takes `scene` in both themes; `ready` waits until what it shows is drawn (after each theme change). */
async function shoot(scene: ReadmeScene, ready: () => Promise<unknown> = async () => undefined): Promise<void> {
  for (const theme of README_THEMES) {
    await setTheme(theme);
    await ready();
    await vscode.commands.executeCommand('notifications.hideToasts');
    assert.ok(await screenshot(readmeShotName(scene, theme).replace(/\.png$/, ''), { dir: SHOTS, belowTitleBar: true }), `${scene} ${theme}`);
  }
}

/** Waits until the visible webview titled `title` has drawn every canvas it has (at least `min`). */
async function chartsDrawn(title: string, min: number): Promise<void> {
  const probe = `(body) => {
    const cs = [...body.ownerDocument.querySelectorAll('canvas')];
    return cs.length >= ${min} && cs.every((c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let ink = 0; for (let i = 0; i < d.length; i += 4 * 16) if (Math.abs(d[i] - d[0]) + Math.abs(d[i + 1] - d[1]) + Math.abs(d[i + 2] - d[2]) > 30) ink++; return ink > 20; });
  }`;
  await until(() => inWebview<boolean>(probe, title, 10_000).catch(() => false), 30_000, `the charts of "${title}"`);
}

suite('README walkthrough: Use it in VS Code', function () {
  this.timeout(300_000);
  suiteSetup(async () => {
    await trustWorkspace();
    // The title bar is left out of the pictures (it reads "[Extension Development Host]"); so is the command centre.
    await vscode.workspace.getConfiguration('window').update('commandCenter', false, vscode.ConfigurationTarget.Global);
  });
  suiteTeardown(async () => {
    await vscode.workspace.getConfiguration('earlyExit').update('runsDirectory', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.workspace.getConfiguration('window').update('commandCenter', undefined, vscode.ConfigurationTarget.Global);
    await vscode.workspace.getConfiguration('workbench').update('colorTheme', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('New Experiment → the Branches and Runs views → Train (a λ sweep on the shipped images) → Open Results → Compare Runs', async () => {
    requireWorkbench('the README screenshots');
    const a = await api();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');

    // The README's runs in their own runs folder, so the Runs view shows only them.
    await vscode.workspace.getConfiguration('earlyExit').update('runsDirectory', '.early-exit/readme-runs', vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await vscode.commands.executeCommand('notifications.clearAll');

    // 1. New Experiment: the default experiment on the shipped Fashion-MNIST subset, trimmed to train
    //    in a few seconds here (2,000 of its images) and swept over two λ.
    const uri = await vscode.commands.executeCommand<vscode.Uri>(Commands.newExperiment, { backbone: 'resnet18' });
    const x = await readJson(uri);
    assert.equal(x.dataset.name, 'fashion-mnist-mini');
    const doc = await vscode.workspace.openTextDocument(uri);
    const trimmed = { ...x, dataset: { ...x.dataset, limit: 2000 }, evaluation: { ...x.evaluation, timingImages: 20 }, sweep: { 'method.lambda': [0.1, 1] } };
    const edit = new vscode.WorkspaceEdit();
    edit.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), JSON.stringify(trimmed, null, 2) + '\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    await doc.save();
    await vscode.window.showTextDocument(doc, { preview: false });
    await showViews(ViewContainer);
    const rows = await until(async () => {
      const t = await texts('.pane-body .monaco-list-row', 5000);
      return t?.some((r) => r.includes('ResNet-18')) && t.some((r) => r.includes('cost γ_b')) ? t : undefined;
    }, 20_000, 'the Branches tree of the new experiment');
    for (const p of ['block2', 'block4', 'block6']) assert.ok(rows.some((r) => r.includes(p)), p);
    await shoot('experiment');

    // 2. Train multi-exit model: progress notification, status bar, live progress in the Runs view.
    const firstProgress = new Promise<void>((ok) => { const s = a.training.onDidReceive((e) => { if (e.message.type === 'progress') { s.dispose(); ok(); } }); });
    const training = vscode.commands.executeCommand<TrainResult>(Commands.train, uri);
    await firstProgress;
    await until(async () => (await texts('.pane-body .monaco-list-row', 3000))?.some((r) => /epoch \d+\/3 · \d+% · loss/.test(r)), 15_000, 'live progress in the Runs view');
    for (const theme of README_THEMES) {
      await setTheme(theme);
      assert.ok(await screenshot(readmeShotName('training', theme).replace(/\.png$/, ''), { dir: SHOTS, belowTitleBar: true }));
    }
    const result = await training;
    assert.ok(result.ok, result.ok ? '' : result.error);
    assert.deepEqual(result.runs.map((r) => r.state), ['finished', 'finished']);
    const [low, high] = result.runs.map((r) => r.dir).sort((p, q) => JSON.parse(readFileSync(join(p, 'results.json'), 'utf8')).lambda - JSON.parse(readFileSync(join(q, 'results.json'), 'utf8')).lambda);
    const res = JSON.parse(readFileSync(join(high, 'results.json'), 'utf8'));
    assert.equal(res.dataset.name, 'fashion-mnist-mini');
    assert.ok(res.softAccuracy > 0.5, `trained on real images: soft accuracy ${res.softAccuracy}`);
    await vscode.commands.executeCommand('notifications.clearAll');

    // 3. Open Results of the λ = 1 run: header, exit table, trade-off, gate histograms, curves.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    assert.equal(await vscode.commands.executeCommand<boolean>(Commands.openResults, high), true);
    await shoot('results', () => chartsDrawn('Results', 6));

    // 4. Compare Runs: Table 1 layout and both runs on one trade-off chart.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    assert.equal(await vscode.commands.executeCommand<boolean>(Commands.compareRuns, [low, high]), true);
    await shoot('compare', () => chartsDrawn('Compare', 1));
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.fs.delete(uri);
  });
});
