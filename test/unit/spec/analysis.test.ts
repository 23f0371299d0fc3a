/**
 * The pure transforms against numbers worked out by hand on six samples and two exits.
 *
 *   sample        0    1    2    3    4    5
 *   label         0    1    2    0    1    2
 *   exit A gate  .9   .2   .6   0    1    .4     pred 0 0 2 1 1 0  → right on 0, 2, 4 (standalone 3/6)
 *   exit B gate  .1   .7   .3   .8   .5   .2     pred 0 1 0 0 1 1  → right on 0, 1, 3, 4 (4/6)
 *   final                                        pred 0 1 2 0 0 2  → wrong only on 4 (5/6)
 *   costs: γ_A = 10, γ_B = 30, final = 50, full network = 40 MACs
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  calibrate, comparisonCsv, comparisonTable, evaluationReport, exitAssignments, exitHistograms, exitTable, exitTableCsv, histogram,
  paretoFront, ruleFires, softAccuracy, sweepCsv, SWEEP_GRID, tableOneAccuracy, thresholdSweep,
} from '../../../src/spec/analysis';
import type { CostModel, SampleRecords } from '../../../src/spec/results';

const records: SampleRecords = {
  split: 'test',
  count: 6,
  labels: [0, 1, 2, 0, 1, 2],
  exits: [
    { point: 'A', gate: [0.9, 0.2, 0.6, 0, 1, 0.4], pred: [0, 0, 2, 1, 1, 0], conf: [0.9, 0.5, 0.7, 0.3, 0.95, 0.6], entropy: [0.1, 0.6, 0.3, 0.9, 0.05, 0.4] },
    { point: 'B', gate: [0.1, 0.7, 0.3, 0.8, 0.5, 0.2], pred: [0, 1, 0, 0, 1, 1], conf: [0.5, 0.8, 0.4, 0.9, 0.7, 0.3], entropy: [0.5, 0.2, 0.7, 0.1, 0.3, 0.8] },
  ],
  final: { pred: [0, 1, 2, 0, 0, 2], conf: [1, 1, 1, 1, 1, 1], entropy: [0, 0, 0, 0, 0, 0] },
  softPred: [0, 1, 2, 0, 1, 0],
};
const costs: CostModel = { exits: [10, 30], final: 50, full: 40 };
const close = (a: number, b: number, msg?: string) => assert.ok(Math.abs(a - b) < 1e-9, `${msg ?? ''} ${a} ≠ ${b}`);

test('exitTable at τ = 0.5: A takes 0, 2, 4; B takes 1, 3; the final classifier takes 5', () => {
  const t = exitTable(records, costs, 'gate', 0.5);
  assert.deepEqual(t.thresholds, [0.5, 0.5]);
  assert.deepEqual(t.rows.map((r) => r.point), ['A', 'B', 'final']);
  assert.deepEqual(t.rows.map((r) => r.count), [3, 2, 1]);
  assert.deepEqual(t.rows.map((r) => r.share), [3 / 6, 2 / 6, 1 / 6]);
  assert.deepEqual(t.rows.map((r) => r.accuracy), [1, 1, 1]);
  assert.deepEqual(t.rows.map((r) => r.standalone), [3 / 6, 4 / 6, 5 / 6]);
  assert.deepEqual(t.rows.map((r) => r.macsPct), [25, 75, 125]);
  assert.equal(t.accuracy, 1);
  close(t.averageMacs, (3 * 10 + 2 * 30 + 1 * 50) / 6); // 23.33…
  close(t.averageMacsPct, (100 * 140) / 6 / 40); // 58.33 %
});

test('exitTable at τ = 0.35: sample 5 leaves at A and is wrong; nobody reaches the final classifier', () => {
  const t = exitTable(records, costs, 'gate', 0.35, [2, 5]);
  assert.deepEqual(t.rows.map((r) => r.count), [4, 2, 0]);
  assert.deepEqual(t.rows.map((r) => r.accuracy), [3 / 4, 1, null]);
  assert.deepEqual(t.rows.map((r) => r.position), [2, 5, 6]);
  close(t.accuracy, 5 / 6);
  close(t.averageMacs, (4 * 10 + 2 * 30) / 6);
});

test('exitTable with one τ per exit and with the entropy rule (fires when entropy ≤ τ)', () => {
  const perExit = exitTable(records, costs, 'gate', [0.95, 0.75]);
  // A: only sample 4 (gate 1 ≥ 0.95); B: sample 3 (0.8 ≥ 0.75); final: 0, 1, 2, 5.
  assert.deepEqual(perExit.rows.map((r) => r.count), [1, 1, 4]);
  assert.equal(perExit.accuracy, 1);
  const entropy = exitTable(records, costs, 'entropy', 0.3);
  // A: entropy ≤ 0.3 on 0, 2, 4; B (of 1, 3, 5): 1 (0.2), 3 (0.1); final: 5.
  assert.deepEqual(entropy.rows.map((r) => r.count), [3, 2, 1]);
  assert.throws(() => exitTable(records, costs, 'gate', [0.5]), /one per exit/);
});

test('thresholdSweep endpoints: τ = 0 sends everything out at the first exit, τ = 1 only gates equal to 1', () => {
  const s = thresholdSweep(records, costs, 'gate', [0, 1]);
  assert.equal(s[0].threshold, 0);
  assert.equal(s[0].accuracy, 3 / 6);
  assert.equal(s[0].averageMacs, 10);
  assert.equal(s[0].averageMacsPct, 25);
  assert.equal(s[1].accuracy, 1); // sample 4 at A (right), the rest at the final classifier (right)
  close(s[1].averageMacs, (10 + 5 * 50) / 6);
  // the default grid: 0, 0.01, …, 1 and the thresholds between the recorded gate values' quantiles
  const grid = thresholdSweep(records, costs, 'gate').map((p) => p.threshold);
  assert.ok(grid.length > 101 && SWEEP_GRID.every((t) => grid.includes(t)) && grid.every((t, i) => i === 0 || t > grid[i - 1]));
  assert.ok(grid.includes(0.85), 'halfway between the gate values 0.8 and 0.9');
  assert.equal(sweepCsv(s), 'threshold,accuracy,average_macs,average_macs_pct\n0,0.5000,10,25.00\n1,1.0000,43,108.33\n');
});

test('paretoFront keeps the points nobody beats on both cost and accuracy, sorted by cost', () => {
  const pts = [
    { id: 'D', averageMacs: 43.3, accuracy: 1 },
    { id: 'A', averageMacs: 10, accuracy: 0.5 },
    { id: 'E', averageMacs: 20, accuracy: 0.7 },
    { id: 'C', averageMacs: 23.3, accuracy: 1 },
    { id: 'F', averageMacs: 10, accuracy: 0.4 },
    { id: 'B', averageMacs: 16.7, accuracy: 0.8333 },
  ];
  assert.deepEqual(paretoFront(pts).map((p) => p.id), ['A', 'B', 'C']);
  assert.deepEqual(paretoFront([]), []);
});

test('histogram bins: 0 in the first bin, 1 in the last, 0.5 on an inner edge goes up, non-finite skipped', () => {
  const h = histogram([0, 0.05, 0.5, 0.999, 1, Number.NaN], 4);
  assert.deepEqual(h.edges, [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(h.counts, [2, 0, 1, 2]);
  const perExit = exitHistograms(records, 'gate', 2);
  assert.deepEqual(perExit.map((x) => x.point), ['A', 'B']);
  assert.deepEqual(perExit[0].counts, [3, 3]); // A: 0.2, 0, 0.4 | 0.9, 0.6, 1
  assert.deepEqual(perExit[1].counts, [3, 3]); // B: 0.1, 0.3, 0.2 | 0.7, 0.8, 0.5
});

test('calibrate to a MACs budget: met picks the most accurate τ within it, not met falls back to the cheapest', () => {
  const grid = [0, 0.35, 0.5, 1];
  const met = calibrate(records, records, costs, 'gate', { budget: 20 }, grid);
  assert.equal(met.met, true);
  assert.deepEqual(met.thresholds, [0.35, 0.35]);
  close(met.validation.accuracy, 5 / 6);
  close(met.test.averageMacs, 100 / 6);
  const notMet = calibrate(records, records, costs, 'gate', { budget: 5 }, grid);
  assert.equal(notMet.met, false);
  assert.deepEqual(notMet.thresholds, [0, 0]);
  assert.equal(notMet.validation.averageMacs, 10);
});

test('calibrate to an accuracy: met picks the cheapest τ reaching it, not met the most accurate', () => {
  const grid = [0, 0.35, 0.5, 1];
  assert.deepEqual(calibrate(records, records, costs, 'gate', { accuracy: 0.8 }, grid).thresholds, [0.35, 0.35]);
  const exact = calibrate(records, records, costs, 'gate', { accuracy: 1 }, grid);
  assert.equal(exact.met, true);
  assert.deepEqual(exact.thresholds, [0.5, 0.5]); // 23.3 MACs beats τ = 1 at 43.3
  const notMet = calibrate(records, records, costs, 'gate', { accuracy: 1.01 }, grid);
  assert.equal(notMet.met, false);
  assert.equal(notMet.validation.accuracy, 1);
  assert.throws(() => calibrate(records, records, costs, 'gate', {}, grid), /budget or a target accuracy/);
});

test('exitTableCsv: header, one line per exit, final, totals', () => {
  const csv = exitTableCsv(exitTable(records, costs, 'gate', 0.5)).trim().split('\n');
  assert.equal(csv.length, 5);
  assert.equal(csv[1], 'A,1,10,25.00,3,0.5000,1.0000,0.5000');
  assert.equal(csv[4], 'total,,23,58.33,6,1,1.0000,');
});

test('comparisonTable groups by dataset × backbone × method and keeps the best run of a λ sweep', () => {
  const t = comparisonTable([
    { id: 'p1', dataset: 'cifar10', backbone: 'ResNet-18', method: 'proposed', lambda: 0.5, accuracy: 0.85 },
    { id: 'p2', dataset: 'cifar10', backbone: 'ResNet-18', method: 'proposed', lambda: 1, accuracy: 0.87 },
    { id: 'b', dataset: 'cifar10', backbone: 'ResNet-18', method: 'baseline', lambda: null, accuracy: 0.81 },
    { id: 'v', dataset: 'cifar100', backbone: 'VGG-13', method: 'branchynet', lambda: null, accuracy: 0.52 },
  ]);
  assert.deepEqual(t.datasets, ['cifar10', 'cifar100']);
  assert.deepEqual(t.backbones, ['ResNet-18', 'VGG-13']);
  assert.deepEqual(t.methods, ['baseline', 'branchynet', 'proposed']);
  assert.deepEqual(t.cells[0][0][2], { accuracy: 0.87, id: 'p2', lambda: 1, runs: 2 });
  assert.equal(t.cells[0][0][1], null);
  assert.equal(t.cells[1][1][1]?.id, 'v');
  assert.equal(comparisonCsv(t), 'dataset,backbone,baseline,branchynet,proposed\ncifar10,ResNet-18,81.00,,87.00\ncifar100,VGG-13,,52.00,\n');
  assert.equal(tableOneAccuracy({ softAccuracy: null, finalAccuracy: 0.8 }), 0.8);
  assert.equal(tableOneAccuracy({ softAccuracy: 0.9, finalAccuracy: 0.8 }), 0.9);
});

/**
 * Validation records distinct from the test records above (four samples, one exit A at cost 10,
 * final 50): calibration must pick τ on these and report the test table at that τ.
 *   sample      0    1    2    3
 *   label       1    1    0    0
 *   gate A     .9   .6   .4   .2     pred A  1 0 0 1   (right on 0, 2)
 *   final                            pred    1 1 0 0   (all right)
 */
