/**
 * An interrupted and resumed run equals the run that was never interrupted, through the real
 * worker (dist/worker.js) on the same backend: the same metrics line for every epoch, the same
 * exported weights, the same results. The worker is killed with SIGKILL in the middle of epoch 2,
 * so the resumed run starts from the checkpoint of epoch 1 and trains epoch 2 again. AlexNet has
 * dropout in its classifier, whose masks must continue where the first run's checkpoint left off.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultExperiment, validateExperiment, type Experiment } from '../../../src/spec/experiment';
import { createRunsFor, TrainingRun } from '../../../src/runs/manager';
import { readMetrics, readResults, readStatus } from '../../../src/runs/store';
import type { FromWorker } from '../../../src/protocol/worker';
import type { EpochMetrics } from '../../../src/spec/run-types';
import { ROOT } from '../../paths';

const workerPath = path.join(ROOT, 'dist/worker.js');
let tmp = '';
const live = new Set<TrainingRun>();

before(() => {
  assert.ok(fs.existsSync(workerPath), 'dist/worker.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-resume-'));
});
after(() => {
  for (const r of live) if (r.pid) try { process.kill(r.pid, 'SIGKILL'); } catch { /* gone */ }
  fs.rmSync(tmp, { recursive: true, force: true });
});

function experiment(): Experiment {
  const x: any = JSON.parse(JSON.stringify(defaultExperiment('alexnet', 'resume')));
  x.backbone.width = 1 / 32;
  x.exits = [{ point: 'conv2' }];
  x.method = { name: 'proposed', lambda: 0.5, exitLossWeight: 0.2 };
  x.dataset.syntheticTrain = 160;
  x.dataset.syntheticTest = 48;
  Object.assign(x.training, { epochs: 3, batchSize: 32, backend: 'wasm', optimizer: 'sgd', momentum: 0.9, schedule: 'cosine', lr: 0.02 });
  x.evaluation.timingImages = 0;
  return validateExperiment(x);
}

function run(dir: string, runsDir: string, resume: boolean): { run: TrainingRun; done: Promise<string> } {
  const r = new TrainingRun(dir, { runsDir, workerPath, killAfterMs: 20_000 }, resume);
  live.add(r);
  return { run: r, done: r.run() };
}

/** A metrics line without its wall-clock fields. */
const numbers = (m: EpochMetrics) => ({ ...m, imagesPerSecond: 0, seconds: 0 });

test('killed mid-epoch 2 and resumed = never interrupted: metrics, exported weights and results (wasm)', async () => {
  const straightDir = createRunsFor(path.join(tmp, 'straight'), experiment())[0].dir;
  assert.equal(await run(straightDir, path.join(tmp, 'straight'), false).done, 'finished');

  const runsDir = path.join(tmp, 'killed');
  const dir = createRunsFor(runsDir, experiment())[0].dir;
  const first = run(dir, runsDir, false);
  await new Promise<void>((ok) => first.run.on('message', (m: FromWorker) => { if (m.type === 'progress' && m.epoch === 2 && m.step === 3) ok(); }));
  process.kill(first.run.pid!, 'SIGKILL');
  assert.equal(await first.done, 'failed');
  assert.deepEqual(readMetrics(dir).metrics.map((m) => m.epoch), [1]);
  assert.equal(await run(dir, runsDir, true).done, 'finished');
  assert.equal(readStatus(dir).state, 'finished');

  assert.deepEqual(readMetrics(dir).metrics.map(numbers), readMetrics(straightDir).metrics.map(numbers));
  const weights = (d: string) => fs.readFileSync(path.join(d, 'model/weights.bin'));
  assert.ok(weights(dir).equals(weights(straightDir)), 'model/weights.bin differs');
  const results = (d: string) => {
    const { trainSeconds: _wallClock, ...r } = readResults(d);
    return r;
  };
  assert.deepEqual(results(dir), results(straightDir));
});
