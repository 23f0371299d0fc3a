import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { Commands } from '../../src/extension/constants';
import { makeRun } from '../fixtures/make-run';
import { until } from './automation';

suite('Compare and export runs', function () {
  this.timeout(60_000);
  teardown(() => vscode.commands.executeCommand('workbench.action.closeAllEditors'));

  const fixtureRuns = () => {
    const root = mkdtempSync(join(tmpdir(), 'ees-compare-'));
    const a = join(root, 'run-a'), b = join(root, 'run-b');
    makeRun(a);
    makeRun(b, { lambda: 1, seed: 2 });
    return [a, b];
  };

  test('Compare Runs opens the comparison panel for the given runs', async () => {
    const dirs = fixtureRuns();
    const ok = await vscode.commands.executeCommand<boolean>(Commands.compareRuns, dirs);
    assert.equal(ok, true);
    const tabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    await until(() => tabs().some((t) => t.input instanceof vscode.TabInputWebview && /comparison/i.test(t.input.viewType)), 10_000,
      'the comparison panel tab');
  });

  test('Export Results writes one self-contained HTML report of the runs', async () => {
    const dirs = fixtureRuns();
    const out = vscode.Uri.file(join(dirs[0], '..', 'report.html'));
    const written = await vscode.commands.executeCommand<string | undefined>(Commands.exportResults, dirs, out);
    assert.equal(written, out.fsPath);
    assert.ok(existsSync(out.fsPath));
    const html = readFileSync(out.fsPath, 'utf8');
    assert.match(html, /<script/);
    assert.doesNotMatch(html, /<script[^>]+src=["']https?:/, 'no remote scripts');
    assert.ok(html.includes('run-a') && html.includes('run-b'), 'both runs are in the report');
  });
});
