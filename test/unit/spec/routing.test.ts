/**
 * Routing figures, the every-rule comparison and budget calibration (spec/routing.ts and the
 * analysis.ts functions built on it), against numbers worked out by hand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  areaBetween, budgetTable, calibrate, calibrateThresholds, collapseWarning, compareRules, exitTable, routingOf, routingText,
  quantileThresholds, rulesOf, SWEEP_GRID, tausText, tauText,
} from '../../../src/spec/analysis';
import type { CostModel, ExitTable, SampleRecords, SweepPoint } from '../../../src/spec/results';
import { mulberry32 } from '../../../src/spec/rng';

const close = (a: number, b: number, msg?: string) => assert.ok(Math.abs(a - b) < 1e-9, `${msg ?? ''} ${a} ≠ ${b}`);

/** An exit table with the given shares and standalone / leaving accuracies (the rest does not matter here). */
function table(shares: number[], standalone: number[], accuracy: number, count = 100): ExitTable {
  return {
    rule: 'gate', thresholds: [], count, accuracy, averageMacs: 0, averageMacsPct: 0,
    rows: shares.map((share, b) => ({ point: b === shares.length - 1 ? 'final' : `block${b + 1}`, position: b + 1, macs: 0, macsPct: 0, count: share * count, share, accuracy: null, standalone: standalone[b] })),
  };
}

