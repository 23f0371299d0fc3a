/**
 * Early-exit inference (the paper's Table 2 analogue) and accuracy vs MACs (Table 1 methods and a
 * λ sweep), on models the bench trains with the CLI (`early-exit train`, the product path) on the
 * real CIFAR-10 5k subset; batch-1 timing with `early-exit eval --measure`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunResults, SampleRecords } from '../../src/spec/results';
import type { BenchOptions } from '../run';
import { CIFAR5K, lastJson, load1, log, ROOT, round, run, tmpDir, tsx } from '../lib/util';
import { BACKBONES, WIDTH } from './speed';

/** The paper's Table 2 (CIFAR-10): time saved by hard exits relative to the full network. */
export const PAPER_SPEEDUP_PCT: Record<string, number> = { alexnet: 12, vgg13: 44, resnet18: 58 };
const EXIT_POINTS: Record<string, string[]> = { resnet18: ['block2', 'block4', 'block6'], vgg13: ['conv2', 'conv4', 'conv7'], alexnet: ['conv1', 'conv2', 'conv4'] };

export interface RunSpec { backbone: string; method: 'proposed' | 'branchynet' | 'baseline'; lambda: number; epochs: number; limit?: number; timingImages: number; alpha?: number }

const trained = new Map<string, string>();
const CLI = path.join(ROOT, 'bin/early-exit.js');

/** Trains one run with the CLI (or reuses one trained earlier in this bench) → its run folder. */
export function train(s: RunSpec): string {
  const key = JSON.stringify(Object.keys(s).sort().map((k) => [k, s[k as keyof RunSpec]]));
  const done = trained.get(key);
  if (done) return done;
  const dir = tmpDir(`${s.backbone}-${s.method}${s.method === 'proposed' ? `-l${s.lambda}` : ''}`);
  const x = {
    name: `bench-${s.backbone}-${s.method}${s.method === 'proposed' ? `-l${s.lambda}${s.alpha ? `-a${s.alpha}` : ''}` : ''}`,
    backbone: { name: s.backbone, width: WIDTH },
    exits: s.method === 'baseline' ? [] : EXIT_POINTS[s.backbone].map((point) => ({ point })),
    method: { name: s.method, ...(s.method === 'proposed' ? { lambda: s.lambda, ...(s.alpha ? { exitLossWeight: s.alpha } : {}) } : {}) },
    dataset: { name: 'cifar10', path: CIFAR5K, ...(s.limit ? { limit: s.limit } : {}) },
    training: { epochs: s.epochs, backend: 'wasm' },
    evaluation: { timingImages: s.timingImages },
  };
  const file = path.join(dir, 'bench.exits.json');
  fs.writeFileSync(file, JSON.stringify(x, null, 2));
  const runs = path.join(dir, 'runs');
  log(`training ${x.name} (${s.epochs} epochs)`);
  const p = run(process.execPath, [CLI, 'train', file, '--out', runs], { timeoutMs: 30 * 60_000 });
  const ids = fs.existsSync(runs) ? fs.readdirSync(runs).filter((d) => !d.startsWith('.')) : [];
  if (p.code !== 0 || ids.length !== 1) throw new Error(`early-exit train ${x.name} failed (exit ${p.code}):\n${p.stderr.slice(-3000)}`);
  const rd = path.join(runs, ids[0]);
  trained.set(key, rd);
  return rd;
}

const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;

function softValidationAccuracy(rd: string): number | null {
  const v = readJson<SampleRecords>(path.join(rd, 'samples-validation.json'));
  if (!v.softPred) return null;
  let ok = 0;
  v.softPred.forEach((p, i) => { if (p === v.labels[i]) ok++; });
  return ok / v.count;
}

function evalCli(rd: string, args: string[]): { table: RunResults['hard']; note: string | null; timing: RunResults['timing'] } {
  return lastJson(run(process.execPath, [CLI, 'eval', rd, ...args, '--json']), `eval ${args.join(' ')}`) as never;
}

/** The eval JSON is pretty-printed: parse the whole stdout. */
function evalJson(rd: string, args: string[]): { table: RunResults['hard']; note: string | null; timing: RunResults['timing'] } {
  const p = run(process.execPath, [CLI, 'eval', rd, ...args, '--json'], { timeoutMs: 10 * 60_000 });
  try { return JSON.parse(p.stdout); } catch { return evalCli(rd, args); }
}

