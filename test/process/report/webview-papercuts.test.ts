/**
 * The results and comparison webviews in headless Chromium, for what a newcomer hit (issue 19): the
 * final classifier's position, host messages validated before they touch the view, export
 * confirmations, what a cancelled run says, one-epoch curves, exits named the same while training
 * and after, and comparison cells that say which run they show. Screenshots go to test-results/.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { HostMessage, RunData } from '../../../src/protocol/webview';
import { writeReport } from '../../../src/report/report';
import { updateStatus } from '../../../src/runs/store';
import { readRunData } from '../../../src/runs/view-data';
import { validateHostMessage } from '../../../webview/results/host-messages';
import { makeRun } from '../../fixtures/make-run';
import { buildWebviewAssets, launchChromium, writeHostedPage } from '../../fixtures/webview-page';
import { ROOT } from '../../paths';

const OUT = path.join(ROOT, 'test-results');
let tmp = '';
let runs = '';
let hosted = '';
let assets = '';
let context: BrowserContext;
const pageErrors: string[] = [];

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-papercuts-'));
  assets = path.join(tmp, 'assets');
  await buildWebviewAssets(assets);
  hosted = path.join(tmp, 'hosted.html');
  writeHostedPage(hosted);
  runs = path.join(tmp, 'runs');
  fs.mkdirSync(OUT, { recursive: true });
  context = await launchChromium(path.join(tmp, 'profile'), { acceptDownloads: true });
});
after(async () => {
  await context?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The hosted page after its `ready`, with a way to post host messages and read what it sent. */
async function hostedPage(): Promise<{ page: Page; post: (m: unknown) => Promise<void>; sent: () => Promise<{ type: string; [k: string]: unknown }[]> }> {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`file://${hosted}`);
  await page.waitForFunction(() => (globalThis as any).__sent.length > 0);
  return {
    page,
    post: async (m) => { await page.evaluate((msg) => (globalThis as any).postMessage(msg, '*'), m); },
    sent: () => page.evaluate(() => (globalThis as any).__sent),
  };
}

const rows = (page: Page) => page.$$eval('.ee-exit-table tbody tr', (trs) => trs.map((r) => (r as any).innerText as string));

