/**
 * The report file and the host side of the webview protocol, without a browser: the HTML is
 * self-contained, run folders are read (corrupt metrics lines reported, not fatal), the CLI
 * command is registered, incoming webview messages are validated and notifications wait for `ready`.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { commands } from '../../../src/cli/commands';
import { jsonForScript, reportHtml, writeReport } from '../../../src/report/report';
import type { HostMessage } from '../../../src/protocol/webview';
import { metricsDelta, ReadyQueue, validateWebviewMessage, webviewHtml } from '../../../src/extension/panels/messages';
import { readRunData } from '../../../src/runs/view-data';
import { makeRun } from '../../fixtures/make-run';

let tmp = '';
let runs = '';
const assets = { js: 'window.__ok = "</script>";', css: 'body { color: red; }' };

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-report-unit-'));
  runs = path.join(tmp, 'runs');
  makeRun(path.join(runs, 'a'), { group: 'g', lambda: 0.5 });
  makeRun(path.join(runs, 'b'), { group: 'g', lambda: 1, seed: 2 });
  makeRun(path.join(runs, 'base'), { method: 'baseline', seed: 3 });
  makeRun(path.join(runs, 'live'), { state: 'running' });
  fs.mkdirSync(path.join(tmp, 'assets'));
  fs.writeFileSync(path.join(tmp, 'assets', 'results.js'), assets.js);
  fs.writeFileSync(path.join(tmp, 'assets', 'results.css'), assets.css);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the fixture generator is deterministic and writes a consistent run folder', () => {
  const r1 = makeRun(path.join(tmp, 'x1'), { seed: 7 });
  const r2 = makeRun(path.join(tmp, 'x2'), { seed: 7 });
  assert.deepEqual(r1, r2);
  const data = readRunData(path.join(tmp, 'x1'), false);
  assert.equal(data.samples?.count, 500);
  assert.equal(data.validation?.count, 200);
  assert.equal(data.metrics.length, 5);
  assert.equal(data.results?.hard.rows.length, 4);
  assert.deepEqual(data.problems, []);
});

test('readRunData: sweep siblings and the baseline become related points; corrupt metrics lines are reported', () => {
  fs.appendFileSync(path.join(runs, 'a', 'metrics.jsonl'), '{"epoch": 6, broken\n');
  const a = readRunData(path.join(runs, 'a'));
  assert.deepEqual(a.related.map((r) => [r.id, r.role]), [['b', 'sweep'], ['base', 'baseline']]);
  assert.equal(a.related[1].averageMacsPct, 100);
  assert.equal(a.metrics.length, 5);
  assert.equal(a.problems.length, 1);
  assert.match(a.problems[0], /metrics.jsonl line 6: unreadable/);
  const live = readRunData(path.join(runs, 'live'));
  assert.equal(live.results, null);
  assert.equal(live.status?.state, 'running');
  assert.equal(live.metrics.length, 3);
  assert.deepEqual(live.problems, []);
  assert.throws(() => readRunData(path.join(runs, 'nope')), /not a run folder/);
});

test('reportHtml inlines data, CSS and script, with a CSP that allows no fetch', () => {
  const html = reportHtml([readRunData(path.join(runs, 'b'))], assets);
  const nonce = /script-src 'nonce-([A-Za-z0-9+/=]{24})'/.exec(html)?.[1];
  assert.ok(nonce, 'scripts only with the nonce');
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-/);
  assert.doesNotMatch(html, /unsafe-inline/);
  assert.ok(html.includes(`<script nonce="${nonce}">`) && html.includes(`<style nonce="${nonce}">`));
  assert.ok(html.includes('body { color: red; }'));
  assert.ok(html.includes('window.__ok = "<\\/script>";'), 'a "</script>" inside the bundle must not end the element');
  assert.doesNotMatch(html, /\s(src|href)="(https?:)?\/\//);
  const json = /<script type="application\/json" id="ee-data">(.*?)<\/script>/s.exec(html)![1];
  const data = JSON.parse(json);
  assert.equal(data.view, 'results');
  assert.equal(data.runs[0].samples.count, 500);
  assert.equal(jsonForScript({ s: '</script><!--' }), '{"s":"\\u003c/script>\\u003c!--"}');
});

test('writeReport: one file; several runs give the comparison view; no runs is an error', async () => {
  const out = path.join(tmp, 'out', 'r.html');
  await writeReport([path.join(runs, 'a'), path.join(runs, 'base')], out, { assetsDir: path.join(tmp, 'assets') });
  const data = JSON.parse(/id="ee-data">(.*?)<\/script>/s.exec(fs.readFileSync(out, 'utf8'))![1]);
  assert.equal(data.view, 'comparison');
  assert.deepEqual(data.runs.map((r: { id: string }) => r.id), ['a', 'base']);
  await assert.rejects(writeReport([], out), /at least one run/);
  await assert.rejects(writeReport([path.join(runs, 'a')], out, { assetsDir: path.join(tmp, 'none') }), /npm run build/);
});

test('the report command is registered', () => {
  const c = commands.find((x) => x.name === 'report');
  assert.ok(c);
  assert.match(c.usage, /report <rundir>\.\.\. \[-o report.html\]/);
});

test('validateWebviewMessage accepts the protocol and rejects unknown types and bad payloads', () => {
  const ok = (x: unknown) => validateWebviewMessage(x).ok;
  assert.ok(ok({ type: 'ready' }));
  assert.ok(ok({ type: 'setThreshold', runId: 'a', state: { mode: 'perExit', thresholds: [0.2, 0.5, 1] } }));
  assert.ok(ok({ type: 'exportFile', kind: 'png', suggestedName: 'a.png', data: 'iVBORw0KGgo=' }));
  assert.ok(ok({ type: 'openRun', runDir: '/runs/a' }));
  assert.ok(ok({ type: 'log', level: 'warn', message: 'x' }));
  const reason = (x: unknown) => { const v = validateWebviewMessage(x); return v.ok ? '' : v.reason; };
  assert.match(reason({ type: 'launchMissiles' }), /unknown message type "launchMissiles"/);
  assert.match(reason(null), /not an object/);
  assert.match(reason({ type: 'setThreshold', runId: 'a', state: { mode: 'shared', thresholds: [1.5] } }), /thresholds/);
  assert.match(reason({ type: 'exportFile', kind: 'exe', suggestedName: 'a', data: '' }), /kind/);
  assert.match(reason({ type: 'exportFile', kind: 'csv', suggestedName: '../../etc/passwd', data: '' }), /plain file name/);
  assert.match(reason({ type: 'exportFile', kind: 'png', suggestedName: 'a.png', data: 'not base64!' }), /base64/);
  assert.match(reason({ type: 'openRun' }), /runDir/);
});

test('ReadyQueue holds notifications until ready, then sends in order; reset drops them', () => {
  const sent: HostMessage[] = [];
  const q = new ReadyQueue((m) => sent.push(m));
  q.send({ type: 'didExport', kind: 'csv', path: '1' });
  q.send({ type: 'didExport', kind: 'csv', path: '2' });
  assert.equal(sent.length, 0);
  q.markReady();
  assert.deepEqual(sent.map((m) => (m as { path: string }).path), ['1', '2']);
  q.send({ type: 'didExport', kind: 'csv', path: '3' });
  assert.equal(sent.length, 3);
  q.reset();
  q.send({ type: 'didExport', kind: 'csv', path: '4' });
  assert.equal(q.pending.length, 1);
  q.reset();
  assert.equal(q.pending.length, 0);
});

test('metricsDelta sends only new epochs, null when the file went back (resumed run)', () => {
  const m = [{ epoch: 1 }, { epoch: 2 }, { epoch: 3 }];
  assert.deepEqual(metricsDelta(m, 1), [{ epoch: 2 }, { epoch: 3 }]);
  assert.deepEqual(metricsDelta(m, 3), []);
  assert.equal(metricsDelta(m.slice(0, 1), 3), null);
});

test('webviewHtml: CSP default-src none, nonce on the script, styles and images from the webview origin only', () => {
  const html = webviewHtml({ cspSource: 'vscode-resource:', nonce: 'abc123', scriptUri: 'vscode-resource:/dist/webview/results.js', styleUri: 'vscode-resource:/dist/webview/results.css', title: 'R' });
  assert.match(html, /content="default-src 'none'; img-src vscode-resource: data:; style-src vscode-resource:; font-src vscode-resource:; script-src 'nonce-abc123'"/);
  assert.match(html, /<script nonce="abc123" src="vscode-resource:\/dist\/webview\/results.js"><\/script>/);
  assert.doesNotMatch(html, /unsafe/);
});

test('the webview API wrapper: null outside VS Code; the test double records messages and state', async () => {
  const { createTestHostApi, getVsCodeApi } = await import('../../../webview/vscode-api');
  assert.equal(getVsCodeApi(), null);
  const api = createTestHostApi();
  api.postMessage({ type: 'ready' });
  api.setState({ view: 'results', runDirs: ['/r/a'], thresholds: { a: { mode: 'shared', thresholds: [0.4] } } });
  assert.deepEqual(api.sent, [{ type: 'ready' }]);
  assert.deepEqual(api.getState()?.runDirs, ['/r/a']);
});
