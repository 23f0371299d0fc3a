/**
 * The torch engine through the real worker and CLI (dist/, built by `npm run build`), as a user
 * runs it: `early-exit train x.exits.json --set training.backend=torch` leaves a complete run
 * folder that `eval`, `eval --measure` and `report` read; stop, kill -9 + `--resume` (the Python
 * process does not outlive its worker; the resumed run equals an uninterrupted one), a NaN loss, an
 * out-of-memory error and a Python without PyTorch behave as they do for the tfjs engine. Tiny
 * networks on the synthetic set, on the CPU.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultExperiment, validateExperiment, type Experiment } from '../../../src/spec/experiment';
import { createRunsFor, TrainingRun, type ManagerOptions } from '../../../src/runs/manager';
import { pidAlive, readMetrics, readResults, readStatus, RUN_FILES } from '../../../src/runs/store';
import type { FromWorker } from '../../../src/protocol/worker';
import { ROOT } from '../../paths';
import { torchEnv } from '../../fixtures/torch';

const workerPath = path.join(ROOT, 'dist/worker.js');
const cli = path.join(ROOT, 'bin/early-exit.js');
let tmp = '';
const live = new Set<TrainingRun>();

before(() => {
  assert.ok(fs.existsSync(workerPath), 'dist/worker.js missing: run `npm run build` first');
  torchEnv();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-torch-runs-'));
});
after(() => {
  for (const r of live) if (r.pid && pidAlive(r.pid)) process.kill(r.pid, 'SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

function tiny(epochs: number, extra: (x: any) => void = () => {}): Experiment {
  const x: any = JSON.parse(JSON.stringify(defaultExperiment('resnet18', 'tiny', 'synthetic')));
  x.backbone.width = 1 / 32;
  x.exits = [{ point: 'block2' }, { point: 'block5' }];
  x.dataset.syntheticTrain = 192;
  x.dataset.syntheticTest = 48;
  x.training.epochs = epochs;
  x.training.batchSize = 32;
  x.training.backend = 'torch';
  x.evaluation.timingImages = 0;
  extra(x);
  return validateExperiment(x);
}

const opts = (runsDir: string, env: Record<string, string> = {}): ManagerOptions => ({ runsDir, workerPath, killAfterMs: 20_000, env: { ...torchEnv(), ...env } });

function start(dir: string, o: ManagerOptions, resume = false): { run: TrainingRun; done: Promise<string>; messages: FromWorker[] } {
  const run = new TrainingRun(dir, o, resume);
  live.add(run);
  const messages: FromWorker[] = [];
  run.on('message', (m) => messages.push(m));
  return { run, done: run.run(), messages };
}

function waitFor(run: TrainingRun, pred: (m: FromWorker) => boolean): Promise<FromWorker> {
  return new Promise((resolve) => { const h = (m: FromWorker) => { if (pred(m)) { run.off('message', h); resolve(m); } }; run.on('message', h); });
}

/** The torch engine's pids, from the worker's log line "torch engine: … (pid N)". */
function enginePids(dir: string): number[] {
  const m = /torch engine: .*\(pid ([\d, ]+)\)/.exec(fs.readFileSync(path.join(dir, RUN_FILES.log), 'utf8'));
  assert.ok(m, 'worker.log names the engine process');
  return m[1].split(', ').map(Number);
}

async function gone(pid: number, ms = 10_000): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms;) {
    if (!pidAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

const checkpointEpoch = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.checkpoint, 'model.json'), 'utf8')).epoch as number;

