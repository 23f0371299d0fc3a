/**
 * The "Deployment across tiers" section in headless Chromium, in the standalone report and as the
 * VS Code panel hosts it: charts drawn, the numbers the estimate computes, cuts and τ moving them,
 * the best placement for a budget applied, the split execution beside the estimate, exports, and
 * the plan going to the host (setDeployment) and coming back (didUpdateDeployment).
 * Screenshots: test-results/tiers-report-*.png, tiers-panel-dark.png, tiers-panel-narrow.png.
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
import { readResults, readSamples } from '../../../src/runs/store';
import { firstRecords, type SplitMeasurement } from '../../../src/spec/split-results';
import { bestPlacement, deploymentSweep, estimateDeployment, resolvePlan, type ResolvedPlan } from '../../../src/spec/tier-estimate';
import { formatMs, type DeploymentSpec } from '../../../src/spec/tiers';
import { makeRun } from '../../fixtures/make-run';
import { ROOT } from '../../paths';
import { buildWebviewAssets, CHROMIUM, launchChromium, writeHostedPage } from '../../fixtures/webview-page';

const OUT = path.join(ROOT, 'test-results');
const PLAN: DeploymentSpec = { preset: 'phone-wifi-cloud', cuts: ['block2', 'block4'], quantization: 'float32' };
let tmp = '';
let planned = '';
let plain = '';
let hosted = '';
let reportPlanned = '';
let reportPlain = '';
let context: BrowserContext;
const errors: string[] = [];

/** A split execution of PLAN as `deploy run` writes it: inputs 5 % slower than their estimate. */
function fakeMeasurement(dir: string, plan: ResolvedPlan): SplitMeasurement {
  const r = readResults(dir);
  const rec = firstRecords(readSamples(dir, 'test'), 50);
  const tiers = plan.tiers.map((t) => ({ ...t, compute: { measure: 'wasm' as const } }));
  const speed = { backend: 'wasm', blockMs: plan.net.blocks.map(() => 0.2), exitMs: plan.net.exits.map(() => 0.05), classifierMs: 0.02, images: 10, measuredAt: '2026-01-01T00:00:00Z' };
  const times = resolvePlan(r, { tiers, cuts: PLAN.cuts, quantization: 'float32' }, { wasm: speed }).times;
  const estimate = estimateDeployment(rec, r.rule, r.thresholds, plan.net, tiers, times, plan.cuts, 'float32');
  const exitOf = (i: number) => { let a = 0; while (a < r.points.length && !(rec.exits[a].gate![i] >= r.thresholds[a])) a++; return a; };
  const inputs = Array.from({ length: rec.count }, (_, i) => {
    const p = estimate.paths[exitOf(i)];
    return { sample: i, label: rec.labels[i], exit: p.exit, pred: p.exit < r.points.length ? rec.exits[p.exit].pred[i] : rec.final.pred[i], tier: p.tier, latencyMs: p.latencyMs * 1.05, computeMs: p.computeMs, codecMs: p.computeMs.map(() => 0.01), bytes: p.bytesFloat32 };
  });
  return {
    version: 1, tiers, profile: 'phone-wifi-cloud', cuts: plan.cuts, cutNames: PLAN.cuts, quantization: 'float32', rule: r.rule, thresholds: r.thresholds, backend: 'wasm',
    shaped: true, warmup: 5, inputs, wireBytes: null, measuredAt: '2026-01-01T00:00:00Z', loadAverage: [0.5, 0.6], estimate, speed,
  };
}

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing (npm run test:install)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-tiers-web-'));
  const assets = path.join(tmp, 'assets');
  await buildWebviewAssets(assets);
  hosted = path.join(tmp, 'hosted.html');
  writeHostedPage(hosted);
  planned = path.join(tmp, 'runs', 'planned');
  plain = path.join(tmp, 'runs', 'plain');
  const results = makeRun(planned, { seed: 7 })!;
  makeRun(plain, { seed: 8 });
  fs.writeFileSync(path.join(planned, 'experiment.json'), JSON.stringify({ name: 'fixture', backbone: { name: 'resnet18', width: 1, input: [32, 32, 3], classes: 10 }, deployment: PLAN }));
  fs.writeFileSync(path.join(planned, 'split-measured.json'), JSON.stringify([fakeMeasurement(planned, resolvePlan(results, PLAN))]));
  reportPlanned = path.join(tmp, 'planned.html');
  reportPlain = path.join(tmp, 'plain.html');
  await writeReport([planned], reportPlanned, { assetsDir: assets });
  await writeReport([plain], reportPlain, { assetsDir: assets });
  fs.mkdirSync(OUT, { recursive: true });
  context = await launchChromium(path.join(tmp, 'profile'), { acceptDownloads: true, height: 1000 });
  await context.route('**/*', (route) => (/^(file|data|blob):/.test(route.request().url()) ? route.continue() : route.abort()));
});
after(async () => {
  await context?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function open(file: string, theme = 'dark'): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`file://${file}?theme=${theme}`);
  await page.waitForSelector('body[data-ready]');
  return page;
}