test('the final classifier keeps the run\'s position (#9 for ResNet-18) in the view, after a τ change, and in the CSV', async () => {
  const dir = path.join(runs, 'final-pos');
  const r = makeRun(dir)!;
  assert.equal(r.hard.rows.at(-1)!.position, 9);
  const report = path.join(tmp, 'final-pos.html');
  await writeReport([dir], report, { assetsDir: assets });
  const page = await context.newPage();
  await page.goto(`file://${report}`);
  await page.waitForSelector('body[data-ready]');
  assert.match((await rows(page))[3], /^final \(#9\)/);
  await page.locator('input.ee-tau').first().fill('0.8');
  assert.match((await rows(page))[3], /^final \(#9\)/, 'a recomputed table keeps the position (it used to guess "last exit + 1" = #7)');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('.ee-table-card .ee-export')]);
  assert.match(fs.readFileSync((await csv.path())!, 'utf8'), /^final,9,/m);
  await page.close();
});

test('host messages are validated in the webview: a malformed didLoadRun is rejected and the view keeps what it shows', async () => {
  const { page, post, sent } = await hostedPage();
  const good = readRunData(path.join(runs, 'final-pos'));
  await post({ type: 'didLoadRun', run: good });
  await page.waitForSelector('.ee-exit-table tbody tr.ee-totals');
  const before = { header: await page.innerText('.ee-header'), rows: await rows(page) };
  const broken: unknown[] = [
    { type: 'didLoadRun', run: { ...good, results: { ...good.results, hard: null } } },
    { type: 'didLoadRun', run: { ...good, samples: { ...good.samples, labels: [1, 2] } } },
    { type: 'didLoadRun', run: null },
    { type: 'didAppendMetrics', runId: good.id, metrics: [{ epoch: 'six' }] },
    { type: 'didUpdateStatus', runId: good.id, status: 'finished' },
    { type: 'didExport', kind: 'exe', path: '/tmp/x' },
  ];
  for (const m of broken) await post(m);
  await page.waitForFunction((n) => (globalThis as any).__sent.filter((m: any) => m.type === 'log').length >= n, broken.length);
  const logs = (await sent()).filter((m) => m.type === 'log').map((m) => String(m.message));
  assert.equal(logs.length, broken.length, logs.join('\n'));
  for (const l of logs) assert.match(l, /^webview: rejected host message: /);
  // the same checks (and words) as the run store's reader of those files (src/spec/run-files.ts)
  assert.match(logs[0], /didLoadRun: run\.results: hard: expected an object, got null$/);
  assert.match(logs[1], /didLoadRun: run\.samples: labels: expected \d+ items, got 2$/);
  assert.deepEqual({ header: await page.innerText('.ee-header'), rows: await rows(page) }, before, 'the view is not blanked');
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test('the validator accepts what the host sends (readRunData of finished, running and damaged runs)', () => {
  const live = path.join(runs, 'live');
  makeRun(live, { state: 'running' });
  const damaged = path.join(runs, 'damaged');
  makeRun(damaged);
  fs.writeFileSync(path.join(damaged, 'results.json'), '{"not": "results"}');
  for (const dir of [path.join(runs, 'final-pos'), live, damaged]) {
    const run: RunData = readRunData(dir);
    const v = validateHostMessage({ type: 'didLoadRun', run } satisfies HostMessage);
    assert.ok(v.ok, `${dir}: ${v.ok ? '' : v.reason}`);
  }
  assert.ok(validateHostMessage({ type: 'didExport', kind: 'csv', path: null, error: 'EACCES' }).ok);
});

test('exports are confirmed in the panel: saved (with the path), cancelled, failed', async () => {
  const { page, post, sent } = await hostedPage();
  await post({ type: 'didLoadRun', run: readRunData(path.join(runs, 'final-pos')) });
  await page.waitForSelector('.ee-exit-table tbody tr.ee-totals');
  await page.click('.ee-table-card .ee-export');
  assert.ok((await sent()).some((m) => m.type === 'exportFile'));
  const notice = () => page.$eval('#ee-notice', (el) => ({ text: (el as any).innerText as string, shown: el.classList.contains('ee-shown'), warn: el.classList.contains('ee-warn') }));
  await post({ type: 'didExport', kind: 'csv', path: '/home/me/final-pos-exit-table.csv' });
  await page.waitForSelector('#ee-notice.ee-shown');
  assert.deepEqual(await notice(), { text: 'Saved /home/me/final-pos-exit-table.csv', shown: true, warn: false });
  await page.screenshot({ path: path.join(OUT, 'webview-export-saved-dark.png') });
  await post({ type: 'didExport', kind: 'png', path: null });
  assert.equal((await notice()).text, 'Export cancelled: nothing was saved.');
  await post({ type: 'didExport', kind: 'json', path: null, error: 'EACCES: permission denied' });
  assert.deepEqual(await notice(), { text: 'Export failed: EACCES: permission denied', shown: true, warn: true });
  await page.close();
});

test('a cancelled run says what it has and how to resume; one stopped in epoch 1 says there is nothing to resume', async () => {
  const { page, post } = await hostedPage();
  const dir = path.join(runs, 'cancelled');
  makeRun(dir, { state: 'cancelled', epochs: 5 });
  await post({ type: 'didLoadRun', run: readRunData(dir) });
  await page.waitForSelector('.ee-note');
  assert.equal(await page.innerText('.ee-note'), 'This run was cancelled after epoch 3 of 5: its checkpoint is kept, so "Resume Run" on it in the Runs view continues from there, then evaluates it. It has no test results.');
  updateStatus(dir, { epoch: 0 });
  await post({ type: 'didLoadRun', run: readRunData(dir) });
  await page.waitForFunction(() => /before any epoch/.test((globalThis as any).document.querySelector('.ee-note').innerText));
  assert.equal(await page.innerText('.ee-note'), 'This run was cancelled before any epoch finished: there is no checkpoint to resume from; train its experiment again. It has no test results.');
  assert.doesNotMatch(await page.innerText('body'), /appear when the run finishes/);
  await page.close();
});

test('a one-epoch run draws its points in the middle of a one-tick epoch axis, not on the edge of a 1–2 axis', async () => {
  const { page, post } = await hostedPage();
  const dir = path.join(runs, 'one-epoch');
  makeRun(dir, { epochs: 1 });
  await post({ type: 'didLoadRun', run: readRunData(dir) });
  await page.waitForSelector('.ee-curve canvas');
  // Where the loss series (--vscode-charts-blue, #3794ff) is drawn, below the legend: its mean x in the canvas.
  const where = await page.$eval('.ee-curve canvas', (c: any) => {
    const { data, width, height } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let sx = 0, n = 0;
    for (let y = Math.floor(height * 0.3); y < height; y++) for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      if (Math.abs(data[i] - 0x37) + Math.abs(data[i + 1] - 0x94) + Math.abs(data[i + 2] - 0xff) < 40) { sx += x; n++; }
    }
    return { mean: sx / n / width, n };
  });
  assert.ok(where.n > 20, `the loss point is drawn (${where.n} pixels)`);
  assert.ok(where.mean > 0.4 && where.mean < 0.75, `the point sits mid-axis (mean x at ${(100 * where.mean).toFixed(0)} % of the width)`);
  await page.screenshot({ path: path.join(OUT, 'webview-one-epoch-dark.png'), fullPage: true });
  await page.close();
});

test('the curves name the exits the same while the run trains and once it is evaluated', async () => {
  const { page, post } = await hostedPage();
  const dir = path.join(runs, 'names');
  makeRun(dir, { state: 'running' });
  await post({ type: 'didLoadRun', run: readRunData(dir) });
  const accuracyLabel = () => page.$$eval('.ee-curve canvas', (cs) => cs.map((c) => c.getAttribute('aria-label') ?? '')[1]);
  await page.waitForSelector('.ee-curve canvas');
  const live = await accuracyLabel();
  assert.match(live, /block2 alone, block4 alone, block6 alone/);
  makeRun(dir);
  await post({ type: 'didLoadRun', run: readRunData(dir) });
  await page.waitForSelector('.ee-exit-table tbody tr.ee-totals');
  assert.equal(await accuracyLabel(), live);
  await page.close();
});

test('comparison cells and legends say which run they show (λ, epochs, short id)', async () => {
  const a = path.join(runs, 'cmp-a'), b = path.join(runs, 'cmp-b');
  makeRun(a, { lambda: 0.5, seed: 1, epochs: 3 });
  makeRun(b, { lambda: 2, seed: 2, epochs: 5, skill: -0.05 });
  const report = path.join(tmp, 'cmp.html');
  await writeReport([a, b], report, { assetsDir: assets });
  const page = await context.newPage();
  await page.goto(`file://${report}?theme=light`);
  await page.waitForSelector('body[data-ready]');
  const cell = await page.innerText('.ee-table1 tbody td.ee-best');
  assert.match(cell, /λ = 0\.5 · 3 epochs · best of 2\s*·\s*cmp-a|λ = 0\.5 · 3 epochs · best of 2 · cmp-a/);
  const epochsColumn = await page.$$eval('.ee-runs-table tbody tr', (trs) => trs.map((t) => (t as any).children[3].innerText));
  assert.deepEqual(epochsColumn, ['3', '5']);
  await page.screenshot({ path: path.join(OUT, 'report-comparison-cells-light.png') });
  await page.close();
});
