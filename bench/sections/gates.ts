/**
 * Learned gates against the softmax rules at fixed budgets (issue 17), on real data: per dataset,
 * BranchyNet, the paper's method as published and each gate recipe (most of them gates trained on
 * the BranchyNet run's exits, `training.initFrom`), trained by `early-exit train` (the product
 * path); then for every run `early-exit eval --rule all --budget 50%,70%,90%
 * --per-exit --measure --json`: for every exit rule τ per exit picked on the validation split,
 * the test accuracy, the split of the inputs and the measured batch-1 time saved at that budget.
 *
 * The best learned-gate recipe of a dataset is chosen on the validation split (its gates' mean
 * validation accuracy over the budgets), never on the test split.
 *
 * The runs take hours on a shared 2-core machine: EARLY_EXIT_GATES_RUNS=dir1:dir2 uses runs
 * already trained from the same experiments (`gateExperiment`; `writeGateExperiments` writes them
 * as files) instead of training them again, found by experiment name; their folders must exist.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunResults } from '../../src/spec/results';
import type { BenchOptions } from '../run';
import { CIFAR5K, DATASETS, load1, log, mean, ROOT, round, run, tmpDir } from '../lib/util';
import { screenshot } from './exits';

const CLI = path.join(ROOT, 'bin/early-exit.js');
export const GATE_BUDGETS = [0.5, 0.7, 0.9];

interface DatasetSet {
  label: string;
  backbone: Record<string, unknown>;
  dataset: Record<string, unknown>;
  /** epochs of the runs trained from scratch (BranchyNet, the paper, the exits of the distilled warm-up) */
  epochs: number;
  /** epochs of the gates trained on the exits of the BranchyNet run (training.initFrom) */
  gateEpochs: number;
}

/** The two datasets of the issue's measurement, at the sizes that finish on this machine (see BENCHMARKS.md). */
export const GATE_DATASETS: Record<string, DatasetSet> = {
  cifar: {
    label: 'CIFAR-10 5k (3 600 train, 400 validation, 1 000 test), ResNet-18 ×1/4, exits after blocks 2/4/6',
    backbone: { name: 'resnet18', width: 0.25 }, dataset: { name: 'cifar10', path: CIFAR5K }, epochs: 20, gateEpochs: 5,
  },
  mnist: {
    label: 'MNIST (10 000 of the training images: 9 000 train, 1 000 validation; all 10 000 test), ResNet-18 ×1/8, exits after blocks 2/4/6',
    backbone: { name: 'resnet18', width: 0.125, input: [28, 28, 1] }, dataset: { name: 'mnist', path: path.join(DATASETS, 'mnist'), limit: 10000 }, epochs: 10, gateEpochs: 5,
  },
};

/**
 * The methods of the comparison, by name: BranchyNet and the paper's method trained from scratch;
 * the recipes that train gates on the BranchyNet run's exits (`initFrom: true`: its run folder is
 * filled in) for `gateEpochs`; and the distilled warm-up, which trains its own exits first.
 */