/** Pixels that differ from the top-left one, per canvas of the tiers section. */
const ink = (page: Page) => page.$$eval('.ee-tiers canvas', (cs) => cs.map((c) => {
  const { data } = (c as any).getContext('2d').getImageData(0, 0, (c as any).width, (c as any).height);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - data[0]) + Math.abs(data[i + 1] - data[1]) + Math.abs(data[i + 2] - data[2]) > 60) n++;
  return n / (data.length / 4);
}));

const select = (page: Page, selector: string, value: string) => page.$eval(selector, (el, v) => { (el as any).value = v; el.dispatchEvent(new Event('change')); }, value);
const summary = (page: Page) => page.innerText('.ee-tiers-summary');

test('a planned run: the section open, its four charts drawn, the tiers and numbers of the estimate', async () => {
  const page = await open(reportPlanned);
  assert.equal(await page.$eval('details.ee-tiers', (d) => (d as any).open), true);
  const drawn = await ink(page);
  assert.equal(drawn.length, 4, 'flow, latency distribution, latency front, bytes front');
  drawn.forEach((f, i) => assert.ok(f > 0.01, `canvas ${i} looks empty (${f})`));
  assert.deepEqual(await page.$$eval('.ee-tier .ee-tier-name', (els) => els.map((e) => (e as any).innerText.split(' ')[0])), ['device', 'edge', 'cloud']);
  const r = readResults(planned);
  const plan = resolvePlan(r, PLAN);
  const e = estimateDeployment(readSamples(planned, 'test'), r.rule, r.thresholds, plan.net, plan.tiers, plan.times, plan.cuts, 'float32');
  assert.match(await summary(page), new RegExp(`cuts after block2 \\| block4 · mean ${formatMs(e.latency.mean).replace('.', '\\.')}`));
  assert.match(await page.innerText('.ee-tier-stats'), new RegExp(`latency mean\\s+${formatMs(e.latency.mean).replace('.', '\\.')}`));
  // the split execution of this very placement, beside the estimate
  const compare = await page.innerText('.ee-tier-compare');
  assert.match(compare, /mean latency[\s\S]*agrees/);
  assert.match(compare, /payload bytes per input[\s\S]*agrees/);
  await (await page.$('details.ee-tiers'))!.screenshot({ path: path.join(OUT, 'tiers-report-dark.png') });
  await page.close();
});

test('moving a cut or τ moves the numbers; a budget gives the best placement, and Apply uses it', async () => {
  const page = await open(reportPlanned, 'light');
  const before = await summary(page);
  // the device's cut past the edge's: both move along
  await select(page, '.ee-tier-cut[data-link="0"]', 'block6');
  assert.deepEqual(await page.$$eval('.ee-tier-cut', (els) => els.map((e) => (e as any).value)), ['block6', 'block6']);
  const r = readResults(planned);
  const rec = readSamples(planned, 'test');
  const plan = resolvePlan(r, { ...PLAN, cuts: ['block6', 'block6'] });
  const e = estimateDeployment(rec, r.rule, r.thresholds, plan.net, plan.tiers, plan.times, plan.cuts, 'float32');
  assert.match(await summary(page), new RegExp(`mean ${formatMs(e.latency.mean).replace('.', '\\.')}`));
  assert.notEqual(await summary(page), before);
  // τ in the results view reaches the tiers section
  const acc = /(\d+\.\d\d) %$/.exec(await summary(page))![1];
  // the charts are redrawn in place (not rebuilt) when τ moves: what they show must still follow it
  const pixels = () => page.$$eval('.ee-tiers canvas', (cs) => cs.map((c) => (c as any).toDataURL() as string));
  const drawnBefore = await pixels();
  await page.locator('input.ee-tau').first().fill('0.95');
  await page.waitForFunction((a) => !(globalThis as any).document.querySelector('.ee-tiers-summary').innerText.endsWith(`${a} %`), acc);
  const drawnAfter = await pixels();
  assert.equal(drawnAfter.length, 4);
  // flow (inputs answered per tier), latency distribution, and "this plan" on both fronts
  drawnAfter.forEach((d, i) => assert.notEqual(d, drawnBefore[i], `chart ${i} did not change with τ`));
  // a 30 ms budget on the mean
  await page.$eval('.ee-tier-latency-budget', (el) => { (el as any).value = '30'; });
  await page.click('.ee-tier-find');
  const best = bestPlacement(deploymentSweep(rec, r.rule, plan.net, plan.tiers, plan.times, 'float32'), { latencyMs: 30 })!;
  const text = await page.innerText('.ee-tier-best');
  assert.match(text, new RegExp(`τ = ${best.threshold.toFixed(2)} → ${(100 * best.accuracy).toFixed(2)} %, mean ${formatMs(best.meanMs).replace('.', '\\.')}`));
  await page.click('.ee-tier-apply');
  assert.ok(Number(await page.locator('input.ee-tau').first().inputValue()) === best.threshold, 'Apply sets the τ of the best placement');
  assert.match(await summary(page), new RegExp(`mean ${formatMs(best.meanMs).replace('.', '\\.')}`));
  await (await page.$('details.ee-tiers'))!.screenshot({ path: path.join(OUT, 'tiers-report-light.png') });
  // exports
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('.ee-export-tiers-json')]);
  const exported = JSON.parse(fs.readFileSync((await json.path())!, 'utf8'));
  assert.equal(exported.estimate.latency.mean, best.meanMs);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('.ee-export-tiers-sweep')]);
  assert.equal(fs.readFileSync((await csv.path())!, 'utf8').trim().split('\n').length, 45 * 21 + 1, 'every placement × τ');
  await page.close();
});

