/**
 * Pure transforms from per-sample records to what the paper reports: exit tables (Table 2),
 * threshold sweeps (accuracy vs average MACs), Pareto fronts, gate histograms (Figure 4) and
 * calibration. No DOM, no vscode, no tfjs: the CLI, the worker, the webviews and the report all
 * use this one module.
 */
import type {
  Calibration, CalibrationTarget, CostModel, ExitRow, ExitRule, ExitTable, Histogram, MethodName, RunResults, SampleRecords,
  SweepPoint,
} from './results';
import { adaptiveGrid, areaBetween, calibrateThresholds, routingOf, ruleValues, rulesOf, SWEEP_GRID, type Routing, type RuleComparison } from './routing';

export * from './routing';

/** Expands one τ to one per exit. */
export function thresholdsFor(records: SampleRecords, tau: number | number[]): number[] {
  if (Array.isArray(tau)) {
    if (tau.length !== records.exits.length) {
      throw new Error(`thresholds: need ${records.exits.length} values (one per exit), got ${tau.length}`);
    }
    return tau;
  }
  return records.exits.map(() => tau);
}

/** True when exit `b` fires for sample `i` under `rule` at threshold `tau`. */
export function fires(records: SampleRecords, rule: ExitRule, b: number, i: number, tau: number): boolean {
  return ruleFires(rule, ruleValues(records, rule, b)[i], tau);
}

/** The rule's comparison: gate and confidence fire at ≥ τ, normalised entropy at ≤ τ. */
export function ruleFires(rule: ExitRule, value: number, tau: number): boolean {
  return rule === 'entropy' ? value <= tau : value >= tau;
}

/**
 * Where each sample leaves: index of the first exit that fires, or exits.length for the final
 * classifier. This is exactly what hard-exit inference (Option 2) computes.
 */
export function exitAssignments(records: SampleRecords, rule: ExitRule, thresholds: number[]): Int32Array {
  const out = new Int32Array(records.count);
  for (let i = 0; i < records.count; i++) out[i] = exitOf(records, rule, thresholds, i);
  return out;
}

/** Where sample `i` leaves: the first exit that fires for it, or exits.length for the final classifier. */
export function exitOf(records: SampleRecords, rule: ExitRule, thresholds: number[], i: number): number {
  const B = records.exits.length;
  let b = 0;
  while (b < B && !fires(records, rule, b, i, thresholds[b])) b++;
  return b;
}

function predsOf(records: SampleRecords, b: number): number[] {
  return b < records.exits.length ? records.exits[b].pred : records.final.pred;
}

/** Share of predictions equal to their label (0 for no samples). */
export function accuracyOf(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) ok++;
  return labels.length ? ok / labels.length : 0;
}

/**
 * The exit table for one set of thresholds: per exit the share of inputs leaving there, their
 * accuracy and the standalone accuracy of f_b; overall accuracy and average MACs.
 * `positions` are the 1-based backbone positions of the exits' points (for the "#b" column),
 * optionally followed by the final classifier's.
 */
export function exitTable(
  records: SampleRecords, costs: CostModel, rule: ExitRule, tau: number | number[], positions?: number[],
): ExitTable {
  const thresholds = thresholdsFor(records, tau);
  const assign = exitAssignments(records, rule, thresholds);
  const B = records.exits.length;
  const n = records.count;
  const counts = new Array(B + 1).fill(0);
  const correct = new Array(B + 1).fill(0);
  for (let i = 0; i < n; i++) {
    const b = assign[i];
    counts[b]++;
    if (predsOf(records, b)[i] === records.labels[i]) correct[b]++;
  }
  const macsOf = (b: number) => (b < B ? costs.exits[b] : costs.final);
  const rows: ExitRow[] = [];
  let totalMacs = 0, totalCorrect = 0;
  for (let b = 0; b <= B; b++) {
    const macs = macsOf(b);
    totalMacs += counts[b] * macs;
    totalCorrect += correct[b];
    rows.push({
      point: b < B ? records.exits[b].point : 'final',
      position: b < B ? (positions?.[b] ?? b + 1) : (positions?.[B] ?? (positions ? Math.max(0, ...positions) + 1 : B + 1)),
      macs,
      macsPct: (100 * macs) / costs.full,
      count: counts[b],
      share: n ? counts[b] / n : 0,
      accuracy: counts[b] ? correct[b] / counts[b] : null,
      standalone: accuracyOf(predsOf(records, b), records.labels),
    });
  }
  const averageMacs = n ? totalMacs / n : 0;
  return {
    rule, thresholds, rows, count: n,
    accuracy: n ? totalCorrect / n : 0,
    averageMacs,
    averageMacsPct: (100 * averageMacs) / costs.full,
  };
}

