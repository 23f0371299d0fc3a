/**
 * Whether a multi-exit network routes per input, and whether its learned gates earn their keep:
 *  - `routingOf`: how the inputs of an exit table split between exits, as figures (the entropy of
 *    the split, effective exits, the largest share, the gain over an input-blind routing with the
 *    same split) and the collapse flag (one exit takes ≥ 95 % of the inputs);
 *  - `areaBetween`: the area between two exit rules' accuracy / average-MACs fronts on the same
 *    records (analysis.ts `compareRules` draws every rule's curve: learned gates, BranchyNet's
 *    entropy, max softmax);
 *  - `calibrateThresholds` / `budgetTable`: τ per exit (or shared) picked on the validation split
 *    for a MACs budget, and the test table at it, for every rule.
 * Pure functions of the records, like analysis.ts (which re-exports them).
 */
import type { CostModel, ExitRule, ExitTable, SampleRecords, SweepPoint } from './results';

/** The uniform τ grid: 0, 0.01, …, 1. */
export const SWEEP_GRID: readonly number[] = Array.from({ length: 101 }, (_, i) => i / 100);

/** A run whose largest exit takes at least this share of the inputs has collapsed onto that exit. */
export const COLLAPSE_SHARE = 0.95;
/** An exit "is used" when it takes at least this share (the "two exits ≥ 10 %"). */
export const USED_SHARE = 0.1;

export interface Routing {
  /** share of the inputs leaving at each exit, then the final classifier */
  shares: number[];
  points: string[];
  /** entropy of the split ÷ ln(exits + 1): 0 = one exit takes everything, 1 = an even split */
  entropy: number;
  /** e^H: how many equally used exits would have the same entropy (1 … exits + 1) */
  effectiveExits: number;
  maxShare: number;
  /** the exit ("final" for the final classifier) taking maxShare */
  dominant: string;
  /** one exit takes ≥ COLLAPSE_SHARE of the inputs: a truncated network, not early exiting */
  collapsed: boolean;
  /** exits (the final classifier included) taking ≥ USED_SHARE of the inputs */
  used: number;
  /**
   * accuracy minus Σ_b share_b · standalone_b: what routing each input to its own exit gains over
   * sending the same shares to each exit at random. 0 = the exit chosen does not depend on the input
   * in any way that helps; positive = easy inputs do leave early.
   */
  gain: number;
}

/** Routing figures of one exit table. */
export function routingOf(t: ExitTable): Routing {
  const shares = t.rows.map((r) => r.share);
  const points = t.rows.map((r) => (r.point === 'final' ? 'final' : `#${r.position} ${r.point}`));
  let h = 0;
  for (const s of shares) if (s > 0) h -= s * Math.log(s);
  const k = shares.length;
  const maxShare = Math.max(0, ...shares);
  const blind = t.rows.reduce((a, r) => a + r.share * r.standalone, 0);
  return {
    shares, points,
    entropy: k > 1 ? h / Math.log(k) : 0,
    effectiveExits: Math.exp(h),
    maxShare,
    dominant: points[shares.indexOf(maxShare)] ?? 'final',
    collapsed: t.count > 0 && k > 1 && maxShare >= COLLAPSE_SHARE,
    used: shares.filter((s) => s >= USED_SHARE).length,
    gain: t.count ? t.accuracy - blind : 0,
  };
}

const pc = (v: number, d = 1) => `${(100 * v).toFixed(d)} %`;

/** τ as people read it: two decimals on the 0.01 grid, three significant digits off it (a calibrated gate τ can be 0.00312). */
export function tauText(t: number): string {
  return Math.abs(100 * t - Math.round(100 * t)) < 1e-9 ? t.toFixed(2) : t.toPrecision(3);
}

/** "0.50" when every exit has the same τ, else "0.40/0.00312/0.75". */
export function tausText(t: readonly number[], sep = '/'): string {
  return new Set(t).size === 1 ? tauText(t[0]) : t.map(tauText).join(sep);
}

/** "#2 block2 31.0 % · final 69.0 %" (short: "#2 31 % · final 69 %"): the split, leaving out exits no input takes. */
export function splitText(r: Routing, short = false): string {
  const name = (p: string) => (short ? p.split(' ')[0] : p);
  return r.shares.map((s, i) => (s > 0 ? `${name(r.points[i])} ${pc(s, short ? 0 : 1)}` : '')).filter(Boolean).join(' · ') || '—';
}