const validation: SampleRecords = {
  split: 'validation',
  count: 4,
  labels: [1, 1, 0, 0],
  exits: [{ point: 'A', gate: [0.9, 0.6, 0.4, 0.2], pred: [1, 0, 0, 1], conf: [0.8, 0.7, 0.6, 0.5], entropy: [0.2, 0.3, 0.4, 0.5] }],
  final: { pred: [1, 1, 0, 0], conf: [1, 1, 1, 1], entropy: [0, 0, 0, 0] },
  softPred: [1, 1, 0, 0],
};
const oneExit: SampleRecords = { ...records, exits: [records.exits[0]] };
const oneExitCosts: CostModel = { exits: [10], final: 50, full: 40 };

test('calibrate chooses τ on the validation records and reports the test records at that τ', () => {
  // validation, grid [0.5, 0.7, 0.95]: τ .5 → A takes 0, 1 (1 right), final 2, 3: accuracy 3/4, MACs (20 + 100)/4 = 30
  //                                    τ .7 → A takes 0 (right): accuracy 1, MACs (10 + 150)/4 = 40; τ .95 → 1, MACs 50
  const grid = [0.5, 0.7, 0.95];
  const c = calibrate(validation, oneExit, oneExitCosts, 'gate', { budget: 45 }, grid, [2, 9]);
  assert.deepEqual(c.thresholds, [0.7]);
  assert.deepEqual(c.validation, { accuracy: 1, averageMacs: 40 });
  // the test records at τ .7: A takes 0 (gate .9) and 4 (gate 1), both right; the final classifier
  // takes the other four, wrong on none of them: accuracy 1, MACs (2·10 + 4·50)/6
  assert.equal(c.test.count, 6);
  assert.deepEqual(c.test.rows.map((r) => r.count), [2, 4]);
  assert.deepEqual(c.test.rows.map((r) => r.position), [2, 9]);
  close(c.test.averageMacs, 220 / 6);
  assert.equal(c.test.accuracy, 1);
  // on the test records themselves the same target picks another τ: the roles of the two sets matter
  const onTest = calibrate(oneExit, oneExit, oneExitCosts, 'gate', { budget: 45 }, grid);
  assert.deepEqual(onTest.thresholds, [0.5]);
  close(onTest.validation.averageMacs, (3 * 10 + 3 * 50) / 6);
});