/**
 * The "#b" positions a table was made with — each exit's, then the final classifier's — to make
 * another table of the same run (other τ, other rule) label its rows the same: the final
 * classifier is the backbone's last position + 1 (9 for ResNet-18), not the last exit's + 1.
 */
export function tablePositions(t: Pick<ExitTable, 'rows'>): number[] {
  return t.rows.map((r) => r.position);
}


/**
 * The τ of a sweep: the uniform grid with the quantile thresholds of the rule's values on every
 * exit added, so the curve is as fine where the values crowd (gates near 0 or 1) as elsewhere.
 */
export function sweepGrid(records: SampleRecords, rule: ExitRule): number[] {
  return adaptiveGrid(SWEEP_GRID, records.exits.flatMap((_, b) => ruleValues(records, rule, b)));
}

/** Accuracy and average MACs for one τ shared by all exits, over a grid of τ (default: `sweepGrid`). */
export function thresholdSweep(
  records: SampleRecords, costs: CostModel, rule: ExitRule, grid: readonly number[] = sweepGrid(records, rule),
): SweepPoint[] {
  return grid.map((threshold) => {
    const t = exitTable(records, costs, rule, threshold);
    return { threshold, accuracy: t.accuracy, averageMacs: t.averageMacs, averageMacsPct: t.averageMacsPct };
  });
}

/**
 * Pareto front of (cost, accuracy) points: those no other point beats on both (lower or equal
 * cost and higher or equal accuracy, one strictly). Returned sorted by cost.
 */
export function paretoFront<T extends { averageMacs: number; accuracy: number }>(points: readonly T[]): T[] {
  const sorted = [...points].sort((a, b) => a.averageMacs - b.averageMacs || b.accuracy - a.accuracy);
  const front: T[] = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (p.accuracy > best) {
      front.push(p);
      best = p.accuracy;
    }
  }
  return front;
}

/** Histogram of values in [0, 1] over `bins` equal bins; 1 falls in the last bin. */
export function histogram(values: ArrayLike<number>, bins = 20): { edges: number[]; counts: number[] } {
  const counts = new Array(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    const k = Math.min(bins - 1, Math.max(0, Math.floor(v * bins)));
    counts[k]++;
  }
  return { edges: Array.from({ length: bins + 1 }, (_, i) => i / bins), counts };
}

/** Figure 4: per exit, the histogram of the value its rule thresholds (gate, confidence or entropy). */
export function exitHistograms(records: SampleRecords, rule: ExitRule, bins = 20): Histogram[] {
  return records.exits.map((e) => {
    const values = rule === 'gate' ? (e.gate ?? []) : rule === 'confidence' ? e.conf : e.entropy;
    return { point: e.point, ...histogram(values, bins) };
  });
}

/**
 * Picks τ on the validation records that meets the target — the most accurate thresholds whose
 * average MACs stay within `budget`, or the cheapest whose accuracy reaches `accuracy` — and
 * reports the test table at them: one τ shared by every exit, or (`perExit`) one τ per exit
 * (routing.ts `calibrateThresholds`). When nothing meets it, the closest is used and `met` is false.
 */
export function calibrate(
  validation: SampleRecords, test: SampleRecords, costs: CostModel, rule: ExitRule, target: CalibrationTarget,
  grid?: readonly number[], positions?: number[], perExit = false,
): Calibration {
  const chosen = calibrateThresholds(validation, costs, rule, target, grid, perExit);
  return {
    target,
    met: chosen.met,
    perExit,
    thresholds: chosen.thresholds,
    validation: { accuracy: chosen.accuracy, averageMacs: chosen.averageMacs },
    test: exitTable(test, costs, rule, chosen.thresholds, positions),
  };
}

