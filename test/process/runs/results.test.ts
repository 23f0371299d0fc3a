/**
 * results.json is what the shared analysis makes of the run's own per-sample files, through the
 * real worker: the exit table, sweep and histograms of samples.json (the test split), and the
 * calibrated τ chosen on samples-validation.json — a split of its own, not the test records.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultExperiment, exitPositions, validateExperiment } from '../../../src/spec/experiment';
import { createRunsFor, TrainingRun } from '../../../src/runs/manager';
import { readResults, readSamples } from '../../../src/runs/store';
import { calibrate, evaluationReport, thresholdSweep } from '../../../src/spec/analysis';
import { costModel } from '../../../src/spec/exit-costs';
import { ROOT } from '../../paths';

const workerPath = path.join(ROOT, 'dist/worker.js');
let tmp = '';
before(() => {
  assert.ok(fs.existsSync(workerPath), 'dist/worker.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-results-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('results.json: tables from the test samples, calibration chosen on the validation samples', async () => {
  const x: any = JSON.parse(JSON.stringify(defaultExperiment('resnet18', 'cal')));
  x.backbone.width = 1 / 32;
  x.exits = [{ point: 'block2' }, { point: 'block5' }];
  Object.assign(x.dataset, { syntheticTrain: 160, syntheticTest: 64 });
  Object.assign(x.training, { epochs: 1, batchSize: 32, backend: 'wasm' });
  x.evaluation.timingImages = 0;
  // a MACs budget of 60 % of the full network: between the first exit's cost and the final one
  const plain = validateExperiment(x);
  x.evaluation.calibration = { budget: Math.round(0.6 * costModel({ backbone: plain.backbone, exits: plain.exits, gated: true }).full) };
  const experiment = validateExperiment(x);
  const runsDir = path.join(tmp, 'runs');
  const [r] = createRunsFor(runsDir, experiment);
  assert.equal(await new TrainingRun(r.dir, { runsDir, workerPath, killAfterMs: 20_000 }, false).run(), 'finished');

  const results = readResults(r.dir);
  const testRec = readSamples(r.dir, 'test'), valRec = readSamples(r.dir, 'validation');
  assert.equal(testRec.split, 'test');
  assert.equal(valRec.split, 'validation');
  assert.equal(testRec.count, results.dataset.test);
  assert.equal(valRec.count, results.dataset.validation);
  assert.notDeepEqual(valRec.exits[0].gate, testRec.exits[0].gate!.slice(0, valRec.count), 'the validation samples are not the test samples');

  const report = evaluationReport(results.costs, testRec, valRec, 'gate', 0.5, { budget: experiment.evaluation.calibration.budget! }, exitPositions(experiment));
  const { softAccuracy, finalAccuracy, rule, thresholds, hard, routing, rules, sweep, histograms, calibration, budgetComparison } = results;
  assert.deepEqual({ softAccuracy, finalAccuracy, rule, thresholds, hard, routing, rules, sweep, histograms, calibration, budgetComparison }, report);
  assert.ok(calibration, 'a budget was set: results.json has a calibration');
  // the τ was chosen on the validation sweep: its validation figures are that sweep's at τ …
  const chosen = thresholdSweep(valRec, results.costs, 'gate').find((p) => p.threshold === calibration.thresholds[0])!;
  assert.deepEqual(calibration.validation, { accuracy: chosen.accuracy, averageMacs: chosen.averageMacs });
  assert.ok(calibration.validation.averageMacs <= experiment.evaluation.calibration.budget!);
  // … and choosing on the test records would have reported other figures (so the check above can fail)
  const onTest = calibrate(testRec, testRec, results.costs, 'gate', { budget: experiment.evaluation.calibration.budget! });
  assert.notDeepEqual(onTest.validation, calibration.validation);
});
