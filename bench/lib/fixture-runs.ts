/**
 * Run folders for the extension/panel benchmarks: the test fixture (test/fixtures/make-run.ts)
 * widened to any number of exits (10 = every VGG-13 point) and any number of test samples.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { calibrate, exitHistograms, exitTable, softAccuracy, thresholdSweep } from '../../src/spec/analysis';
import type { CostModel, RunResults, SampleRecords } from '../../src/spec/results';
import { makeRecords, makeRun, type FixtureRunOptions } from '../../test/fixtures/make-run';

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** The fixture's records with `exits` exits (conv1…convN), standalone accuracy rising from ~0.49 to 0.83. */
function records(split: SampleRecords['split'], count: number, seed: number, exits: number): SampleRecords {
  const standalone = Array.from({ length: exits }, (_, b) => 0.45 + (0.38 * (b + 1)) / exits);
  return makeRecords(split, count, seed, true, exits, 0, { standalone, points: standalone.map((_, b) => `conv${b + 1}`) });
}

/** A finished proposed-method run with `exits` exits and `test` test samples. */
export function makeWideRun(dir: string, exits: number, test: number, opts: FixtureRunOptions = {}): void {
  const base = makeRun(dir, { ...opts, test: 50, validation: 50 })!;
  const full = 40.2e6;
  const costs: CostModel = { exits: Array.from({ length: exits }, (_, b) => r4(full * (0.08 + (0.9 * (b + 1)) / (exits + 1)))), final: full * 1.03, full };
  const t = records('test', test, (opts.seed ?? 1) * 31, exits);
  const v = records('validation', Math.min(2000, Math.max(200, test / 5)), (opts.seed ?? 1) * 37, exits);
  const positions = Array.from({ length: exits }, (_, b) => b + 1);
  const thresholds = t.exits.map(() => 0.5);
  const hard = exitTable(t, costs, 'gate', thresholds, positions);
  const results: RunResults = {
    ...base,
    backbone: { ...base.backbone, name: 'vgg13', label: 'VGG-13' },
    dataset: { ...base.dataset, test: t.count, validation: v.count },
    costs, points: t.exits.map((e) => e.point), rule: 'gate', thresholds,
    softAccuracy: softAccuracy(t), finalAccuracy: exitTable(t, costs, 'gate', 2).rows[exits].standalone,
    hard, sweep: thresholdSweep(t, costs, 'gate'), histograms: exitHistograms(t, 'gate'),
    calibration: calibrate(v, t, costs, 'gate', { budget: 0.6 * full }, undefined, positions),
  };
  fs.writeFileSync(path.join(dir, 'samples.json'), JSON.stringify(t));
  fs.writeFileSync(path.join(dir, 'samples-validation.json'), JSON.stringify(v));
  fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(results, null, 2));
}