test('evaluationReport: the table, sweep and histograms from the test records, calibration from the validation records', () => {
  const r = evaluationReport(oneExitCosts, oneExit, validation, 'gate', 0.5, { accuracy: 0.9 }, [2, 9]);
  assert.equal(r.softAccuracy, 5 / 6); // softPred [0,1,2,0,1,0] vs labels [0,1,2,0,1,2]
  assert.equal(r.finalAccuracy, 5 / 6);
  assert.deepEqual(r.thresholds, [0.5]);
  assert.deepEqual(r.hard.rows.map((x) => x.count), [3, 3]);
  // the sweep runs over the τ grid with the quantiles of the gate values added (sweepGrid)
  assert.ok(r.sweep.length > 101 && SWEEP_GRID.every((t) => r.sweep.some((p) => p.threshold === t)));
  assert.deepEqual(r.histograms[0].counts.reduce((a, b) => a + b, 0), 6);
  // accuracy ≥ 0.9 on validation: the cheapest τ of the default grid that reaches it is 0.61
  // (sample 1, gate .6, goes on to the final classifier), where 3 of 4 validation samples pay 50
  assert.deepEqual(r.calibration!.thresholds, [0.61]);
  assert.deepEqual(r.calibration!.validation, { accuracy: 1, averageMacs: 40 });
  assert.equal(r.calibration!.met, true);
  // no validation records or no target: no calibration
  assert.equal(evaluationReport(oneExitCosts, oneExit, null, 'gate', 0.5, { accuracy: 0.9 }).calibration, null);
  assert.equal(evaluationReport(oneExitCosts, oneExit, validation, 'gate', 0.5, null).calibration, null);
});