/** One line: the split, the effective number of exits and the gain over input-blind routing. */
export function routingText(r: Routing): string {
  const gain = `${r.gain >= 0 ? '+' : '−'}${Math.abs(100 * r.gain).toFixed(1)} pt`;
  return `split ${splitText(r)}; ${r.effectiveExits.toFixed(2)} effective exits of ${r.shares.length} (split entropy ${r.entropy.toFixed(2)}), ${gain} accuracy over input-blind routing with the same split`;
}

/** The collapse warning, or null when the inputs do split. */
export function collapseWarning(r: Routing): string | null {
  if (!r.collapsed) return null;
  return `routing collapsed: ${pc(r.maxShare)} of the inputs leave at ${r.dominant}, so this is a truncated network, not early exiting`;
}

// ---- τ per exit, picked on the validation split ------------------------------------------------

/**
 * Thresholds that split `values` at `parts` quantiles, each halfway between two neighbouring
 * distinct values (so no recorded value sits on a τ, where float rounding would decide). A fixed
 * grid of 0.01 steps cannot tell apart gates that all sit below 0.01, or confidences above 0.99; these can.
 */
export function quantileThresholds(values: ArrayLike<number>, parts = 100): number[] {
  const v = Float64Array.from(values).sort();
  const out = new Set<number>();
  for (let q = 1; q < parts; q++) {
    let i = Math.floor((q * v.length) / parts);
    while (i < v.length && i > 0 && v[i] === v[i - 1]) i++;
    if (i > 0 && i < v.length) out.add((v[i - 1] + v[i]) / 2);
  }
  return [...out];
}

/** `grid` with the quantile thresholds of `values` added, sorted, within [0, 1]. */
export function adaptiveGrid(grid: readonly number[], values: ArrayLike<number>): number[] {
  return [...new Set([...grid, ...quantileThresholds(values)])].filter((t) => t >= 0 && t <= 1).sort((a, b) => a - b);
}

/** The value exit `b`'s rule compares with τ, per sample. */
export function ruleValues(records: SampleRecords, rule: ExitRule, b: number): number[] {
  const e = records.exits[b];
  if (rule === 'gate' && !e.gate) throw new Error(`exit ${e.point} has no gate; use the "entropy" or "confidence" rule`);
  return rule === 'gate' ? e.gate! : rule === 'confidence' ? e.conf : e.entropy;
}

/** The value each exit's rule compares with τ, per sample, and whether each classifier is right. */
interface FastRecords {
  B: number;
  n: number;
  rule: ExitRule;
  values: Float64Array[];
  /** correct[b][i], b = B for the final classifier */
  correct: Uint8Array[];
  macs: number[];
}

function fastRecords(rec: SampleRecords, costs: CostModel, rule: ExitRule): FastRecords {
  const B = rec.exits.length;
  const values = rec.exits.map((_, b) => Float64Array.from(ruleValues(rec, rule, b)));
  const correct = [...rec.exits.map((e) => e.pred), rec.final.pred].map((p) => Uint8Array.from(p, (v, i) => (v === rec.labels[i] ? 1 : 0)));
  return { B, n: rec.count, rule, values, correct, macs: [...costs.exits, costs.final] };
}

/** Accuracy and average MACs of thresholds `t` (the same result as exitTable, without the rows). */
function evaluate(f: FastRecords, t: readonly number[]): { accuracy: number; averageMacs: number } {
  let ok = 0, macs = 0;
  const entropy = f.rule === 'entropy';
  for (let i = 0; i < f.n; i++) {
    let b = 0;
    for (; b < f.B; b++) {
      const v = f.values[b][i];
      if (entropy ? v <= t[b] : v >= t[b]) break;
    }
    ok += f.correct[b][i];
    macs += f.macs[b];
  }
  return f.n ? { accuracy: ok / f.n, averageMacs: macs / f.n } : { accuracy: 0, averageMacs: 0 };
}

export interface ThresholdChoice {
  thresholds: number[];
  /** on the records the thresholds were picked on */
  accuracy: number;
  averageMacs: number;
  met: boolean;
}

