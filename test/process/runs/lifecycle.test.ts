/**
 * Run lifecycle through the real worker process (dist/worker.js, built by `npm run build`):
 * stop, kill -9 and resume, NaN loss, the queue and sweeps. Tiny networks on the synthetic set.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultExperiment, validateExperiment, type Experiment } from '../../../src/spec/experiment';
import { createRunsFor, TrainingRun, type ManagerOptions } from '../../../src/runs/manager';
import { readMetrics, readStatus, readResults, listRuns } from '../../../src/runs/store';
import type { FromWorker } from '../../../src/protocol/worker';
import { ROOT } from '../../paths';

const root = ROOT;
const workerPath = path.join(root, 'dist/worker.js');
let tmp: string;

before(() => {
  assert.ok(fs.existsSync(workerPath), 'dist/worker.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ees-runs-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tiny(epochs: number, extra: (x: any) => void = () => {}): Experiment {
  const x: any = JSON.parse(JSON.stringify(defaultExperiment('resnet18', 'tiny', 'synthetic')));
  x.backbone.width = 1 / 32;
  x.exits = [{ point: 'block2' }, { point: 'block5' }];
  x.dataset.syntheticTrain = 320;
  x.dataset.syntheticTest = 64;
  x.training.epochs = epochs;
  x.training.batchSize = 32;
  x.training.backend = 'wasm';
  x.evaluation.timingImages = 4;
  extra(x);
  return validateExperiment(x);
}

function opts(runsDir: string): ManagerOptions {
  return { runsDir, workerPath, killAfterMs: 20_000 };
}

function waitFor(run: TrainingRun, pred: (m: FromWorker) => boolean): Promise<FromWorker> {
  return new Promise((resolve) => { const h = (m: FromWorker) => { if (pred(m)) { run.off('message', h); resolve(m); } }; run.on('message', h); });
}

test('a run trains, evaluates and leaves a complete run folder', async () => {
  const runsDir = path.join(tmp, 'ok');
  const [r] = createRunsFor(runsDir, tiny(1, (x) => { x.training.backend = 'auto'; }));
  const run = new TrainingRun(r.dir, opts(runsDir), false);
  const seen = new Set<string>();
  run.on('message', (m) => seen.add(m.type));
  assert.equal(await run.run(), 'finished');
  for (const t of ['started', 'progress', 'epochEnd', 'evaluated', 'finished']) assert.ok(seen.has(t), `message ${t}`);
  const s = readStatus(r.dir);
  assert.equal(s.state, 'finished');
  assert.equal(s.backend, 'wasm');
  // auto tries the torch engine first (it wants a CUDA device), then tfjs's order
  assert.match(s.backendReason!, /; skipped torch: .*; gpu: .*tfjs-node-gpu/);
  for (const f of ['experiment.json', 'metrics.jsonl', 'results.json', 'samples.json', 'samples-validation.json', 'model/model.json', 'model/weights.bin', 'checkpoint/model.json']) {
    assert.ok(fs.existsSync(path.join(r.dir, f)), f);
  }
  const res = readResults(r.dir);
  assert.equal(res.hard.rows.length, 3);
  // the 0.01 grid, plus the quantile thresholds of the gates' values (spec/routing.ts adaptiveGrid), in order
  for (let i = 0; i <= 100; i++) assert.ok(res.sweep.some((p) => Math.abs(p.threshold - i / 100) < 1e-12), `τ = ${i / 100} in the sweep`);
  assert.ok(res.sweep.every((p, i) => i === 0 || p.threshold > res.sweep[i - 1].threshold), 'sweep sorted by τ');
  assert.equal(res.histograms.length, 2);
  // timing of the 4 images the experiment asks for, on the run's backend, its ratios consistent
  assert.ok(res.timing, 'timingImages 4: results.json has a timing');
  assert.equal(res.timing.images, 4);
  assert.equal(res.timing.backend, 'wasm');
  assert.equal(res.timing.speedup, res.timing.fullMs / res.timing.hardMs);
  assert.equal(readMetrics(r.dir).metrics.length, 1);
});

test('stop during training ends as cancelled within a step and keeps the last checkpoint', async () => {
  const runsDir = path.join(tmp, 'stop');
  const [r] = createRunsFor(runsDir, tiny(5));
  const run = new TrainingRun(r.dir, opts(runsDir), false);
  const done = run.run();
  await waitFor(run, (m) => m.type === 'progress' && m.epoch === 2 && m.step === 2);
  const t0 = Date.now();
  const cancelled = waitFor(run, (m) => m.type === 'cancelled');
  assert.equal(await run.stop(), 'cancelled');
  const c = await cancelled as Extract<FromWorker, { type: 'cancelled' }>;
  assert.equal(c.epoch, 2);
  assert.ok(c.step <= 4, `stopped at step ${c.step}`);
  assert.ok(Date.now() - t0 < 10_000);
  await done;
  const s = readStatus(r.dir);
  assert.equal(s.state, 'cancelled');
  assert.equal(s.epoch, 1);
  assert.ok(fs.existsSync(path.join(r.dir, 'checkpoint/model.json')));
});

test('kill -9 mid-epoch: failed with a message, finished epochs kept, --resume finishes', async () => {
  const runsDir = path.join(tmp, 'kill');
  const [r] = createRunsFor(runsDir, tiny(3));
  const run = new TrainingRun(r.dir, opts(runsDir), false);
  const done = run.run();
  await waitFor(run, (m) => m.type === 'progress' && m.epoch === 2 && m.step === 3);
  process.kill(run.pid!, 'SIGKILL');
  assert.equal(await done, 'failed');
  const s = readStatus(r.dir);
  assert.equal(s.state, 'failed');
  assert.match(s.error!, /^worker killed by SIGKILL before finishing; finished epochs and the checkpoint of epoch 1 are kept( \(its output is in the run's worker\.log\))?$/);
  assert.deepEqual(readMetrics(r.dir).metrics.map((m) => m.epoch), [1]);
  const resumed = new TrainingRun(r.dir, opts(runsDir), true);
  const started = waitFor(resumed, (m) => m.type === 'started');
  assert.equal(await resumed.run(), 'finished');
  assert.equal((await started as Extract<FromWorker, { type: 'started' }>).resumedFromEpoch, 1);
  assert.deepEqual(readMetrics(r.dir).metrics.map((m) => m.epoch), [1, 2, 3]);
  assert.equal(readStatus(r.dir).state, 'finished');
});

test('a NaN loss fails the run naming the epoch and step', async () => {
  const runsDir = path.join(tmp, 'nan');
  const [r] = createRunsFor(runsDir, tiny(1, (x) => { x.training.lr = 1e30; x.training.optimizer = 'sgd'; }));
  const run = new TrainingRun(r.dir, opts(runsDir), false);
  const failed = waitFor(run, (m) => m.type === 'failed');
  assert.equal(await run.run(), 'failed');
  const f = await failed as Extract<FromWorker, { type: 'failed' }>;
  assert.equal(f.epoch, 1);
  assert.ok(f.step! >= 1);
  assert.match(readStatus(r.dir).error!, /^loss became (NaN|Infinity|-Infinity) at epoch 1, step \d+ \(try a lower learning rate or λ\)$/);
});

test('two runs started together run one after the other; a λ sweep of three is one group', async () => {
  const runsDir = path.join(tmp, 'queue');
  const sweep = tiny(1, (x) => { x.sweep = { 'method.lambda': [0.01, 0.1, 1] }; });
  const runs = createRunsFor(runsDir, sweep);
  assert.equal(runs.length, 3);
  const groups = new Set(runs.map((r) => readStatus(r.dir).group));
  assert.equal(groups.size, 1);
  assert.ok([...groups][0]);
  assert.deepEqual(runs.map((r) => readStatus(r.dir).sweep), [{ 'method.lambda': 0.01 }, { 'method.lambda': 0.1 }, { 'method.lambda': 1 }]);
  const times: Record<string, { start?: number; end?: number }> = {};
  const a = new TrainingRun(runs[0].dir, opts(runsDir), false);
  const b = new TrainingRun(runs[1].dir, opts(runsDir), false);
  for (const run of [a, b]) {
    times[run.id] = {};
    run.on('message', (m) => { if (m.type === 'started') times[run.id].start = Date.now(); });
    run.on('exit', () => { times[run.id].end = Date.now(); });
  }
  assert.equal(readStatus(runs[1].dir).state, 'queued');
  const [sa, sb] = await Promise.all([a.run(), b.run()]);
  assert.deepEqual([sa, sb], ['finished', 'finished']);
  const [first, second] = [times[a.id], times[b.id]].sort((x, y) => x.start! - y.start!);
  assert.ok(second.start! >= first.end!, 'the second run started only after the first ended');
  assert.equal(listRuns(runsDir).filter((r) => r.status?.state === 'finished').length, 2);
});