function summary(rd: string): Record<string, unknown> {
  const r = readJson<RunResults>(path.join(rd, 'results.json'));
  return {
    runDir: rd, method: r.method, lambda: r.lambda, epochs: r.epochs, trainSeconds: round(r.trainSeconds, 1), train: r.dataset.train, test: r.dataset.test,
    softAccuracy: r.softAccuracy, finalAccuracy: r.finalAccuracy, hardAccuracy: r.hard.accuracy, rule: r.rule, thresholds: r.thresholds,
    averageMacs: r.hard.averageMacs, averageMacsPct: r.hard.averageMacsPct, fullMacs: r.costs.full,
    shares: r.hard.rows.map((row) => ({ point: row.point, position: row.position, share: row.share, accuracy: row.accuracy })),
    timing: r.timing,
  };
}

/** Batch-1 measurements per figure: one `eval --measure` moved by up to 7 points of time saved between calls. */
const LATENCY_MEASUREMENTS = 3;

/**
 * `early-exit eval … --measure` `times` times, each a fresh process: the call with the median time
 * saved (its own full and hard times), and the range over the calls.
 */
function measured(rd: string, args: string[], times: number): ReturnType<typeof evalJson> {
  const calls = Array.from({ length: times }, () => evalJson(rd, [...args, '--measure']));
  const timed = calls.filter((c) => c.timing).sort((a, b) => a.timing!.timeSavedPct - b.timing!.timeSavedPct);
  if (!timed.length) return calls[0];
  const median = timed[Math.floor((timed.length - 1) / 2)];
  const range = [timed[0].timing!.timeSavedPct, timed[timed.length - 1].timing!.timeSavedPct];
  return { ...median, timing: { ...median.timing!, measurements: timed.length, timeSavedRange: range } as RunResults['timing'] };
}

/**
 * Batch-1 latency of a trained run at τ = 0.5 and at the calibrated τ, each the median of
 * LATENCY_MEASUREMENTS `early-exit eval --measure` calls (fresh processes; in each, both paths warmed
 * on every image, then per image the fastest of five interleaved rounds: see measureTiming), and the
 * hard-exit pass before/after its bookkeeping change.
 */
function measureRun(backbone: string, rd: string, quick = false): Record<string, unknown> {
  const s = summary(rd);
  // calibrated τ: the cheapest τ whose validation accuracy is at most 1 point under the soft output's
  const softVal = softValidationAccuracy(rd);
  const target = softVal === null ? null : Math.max(0, softVal - 0.01);
  const times = quick ? 1 : LATENCY_MEASUREMENTS;
  const at05 = measured(rd, ['--threshold', '0.5'], times);
  const cal = target === null ? null : measured(rd, ['--target-accuracy', String(round(target, 4))], times);
  let hardPass: Record<string, unknown> | null = null;
  if (!quick) try {
    const h = tsx('bench/hard-exit.ts', [rd]);
    hardPass = { afterMs: h.onePassMs, beforeMs: h.beforePassMs, speedup: h.passSpeedup };
  } catch (err) { hardPass = { error: String((err as Error).message).slice(0, 300) }; }
  log(`${backbone}: soft ${s.softAccuracy}, τ=0.5 hard ${at05.table.accuracy} saved ${round(at05.timing?.timeSavedPct ?? NaN, 1)}%, calibrated ${cal?.table.accuracy} saved ${round(cal?.timing?.timeSavedPct ?? NaN, 1)}%`);
  return {
    backbone, ...s, softValidationAccuracy: softVal, calibrationTarget: target, workerTiming: s.timing,
    tau05: { thresholds: at05.table.thresholds, accuracy: at05.table.accuracy, accuracyChange: at05.table.accuracy - (s.softAccuracy as number), averageMacsPct: at05.table.averageMacsPct, shares: at05.table.rows.map((row) => ({ point: row.point, position: row.position, share: row.share })), timing: at05.timing },
    calibrated: cal && {
      note: cal.note, thresholds: cal.table.thresholds, accuracy: cal.table.accuracy, accuracyChange: cal.table.accuracy - (s.softAccuracy as number),
      averageMacsPct: cal.table.averageMacsPct, shares: cal.table.rows.map((row) => ({ point: row.point, position: row.position, share: row.share })), timing: cal.timing,
    },
    paperTimeSavedPct: PAPER_SPEEDUP_PCT[backbone],
    hardPass,
    load: load1(),
  };
}

