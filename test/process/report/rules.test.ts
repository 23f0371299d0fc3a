/**
 * Routing and the every-rule comparison in the standalone report (the results panel's own view),
 * in headless Chromium: the collapse warning of a run whose gates send everything to one exit, the
 * routing line under the exit table, one chart with the three rules and the area between them in
 * words, Table 2 at a budget for every rule, recomputed when the budget changes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeReport } from '../../../src/report/report';
import { makeRun } from '../../fixtures/make-run';
import { buildWebviewAssets, CHROMIUM } from '../../fixtures/webview-page';
import { ROOT } from '../../paths';

const OUT = path.join(ROOT, 'test-results');
let tmp = '';
let routed = '';
let collapsed = '';
let both = '';
let browser: Browser;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-rules-'));
  const assets = path.join(tmp, 'assets');
  await buildWebviewAssets(assets);
  makeRun(path.join(tmp, 'runs/routed'), { seed: 1 });
  // τ = 0 for every gate: every input leaves at the first exit
  makeRun(path.join(tmp, 'runs/collapsed'), { seed: 2, thresholds: [0, 0, 0] });
  // as a run trained with recipes records them (worker/run.ts: recipeSummary)
  const resultsFile = path.join(tmp, 'runs/collapsed/results.json');
  fs.writeFileSync(resultsFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(resultsFile, 'utf8')), recipes: 'gates only, gates see softmax' }));
  routed = path.join(tmp, 'routed.html');
  collapsed = path.join(tmp, 'collapsed.html');
  both = path.join(tmp, 'both.html');
  await writeReport([path.join(tmp, 'runs/routed')], routed, { assetsDir: assets });
  await writeReport([path.join(tmp, 'runs/collapsed')], collapsed, { assetsDir: assets });
  await writeReport([path.join(tmp, 'runs/routed'), path.join(tmp, 'runs/collapsed')], both, { assetsDir: assets });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  fs.mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function open(file: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`file://${file}?theme=light`);
  await page.waitForSelector('body[data-ready]');
  return { page, errors };
}

test('a run that routes: no warning, the routing line, one chart of three rules, the area in words, every rule at a budget', async () => {
  const { page, errors } = await open(routed);
  assert.equal(await page.locator('.ee-collapse').count(), 0);
  assert.match(await page.locator('.ee-stat', { hasText: 'effective exits' }).innerText(), /effective exits\s+[1-4]\.\d of 4/);
  assert.match(await page.locator('.ee-routing').innerText(), /^split #2 block2 \d+\.\d % · .*effective exits of 4 .* over input-blind routing with the same split\.$/);
  // one chart, drawn (not blank), and the two areas: gates vs entropy, gates vs max softmax
  const blank = await page.locator('.ee-rules canvas').evaluate((c: any) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data as Uint8ClampedArray;
    const colours = new Set<number>();
    for (let i = 0; i < d.length; i += 4 * 13) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return colours.size;
  });
  assert.ok(blank > 10, `the rules chart has ${blank} colours`);
  const gaps = await page.locator('.ee-gaps li').allInnerTexts();
  assert.equal(gaps.length, 2);
  assert.match(gaps[0], /^learned gates vs entropy \(BranchyNet\): [+−]\d+\.\d\d pt on average over \d+–\d+ % MACs \(area [+−]\d+ pt·%; ahead on \d+ % of the range\)$/);
  assert.match(gaps[1], /^learned gates vs max softmax: /);
  // Table 2 at 60 % (the default) for every rule, then at 40 %
  const rows = () => page.locator('.ee-budget-table tbody tr').evaluateAll((trs) => trs.map((tr) => ({ rule: tr.getAttribute('data-rule'), cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '') })));
  const at60 = await rows();
  assert.deepEqual(at60.map((r) => r.rule), ['gate', 'entropy', 'confidence']);
  for (const r of at60) assert.ok(parseFloat(r.cells[3]) <= 60.5, `${r.rule} within 60 % of the MACs on test (picked on validation): ${r.cells[3]}`);
  assert.match(await page.locator('.ee-budget-card .ee-calibration').innerText(), /τ shared by every exit, picked on 200 validation samples for 60 %/);
  await page.locator('.ee-rule-budget').evaluate((el: any) => { el.value = '40'; });
  await page.locator('.ee-rule-budget-go').click();
  await page.waitForFunction(() => /for 40 %/.test((globalThis as any).document.querySelector('.ee-budget-card .ee-calibration')?.textContent ?? ''));
  const at40 = await rows();
  assert.ok(at40.every((r, i) => parseFloat(r.cells[3]) <= parseFloat(at60[i].cells[3]) + 1e-9), 'a smaller budget costs no more');
  // "Use" puts the gates' thresholds into the exit table above
  await page.locator('.ee-budget-table tr[data-rule="gate"] vscode-button').click();
  const tau = at40[0].cells[1].split(' / ')[0];
  await page.waitForFunction((t) => (globalThis as any).document.querySelector('.ee-current')?.textContent?.includes(`At τ = ${t}`), tau);
  await page.locator('.ee-rules-section').screenshot({ path: path.join(OUT, 'report-rules.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a collapsed run: the warning in the header, the routing line and the comparison', async () => {
  const { page, errors } = await open(collapsed);
  const warning = await page.locator('.ee-collapse').innerText();
  assert.match(warning, /^Routing collapsed: 100\.0 % of the inputs leave at #2 block2, so this is a truncated network, not early exiting/);
  assert.match(await page.locator('.ee-routing').innerText(), /Warning: routing collapsed: 100\.0 %/);
  await page.locator('header.ee-header').screenshot({ path: path.join(OUT, 'report-collapsed-header.png') });
  await page.close();
  const c = await open(both);
  const cells = await c.page.locator('.ee-runs-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.querySelectorAll('td')[9]?.textContent ?? ''));
  assert.equal(cells.length, 2);
  assert.doesNotMatch(cells[0], /collapsed/);
  assert.match(cells[1], /^1\.0 of 4 — collapsed$/);
  // the recipes under the method: two proposed runs that differ only by recipe are told apart
  const methods = await c.page.locator('.ee-runs-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.querySelectorAll('td')[1]?.textContent ?? ''));
  assert.deepEqual(methods, ['Proposed', 'Proposedgates only, gates see softmax']);
  assert.deepEqual([...errors, ...c.errors], []);
  await c.page.close();
});
