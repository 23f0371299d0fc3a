/**
 * The standalone report in headless Chromium: a fixture run in a light and a dark theme, the
 * comparison of several runs. Asserts the canvases are drawn, the exit table's rows, that moving
 * the threshold changes the table, exports download, and that no request leaves the page.
 * Screenshots go to test-results/ and are compared with test/baselines/ (test/screenshots.ts).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { writeReport } from '../../../src/report/report';
import type { HostMessage } from '../../../src/protocol/webview';
import { readRunData } from '../../../src/runs/view-data';
import { makeRun } from '../../fixtures/make-run';
import { buildWebviewAssets, CHROMIUM, launchChromium, writeHostedPage } from '../../fixtures/webview-page';
import { BASELINES, ROOT } from '../../paths';
import { expectMatchesBaseline } from '../../screenshots';

const OUT = path.join(ROOT, 'test-results');

let tmp = '';
let single = '';
let multi = '';
let runsDir = '';
let hosted = '';
let context: BrowserContext;
const blocked: string[] = [];
const pageErrors: string[] = [];

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install it with "apt-get update && apt-get install -y chromium" (or npm run test:install)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-report-'));
  // Bundle the webview exactly as scripts/build.mjs does, into a private folder.
  const assets = path.join(tmp, 'assets');
  await buildWebviewAssets(assets);
  const runs = path.join(tmp, 'runs');
  runsDir = runs;
  makeRun(path.join(runs, 'live'), { state: 'running', seed: 5 });
  // The webview as VS Code hosts it: no embedded data, a stand-in acquireVsCodeApi that records messages.
  hosted = path.join(tmp, 'hosted.html');
  writeHostedPage(hosted);
  makeRun(path.join(runs, 'proposed-l0.5'), { group: 'sweep1', lambda: 0.5, seed: 1 });
  makeRun(path.join(runs, 'proposed-l2'), { group: 'sweep1', lambda: 2, seed: 2, skill: -0.04 });
  makeRun(path.join(runs, 'baseline'), { method: 'baseline', seed: 3, skill: -0.05 });
  makeRun(path.join(runs, 'branchynet'), { method: 'branchynet', seed: 4, skill: -0.02 });
  single = path.join(tmp, 'single.html');
  multi = path.join(tmp, 'multi.html');
  await writeReport([path.join(runs, 'proposed-l0.5')], single, { assetsDir: assets });
  await writeReport(['proposed-l0.5', 'proposed-l2', 'baseline', 'branchynet'].map((r) => path.join(runs, r)), multi, { assetsDir: assets });
  fs.mkdirSync(OUT, { recursive: true });
  context = await launchChromium(path.join(tmp, 'profile'), { acceptDownloads: true });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
});

after(async () => {
  await context?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function open(file: string, theme: 'light' | 'dark'): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  page.on('request', (r) => { if (!/^(file|data|blob):/.test(r.url())) blocked.push(r.url()); });
  await page.goto(`file://${file}?theme=${theme}`);
  await page.waitForSelector('body[data-ready]');
  return page;
}

/** Per canvas: how many pixels differ from its background (top-left pixel), and that background's luminance. */
async function canvasInk(page: Page, scope = 'body'): Promise<{ ink: number; total: number; bgLuma: number }[]> {
  return page.$$eval(`${scope} canvas`, (canvases) => canvases.map((c) => {
    const ctx = (c as any).getContext('2d')!;
    const { data, width, height } = ctx.getImageData(0, 0, (c as any).width, (c as any).height);
    const [r, g, b] = [data[0], data[1], data[2]];
    let ink = 0;
    for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) > 60) ink++;
    return { ink, total: width * height, bgLuma: 0.2126 * r + 0.7152 * g + 0.0722 * b };
  }));
}

const tableText = (page: Page) => page.$$eval('.ee-exit-table tbody tr', (rows) => rows.map((r) => (r as any).innerText));