/** Is `a` a better choice than `b` for the target (feasible first, then the objective, then the other figure)? */
function better(a: { accuracy: number; averageMacs: number }, b: { accuracy: number; averageMacs: number }, target: { budget?: number; accuracy?: number }): boolean {
  const eps = 1e-12;
  if (target.budget !== undefined) {
    const fa = a.averageMacs <= target.budget + eps, fb = b.averageMacs <= target.budget + eps;
    if (fa !== fb) return fa;
    if (!fa) return a.averageMacs < b.averageMacs - eps;
    return a.accuracy > b.accuracy + eps || (Math.abs(a.accuracy - b.accuracy) <= eps && a.averageMacs < b.averageMacs - eps);
  }
  const goal = target.accuracy!;
  const fa = a.accuracy >= goal - eps, fb = b.accuracy >= goal - eps;
  if (fa !== fb) return fa;
  if (!fa) return a.accuracy > b.accuracy + eps;
  return a.averageMacs < b.averageMacs - eps || (Math.abs(a.averageMacs - b.averageMacs) <= eps && a.accuracy > b.accuracy + eps);
}

/**
 * Thresholds meeting a target on `records`: the best τ shared by every exit, then (perExit)
 * coordinate ascent — each exit's τ in turn over its candidates, the others fixed, until no exit's
 * change improves — so a per-exit choice is never worse than the shared one on these records.
 * Candidates: exactly `grid` when given, else 0, 0.01, …, 1 with the quantile thresholds of the
 * values (all exits' for the shared τ, each exit's own per exit) added.
 * Budget: the most accurate within the average MACs (ties: the cheaper); accuracy: the cheapest
 * reaching it. When nothing meets it, the closest (`met` false).
 */
export function calibrateThresholds(
  records: SampleRecords, costs: CostModel, rule: ExitRule, target: { budget?: number; accuracy?: number },
  grid?: readonly number[], perExit = false,
): ThresholdChoice {
  if (target.budget === undefined && target.accuracy === undefined) throw new Error('calibrate: give a MACs budget or a target accuracy');
  const f = fastRecords(records, costs, rule);
  const shared = grid ?? adaptiveGrid(SWEEP_GRID, f.values.flatMap((v) => Array.from(v)));
  const own = f.values.map((v) => grid ?? adaptiveGrid(SWEEP_GRID, v));
  let best: number[] = f.values.map(() => shared[0]);
  let score = evaluate(f, best);
  for (const tau of shared) {
    const t = f.values.map(() => tau);
    const s = evaluate(f, t);
    if (better(s, score, target)) { best = t; score = s; }
  }
  if (perExit && f.B > 1) {
    for (let round = 0; round < 20; round++) {
      let improved = false;
      for (let b = 0; b < f.B; b++) {
        for (const tau of own[b]) {
          if (tau === best[b]) continue;
          const t = best.slice();
          t[b] = tau;
          const s = evaluate(f, t);
          if (better(s, score, target)) { best = t; score = s; improved = true; }
        }
      }
      if (!improved) break;
    }
  }
  const met = target.budget !== undefined ? score.averageMacs <= target.budget + 1e-12 : score.accuracy >= target.accuracy! - 1e-12;
  return { thresholds: best, accuracy: score.accuracy, averageMacs: score.averageMacs, met };
}

// ---- every rule on the same records ------------------------------------------------------------

/** The rules a set of records can be evaluated with: the gates where every exit has one, then the two softmax rules. */
export function rulesOf(records: SampleRecords): ExitRule[] {
  const gated = records.exits.length > 0 && records.exits.every((e) => e.gate !== null);
  return gated ? ['gate', 'entropy', 'confidence'] : ['entropy', 'confidence'];
}

export const RULE_NAMES: Record<ExitRule, string> = { gate: 'learned gates', entropy: 'entropy (BranchyNet)', confidence: 'max softmax' };

export interface RuleCurve {
  rule: ExitRule;
  sweep: SweepPoint[];
  /** the Pareto front of the sweep (what a user can reach with this rule), by cost */
  front: SweepPoint[];
}

/**
 * The area between two rules' fronts where both are defined: from the cheaper end both reach to the
 * costlier end of either (a front keeps its best accuracy at larger budgets).
 */
export interface RuleGap {
  rule: ExitRule;
  against: ExitRule;
  /** the MACs interval (% of the full network) compared; from = to when both fronts are single points at the same cost */
  from: number;
  to: number;
  /** ∫ (acc_rule − acc_against) d(MACs %) over the interval, in accuracy points × % MACs */
  area: number;
  /** area ÷ interval width: the mean accuracy difference in points (positive: `rule` is ahead) */
  meanGap: number;
  /** share of the interval where `rule` is strictly ahead */
  ahead: number;
}

