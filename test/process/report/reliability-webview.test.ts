/**
 * Reliability matrix (docs/reliability.md), webviews and host: every webview → host message is
 * validated (unknown types and wrong payloads rejected and logged; fuzzed), the CSP of the report
 * and of the panel blocks inline scripts without the nonce and every remote load — checked in
 * headless Chromium against a local HTTP server that counts the requests it gets — hostile run
 * names are shown as text, and run ids / names with `../` stay inside the runs folder.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import fc from 'fast-check';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeReport } from '../../../src/report/report';
import { defaultExperiment } from '../../../src/spec/experiment';
import { acceptWebviewMessage, validateWebviewMessage, webviewHtml } from '../../../src/extension/panels/messages';
import type { HostMessage, RunData } from '../../../src/protocol/webview';
import { createRun, newRunId, runDirOf, RUN_FILES } from '../../../src/runs/store';
import { readRunData } from '../../../src/runs/view-data';
import { makeRun } from '../../fixtures/make-run';
import { ROOT } from '../../paths';

const CHROMIUM = '/usr/bin/chromium';
let tmp = '';
let assets = '';
let server: http.Server;
let origin = '';
const hits: string[] = [];
let browser: Browser | undefined;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-rel-web-'));
  server = http.createServer((req, res) => { hits.push(req.url ?? ''); res.writeHead(200, { 'content-type': 'image/png' }); res.end(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await browser?.close();
  await new Promise<void>((r) => server.close(() => r()));
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- messages from a webview ------------------------------------------------------------------

test('webview messages of an unknown type or with a wrong payload are rejected and logged', () => {
  const logged: string[] = [];
  const log = (s: string) => logged.push(s);
  const bad: [unknown, RegExp][] = [
    [{ type: 'runShell', command: 'rm -rf /' }, /unknown message type "runShell"/],
    [{ type: 'setThreshold', runId: 'a', state: { mode: 'shared', thresholds: [Number.NaN] } }, /setThreshold: state must be/],
    [{ type: 'setThreshold', runId: 7, state: { mode: 'shared', thresholds: [0.5] } }, /setThreshold: runId must be a string/],
    [{ type: 'exportFile', kind: 'csv', suggestedName: '../../.bashrc', data: 'x' }, /exportFile: suggestedName must be a plain file name/],
    [{ type: 'exportFile', kind: 'html', suggestedName: 'a.html', data: '<script>' }, /exportFile: kind must be one of png, csv, json/],
    [{ type: 'openRun', runDir: 42 }, /openRun: runDir must be a non-empty string/],
    [{ type: 'log', level: 'fatal', message: 'x' }, /log: level must be info, warn or error/],
    [{ type: 42 }, /not an object with a string "type"/],
    ['ready', /not an object with a string "type"/],
    [[{ type: 'ready' }], /not an object with a string "type"/],
    [null, /not an object with a string "type"/],
  ];
  for (const [m, re] of bad) {
    assert.equal(acceptWebviewMessage(m, log, 'earlyExit.results'), null, JSON.stringify(m));
    assert.match(logged.at(-1)!, /^\[webview earlyExit\.results\] rejected message: /);
    assert.match(logged.at(-1)!, re);
  }
  assert.equal(logged.length, bad.length);
  assert.deepEqual(acceptWebviewMessage({ type: 'ready', extra: 1 }, log, 'v'), { type: 'ready' }, 'accepted messages are rebuilt from the fields the protocol knows');
  assert.equal(logged.length, bad.length, 'accepted messages are not logged as rejected');
});

test('fuzz: the message validator never throws and accepts only well-formed messages', () => {
  const anyMessage = fc.oneof(
    fc.anything(),
    fc.record({ type: fc.constantFrom('ready', 'setThreshold', 'exportFile', 'openRun', 'log', 'constructor', '__proto__'), runId: fc.anything(), state: fc.anything(), kind: fc.anything(), suggestedName: fc.anything(), data: fc.anything(), runDir: fc.anything(), level: fc.anything(), message: fc.anything() }, { requiredKeys: ['type'] }),
  );
  fc.assert(fc.property(anyMessage, (m) => {
    const v = validateWebviewMessage(m);
    if (!v.ok) return;
    const x = v.message;
    switch (x.type) {
      case 'ready': break;
      case 'setThreshold': assert.ok(typeof x.runId === 'string' && x.state.thresholds.every((t) => t >= 0 && t <= 1)); break;
      case 'exportFile': assert.ok(['png', 'csv', 'json'].includes(x.kind) && !/[\\/]|\.\./.test(x.suggestedName)); break;
      case 'openRun': assert.ok(typeof x.runDir === 'string' && x.runDir.length > 0); break;
      case 'log': assert.ok(['info', 'warn', 'error'].includes(x.level) && typeof x.message === 'string'); break;
      default: assert.fail(`accepted unknown ${JSON.stringify(x)}`);
    }
  }), { numRuns: 2000 });
});

// ---- paths -------------------------------------------------------------------------------------

test('run names and ids with ../ or HTML stay inside the runs folder', () => {
  const runsDir = path.join(tmp, 'confined', 'runs');
  for (const name of ['../../outside', '..', '<img src=x onerror=alert(1)>', 'a/../../b', '..\\..\\win', '/etc/passwd', '']) {
    const id = newRunId(name);
    assert.match(id, /^\d{8}-\d{6}-[A-Za-z0-9_-]+-[a-z0-9]+$/, id);
    const x = { ...defaultExperiment('resnet18', 'x'), name };
    const r = createRun(runsDir, x);
    assert.equal(path.dirname(r.dir), runsDir, `${JSON.stringify(name)} → ${r.dir}`);
    assert.equal(JSON.parse(fs.readFileSync(path.join(r.dir, RUN_FILES.experiment), 'utf8')).name, name, 'the name itself is kept as data');
  }
  for (const id of ['../x', '..', '.', 'a/b', 'a\\b', '/abs', '.hidden', 'a/../../b', '', 'x/..']) {
    assert.throws(() => runDirOf(runsDir, id), /invalid run id/, id);
    assert.throws(() => createRun(runsDir, defaultExperiment(), { id }), /invalid run id/, id);
  }
  assert.deepEqual(fs.readdirSync(path.join(tmp, 'confined')), ['runs'], 'nothing was created beside the runs folder');
});

// ---- CSP and hostile run data in Chromium ------------------------------------------------------

/** A run whose every free-text field tries to load from `origin` or run a script. */
function hostileRun(dir: string): void {
  makeRun(dir, { seed: 3 });
  const payload = (tag: string) => `<img src="${origin}/${tag}.png" onerror="window.__pwned='${tag}'"><script src="${origin}/${tag}.js"></script><script>window.__pwned='${tag}-inline'</script><link rel="stylesheet" href="${origin}/${tag}.css"><iframe src="${origin}/${tag}.html"></iframe>`;
  const edit = (file: string, f: (x: any) => void) => {
    const p = path.join(dir, file);
    const x = JSON.parse(fs.readFileSync(p, 'utf8'));
    f(x);
    fs.writeFileSync(p, JSON.stringify(x));
  };
  edit(RUN_FILES.status, (s) => { s.experiment = payload('experiment'); s.error = payload('error'); });
  edit(RUN_FILES.results, (r) => {
    r.dataset.name = payload('dataset');
    r.dataset.classes = r.dataset.classes.map((c: string, i: number) => (i === 0 ? payload('class') : c));
    r.backbone.label = payload('backbone');
    r.points = r.points.map((p: string, i: number) => (i === 0 ? payload('point') : p));
  });
  // the records name the same (hostile) exit point, so the views read them as this run's
  for (const f of [RUN_FILES.samples, RUN_FILES.validationSamples]) edit(f, (rec) => { rec.exits[0].point = payload('point'); });
  fs.appendFileSync(path.join(dir, RUN_FILES.metrics), `${payload('metrics')}\n`);
}