test('the confidence rule fires at max probability ≥ τ; exits without gates refuse the gate rule', () => {
  // confidence A [.9 .5 .7 .3 .95 .6], B [.5 .8 .4 .9 .7 .3] at τ = .7: A takes 0, 2, 4; B takes 3 (.9) and 1 (.8); final 5
  const t = exitTable(records, costs, 'confidence', 0.7);
  assert.deepEqual(t.rows.map((r) => r.count), [3, 2, 1]);
  assert.deepEqual(Array.from(exitAssignments(records, 'confidence', [0.7, 0.7])), [0, 1, 0, 1, 0, 2]);
  // at exactly τ it fires (≥), and just above it does not
  assert.deepEqual(Array.from(exitAssignments(records, 'confidence', [0.95, 0.9])), [2, 2, 2, 1, 0, 2]);
  assert.deepEqual(Array.from(exitAssignments(records, 'confidence', [0.951, 0.901])), [2, 2, 2, 2, 2, 2]);
  // entropy fires at ≤ τ, also at equality
  assert.deepEqual(Array.from(exitAssignments(records, 'entropy', [0.05, 0.1])), [2, 2, 2, 1, 0, 2]);
  assert.equal(ruleFires('gate', 0.5, 0.5), true);
  assert.equal(ruleFires('confidence', 0.49, 0.5), false);
  assert.equal(ruleFires('entropy', 0.5, 0.5), true);
  assert.equal(ruleFires('entropy', 0.51, 0.5), false);
  const ungated: SampleRecords = { ...records, exits: records.exits.map((e) => ({ ...e, gate: null })) };
  assert.throws(() => exitTable(ungated, costs, 'gate', 0.5), /exit A has no gate; use the "entropy" or "confidence" rule/);
  assert.deepEqual(exitHistograms(records, 'confidence', 2).map((h) => h.counts), [[1, 5], [2, 4]]); // 0.5 falls in the upper bin
  assert.deepEqual(exitHistograms(records, 'entropy', 2).map((h) => h.counts), [[4, 2], [3, 3]]);
  assert.deepEqual(exitHistograms(ungated, 'gate', 2).map((h) => h.counts), [[0, 0], [0, 0]]);
});