test('routingOf: entropy of the split, effective exits, the largest share and the gain over input-blind routing', () => {
  // an even split over 4 exits: entropy 1, 4 effective exits
  const even = routingOf(table([0.25, 0.25, 0.25, 0.25], [0.4, 0.5, 0.6, 0.7], 0.7));
  close(even.entropy, 1);
  close(even.effectiveExits, 4);
  assert.equal(even.collapsed, false);
  assert.equal(even.used, 4);
  // input-blind routing with these shares: 0.25·(0.4 + 0.5 + 0.6 + 0.7) = 0.55 → gain 0.15
  close(even.gain, 0.15);
  // 96 % at the second exit: collapsed, 1 exit used; H = −(.96 ln .96 + 2·.02 ln .02)
  const c = routingOf(table([0.02, 0.96, 0, 0.02], [0.3, 0.5, 0.6, 0.7], 0.5));
  const h = -(0.96 * Math.log(0.96) + 2 * 0.02 * Math.log(0.02));
  close(c.entropy, h / Math.log(4));
  close(c.effectiveExits, Math.exp(h));
  assert.equal(c.collapsed, true);
  assert.equal(c.dominant, '#2 block2');
  assert.equal(c.used, 1);
  assert.match(collapseWarning(c)!, /96\.0 % of the inputs leave at #2 block2/);
  assert.equal(collapseWarning(even), null);
  // exactly 95 % is collapsed (the "≥ 95 %"), 94.9 % is not
  assert.equal(routingOf(table([0.95, 0.05], [0.5, 0.5], 0.5)).collapsed, true);
  assert.equal(routingOf(table([0.949, 0.051], [0.5, 0.5], 0.5)).collapsed, false);
  assert.match(routingText(even), /^split #1 block1 25\.0 % · #2 block2 25\.0 % · #3 block3 25\.0 % · final 25\.0 %; 4\.00 effective exits of 4 \(split entropy 1\.00\), \+15\.0 pt/);
});

test('areaBetween: exact for piecewise-linear fronts, sign and share ahead; a front keeps its best accuracy beyond its last point', () => {
  const pts = (xy: [number, number][]): SweepPoint[] => xy.map(([x, y]) => ({ threshold: 0, averageMacs: x, averageMacsPct: x, accuracy: y / 100 }));
  // a: 50 → 70 over 0…100, b: 40 → 80: a − b = 10 − 0.2x, integral over 0…100 = 0, a ahead on 0…50
  const g = areaBetween('gate', pts([[0, 50], [100, 70]]), 'entropy', pts([[0, 40], [100, 80]]));
  close(g.from, 0); close(g.to, 100);
  close(g.area, 0);
  close(g.meanGap, 0);
  close(g.ahead, 0.5);
  // a stops at 50 % MACs with 60 %; b from 20 % (40) to 100 % (80): compared on 20…100, a flat at 60 beyond 50
  const h = areaBetween('gate', pts([[0, 50], [50, 60]]), 'entropy', pts([[20, 40], [100, 80]]));
  close(h.from, 20); close(h.to, 100);
  // a(x) = 50 + x/5 on 20…50, 60 after; b(x) = 40 + (x − 20)/2. ∫(a − b) = ∫20..50 (14 − 0.3x)dx + ∫50..100 (70 − x/2)dx... by hand:
  //   on 20…50: a − b = 50 + 0.2x − 40 − 0.5x + 10 = 20 − 0.3x → [20x − 0.15x²] = (1000 − 375) − (400 − 60) = 285
  //   on 50…100: a − b = 60 − 30 − 0.5x = 30 − 0.5x... at 50 it is 5, at 60 0, at 100 −20 → [30x − 0.25x²] = (3000 − 2500) − (1500 − 625) = −375
  close(h.area, 285 - 375);
  close(h.meanGap, (285 - 375) / 80);
  // a − b > 0 on 20…60 (a − b = 20 − 0.3x > 0 until 66.7 on the first piece, but that piece ends at 50; then 30 − 0.5x > 0 until 60)
  close(h.ahead, 40 / 80);
});

/** Records where each exit is right on a known set; gates and softmax values chosen per sample. */
function synthetic(n: number, seed: number): SampleRecords {
  const rng = mulberry32(seed);
  const labels = Array.from({ length: n }, () => Math.floor(rng() * 10));
  // each exit's confidence on its own scale (`shift`): one τ cannot suit them all
  const exit = (point: string, skill: number, shift: number) => {
    const right = labels.map(() => rng() < skill);
    const conf = right.map((r) => Math.min(1, Math.max(0.1, (r ? 0.7 : 0.45) + shift + 0.3 * (rng() - 0.5))));
    return {
      point, right,
      rec: {
        point, gate: conf.map((c) => Math.min(1, Math.max(0, c + 0.2 * (rng() - 0.5)))),
        pred: labels.map((l, i) => (right[i] ? l : (l + 1) % 10)), conf, entropy: conf.map((c) => 1 - c),
      },
    };
  };
  const e = [exit('block2', 0.5, 0.2), exit('block4', 0.7, -0.1), exit('block6', 0.8, 0)];
  return {
    split: 'validation', count: n, labels, exits: e.map((x) => x.rec),
    final: { pred: labels.map((l) => (rng() < 0.88 ? l : (l + 1) % 10)), conf: labels.map(() => 1), entropy: labels.map(() => 0) },
    softPred: null,
  };
}
const costs: CostModel = { exits: [20, 45, 70], final: 102, full: 100 };

test('calibrateThresholds: one τ per exit is never worse than a shared τ on the records it is picked on, and meets the budget', () => {
  const rec = synthetic(400, 3);
  for (const rule of ['gate', 'entropy', 'confidence'] as const) {
    for (const budget of [40, 60, 80]) {
      const shared = calibrateThresholds(rec, costs, rule, { budget }, SWEEP_GRID, false);
      const perExit = calibrateThresholds(rec, costs, rule, { budget }, SWEEP_GRID, true);
      assert.ok(shared.met && perExit.met, `${rule} ${budget}`);
      assert.ok(perExit.averageMacs <= budget && shared.averageMacs <= budget);
      assert.ok(perExit.accuracy >= shared.accuracy, `${rule} at ${budget}: per exit ${perExit.accuracy} < shared ${shared.accuracy}`);
      // the figures are those of the exit table at the chosen thresholds
      const t = exitTable(rec, costs, rule, perExit.thresholds);
      close(t.accuracy, perExit.accuracy); close(t.averageMacs, perExit.averageMacs);
      assert.equal(new Set(shared.thresholds).size, 1);
    }
  }
  // somewhere per-exit τ is strictly better (the exits differ in skill, so one τ does not fit all)
  const gains = [40, 60, 80].map((budget) => calibrateThresholds(rec, costs, 'confidence', { budget }, SWEEP_GRID, true).accuracy - calibrateThresholds(rec, costs, 'confidence', { budget }, SWEEP_GRID, false).accuracy);
  assert.ok(gains.some((g) => g > 0), `gains ${gains}`);
  // a budget below the cheapest exit: not met, the cheapest thresholds
  const none = calibrateThresholds(rec, costs, 'gate', { budget: 10 }, SWEEP_GRID, true);
  assert.equal(none.met, false);
  close(none.averageMacs, 20);
});

test('calibrateThresholds matches an exhaustive search over a coarse grid (3 exits, 11 values each)', () => {
  const rec = synthetic(120, 9);
  const grid = Array.from({ length: 11 }, (_, i) => i / 10);
  const budget = 55;
  let best = { accuracy: -1, averageMacs: Infinity };
  for (const a of grid) for (const b of grid) for (const c of grid) {
    const t = exitTable(rec, costs, 'confidence', [a, b, c]);
    if (t.averageMacs <= budget && (t.accuracy > best.accuracy || (t.accuracy === best.accuracy && t.averageMacs < best.averageMacs))) best = t;
  }
  const got = calibrateThresholds(rec, costs, 'confidence', { budget }, grid, true);
  // coordinate ascent is a local search: it must reach the exhaustive optimum's accuracy here, or come within one sample of it
  assert.ok(got.accuracy >= best.accuracy - 1 / 120 - 1e-12, `${got.accuracy} vs exhaustive ${best.accuracy}`);
});

test('calibrate(perExit) keeps the shared choice\'s figures when asked for a shared τ, and reports which it did', () => {
  const val = synthetic(300, 4), testRec = { ...synthetic(300, 5), split: 'test' as const };
  const shared = calibrate(val, testRec, costs, 'gate', { budget: 60 });
  assert.equal(shared.perExit, false);
  assert.equal(new Set(shared.thresholds).size, 1);
  const per = calibrate(val, testRec, costs, 'gate', { budget: 60 }, SWEEP_GRID, undefined, true);
  assert.equal(per.perExit, true);
  assert.ok(per.validation.accuracy >= shared.validation.accuracy);
  assert.deepEqual(per.test.thresholds, per.thresholds);
});

test('compareRules and budgetTable: every rule the records allow, on the same records', () => {
  const rec = { ...synthetic(300, 6), split: 'test' as const };
  assert.deepEqual(rulesOf(rec), ['gate', 'entropy', 'confidence']);
  assert.deepEqual(rulesOf({ ...rec, exits: rec.exits.map((e) => ({ ...e, gate: null })) }), ['entropy', 'confidence']);
  const c = compareRules(rec, costs);
  assert.deepEqual(c.curves.map((k) => k.rule), ['gate', 'entropy', 'confidence']);
  assert.deepEqual(c.gaps.map((g) => [g.rule, g.against]), [['gate', 'entropy'], ['gate', 'confidence']]);
  // entropy = 1 − confidence in these records: the two softmax rules draw the same curve
  const e = c.curves[1].front.map((p) => [p.averageMacs, p.accuracy]), k = c.curves[2].front.map((p) => [p.averageMacs, p.accuracy]);
  assert.deepEqual(e, k);
  close(c.gaps[0].area, c.gaps[1].area);
  const cells = budgetTable(synthetic(300, 7), rec, costs, [0.5, 0.7, 0.9], { perExit: true });
  assert.equal(cells.length, 9);
  assert.deepEqual(cells.map((x) => x.share), [0.5, 0.5, 0.5, 0.7, 0.7, 0.7, 0.9, 0.9, 0.9]);
  assert.ok(cells.every((x) => x.calibration.perExit && x.calibration.validation.averageMacs <= x.share * costs.full + 1e-9));
  assert.ok(cells.every((x) => x.routing.shares.length === 4));
});

test('quantile thresholds: a τ between neighbouring values, so gates that all sit below 0.01 can still be ranked and calibrated', () => {
  assert.deepEqual(quantileThresholds([0.1, 0.2, 0.3, 0.4], 4), [0.15000000000000002, 0.25, 0.35]);
  assert.deepEqual(quantileThresholds([0.5, 0.5, 0.5], 10), [], 'no τ between equal values');
  // exit 1's gates are all below 0.001; the right ones a little higher than the wrong ones
  const n = 200;
  const labels = Array.from({ length: n }, (_, i) => i % 10);
  const right = labels.map((_, i) => i % 2 === 0);
  const rec: SampleRecords = {
    split: 'validation', count: n, labels,
    exits: [{ point: 'block2', gate: right.map((r, i) => (r ? 0.0008 : 0.0002) + i * 1e-7), pred: labels.map((l, i) => (right[i] ? l : (l + 1) % 10)), conf: labels.map(() => 0.5), entropy: labels.map(() => 0.5) }],
    final: { pred: labels.map((l, i) => (i % 4 === 1 ? (l + 1) % 10 : l)), conf: labels.map(() => 1), entropy: labels.map(() => 0) },
    softPred: null,
  };
  const c: CostModel = { exits: [30], final: 100, full: 100 };
  // on the 0.01 grid τ = 0 sends everything to the exit (50 %), τ = 0.01 nothing (75 %); a budget of 70 % needs a τ in between
  const uniform = calibrateThresholds(rec, c, 'gate', { budget: 70 }, SWEEP_GRID);
  const adaptive = calibrateThresholds(rec, c, 'gate', { budget: 70 });
  close(uniform.accuracy, 0.5);
  assert.ok(adaptive.thresholds[0] > 0.0002 && adaptive.thresholds[0] < 0.0009, `τ ${adaptive.thresholds[0]}`);
  close(adaptive.accuracy, 0.75); // the right half leaves early (all right), the rest reaches the final classifier (half of them right)
  assert.equal(tauText(adaptive.thresholds[0]), adaptive.thresholds[0].toPrecision(3));
  assert.equal(tauText(0.5), '0.50');
  assert.equal(tausText([0.5, 0.5]), '0.50');
  assert.equal(tausText([0.5, 0.000312]), '0.50/0.000312');
});