async function launch(): Promise<Browser> {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: npm run test:install`);
  // no request interception here: what blocks the loads must be the page's own CSP
  browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'], headless: true });
  return browser;
}

async function bundle(): Promise<string> {
  if (!assets) {
    assets = path.join(tmp, 'assets');
    await build({ entryPoints: [path.join(ROOT, 'webview/results/main.ts')], outfile: path.join(assets, 'results.js'), bundle: true, platform: 'browser', format: 'iife', target: 'es2022', minify: true, logLevel: 'error' });
    fs.copyFileSync(path.join(ROOT, 'media/results.css'), path.join(assets, 'results.css'));
  }
  return assets;
}

async function watch(page: Page): Promise<{ errors: string[] }> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(() => {
    const g = globalThis as any;
    g.__csp = [];
    g.document.addEventListener('securitypolicyviolation', (e: any) => g.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return { errors };
}

const settle = (page: Page) => page.waitForTimeout(300);

test('the exported report: hostile run data is shown as text, loads nothing and runs nothing; the CSP blocks an injected inline script and remote loads', async () => {
  const b = await launch();
  const runs = path.join(tmp, 'hostile-runs');
  hostileRun(path.join(runs, 'evil'));
  makeRun(path.join(runs, 'plain'), { seed: 4 });
  const data = readRunData(path.join(runs, 'evil'));
  assert.ok(data.problems.some((p) => /metrics\.jsonl line 6/.test(p)));
  const report = path.join(tmp, 'hostile.html');
  await writeReport([path.join(runs, 'evil'), path.join(runs, 'plain')], report, { assetsDir: await bundle() });
  const page = await b.newPage();
  const { errors } = await watch(page);
  await page.goto(`file://${report}`);
  await page.waitForSelector('body[data-ready]');
  await settle(page);
  const text = await page.innerText('body');
  assert.ok(text.includes(`<img src="${origin}/dataset.png"`), 'the dataset name is displayed as text');
  assert.ok(text.includes('Problems reading this run'), 'the unreadable metrics line is reported on the page');
  assert.equal(await page.evaluate(() => (globalThis as any).__pwned), undefined, 'no injected script ran');
  assert.equal(await page.locator('img, iframe, link[href^="http"], script[src]').count(), 0, 'no element was created from run data');
  // the CSP itself: an inline script without the nonce and remote loads put into the page are blocked
  await page.evaluate((o) => {
    const doc = (globalThis as any).document;
    const s = doc.createElement('script');
    s.textContent = "window.__pwned = 'dom-inline'";
    doc.body.append(s);
    const img = doc.createElement('img');
    img.src = `${o}/direct.png`;
    doc.body.append(img);
    fetch(`${o}/fetch`).catch(() => null);
  }, origin);
  await settle(page);
  assert.equal(await page.evaluate(() => (globalThis as any).__pwned), undefined, 'an inline script without the nonce did not run');
  const csp = await page.evaluate(() => (globalThis as any).__csp as string[]);
  assert.ok(csp.some((v) => v.startsWith('script-src')), csp.join('\n'));
  assert.ok(csp.some((v) => v.startsWith('img-src') && v.includes('/direct.png')), csp.join('\n'));
  assert.ok(csp.some((v) => v.startsWith('connect-src') || v.startsWith('default-src')), csp.join('\n'));
  // the same markup written into the file (as a broken escaper would) is blocked too
  const html = fs.readFileSync(report, 'utf8').replace('<div id="app"></div>', `<div id="app"></div><script>window.__pwned='file-inline'</script><img src="${origin}/file.png"><script src="${origin}/file.js"></script>`);
  fs.writeFileSync(report, html);
  await page.goto(`file://${report}`);
  await page.waitForSelector('body[data-ready]');
  await settle(page);
  assert.equal(await page.evaluate(() => (globalThis as any).__pwned), undefined, 'an inline script in the file without the nonce did not run');
  assert.deepEqual(hits, [], `requests reached the server: ${hits.join(', ')}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the panel (VS Code webview HTML): hostile run data loads nothing and runs nothing; an inline script without the nonce is blocked', async () => {
  const b = await launch();
  const dir = await bundle();
  const runs = path.join(tmp, 'hostile-panel');
  hostileRun(path.join(runs, 'evil'));
  const run: RunData = readRunData(path.join(runs, 'evil'));
  const page = await b.newPage();
  const { errors } = await watch(page);
  const stub = `<script nonce="n0nce">window.__sent = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__sent.push(m), getState: () => undefined, setState: () => {} });</script>