test('exit table edges: default positions, no samples, a row nobody reaches in the CSV', () => {
  assert.deepEqual(exitTable(records, costs, 'gate', 0.5).rows.map((r) => r.position), [1, 2, 3]);
  // positions for the exits only: the final classifier is one past the last
  assert.deepEqual(exitTable(records, costs, 'gate', 0.5, [4, 2]).rows.map((r) => r.position), [4, 2, 5]);
  const none: SampleRecords = { ...records, count: 0, labels: [], exits: records.exits.map((e) => ({ ...e, gate: [], pred: [], conf: [], entropy: [] })), final: { pred: [], conf: [], entropy: [] }, softPred: [] };
  const t = exitTable(none, costs, 'gate', 0.5);
  assert.deepEqual(t.rows.map((r) => [r.count, r.share, r.accuracy, r.standalone]), [[0, 0, null, 0], [0, 0, null, 0], [0, 0, null, 0]]);
  assert.deepEqual([t.accuracy, t.averageMacs, t.averageMacsPct], [0, 0, 0]);
  assert.equal(exitTableCsv(exitTable(records, costs, 'gate', 0.35)).split('\n')[3], 'final,3,50,125.00,0,0.0000,,0.8333');
});

test('the uniform τ grid is 0, 0.01, …, 1 (the sweep adds the quantiles of the rule values) and the default histogram has 20 bins', () => {
  assert.deepEqual(SWEEP_GRID, Array.from({ length: 101 }, (_, i) => i / 100));
  const sweep = thresholdSweep(records, costs, 'gate');
  assert.deepEqual(sweep.find((p) => p.threshold === 0.5), thresholdSweep(records, costs, 'gate', [0.5])[0]);
  const h = histogram([0.01, 0.26, 0.99]);
  assert.equal(h.counts.length, 20);
  assert.deepEqual(h.edges.slice(0, 3), [0, 0.05, 0.1]);
  assert.deepEqual([h.counts[0], h.counts[5], h.counts[19]], [1, 1, 1]);
  assert.equal(exitHistograms(records, 'gate')[0].counts.length, 20);
});

test('calibrate breaks ties: within a budget the cheaper of equally accurate τ; for an accuracy the cheapest; a full tie keeps the first', () => {
  // validation τ .7 and .95 are both 100 % accurate; .7 costs 40, .95 costs 50: a budget of 60 takes .7
  assert.deepEqual(calibrate(validation, oneExit, oneExitCosts, 'gate', { budget: 60 }, [0.95, 0.7]).thresholds, [0.7]);
  // an accuracy target met by τ .7 (100 %, 40 MACs) and .5 (75 %, 30): the cheaper .5
  assert.deepEqual(calibrate(validation, oneExit, oneExitCosts, 'gate', { accuracy: 0.7 }, [0.7, 0.5]).thresholds, [0.5]);
  // τ .61 and .7 send the same sample out (100 %, 40 MACs): a full tie keeps the first in the grid
  assert.deepEqual(calibrate(validation, oneExit, oneExitCosts, 'gate', { accuracy: 0.9 }, [0.61, 0.7]).thresholds, [0.61]);
  assert.deepEqual(calibrate(validation, oneExit, oneExitCosts, 'gate', { budget: 45 }, [0.61, 0.7]).thresholds, [0.61]);
  // a budget nobody meets: the cheapest τ, a target nobody reaches: the most accurate
  const tooCheap = calibrate(validation, oneExit, oneExitCosts, 'gate', { budget: 1 }, [0.95, 0.5, 0.7]);
  assert.deepEqual([tooCheap.met, tooCheap.thresholds], [false, [0.5]]);
});

