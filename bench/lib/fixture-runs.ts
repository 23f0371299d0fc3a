/**
 * Run folders for the extension/panel benchmarks: the test fixture (test/fixtures/make-run.ts)
 * widened to any number of exits (10 = every VGG-13 point) and any number of test samples.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { calibrate, exitHistograms, exitTable, softAccuracy, thresholdSweep } from '../../src/core/analysis';
import { mulberry32 } from '../../src/core/data/rng';
import type { CostModel, RunResults, SampleRecords } from '../../src/core/results';
import { makeRun, type FixtureRunOptions } from '../../test/fixtures/make-run';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

function records(split: SampleRecords['split'], count: number, seed: number, exits: number): SampleRecords {
  const r = mulberry32(seed);
  const standalone = Array.from({ length: exits }, (_, b) => 0.45 + (0.38 * (b + 1)) / exits);
  const labels: number[] = [];
  const ex = standalone.map((_, b) => ({ point: `conv${b + 1}`, gate: [] as number[], pred: [] as number[], conf: [] as number[], entropy: [] as number[] }));
  const final = { pred: [] as number[], conf: [] as number[], entropy: [] as number[] };
  const softPred: number[] = [];
  const wrong = (y: number) => (y + 1 + Math.floor(r() * 9)) % 10;
  for (let i = 0; i < count; i++) {
    const y = Math.floor(r() * 10);
    labels.push(y);
    const d = r();
    standalone.forEach((p, b) => {
      const margin = p - d;
      const conf = Math.min(0.999, Math.max(0.1, 0.55 + 0.9 * margin + (r() - 0.5) * 0.25));
      ex[b].pred.push(d < p + (r() - 0.5) * 0.35 ? y : wrong(y));
      ex[b].conf.push(r4(conf));
      ex[b].entropy.push(r4(Math.min(1, Math.max(0, 1 - conf))));
      ex[b].gate.push(r4(sigmoid(8 * margin - 1.2 + (r() - 0.5) * 3)));
    });
    final.pred.push(d < 0.86 ? y : wrong(y));
    final.conf.push(r4(Math.min(0.999, 0.6 + 0.4 * (0.86 - d))));
    final.entropy.push(r4(Math.max(0, 0.4 - 0.4 * (0.86 - d))));
    softPred.push(d < 0.87 ? y : wrong(y));
  }
  return { split, count, labels, exits: ex, final, softPred };
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