test('`early-exit train x.exits.json --set training.backend=torch` writes a complete run folder that eval, eval --measure and report read', async () => {
  const file = path.join(tmp, 'x.exits.json');
  fs.writeFileSync(file, JSON.stringify({ ...tiny(2), training: { ...tiny(2).training, backend: 'wasm' }, evaluation: { ...tiny(2).evaluation, timingImages: 4 } }));
  const runsDir = path.join(tmp, 'cli');
  const env = { ...process.env, ...torchEnv() };
  const out = execFileSync(process.execPath, [cli, 'train', file, '--out', runsDir, '--set', 'training.backend=torch'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  assert.match(out, /2 epochs on torch-cpu/);
  const [dir] = fs.readdirSync(runsDir).filter((d) => !d.startsWith('.')).map((d) => path.join(runsDir, d));
  const s = readStatus(dir);
  assert.equal(s.state, 'finished');
  assert.equal(s.backend, 'torch-cpu');
  assert.match(s.backendReason!, /^torch \S+ on cpu \(training.device "cpu"|^torch \S+ on cpu \(no CUDA/);
  assert.match(s.backendReason!, /Python \d+\.\d+\.\d+ at \S+ \(EARLY_EXIT_PYTHON\)/);
  for (const f of ['experiment.json', 'metrics.jsonl', 'results.json', 'samples.json', 'samples-validation.json', 'model/model.json', 'model/weights.bin', 'checkpoint/model.json', 'checkpoint/weights.bin', 'checkpoint/optimizer.pt', 'worker.log']) {
    assert.ok(fs.existsSync(path.join(dir, f)), f);
  }
  assert.deepEqual(readMetrics(dir).metrics.map((m) => m.epoch), [1, 2]);
  const res = readResults(dir);
  assert.equal(res.backend, 'torch-cpu');
  assert.equal(res.hard.rows.length, 3);
  // the 0.01 grid, plus the quantile thresholds of the gates' values (spec/routing.ts adaptiveGrid), in order
  for (let i = 0; i <= 100; i++) assert.ok(res.sweep.some((p) => Math.abs(p.threshold - i / 100) < 1e-12), `τ = ${i / 100} in the sweep`);
  assert.ok(res.sweep.every((p, i) => i === 0 || p.threshold > res.sweep[i - 1].threshold), 'sweep sorted by τ');
  assert.equal(res.histograms.length, 2);
  assert.ok(res.timing && res.timing.fullMs > 0 && res.timing.images === 4, 'the CPU batch-1 timing of the exported model');
  assert.equal(res.timing!.accelerator, undefined, 'trained on the CPU: no accelerator figure');
  // the readers, unchanged
  const evalOut = JSON.parse(execFileSync(process.execPath, [cli, 'eval', dir, '--threshold', '0.2', '--json'], { encoding: 'utf8' }));
  assert.equal(evalOut.table.thresholds[0], 0.2);
  assert.equal(evalOut.table.count, 48);
  const measured = JSON.parse(execFileSync(process.execPath, [cli, 'eval', dir, '--measure', '--json'], { encoding: 'utf8', env, timeout: 120_000 }));
  assert.ok(measured.timing.fullMs > 0 && measured.timing.hardMs > 0);
  const html = path.join(tmp, 'report.html');
  execFileSync(process.execPath, [cli, 'report', dir, '-o', html], { encoding: 'utf8' });
  assert.ok(fs.readFileSync(html, 'utf8').includes('torch-cpu'));
  // no engine temp folder left behind
  assert.ok(!fs.readdirSync(os.tmpdir()).some((f) => f.startsWith(`early-exit-torch-${s.pid ?? -1}-`)));
});

test('stop during training ends as cancelled within a step, keeps the last checkpoint, and the Python process exits', async () => {
  const runsDir = path.join(tmp, 'stop');
  // 18 steps an epoch: room for the stop to arrive within the epoch on a busy machine
  const [r] = createRunsFor(runsDir, tiny(4, (x) => { x.dataset.syntheticTrain = 640; }));
  const { run, done } = start(r.dir, opts(runsDir));
  await waitFor(run, (m) => m.type === 'progress' && m.epoch === 2 && m.step >= 2);
  const pids = enginePids(r.dir);
  const cancelled = waitFor(run, (m) => m.type === 'cancelled');
  assert.equal(await run.stop(), 'cancelled');
  const c = await cancelled as Extract<FromWorker, { type: 'cancelled' }>;
  assert.equal(c.epoch, 2);
  assert.ok(c.step >= 3 && c.step <= 6, `stopped at step ${c.step}`);
  await done;
  const s = readStatus(r.dir);
  assert.equal(s.state, 'cancelled');
  assert.equal(s.epoch, 1);
  assert.equal(checkpointEpoch(r.dir), 1);
  for (const pid of pids) assert.ok(await gone(pid), `engine process ${pid} exited`);
});

test('kill -9 of the worker mid-epoch: the Python process exits too; --resume finishes and equals an uninterrupted run', async () => {
  const runsDir = path.join(tmp, 'kill');
  const [r] = createRunsFor(runsDir, tiny(3));
  const { run, done } = start(r.dir, opts(runsDir));
  await waitFor(run, (m) => m.type === 'progress' && m.epoch === 2 && m.step >= 3);
  const pids = enginePids(r.dir);
  process.kill(run.pid!, 'SIGKILL');
  assert.equal(await done, 'failed');
  for (const pid of pids) assert.ok(await gone(pid), `engine process ${pid} did not outlive its worker`);
  assert.match(readStatus(r.dir).error!, /killed by SIGKILL/);
  assert.deepEqual(readMetrics(r.dir).metrics.map((m) => m.epoch), [1]);
  const resumed = start(r.dir, opts(runsDir), true);
  assert.equal(await resumed.done, 'finished');
  const started = resumed.messages.find((m) => m.type === 'started') as Extract<FromWorker, { type: 'started' }>;
  assert.equal(started.resumedFromEpoch, 1);
  assert.deepEqual(readMetrics(r.dir).metrics.map((m) => m.epoch), [1, 2, 3]);
  // the same experiment without the kill: resuming restored the weights, the optimiser and the epoch
  const [u] = createRunsFor(path.join(tmp, 'uninterrupted'), tiny(3));
  const whole = start(u.dir, opts(path.join(tmp, 'uninterrupted')));
  assert.equal(await whole.done, 'finished');
  const a = readMetrics(r.dir).metrics, b = readMetrics(u.dir).metrics;
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(a[i].loss - b[i].loss) < 1e-5, `epoch ${i + 1}: loss ${a[i].loss} vs ${b[i].loss}`);
    assert.equal(a[i].hardAccuracy, b[i].hardAccuracy, `epoch ${i + 1}: validation hard accuracy`);
  }
});

test('a NaN loss fails the run naming the epoch and step', async () => {
  const runsDir = path.join(tmp, 'nan');
  const [r] = createRunsFor(runsDir, tiny(1, (x) => { x.training.lr = 1e30; x.training.optimizer = 'sgd'; }));
  const { done, messages } = start(r.dir, opts(runsDir));
  assert.equal(await done, 'failed');
  const f = messages.find((m) => m.type === 'failed') as Extract<FromWorker, { type: 'failed' }>;
  assert.equal(f.epoch, 1);
  assert.ok(f.step! >= 2, `step ${f.step}`);
  assert.match(readStatus(r.dir).error!, /^loss became (NaN|Infinity|-Infinity) at epoch 1, step \d+ \(try a lower learning rate or λ\)$/);
});

test('out of memory in the engine: the run fails saying so in one line, the earlier checkpoint is kept and --resume works; a checkpoint the experiment no longer describes is refused', async () => {
  const runsDir = path.join(tmp, 'oom');
  const [r] = createRunsFor(runsDir, tiny(2));
  const t0 = Date.now();
  const { done } = start(r.dir, opts(runsDir, { EARLY_EXIT_FAULT: 'oom-in-epoch:2' }));
  assert.equal(await done, 'failed');
  assert.ok(Date.now() - t0 < 120_000);
  const s = readStatus(r.dir);
  assert.match(s.error!, /^out of memory at epoch 2, step 1 on the torch engine's cpu device: .*allocate.* \(try a smaller batch size or width\)$/);
  assert.doesNotMatch(s.error!, /Traceback|\n/);
  assert.match(fs.readFileSync(path.join(r.dir, RUN_FILES.log), 'utf8'), /torch: Traceback \(most recent call last\)/, 'the traceback went to worker.log');
  assert.equal(checkpointEpoch(r.dir), 1);
  const resumed = start(r.dir, opts(runsDir), true);
  assert.equal(await resumed.done, 'finished');
  assert.deepEqual(readMetrics(r.dir).metrics.map((m) => m.epoch), [1, 2]);

  // as on the tfjs engine, a checkpoint the run's experiment.json no longer describes is refused
  // before Python loads it: another exit (the file edited after the run started), or fewer epochs
  const refused = async (name: string, edit: (x: any) => void, why: RegExp) => {
    const d = path.join(runsDir, name);
    fs.cpSync(r.dir, d, { recursive: true });
    const x = JSON.parse(fs.readFileSync(path.join(d, 'experiment.json'), 'utf8'));
    edit(x);
    fs.writeFileSync(path.join(d, 'experiment.json'), JSON.stringify(x));
    fs.writeFileSync(path.join(d, 'status.json'), JSON.stringify({ ...readStatus(d), state: 'failed' }));
    const again = start(d, opts(runsDir), true);
    assert.equal(await again.done, 'failed');
    const model = path.join(d, RUN_FILES.checkpoint, 'model.json');
    const fix = `; the run cannot continue from it; delete ${path.join(d, RUN_FILES.checkpoint)} and run early-exit train --resume ${d} to train it again from epoch 1`;
    const error = readStatus(d).error!;
    assert.ok(error.startsWith(`${model}: `) && error.endsWith(fix), error);
    assert.match(error.slice(model.length + 2, -fix.length), why);
  };
  await refused('other-exit', (x) => { x.exits[1].point = 'block6'; }, /^its network is not the one of this run's experiment\.json \(exits .*"point":"block5".* vs .*"point":"block6".*\)$/);
  await refused('fewer-epochs', (x) => { x.training.epochs = 1; }, /^it is the checkpoint of epoch 2, but the experiment has 1 epochs$/);
});

test('a Python without PyTorch, or none at all: one line saying what to install', async () => {
  const runsDir = path.join(tmp, 'nopython');
  const shadow = path.join(tmp, 'shadow');
  fs.mkdirSync(shadow, { recursive: true });
  fs.writeFileSync(path.join(shadow, 'torch.py'), 'raise ImportError("No module named \'torch\'")\n');
  const [a] = createRunsFor(runsDir, tiny(1));
  assert.equal(await start(a.dir, opts(runsDir, { PYTHONPATH: shadow })).done, 'failed');
  assert.match(readStatus(a.dir).error!, /^\S+python3? \(Python \d+\.\d+\.\d+, EARLY_EXIT_PYTHON\) has no PyTorch \(ImportError: No module named 'torch'\): install PyTorch for it \(Debian\/Ubuntu: apt install python3-torch .*pip install torch\) or set earlyExit\.pythonPath \/ EARLY_EXIT_PYTHON/);
  const [b] = createRunsFor(runsDir, tiny(1));
  assert.equal(await start(b.dir, opts(runsDir, { EARLY_EXIT_PYTHON: '/nonexistent/python3' })).done, 'failed');
  assert.match(readStatus(b.dir).error!, /^\/nonexistent\/python3 \(EARLY_EXIT_PYTHON\) was not found: install PyTorch/);
});

test('a sweep side by side, one run per GPU: both run at once, each worker with its own CUDA_VISIBLE_DEVICES', async () => {
  const runsDir = path.join(tmp, 'gpus');
  const runs = createRunsFor(runsDir, tiny(1, (x) => { x.training.device = 'auto'; x.sweep = { 'method.lambda': [0.1, 1] }; }));
  // the GPUs the queue would find on a two-GPU machine; here the engine still trains on the CPU
  const o = { ...opts(runsDir), maxParallel: 2, gpus: ['0', '1'] };
  assert.deepEqual(await Promise.all(runs.map((r) => start(r.dir, o).done)), ['finished', 'finished']);
  // each worker records when it started and ended: with two slots neither waited for the other
  const [a, b] = runs.map((r) => readStatus(r.dir)).map((s) => ({ start: Date.parse(s.startedAt!), end: Date.parse(s.endedAt!) }));
  assert.ok(a.start < b.end && b.start < a.end, `the two runs overlapped: ${JSON.stringify([a, b])}`);
  const visible = runs.map((r) => /CUDA_VISIBLE_DEVICES=(\S+?);/.exec(readStatus(r.dir).backendReason!)?.[1]).sort();
  assert.deepEqual(visible, ['0', '1']);
});

test('early-exit doctor reports the torch engine: its Python, torch and devices, and that auto keeps tfjs without CUDA', () => {
  const env = { ...process.env, ...torchEnv() };
  const report = JSON.parse(execFileSync(process.execPath, [cli, 'doctor', '--json'], { encoding: 'utf8', env, timeout: 180_000, stdio: ['ignore', 'pipe', 'ignore'] }));
  assert.equal(report.torch.python.source, 'EARLY_EXIT_PYTHON');
  assert.match(report.torch.torch, /^\d+\.\d+/);
  assert.equal(report.torch.error, null);
  if (!report.torch.cuda) {
    assert.equal(report.torch.auto, false);
    assert.notEqual(report.tfjs.auto.kind, 'torch');
  }
  const text = execFileSync(process.execPath, [cli, 'doctor'], { encoding: 'utf8', env: { ...env, EARLY_EXIT_PYTHON: '/nonexistent/python3' }, timeout: 180_000, stdio: ['ignore', 'pipe', 'ignore'] });
  assert.match(text, /^torch engine \(training.backend "torch"; \/nonexistent\/python3, from EARLY_EXIT_PYTHON\):\n {2}no: \/nonexistent\/python3 \(EARLY_EXIT_PYTHON\) was not found: install PyTorch/m);
  assert.match(text, /^auto picks \S+/m);
});