test('a run without a plan: the section closed and undrawn until opened, then the first preset placed as Figure 2', async () => {
  const page = await open(reportPlain);
  assert.equal(await page.$eval('details.ee-tiers', (d) => (d as any).open), false);
  assert.equal((await ink(page)).length, 0);
  assert.match(await summary(page), /not planned/);
  await page.click('details.ee-tiers > summary');
  await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('.ee-tiers canvas').length === 4);
  assert.match(await page.innerText('.ee-tiers-source'), /Not planned yet: the first preset, placed as the paper's Figure 2 \(not saved\)/);
  assert.deepEqual(await page.$$eval('.ee-tier-cut', (els) => els.map((e) => (e as any).value)), ['block2', 'block4']);
  await page.close();
});

test('in VS Code: a changed plan goes to the host, and the host\'s plan (a cut moved in the Branches view) comes back', async () => {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`file://${hosted}`);
  await page.waitForFunction(() => (globalThis as any).__sent.length > 0);
  const post = (m: HostMessage) => page.evaluate((msg) => (globalThis as any).postMessage(msg, '*'), m);
  await post({ type: 'didLoadRun', run: readRunData(planned) });
  await page.waitForSelector('.ee-tier-preset');
  await select(page, '.ee-tier-preset', 'mcu-lora-cloud');
  const sent = await page.evaluate(() => (globalThis as any).__sent as { type: string; deployment?: DeploymentSpec }[]);
  const set = sent.find((m) => m.type === 'setDeployment');
  assert.deepEqual(set?.deployment, { preset: 'mcu-lora-cloud', cuts: ['block2', 'block4'], quantization: 'float32' });
  await post({ type: 'didUpdateDeployment', runId: 'planned', state: { deployment: { preset: 'mcu-lora-cloud', cuts: ['input', 'block8'], quantization: 'int8' }, source: 'workspace', file: 'fixture.exits.json' } });
  await page.waitForFunction(() => (globalThis as any).document.querySelector('.ee-tier-cut').value === 'input');
  assert.match(await page.innerText('.ee-tiers-source'), /Plan from fixture\.exits\.json; changes here are saved there/);
  assert.match(await summary(page), /microcontroller \+ LoRa gateway \+ cloud · cuts after input \| block8 · .* · 0\.0 % on the device · 3\.1 KB per input/);
  await page.screenshot({ path: path.join(OUT, 'tiers-panel-dark.png'), fullPage: true });
  // a narrow panel (an editor column beside the experiment file): the tiers stack, nothing runs off to the side
  await page.setViewportSize({ width: 480, height: 1000 });
  await page.waitForFunction(() => (globalThis as any).getComputedStyle((globalThis as any).document.querySelector('.ee-tier-strip')).flexDirection === 'column');
  const widths = await page.$eval('.ee-tier-strip', (el) => [(el as any).scrollWidth, (el as any).clientWidth]);
  assert.ok(widths[0] <= widths[1], `the tier cards overflow a 480 px panel: ${widths.join(' > ')}`);
  await (await page.$('details.ee-tiers'))!.screenshot({ path: path.join(OUT, 'tiers-panel-narrow.png') });
  assert.deepEqual(await page.evaluate(() => (globalThis as any).__csp), [], 'the panel\'s CSP blocks nothing the section needs');
  await page.close();
});

test('no script error in any of these pages', () => {
  assert.deepEqual(errors, []);
});