export function gateMethods(s: DatasetSet): Record<string, { method: Record<string, unknown>; epochs: number; initFrom?: true }> {
  const gatesOnly = { name: 'proposed', lambda: 0.1, warmup: { freeze: true } };
  const softmax = { ...gatesOnly, gateInputs: 'features+softmax' };
  return {
    branchynet: { method: { name: 'branchynet' }, epochs: s.epochs },
    paper: { method: { name: 'proposed', lambda: 0.1 }, epochs: s.epochs },
    'gates-features': { method: gatesOnly, epochs: s.gateEpochs, initFrom: true },
    'gates-softmax': { method: softmax, epochs: s.gateEpochs, initFrom: true },
    // what the softmax statistics add when the budget makes the gates open, and what the features add to them
    'gates-features-budget70': { method: { ...gatesOnly, targetBudget: 0.7 }, epochs: s.gateEpochs, initFrom: true },
    'gates-softmaxonly-budget70': { method: { ...gatesOnly, gateInputs: 'softmax', targetBudget: 0.7 }, epochs: s.gateEpochs, initFrom: true },
    // hard gates late, with the budget that keeps them open
    'gates-softmax-budget70-hard': { method: { ...softmax, targetBudget: 0.7, gateTemperature: 0.1, hardGatesFrom: s.gateEpochs - 1 }, epochs: s.gateEpochs, initFrom: true },
    // the target-budget workflow: gates trained for each budget of the comparison (and the issue's 60 %)
    ...Object.fromEntries([0.5, 0.6, 0.7, 0.9].map((b) => [`gates-softmax-budget${Math.round(100 * b)}`, { method: { ...softmax, targetBudget: b }, epochs: s.gateEpochs, initFrom: true as const }])),
    'gates-softmax-hard': { method: { ...softmax, gateTemperature: 0.1, hardGatesFrom: s.gateEpochs - 1 }, epochs: s.gateEpochs, initFrom: true },
    'joint-softmax': { method: { name: 'proposed', lambda: 0.1, gateInputs: 'features+softmax' }, epochs: s.gateEpochs, initFrom: true },
    'distilled-gates-softmax': { method: { ...softmax, warmup: { epochs: s.epochs, distillation: 0.5, freeze: true } }, epochs: s.epochs + s.gateEpochs },
  };
}

/** The experiment of one dataset × method; `initFrom`: the BranchyNet run folder the gate recipes start from. */
export function gateExperiment(key: string, method: string, opts: { seed?: number; quick?: boolean; initFrom?: string } = {}): Record<string, unknown> {
  const s = GATE_DATASETS[key];
  const m = gateMethods(s)[method];
  if (m.initFrom && !opts.initFrom) throw new Error(`${key}-${method} starts from the BranchyNet run: give its folder`);
  return {
    name: `${key}-${method}${opts.seed && opts.seed !== 1 ? `-seed${opts.seed}` : ''}`,
    backbone: s.backbone,
    exits: [{ point: 'block2' }, { point: 'block4' }, { point: 'block6' }],
    method: m.method,
    dataset: opts.quick ? { ...s.dataset, limit: 500 } : s.dataset,
    training: { epochs: opts.quick ? Math.min(2, m.epochs) : m.epochs, backend: 'wasm', seed: opts.seed ?? 1, ...(m.initFrom ? { initFrom: opts.initFrom } : {}) },
    evaluation: { timingImages: opts.quick ? 20 : 100 },
  };
}

/** Writes every experiment file of the comparison to `dir`, to train them outside the bench (`initFrom`: BranchyNet run folder per dataset). */
export function writeGateExperiments(dir: string, initFrom: Record<string, string>, seeds: number[] = [1]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const key of Object.keys(GATE_DATASETS)) {
    for (const [method, m] of Object.entries(gateMethods(GATE_DATASETS[key]))) {
      for (const seed of m.initFrom ? seeds : [1]) {
        const x = gateExperiment(key, method, { seed, initFrom: initFrom[key] });
        const f = path.join(dir, `${x.name}.exits.json`);
        fs.writeFileSync(f, JSON.stringify(x, null, 2) + '\n');
        files.push(f);
      }
    }
  }
  return files;
}

const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;

/** Finished run folders under `dirs` by experiment name (the newest of each). */
function existingRuns(dirs: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of dirs) {
    if (!fs.existsSync(d)) continue;
    for (const id of fs.readdirSync(d).sort()) {
      const rd = path.join(d, id);
      if (!fs.existsSync(path.join(rd, 'results.json'))) continue;
      const name = readJson<{ experiment: string }>(path.join(rd, 'status.json')).experiment;
      out.set(name, rd);
    }
  }
  return out;
}

function train(x: Record<string, unknown>): string {
  const dir = tmpDir(String(x.name));
  const file = path.join(dir, `${x.name}.exits.json`);
  fs.writeFileSync(file, JSON.stringify(x, null, 2));
  const runs = path.join(dir, 'runs');
  log(`training ${x.name}`);
  const p = run(process.execPath, [CLI, 'train', file, '--out', runs], { timeoutMs: 6 * 3600_000 });
  const ids = fs.existsSync(runs) ? fs.readdirSync(runs).filter((d) => !d.startsWith('.')) : [];
  if (p.code !== 0 || ids.length !== 1) throw new Error(`early-exit train ${x.name} failed (exit ${p.code}):\n${p.stderr.slice(-3000)}`);
  return path.join(runs, ids[0]);
}