/** Re-measures the latency of the Table-2 runs of an earlier bench (their run folders must still exist). */
export async function latencySection(o: BenchOptions): Promise<Record<string, unknown>> {
  const prev = o.prev?.earlyexit as { rows: { backbone: string; runDir: string }[] } | undefined;
  if (!prev?.rows) throw new Error('no earlier earlyexit section to re-measure');
  const rows = prev.rows.filter((r) => fs.existsSync(r.runDir)).map((r) => measureRun(r.backbone, r.runDir));
  return { ...prev, rows, remeasuredAt: new Date().toISOString() };
}

/**
 * Table 2 runs: the proposed loss with the per-exit CE term (α = 0.5: with the paper's loss alone
 * the later classifiers stay untrained at this budget, see BENCHMARKS.md "GPU machine") for two
 * cost weights λ per backbone, 6 epochs. `--quick`: λ = 1, one epoch on 500 images.
 */
export const TABLE2 = { alpha: 0.5, lambdas: [0.5, 1], epochs: 6 };

export async function earlyExitSection(o: BenchOptions): Promise<Record<string, unknown>> {
  const epochs = o.quick ? 1 : TABLE2.epochs;
  const rows: Record<string, unknown>[] = [];
  for (const backbone of BACKBONES) {
    for (const lambda of o.quick ? [1] : TABLE2.lambdas) {
      const rd = train({ backbone, method: 'proposed', lambda, alpha: TABLE2.alpha, epochs, limit: o.quick ? 500 : undefined, timingImages: o.quick ? 20 : 100 });
      rows.push({ ...measureRun(backbone, rd, o.quick), alpha: TABLE2.alpha });
    }
  }
  return { width: WIDTH, epochs, alpha: TABLE2.alpha, dataset: 'cifar10-5k (4000 train → 3600 train + 400 validation, 1000 test)', rows };
}

export const TRADEOFF_BACKBONE = 'vgg13';
export const LAMBDAS = [0.01, 0.1, 1];

export async function tradeoffSection(o: BenchOptions): Promise<Record<string, unknown>> {
  const epochs = o.quick ? 1 : 4;
  const base = { backbone: TRADEOFF_BACKBONE, epochs, limit: o.quick ? 500 : undefined, timingImages: o.quick ? 20 : 100 };
  const specs: RunSpec[] = [
    { ...base, method: 'baseline', lambda: 0 },
    { ...base, method: 'branchynet', lambda: 0 },
    ...LAMBDAS.map((lambda) => ({ ...base, method: 'proposed' as const, lambda })),
  ];
  const dirs = specs.map(train);
  const rows = dirs.map(summary);
  // the trade-off chart image, drawn by the report (`early-exit report`) in headless Chromium
  let chart: string | null = null;
  let chartError: string | null = null;
  try {
    const html = path.join(tmpDir('report'), 'report.html');
    const p = run(process.execPath, [CLI, 'report', ...dirs, '-o', html]);
    if (p.code !== 0) throw new Error(p.stderr);
    chart = await screenshot(html, path.join(ROOT, o.quick ? 'bench/figures/tradeoff-quick.png' : 'bench/figures/tradeoff.png'));
  } catch (e) { chartError = String((e as Error).message).slice(0, 500); }
  return { backbone: TRADEOFF_BACKBONE, width: WIDTH, epochs, rows, chart: chart && path.relative(ROOT, chart), chartError };
}

/** A screenshot of the first element matching `selector` in a report (headless Chromium). */
export async function screenshot(html: string, png: string, selector = '#comparison .ee-tradeoff'): Promise<string> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`file://${html}?theme=light`);
    await page.waitForSelector('body[data-ready]');
    await page.waitForTimeout(300);
    fs.mkdirSync(path.dirname(png), { recursive: true });
    await page.locator(selector).first().screenshot({ path: png });
    return png;
  } finally {
    await browser.close();
  }
}