/** Every rule's τ sweep (one τ for all exits) and Pareto front on the same records, and the area between the first rule's front and each other's. */
export function compareRules(records: SampleRecords, costs: CostModel, grid?: readonly number[]): RuleComparison {
  const curves = rulesOf(records).map((rule) => {
    const sweep = thresholdSweep(records, costs, rule, grid ?? sweepGrid(records, rule));
    return { rule, sweep, front: paretoFront(sweep) };
  });
  const [first, ...others] = curves;
  return { curves, gaps: first ? others.map((c) => areaBetween(first.rule, first.front, c.rule, c.front)) : [] };
}

/** One cell of the budget table: a rule calibrated on validation to a share of the full network's MACs, and its test table. */
export interface BudgetCell {
  /** the budget, as a share of the full network's MACs */
  share: number;
  rule: ExitRule;
  calibration: Calibration;
  routing: Routing;
}

/**
 * The target-budget workflow: for each budget (a share of the full network's MACs) and each rule,
 * τ picked on the validation split (per exit, or shared), and the test table at it.
 */
export function budgetTable(
  validation: SampleRecords, test: SampleRecords, costs: CostModel, shares: readonly number[],
  opts: { rules?: readonly ExitRule[]; perExit?: boolean; grid?: readonly number[]; positions?: number[] } = {},
): BudgetCell[] {
  const rules = opts.rules ?? rulesOf(test);
  return shares.flatMap((share) => rules.map((rule) => {
    const c = calibrate(validation, test, costs, rule, { budget: share * costs.full }, opts.grid, opts.positions, opts.perExit ?? false);
    return { share, rule, calibration: c, routing: routingOf(c.test) };
  }));
}

/** Accuracy of the soft-conditional output (Option 1), or null without gates. */
export function softAccuracy(records: SampleRecords): number | null {
  return records.softPred ? accuracyOf(records.softPred, records.labels) : null;
}

/** Table rows as CSV (header + one line per exit + totals). */
export function exitTableCsv(t: ExitTable): string {
  const lines = ['exit,position,macs,macs_pct,count,share,accuracy_leaving,standalone_accuracy'];
  for (const r of t.rows) {
    lines.push([r.point, r.position, r.macs, r.macsPct.toFixed(2), r.count, r.share.toFixed(4), r.accuracy === null ? '' : r.accuracy.toFixed(4), r.standalone.toFixed(4)].join(','));
  }
  lines.push(['total', '', t.averageMacs.toFixed(0), t.averageMacsPct.toFixed(2), t.count, '1', t.accuracy.toFixed(4), ''].join(','));
  return lines.join('\n') + '\n';
}

/** A threshold sweep as CSV (one line per τ). */
export function sweepCsv(points: readonly SweepPoint[]): string {
  const lines = ['threshold,accuracy,average_macs,average_macs_pct'];
  for (const p of points) lines.push([p.threshold, p.accuracy.toFixed(4), p.averageMacs.toFixed(0), p.averageMacsPct.toFixed(2)].join(','));
  return lines.join('\n') + '\n';
}

/** The paper's Table 1 column order. */
export const TABLE1_METHODS: readonly MethodName[] = ['baseline', 'branchynet', 'proposed'];

/** One run as it enters the comparison table. */
export interface ComparisonEntry {
  id: string;
  dataset: string;
  backbone: string;
  method: MethodName;
  lambda: number | null;
  accuracy: number;
}

/** Best run of one method in one dataset × backbone cell (null: no run). */
export interface ComparisonCell {
  accuracy: number;
  id: string;
  lambda: number | null;
  /** How many runs of this method fell in the cell (λ sweeps): the best is shown. */
  runs: number;
}

/** Table 1 layout: rows are datasets, columns backbones, each cell baseline / BranchyNet / proposed. */
export interface ComparisonTable {
  datasets: string[];
  backbones: string[];
  methods: MethodName[];
  /** cells[d][b][m] for datasets[d], backbones[b], methods[m]. */
  cells: (ComparisonCell | null)[][][];
}