for (const theme of ['light', 'dark'] as const) {
  test(`single-run report, ${theme} theme: charts drawn, Table 2 rows, threshold recomputes`, async () => {
    const page = await open(single, theme);
    const canvases = await canvasInk(page);
    assert.equal(canvases.length, 7, 'trade-off + every rule on this network + 3 histograms + loss + accuracy');
    for (const [i, c] of canvases.entries()) {
      assert.ok(c.ink > c.total * 0.01, `canvas ${i} looks empty (${c.ink} of ${c.total} pixels drawn)`);
      if (theme === 'dark') assert.ok(c.bgLuma < 80, `canvas ${i}: background should be dark, luma ${c.bgLuma}`);
      else assert.ok(c.bgLuma > 200, `canvas ${i}: background should be light, luma ${c.bgLuma}`);
    }
    const rows = await tableText(page);
    assert.equal(rows.length, 3 + 1 + 1, 'one row per exit, the final classifier, totals');
    assert.match(rows[0], /#2 block2/);
    assert.match(rows[3], /^final/);
    assert.match(rows[4], /^total/);
    assert.match(await page.innerText('.ee-header'), /Proposed[\s\S]*λ = 0.5[\s\S]*ResNet-18[\s\S]*soft accuracy[\s\S]*measured speed-up/);
    // the generation time is the one thing that changes between runs: masked (a flat box) in the comparison
    await page.screenshot({ path: path.join(OUT, `report-${theme}.png`), fullPage: true, mask: [page.locator('.ee-generated')] });
    expectMatchesBaseline(path.join(OUT, `report-${theme}.png`), `report-${theme}`, BASELINES);

    const histBefore = await page.$eval('.ee-hist canvas', (c) => (c as any).toDataURL());
    const current = await page.innerText('.ee-current');
    await page.locator('input.ee-tau').first().fill('0.9');
    const after = await tableText(page);
    assert.notDeepEqual(after, rows, 'moving τ must change the exit table');
    assert.match(await page.innerText('.ee-current'), /τ = 0.90 \/ 0.90 \/ 0.90/);
    assert.notEqual(await page.innerText('.ee-current'), current);
    assert.notEqual(await page.$eval('.ee-hist canvas', (c) => (c as any).toDataURL()), histBefore, 'the histogram threshold mark must move');
    // τ = 0.9 keeps more inputs to the final classifier than τ = 0.5.
    const finalShare = (r: string[]) => Number(/(\d+(?:\.\d+)?) % \(/.exec(r[3])![1]);
    assert.ok(finalShare(after) > finalShare(rows), `${after[3]} vs ${rows[3]}`);

    await page.click('.ee-cal-budget');
    assert.match(await page.innerText('.ee-calibration'), /^(Met|Not met) on validation for budget/);
    await page.close();
  });
}

test('theme toggle redraws the charts with the other palette', async () => {
  const page = await open(single, 'light');
  assert.ok((await canvasInk(page))[0].bgLuma > 200);
  await page.click('.ee-theme-toggle');
  await page.waitForFunction(() => (globalThis as any).document.body.classList.contains('vscode-dark'));
  await page.waitForTimeout(50);
  assert.ok((await canvasInk(page))[0].bgLuma < 80, 'after the toggle the trade-off chart is drawn on a dark background');
  await page.close();
});

test('exports download as files: exit table CSV, chart PNG, summary JSON', async () => {
  const page = await open(single, 'light');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('.ee-table-card .ee-export')]);
  assert.equal(csv.suggestedFilename(), 'proposed-l0.5-exit-table.csv');
  const csvText = fs.readFileSync((await csv.path())!, 'utf8');
  assert.match(csvText, /^exit,position,macs/);
  assert.equal(csvText.trim().split('\n').length, 6);
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('.ee-tradeoff .ee-export')]);
  assert.equal(png.suggestedFilename(), 'proposed-l0.5-tradeoff.png');
  assert.deepEqual([...fs.readFileSync((await png.path())!).subarray(1, 4)], [0x50, 0x4e, 0x47]);
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('.ee-export-json')]);
  const summary = JSON.parse(fs.readFileSync((await json.path())!, 'utf8'));
  assert.equal(summary.method, 'proposed');
  assert.equal(summary.current.rows.length, 4);
  await page.close();
});

test('comparison report: Table 1 layout, all runs on one chart, then each run', async () => {
  const page = await open(multi, 'dark');
  const head = await page.$$eval('.ee-table1 thead th', (ths) => ths.map((t) => (t as any).innerText.trim()));
  assert.deepEqual(head, ['dataset', 'ResNet-18', 'Baseline', 'BranchyNet', 'Proposed']);
  const body = await page.$$eval('.ee-table1 tbody tr', (trs) => trs.map((t) => (t as any).innerText));
  assert.equal(body.length, 1);
  assert.match(body[0], /^cifar10/);
  assert.equal(await page.locator('.ee-runs-table tbody tr').count(), 4);
  assert.equal(await page.locator('section.ee-run').count(), 4);
  const ink = await canvasInk(page, '#comparison');
  assert.equal(ink.length, 1);
  assert.ok(ink[0].ink > ink[0].total * 0.01);
  await page.screenshot({ path: path.join(OUT, 'report-comparison-dark.png'), mask: [page.locator('.ee-generated')] });
  expectMatchesBaseline(path.join(OUT, 'report-comparison-dark.png'), 'report-comparison-dark', BASELINES);
  // each run's own view is drawn when it comes near the viewport: the last one waits with its header only
  const last = page.locator('section.ee-run').last();
  assert.equal(await last.locator('canvas').count(), 0, 'the last run is not drawn before it is scrolled to');
  assert.match(await last.locator('.ee-header').innerText(), /ResNet-18/);
  await page.locator('.ee-open-run').last().click(); // "Open" scrolls the report to that run
  await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('section.ee-run')[3].querySelectorAll('canvas').length === 7);
  const drawn = await canvasInk(page, 'section.ee-run:last-of-type');
  assert.equal(drawn.length, 7, 'trade-off, every rule, 3 histograms, loss, accuracy');
  for (const c of drawn) assert.ok(c.ink > c.total * 0.01, 'the scrolled-to run draws all its charts');
  // printing draws the runs not scrolled to yet
  const undrawn = () => page.$$eval('section.ee-run', (ss) => ss.filter((s) => s.querySelectorAll('canvas').length === 0).length);
  assert.ok(await undrawn() > 0, 'some run between the comparison and the last one is still waiting');
  await page.evaluate(() => (globalThis as any).dispatchEvent(new Event('beforeprint')));
  assert.equal(await undrawn(), 0, 'before printing every run view is drawn');
  await page.close();
});