interface Cell {
  share: number;
  rule: string;
  thresholds: number[];
  met: boolean;
  validationAccuracy: number;
  accuracy: number;
  averageMacsPct: number;
  shares: { point: string; position: number; share: number }[];
  effectiveExits: number;
  collapsed: boolean;
  gain: number;
  timeSavedPct: number | null;
  fullMs: number | null;
  hardMs: number | null;
  /** test (and validation) accuracy with one τ shared by every exit, at the same budget */
  sharedAccuracy?: number;
  sharedValidationAccuracy?: number;
}

/** Every rule at every budget on one run (τ per exit, or shared), with batch-1 timing, through the CLI. */
function budgetCells(rd: string, budgets: number[], measure: boolean, perExit = true): { cells: Cell[]; comparison: unknown } {
  const args = ['eval', rd, '--rule', 'all', '--budget', budgets.map((b) => `${Math.round(100 * b)}%`).join(','), ...(perExit ? ['--per-exit'] : []), '--compare-rules', '--json', ...(measure ? ['--measure'] : [])];
  const p = run(process.execPath, [CLI, ...args], { timeoutMs: 60 * 60_000 });
  if (p.code !== 0) throw new Error(`early-exit ${args.join(' ')} failed (exit ${p.code}): ${p.stderr.slice(-2000)}`);
  const out = JSON.parse(p.stdout) as { budgets: any[]; comparison: unknown };
  return {
    comparison: out.comparison,
    cells: out.budgets.map((c) => ({
      share: c.share, rule: c.rule, thresholds: c.calibration.thresholds, met: c.calibration.met,
      validationAccuracy: c.calibration.validation.accuracy, accuracy: c.calibration.test.accuracy, averageMacsPct: c.calibration.test.averageMacsPct,
      shares: c.calibration.test.rows.map((r: any) => ({ point: r.point, position: r.position, share: r.share })),
      effectiveExits: c.routing.effectiveExits, collapsed: c.routing.collapsed, gain: c.routing.gain,
      timeSavedPct: c.timing?.timeSavedPct ?? null, fullMs: c.timing?.fullMs ?? null, hardMs: c.timing?.hardMs ?? null,
    })),
  };
}

/** One run's figures: every rule at every budget, τ per exit and shared (no timing yet). */
function runFigures(name: string, method: string, rd: string): Record<string, unknown> {
  const r = readJson<RunResults>(path.join(rd, 'results.json'));
  const x = readJson<{ training: { seed: number; epochs: number } }>(path.join(rd, 'experiment.json'));
  const { cells, comparison } = budgetCells(rd, GATE_BUDGETS, false);
  // one τ shared by the exits: less to fit on a small validation split
  const shared = budgetCells(rd, GATE_BUDGETS, false, false).cells;
  cells.forEach((c, i) => { c.sharedAccuracy = shared[i].accuracy; c.sharedValidationAccuracy = shared[i].validationAccuracy; });
  log(`${name}: ${cells.filter((c) => c.rule === 'gate' || r.method !== 'proposed').map((c) => `${c.rule}@${c.share} ${round(100 * c.accuracy, 1)}%`).join(', ')}`);
  return {
    name, method, runDir: rd, recipes: r.recipes ?? null, seed: x.training.seed, epochs: r.epochs, trainSeconds: round(r.trainSeconds, 0),
    softAccuracy: r.softAccuracy, finalAccuracy: r.finalAccuracy, exitAccuracy: r.hard.rows.map((row) => row.standalone),
    // the areas between the curves; the curves themselves are in the run (eval --compare-rules), not in BENCHMARKS.json
    test: r.dataset.test, validation: r.dataset.validation, cells, comparison: { gaps: (comparison as { gaps: unknown[] }).gaps }, loadAtTiming: null,
  };
}