<script>window.__pwned = 'no-nonce'</script><img src="${origin}/panel.png">\n`;
  const html = webviewHtml({ cspSource: 'file:', nonce: 'n0nce', scriptUri: 'assets/results.js', styleUri: 'assets/results.css', title: 'R' }).replace('<script nonce', `${stub}<script nonce`);
  const file = path.join(path.dirname(dir), 'panel.html');
  fs.writeFileSync(file, html);
  await page.goto(`file://${file}`);
  await page.waitForFunction(() => (globalThis as any).__sent.length > 0);
  await page.evaluate((m) => (globalThis as any).postMessage(m, '*'), { type: 'didLoadRun', run } satisfies HostMessage);
  await page.waitForSelector('section.ee-run');
  await page.evaluate((m) => (globalThis as any).postMessage(m, '*'), { type: 'didLoadComparison', runs: [run] } satisfies HostMessage);
  await page.waitForSelector('#comparison');
  await settle(page);
  assert.match(await page.innerText('#comparison .ee-problems'), /Problems reading some runs[\s\S]*evil: metrics\.jsonl line 6: unreadable/, 'the comparison view says what it could not read');
  assert.ok((await page.innerText('body')).includes(`<img src="${origin}/backbone.png"`));
  assert.equal(await page.evaluate(() => (globalThis as any).__pwned), undefined);
  const csp = await page.evaluate(() => (globalThis as any).__csp as string[]);
  assert.ok(csp.some((v) => v.startsWith('script-src')), csp.join('\n'));
  assert.ok(csp.some((v) => v.startsWith('img-src') && v.includes('/panel.png')), csp.join('\n'));
  assert.deepEqual(hits, [], `requests reached the server: ${hits.join(', ')}`);
  assert.deepEqual(errors, []);
  await page.close();
});