test('no gates, no soft accuracy; no exits, no sweep and no calibration', () => {
  assert.equal(softAccuracy({ ...records, softPred: null }), null);
  assert.equal(softAccuracy(records), 5 / 6);
  const backboneOnly: SampleRecords = { ...records, exits: [], softPred: null };
  const r = evaluationReport({ exits: [], final: 40, full: 40 }, backboneOnly, validation, 'entropy', [], { budget: 30 });
  assert.deepEqual([r.softAccuracy, r.sweep, r.histograms, r.calibration], [null, [], [], null]);
  assert.deepEqual(r.hard.rows.map((x) => [x.point, x.count]), [['final', 6]]);
  assert.equal(r.finalAccuracy, 5 / 6);
});

test('calibration edges the mutation run found open: a budget met exactly, the grid\'s order, ties when nothing meets the target', () => {
  // τ = 0 sends everyone out at A for 10 MACs: a budget of exactly 10 is met
  const exactBudget = calibrate(records, records, costs, 'gate', { budget: 10 }, [0, 0.35]);
  assert.deepEqual([exactBudget.met, exactBudget.thresholds], [true, [0, 0]]);
  // within 20 MACs: τ .35 (5/6, 16.7 MACs) beats τ 0 (3/6, 10) whichever comes last in the grid
  assert.deepEqual(calibrate(records, records, costs, 'gate', { budget: 20 }, [0.35, 0]).thresholds, [0.35, 0.35]);
  // 100 %: τ .5 (23.3 MACs) is cheaper than τ 1 (43.3), also when τ 1 comes first
  assert.deepEqual(calibrate(records, records, costs, 'gate', { accuracy: 1 }, [1, 0.5]).thresholds, [0.5, 0.5]);
  // nothing meets the budget: the cheapest, and of two equally cheap the first in the grid
  assert.deepEqual(calibrate(validation, oneExit, oneExitCosts, 'gate', { budget: 1 }, [0.7, 0.61]).thresholds, [0.7]);
  // nothing reaches the accuracy: the most accurate (τ 1 and .5 both 100 %, τ 0 50 %), of a tie the first
  const notMet = calibrate(records, records, costs, 'gate', { accuracy: 1.01 }, [1, 0.5, 0]);
  assert.deepEqual([notMet.met, notMet.thresholds], [false, [1, 1]]);
});

test('table edges the mutation run found open: Pareto points at one cost, Table 1\'s columns and ties, the CSV\'s last newline, rules on exits without gates', () => {
  // two points at the same cost: only the more accurate is on the front, in either order
  const same = [{ averageMacs: 10, accuracy: 0.5 }, { averageMacs: 10, accuracy: 0.7 }, { averageMacs: 20, accuracy: 0.9 }];
  assert.deepEqual(paretoFront(same), [same[1], same[2]]);
  assert.deepEqual(paretoFront([same[1], same[0], same[2]]), [same[1], same[2]]);
  // only the methods that have runs are columns; of two equally accurate runs the first is kept
  const t = comparisonTable([
    { id: 'p1', dataset: 'cifar10', backbone: 'ResNet-18', method: 'proposed', lambda: 0.5, accuracy: 0.8 },
    { id: 'p2', dataset: 'cifar10', backbone: 'ResNet-18', method: 'proposed', lambda: 1, accuracy: 0.8 },
  ]);
  assert.deepEqual(t.methods, ['proposed']);
  assert.deepEqual(t.cells[0][0][0], { accuracy: 0.8, id: 'p1', lambda: 0.5, runs: 2 });
  assert.ok(exitTableCsv(exitTable(records, costs, 'gate', 0.5)).endsWith('1.0000,\n'), 'the CSV ends with a newline');
  // BranchyNet's exits have no gates: the confidence and entropy rules still place every sample
  const ungated: SampleRecords = { ...records, exits: records.exits.map((e) => ({ ...e, gate: null })) };
  assert.deepEqual(Array.from(exitAssignments(ungated, 'confidence', [0.9, 0.9])), [0, 2, 2, 1, 0, 2]);
});