export async function gatesSection(o: BenchOptions): Promise<Record<string, unknown>> {
  const given = process.env.EARLY_EXIT_GATES_RUNS?.split(':').filter(Boolean) ?? [];
  const existing = existingRuns(given);
  const datasets: Record<string, unknown>[] = [];
  for (const key of Object.keys(GATE_DATASETS)) {
    const runs: Record<string, unknown>[] = [];
    const seedRuns: Record<string, unknown>[] = [];
    let branchynet: string | null = null;
    // BranchyNet first: the gate recipes start from its run
    for (const [method, m] of Object.entries(gateMethods(GATE_DATASETS[key]))) {
      const name = `${key}-${method}`;
      const rd: string | null = existing.get(name) ?? (given.length || (m.initFrom && !branchynet) ? null : train(gateExperiment(key, method, { quick: o.quick, initFrom: branchynet ?? undefined })));
      if (!rd) { log(`${name}: no finished run${given.length ? ' in EARLY_EXIT_GATES_RUNS' : ''}, skipped`); continue; }
      if (method === 'branchynet') branchynet = rd;
      runs.push(runFigures(name, method, rd));
      // other seeds of the gates' training, where they were trained: the spread
      for (const seed of [2, 3]) {
        const sd = existing.get(`${name}-seed${seed}`);
        if (sd) seedRuns.push({ ...runFigures(`${name}-seed${seed}`, method, sd), seedOf: name });
      }
    }
    // the best learned-gate run: chosen on validation, over the budgets, and at each budget (a run trained for it, say)
    const gated = runs.filter((x) => (x.cells as Cell[]).some((c) => c.rule === 'gate'));
    const gateCell = (x: Record<string, unknown>, share: number) => (x.cells as Cell[]).find((c) => c.rule === 'gate' && Math.abs(c.share - share) < 1e-9);
    const score = (x: Record<string, unknown>) => mean((x.cells as Cell[]).filter((c) => c.rule === 'gate').map((c) => c.validationAccuracy));
    const best = gated.length ? gated.reduce((a, b) => (score(b) > score(a) ? b : a)) : null;
    const bestAt = Object.fromEntries(GATE_BUDGETS.map((share) => [String(share), gated.length
      ? gated.reduce((a, b) => ((gateCell(b, share)?.validationAccuracy ?? -1) > (gateCell(a, share)?.validationAccuracy ?? -1) ? b : a)).name
      : null]));
    // batch-1 time saved of the rows the table shows: BranchyNet's rules and the best learned gates
    const timed = new Set([`${key}-branchynet`, ...Object.values(bestAt).filter((n): n is string => !!n)]);
    for (const r of runs.filter((x) => timed.has(String(x.name)))) {
      r.loadAtTiming = load1();
      const { cells } = budgetCells(String(r.runDir), GATE_BUDGETS, true);
      (r.cells as Cell[]).forEach((c, i) => Object.assign(c, { timeSavedPct: cells[i].timeSavedPct, fullMs: cells[i].fullMs, hardMs: cells[i].hardMs }));
      log(`${r.name} timed at load ${r.loadAtTiming}: ${cells.map((c) => `${c.rule}@${c.share} ${round(c.timeSavedPct ?? NaN, 0)}%`).join(', ')}`);
    }
    // its every-rule chart, drawn by the report (the product's view) in headless Chromium
    let chart: string | null = null;
    if (best) {
      try {
        const html = path.join(tmpDir('gates-report'), 'report.html');
        const p = run(process.execPath, [CLI, 'report', String(best.runDir), '-o', html]);
        if (p.code !== 0) throw new Error(p.stderr);
        chart = path.relative(ROOT, await screenshot(html, path.join(ROOT, `bench/figures/${o.quick ? 'quick-' : ''}rules-${key}.png`), '.ee-rules'));
      } catch (e) { log(`${key}: chart failed: ${(e as Error).message.slice(0, 300)}`); }
    }
    datasets.push({ key, label: GATE_DATASETS[key].label, budgets: GATE_BUDGETS, runs, seedRuns, best: best?.name ?? null, bestValidationScore: best ? score(best) : null, bestAt, chart });
  }
  return { datasets, reused: given.length > 0 };
}