export interface RuleComparison {
  curves: RuleCurve[];
  /** the first rule against each other one (gates vs entropy, gates vs max softmax; or entropy vs max softmax) */
  gaps: RuleGap[];
}

/**
 * Accuracy (%) reachable at average MACs x (%) along a front: linear between its points, its best
 * accuracy at any larger budget; null below its cheapest point.
 */
function frontAt(front: readonly { x: number; y: number }[], x: number): number | null {
  if (!front.length || x < front[0].x - 1e-9) return null;
  if (x >= front[front.length - 1].x) return front[front.length - 1].y;
  for (let i = 1; i < front.length; i++) {
    const a = front[i - 1], b = front[i];
    if (x <= b.x + 1e-12) return b.x - a.x < 1e-12 ? Math.max(a.y, b.y) : a.y + ((x - a.x) * (b.y - a.y)) / (b.x - a.x);
  }
  return front[front.length - 1].y;
}

/** The area between two fronts (points as % MACs, accuracy 0–1), exact for piecewise-linear fronts. */
export function areaBetween(rule: ExitRule, front: readonly SweepPoint[], against: ExitRule, other: readonly SweepPoint[]): RuleGap {
  const a = front.map((p) => ({ x: p.averageMacsPct, y: 100 * p.accuracy }));
  const b = other.map((p) => ({ x: p.averageMacsPct, y: 100 * p.accuracy }));
  if (!a.length || !b.length) return { rule, against, from: NaN, to: NaN, area: 0, meanGap: 0, ahead: 0 };
  const from = Math.max(a[0].x, b[0].x);
  const to = Math.max(a[a.length - 1].x, b[b.length - 1].x, from);
  if (!(to > from)) {
    // both fronts one point at the same cost (e.g. both rules send everything to one exit): the difference there
    const d = frontAt(a, from)! - frontAt(b, from)!;
    return { rule, against, from, to, area: 0, meanGap: d, ahead: d > 0 ? 1 : 0 };
  }
  const xs = [...new Set([from, to, ...a.map((p) => p.x), ...b.map((p) => p.x)].filter((x) => x >= from && x <= to))].sort((p, q) => p - q);
  let area = 0, ahead = 0;
  for (let i = 1; i < xs.length; i++) {
    const x0 = xs[i - 1], x1 = xs[i];
    const d0 = frontAt(a, x0)! - frontAt(b, x0)!, d1 = frontAt(a, x1)! - frontAt(b, x1)!;
    area += ((d0 + d1) / 2) * (x1 - x0);
    if (d0 > 0 && d1 > 0) ahead += x1 - x0;
    else if ((d0 > 0) !== (d1 > 0) && d0 !== d1) {
      // the fronts cross inside the segment: the part where the difference is positive
      const xc = x0 + ((x1 - x0) * d0) / (d0 - d1);
      ahead += d0 > 0 ? xc - x0 : x1 - xc;
    }
  }
  return { rule, against, from, to, area, meanGap: area / (to - from), ahead: ahead / (to - from) };
}

/** "learned gates vs entropy (BranchyNet): −1.2 pt on average over 31–100 % MACs (ahead on 20 % of it)". */
export function gapText(g: RuleGap): string {
  if (!Number.isFinite(g.from)) return `${RULE_NAMES[g.rule]} vs ${RULE_NAMES[g.against]}: no curve to compare`;
  if (!(g.to > g.from)) {
    return `${RULE_NAMES[g.rule]} vs ${RULE_NAMES[g.against]}: both are best at their cheapest point, ${g.from.toFixed(0)} % MACs (${g.meanGap >= 0 ? '+' : '−'}${Math.abs(g.meanGap).toFixed(2)} pt there)`;
  }
  const sign = g.meanGap >= 0 ? '+' : '−';
  return `${RULE_NAMES[g.rule]} vs ${RULE_NAMES[g.against]}: ${sign}${Math.abs(g.meanGap).toFixed(2)} pt on average over ${g.from.toFixed(0)}–${g.to.toFixed(0)} % MACs ` +
    `(area ${g.area >= 0 ? '+' : '−'}${Math.abs(g.area).toFixed(0)} pt·%; ahead on ${(100 * g.ahead).toFixed(0)} % of the range)`;
}