/**
 * Test accuracy of a run as Table 1 reports it (no early exits): the soft-conditional output
 * (Option 1) when the method has gates, else the final classifier.
 */
export function tableOneAccuracy(results: Pick<RunResults, 'softAccuracy' | 'finalAccuracy'>): number {
  return results.softAccuracy ?? results.finalAccuracy;
}

/** Groups runs by dataset × backbone × method, keeping the most accurate run of each cell. */
export function comparisonTable(entries: readonly ComparisonEntry[]): ComparisonTable {
  const uniq = (xs: string[]) => [...new Set(xs)];
  const datasets = uniq(entries.map((e) => e.dataset));
  const backbones = uniq(entries.map((e) => e.backbone));
  const methods = TABLE1_METHODS.filter((m) => entries.some((e) => e.method === m));
  const cells = datasets.map(() => backbones.map(() => methods.map((): ComparisonCell | null => null)));
  for (const e of entries) {
    const d = datasets.indexOf(e.dataset), b = backbones.indexOf(e.backbone), m = methods.indexOf(e.method);
    const prev = cells[d][b][m];
    if (!prev) cells[d][b][m] = { accuracy: e.accuracy, id: e.id, lambda: e.lambda, runs: 1 };
    else {
      prev.runs++;
      if (e.accuracy > prev.accuracy) Object.assign(prev, { accuracy: e.accuracy, id: e.id, lambda: e.lambda });
    }
  }
  return { datasets, backbones, methods, cells };
}

/** The comparison table as CSV: one line per dataset × backbone, one column per method (accuracy in %). */
export function comparisonCsv(t: ComparisonTable): string {
  const lines = [['dataset', 'backbone', ...t.methods].join(',')];
  t.datasets.forEach((d, di) => t.backbones.forEach((b, bi) => {
    const cells = t.cells[di][bi];
    if (cells.every((c) => c === null)) return;
    lines.push([d, b, ...cells.map((c) => (c ? (100 * c.accuracy).toFixed(2) : ''))].join(','));
  }));
  return lines.join('\n') + '\n';
}

/** What results.json reports from the records: soft and final accuracy, Table 2 at τ, routing, every rule's curve, sweep, histograms, calibration. */
export interface EvaluationReport {
  softAccuracy: number | null;
  finalAccuracy: number;
  rule: ExitRule;
  thresholds: number[];
  hard: ExitTable;
  routing: Routing;
  rules: RuleComparison | null;
  sweep: SweepPoint[];
  histograms: Histogram[];
  calibration: Calibration | null;
  budgetComparison: BudgetCell[] | null;
}

/**
 * Everything results.json derives from the per-sample records (no network needed). With a MACs
 * budget to calibrate to, every rule is calibrated to it too (`budgetComparison`).
 */
export function evaluationReport(
  costs: CostModel, test: SampleRecords, validation: SampleRecords | null, rule: ExitRule,
  tau: number | number[], target: CalibrationTarget | null, positions?: number[], perExit = false,
): EvaluationReport {
  const thresholds = thresholdsFor(test, tau);
  const hard = exitTable(test, costs, rule, thresholds, positions);
  const calibrated = !!(target && validation && test.exits.length);
  const rules = test.exits.length ? compareRules(test, costs) : null;
  return {
    softAccuracy: softAccuracy(test),
    finalAccuracy: accuracyOf(test.final.pred, test.labels),
    rule,
    thresholds,
    hard,
    routing: routingOf(hard),
    rules,
    // the run's own rule is one of the compared curves, on the same grid: not swept twice
    sweep: rules?.curves.find((c) => c.rule === rule)?.sweep ?? (test.exits.length ? thresholdSweep(test, costs, rule) : []),
    histograms: exitHistograms(test, rule),
    calibration: calibrated ? calibrate(validation!, test, costs, rule, target!, undefined, positions, perExit) : null,
    budgetComparison: calibrated && target!.budget !== undefined
      ? budgetTable(validation!, test, costs, [target!.budget / costs.full], { perExit, positions })
      : null,
  };
}