test('inside VS Code: ready handshake, live metrics and status, results on finish, threshold state and exports as messages', async () => {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`file://${hosted}`);
  const sent = () => page.evaluate(() => (globalThis as any).__sent as { type: string; [k: string]: unknown }[]);
  await page.waitForFunction(() => (globalThis as any).__sent.length > 0);
  assert.deepEqual(await sent(), [{ type: 'ready' }]);
  const post = (m: HostMessage) => page.evaluate((msg) => (globalThis as any).postMessage(msg, '*'), m);
  const live = readRunData(path.join(runsDir, 'live'));
  await post({ type: 'didLoadRun', run: live });
  await page.waitForSelector('section.ee-run');
  assert.match(await page.innerText('.ee-header'), /running · epoch 3\/5/);
  assert.equal(await page.evaluate(() => (globalThis as any).getComputedStyle((globalThis as any).document.body).backgroundColor), 'rgb(30, 30, 30)', 'the page takes --vscode-editor-background');
  assert.equal(await page.locator('.ee-exit-table').count(), 0, 'no exit table before the run is evaluated');
  const before = await page.$eval('.ee-curve canvas', (c) => (c as any).toDataURL());
  const next = { ...live.metrics[2], epoch: 4, loss: 0.2 };
  await post({ type: 'didAppendMetrics', runId: 'live', metrics: [next] });
  await post({ type: 'didUpdateStatus', runId: 'live', status: { ...live.status!, epoch: 4 } });
  await page.waitForFunction(() => /epoch 4\/5/.test((globalThis as any).document.querySelector('.ee-header').innerText));
  assert.notEqual(await page.$eval('.ee-curve canvas', (c) => (c as any).toDataURL()), before, 'the loss curve must grow by the appended epoch');

  makeRun(path.join(runsDir, 'live'), { seed: 5 });
  await post({ type: 'didLoadRun', run: readRunData(path.join(runsDir, 'live')) });
  await page.waitForSelector('.ee-exit-table tbody tr.ee-totals');
  await page.locator('input.ee-tau').first().fill('0.7');
  const state = await page.evaluate(() => (globalThis as any).__state);
  assert.deepEqual(state.thresholds.live, { mode: 'shared', thresholds: [0.7, 0.7, 0.7] });
  assert.equal(state.view, 'results');
  assert.ok((await sent()).some((m) => m.type === 'setThreshold'));
  await page.click('.ee-table-card .ee-export');
  const exp = (await sent()).find((m) => m.type === 'exportFile')!;
  assert.equal(exp.kind, 'csv');
  assert.equal(exp.suggestedName, 'live-exit-table.csv');
  // One τ per exit: three sliders, moving the second changes only the second threshold.
  await page.$eval('.ee-mode', (el) => { (el as any).value = 'perExit'; el.dispatchEvent(new Event('change')); });
  await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('input.ee-tau').length === 3);
  await page.locator('input.ee-tau').nth(1).fill('0.2');
  assert.deepEqual((await page.evaluate(() => (globalThis as any).__state)).thresholds.live, { mode: 'perExit', thresholds: [0.7, 0.2, 0.7] });
  assert.match(await page.innerText('.ee-current'), /τ = 0.70 \/ 0.20 \/ 0.70/);
  await page.screenshot({ path: path.join(OUT, 'webview-per-exit-dark.png'), fullPage: true });
  expectMatchesBaseline(path.join(OUT, 'webview-per-exit-dark.png'), 'webview-per-exit-dark', BASELINES);
  assert.deepEqual(await page.evaluate(() => (globalThis as any).__csp), [], 'the strict CSP must not block anything the view needs');
  await post({ type: 'didSomethingOdd' } as unknown as HostMessage);
  assert.ok((await sent()).some((m) => m.type === 'log' && /didSomethingOdd/.test(String(m.message))));
  await page.close();
});

test('no request leaves the page and no script error happened', async () => {
  assert.deepEqual(blocked, []);
  assert.deepEqual(pageErrors, []);
  // The guard itself works: a request from a blank page is caught and aborted.
  const page = await context.newPage();
  await page.goto('about:blank');
  await page.evaluate(() => fetch('http://192.0.2.1/probe').catch(() => null));
  assert.deepEqual([...new Set(blocked)], ['http://192.0.2.1/probe']);
  await page.close();
});
