/**
 * Reliability matrix (docs/reliability.md), runs: the real worker (dist/worker.js) killed in the
 * middle of a checkpoint write, a full disk (a small tmpfs, or an injected ENOSPC where mounting is
 * not allowed), the worker running out of memory, the runs folder deleted while it is listed,
 * corrupt results.json / metrics.jsonl lines, two processes starting runs on one runs folder at
 * once, and 200 runs listed. Faults are placed with EARLY_EXIT_FAULT (src/engine/faults.ts).
 * Every worker is killed in `after`; none outlives the file.
 */
import { test, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import fsModule from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultExperiment, validateExperiment, type Experiment } from '../../../src/spec/experiment';
import { createRunsFor, TrainingRun, type ManagerOptions } from '../../../src/runs/manager';
import { createRun, listRuns, pidAlive, readMetrics, readStatus, RUN_FILES } from '../../../src/runs/store';
import { readRunData } from '../../../src/runs/view-data';
import type { FromWorker } from '../../../src/protocol/worker';
import type { RunStatus } from '../../../src/spec/run-types';
import { quote } from '../../fixtures/cli';
import { makeRun } from '../../fixtures/make-run';
import { ROOT } from '../../paths';

const root = ROOT;
const workerPath = path.join(root, 'dist/worker.js');
const cli = path.join(root, 'bin/early-exit.js');
let tmp = '';
let tmpfs: string | null = null;
const live = new Set<TrainingRun>();
const children = new Set<ChildProcess>();

before(() => {
  assert.ok(fs.existsSync(workerPath), 'dist/worker.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-rel-runs-'));
});
after(async () => {
  for (const r of live) if (r.pid && pidAlive(r.pid)) process.kill(r.pid, 'SIGKILL');
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (tmpfs) spawnSync('umount', ['-l', tmpfs]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function tiny(epochs: number, extra: (x: any) => void = () => {}): Experiment {
  const x: any = JSON.parse(JSON.stringify(defaultExperiment('resnet18', 'tiny', 'synthetic')));
  x.backbone.width = 1 / 32;
  x.exits = [{ point: 'block2' }];
  x.dataset.syntheticTrain = 96;
  x.dataset.syntheticTest = 32;
  x.training.epochs = epochs;
  x.training.batchSize = 32;
  x.training.backend = 'wasm';
  x.evaluation.timingImages = 0;
  extra(x);
  return validateExperiment(x);
}

function opts(runsDir: string, more: Partial<ManagerOptions> = {}): ManagerOptions {
  return { runsDir, workerPath, killAfterMs: 20_000, ...more };
}

function start(dir: string, o: ManagerOptions, resume = false): { run: TrainingRun; done: Promise<string>; messages: FromWorker[] } {
  const run = new TrainingRun(dir, o, resume);
  live.add(run);
  const messages: FromWorker[] = [];
  run.on('message', (m) => messages.push(m));
  return { run, done: run.run(), messages };
}

const checkpointEpoch = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).epoch as number;

test('kill -9 mid-checkpoint-write: the previous checkpoint stays loadable and `early-exit train --resume` finishes', async () => {
  const runsDir = path.join(tmp, 'kill-ckpt');
  const [r] = createRunsFor(runsDir, tiny(3));
  const { done } = start(r.dir, opts(runsDir, { env: { EARLY_EXIT_FAULT: 'kill-in-checkpoint:2' } }));
  assert.equal(await done, 'failed');
  const s = readStatus(r.dir);
  assert.match(s.error!, /^worker killed by SIGKILL before finishing; finished epochs and the checkpoint of epoch 1 are kept( \(its output is in the run's worker\.log\))?$/);
  assert.equal(s.epoch, 1);
  const ckpt = path.join(r.dir, RUN_FILES.checkpoint);
  assert.equal(checkpointEpoch(ckpt), 1, 'the checkpoint of epoch 1 is intact');
  assert.ok(fs.readdirSync(r.dir).some((f) => f.startsWith('checkpoint.tmp-')), 'the kill landed inside the write (its temp folder is left)');
  // what the user types
  const out = execFileSync(process.execPath, [cli, 'train', '--resume', r.dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  assert.match(out, /exit/i);
  const after = readStatus(r.dir);
  assert.equal(after.state, 'finished');
  assert.deepEqual(readMetrics(r.dir).metrics.map((m) => m.epoch), [1, 2, 3]);
  assert.equal(checkpointEpoch(ckpt), 3);
  assert.ok(!fs.readdirSync(r.dir).some((f) => f.startsWith('checkpoint.tmp-') || f === 'checkpoint.old'), 'no temp or old folders left');
});

test('kill -9 between the two renames of the checkpoint swap: resume falls back to checkpoint.old and keeps it until the new one is in place', async () => {
  const runsDir = path.join(tmp, 'kill-swap');
  const [r] = createRunsFor(runsDir, tiny(2));
  const first = start(r.dir, opts(runsDir, { env: { EARLY_EXIT_FAULT: 'kill-in-checkpoint-swap:2' } }));
  assert.equal(await first.done, 'failed');
  const ckpt = path.join(r.dir, RUN_FILES.checkpoint);
  assert.ok(!fs.existsSync(ckpt), 'killed after checkpoint → checkpoint.old');
  assert.equal(checkpointEpoch(`${ckpt}.old`), 1);
  const resumed = start(r.dir, opts(runsDir), true);
  assert.equal(await resumed.done, 'finished');
  const started = resumed.messages.find((m) => m.type === 'started') as Extract<FromWorker, { type: 'started' }>;
  assert.equal(started.resumedFromEpoch, 1);
  assert.equal(checkpointEpoch(ckpt), 2);
  assert.ok(!fs.existsSync(`${ckpt}.old`));
});

function mountSmallTmpfs(): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || process.env.EE_NO_TMPFS) return null;
  const m = path.join(tmp, 'small-disk');
  fs.mkdirSync(m);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', m]);
  return r.status === 0 ? m : null;
}

test('disk full while writing a checkpoint: the run fails saying so, earlier metrics and checkpoint intact, resume works once space is freed', async () => {
  tmpfs = mountSmallTmpfs();
  const runsDir = path.join(tmpfs ?? tmp, 'full');
  const [r] = createRunsFor(runsDir, tiny(2));
  const filler = path.join(tmpfs ?? tmp, 'filler');
  const { done } = start(r.dir, opts(runsDir, { env: { EARLY_EXIT_FAULT: tmpfs ? 'pause-in-checkpoint:2' : 'enospc-in-checkpoint:2' } }));
  if (tmpfs) {
    // while the worker waits before epoch 2's checkpoint, fill the disk but for 16 KiB: the
    // checkpoint (~170 KiB) no longer fits
    const paused = path.join(r.dir, '.fault-paused');
    while (!fs.existsSync(paused)) await new Promise((res) => setTimeout(res, 20));
    const { bavail, bsize } = fs.statfsSync(tmpfs);
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 16 * 1024)));
    fs.rmSync(paused);
  }
  assert.equal(await done, 'failed');
  const s = readStatus(r.dir);
  assert.match(s.error!, /^disk full at epoch 2 \(ENOSPC\): .*; the run folder keeps the metrics and the checkpoint of epoch 1 \(free space, then resume the run\)$/);
  assert.equal(s.epoch, 1);
  assert.equal(readMetrics(r.dir).metrics[0].epoch, 1);
  assert.equal(checkpointEpoch(path.join(r.dir, RUN_FILES.checkpoint)), 1);
  assert.ok(!fs.readdirSync(r.dir).some((f) => f.includes('.tmp')), 'the half-written checkpoint was removed');
  fs.rmSync(filler, { force: true });
  const resumed = start(r.dir, opts(runsDir), true);
  assert.equal(await resumed.done, 'finished');
  assert.deepEqual(readMetrics(r.dir).metrics.map((m) => m.epoch), [1, 2]);
});

test('out of memory in the worker: the run fails saying so, no hang', async () => {
  const runsDir = path.join(tmp, 'oom');
  const [r] = createRunsFor(runsDir, tiny(1));
  const t0 = Date.now();
  const { done, messages } = start(r.dir, opts(runsDir, { execArgv: ['--max-old-space-size=192'], env: { EARLY_EXIT_FAULT: 'oom-in-epoch:1' } }));
  assert.equal(await done, 'failed');
  assert.ok(Date.now() - t0 < 90_000);
  const s = readStatus(r.dir);
  assert.match(s.error!, /^worker ran out of memory \((killed by SIGABRT|exited with code 134); try a smaller batch size or width\)$/);
  const failed = messages.find((m) => m.type === 'failed') as Extract<FromWorker, { type: 'failed' }>;
  assert.match(failed.error, /out of memory/);
  assert.equal(listRuns(runsDir)[0].status?.state, 'failed');
});

test('the runs folder deleted while it is listed: listing returns what is left, no crash', () => {
  const runsDir = path.join(tmp, 'vanish');
  for (const id of ['r1', 'r2', 'r3']) makeRun(path.join(runsDir, id), { seed: 1 });
  assert.equal(listRuns(runsDir).length, 3);
  // deleted between readdir and the reads of each run folder
  const real = fs.readdirSync;
  let deleted = false;
  const m = mock.method(fsModule, 'readdirSync', ((p: fs.PathLike, o?: unknown) => {
    const names = (real as (p: fs.PathLike, o?: unknown) => string[])(p, o);
    if (String(p) === runsDir && !deleted) {
      deleted = true;
      m.mock.restore();
      fs.rmSync(runsDir, { recursive: true, force: true });
    }
    return names;
  }) as typeof fs.readdirSync);
  try {
    assert.deepEqual(listRuns(runsDir), []);
    assert.ok(deleted);
  } finally {
    m.mock.restore();
  }
  assert.deepEqual(listRuns(runsDir), [], 'a runs folder that is gone lists as empty');
  assert.throws(() => readRunData(path.join(runsDir, 'r1')), /not a run folder/);
  // a run folder deleted while its view is read: what is gone is a problem, not an exception
  makeRun(path.join(runsDir, 'r4'), { seed: 2 });
  const resultsFile = path.join(runsDir, 'r4', RUN_FILES.results);
  const realStat = fs.statSync;
  const m2 = mock.method(fsModule, 'statSync', ((p: fs.PathLike, o?: unknown) => {
    if (String(p) === resultsFile) { m2.mock.restore(); fs.rmSync(path.join(runsDir, 'r4'), { recursive: true, force: true }); }
    return (realStat as (p: fs.PathLike, o?: unknown) => fs.Stats)(p, o);
  }) as typeof fs.statSync);
  try {
    const d = readRunData(path.join(runsDir, 'r4'));
    assert.equal(d.results, null);
    assert.equal(d.problems[0], `results.json: missing; early-exit train --resume ${path.join(runsDir, 'r4')} evaluates the run again from its last checkpoint and rewrites it`);
  } finally {
    m2.mock.restore();
  }
});

test('a corrupt results.json or metrics.jsonl line: the readable part is shown, the rest listed as problems', () => {
  const runsDir = path.join(tmp, 'corrupt');
  const a = path.join(runsDir, 'truncated');
  makeRun(a, { seed: 1 });
  const results = fs.readFileSync(path.join(a, RUN_FILES.results), 'utf8');
  fs.writeFileSync(path.join(a, RUN_FILES.results), results.slice(0, results.length / 2));
  fs.appendFileSync(path.join(a, RUN_FILES.metrics), '{"epoch": 6, "loss": 0.\n\u0000\u0000\u0000\n');
  const d = readRunData(a);
  assert.equal(d.results, null);
  assert.equal(d.metrics.length, 5, 'the five readable epochs are kept');
  assert.equal(d.status?.state, 'finished');
  assert.equal(d.problems.length, 3, d.problems.join('\n'));
  const fix = (dir: string) => `early-exit train --resume ${dir} evaluates the run again from its last checkpoint and rewrites it`;
  assert.match(d.problems[0], new RegExp(`^results\\.json: invalid JSON at line \\d+, column \\d+: unexpected end of file: .* \\(\\d+ bytes: cut off or overwritten\\); ${quote(fix(a))}$`));
  assert.equal(d.problems[1], 'metrics.jsonl line 6: unreadable (not JSON (cut off or overwritten))');
  assert.equal(d.problems[2], 'metrics.jsonl line 7: unreadable (not JSON (cut off or overwritten))');
  // valid JSON that is not a results file
  const b = path.join(runsDir, 'wrong-shape');
  makeRun(b, { seed: 2 });
  fs.writeFileSync(path.join(b, RUN_FILES.results), JSON.stringify({ version: 1, method: 'proposed' }));
  const e = readRunData(b);
  assert.equal(e.results, null);
  assert.equal(e.problems[0], `results.json: not a valid results.json (lambda: missing); ${fix(b)}`);
  // the Runs listing says why too
  const listed = listRuns(runsDir);
  assert.equal(listed.length, 2);
  for (const l of listed) {
    assert.equal(l.status?.state, 'finished');
    assert.match(l.error!, /^results\.json: (invalid JSON|not a valid results\.json)/);
  }
  // a corrupt status.json
  fs.writeFileSync(path.join(b, RUN_FILES.status), '{"state": "fin');
  const l = listRuns(runsDir).find((x) => x.id === 'wrong-shape')!;
  assert.equal(l.status, null);
  const statusProblem = `status.json: invalid JSON at line 1, column 15: unexpected end of file: a string is not closed (14 bytes: cut off or overwritten); early-exit train --resume ${b} rebuilds it from experiment.json and continues the run`;
  assert.equal(l.error, `${statusProblem}; results.json: not a valid results.json (lambda: missing); ${fix(b)}`);
  assert.equal(readRunData(b).problems[0], statusProblem);
});

test('two processes starting runs on one runs folder at once: distinct run folders, one after the other, no interleaved writes', async () => {
  const runsDir = path.join(tmp, 'two');
  const file = path.join(tmp, 'two.exits.json');
  fs.writeFileSync(file, JSON.stringify(tiny(1)));
  const launch = () => new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn(process.execPath, [cli, 'train', file, '--out', runsDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(c);
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { out += d; });
    c.on('exit', (code) => resolve({ code, out }));
  });
  const results = await Promise.all([launch(), launch()]);
  for (const r of results) assert.equal(r.code, 0, r.out);
  const runs = listRuns(runsDir);
  assert.equal(runs.length, 2);
  assert.notEqual(runs[0].id, runs[1].id);
  const statuses = runs.map((r) => r.status!).sort((x, y) => x.startedAt!.localeCompare(y.startedAt!));
  assert.deepEqual(statuses.map((s) => s.state), ['finished', 'finished']);
  assert.ok(statuses[1].startedAt! >= statuses[0].endedAt!, 'the queue ran them one after the other');
  for (const r of runs) {
    assert.deepEqual(readMetrics(r.dir).metrics.map((m) => m.epoch), [1], `${r.id}: one epoch, written once`);
    const log = fs.readFileSync(path.join(r.dir, RUN_FILES.log), 'utf8');
    assert.equal((log.match(/backend: /g) ?? []).length, 1, `${r.id}: one worker wrote its log`);
    assert.equal(readRunData(r.dir).problems.length, 0);
  }
  // a run id that exists already is refused, never shared
  assert.throws(() => createRun(runsDir, tiny(1), { id: runs[0].id }), /EEXIST/);
});

test('200 runs: the listing returns all of them with the right states', () => {
  const runsDir = path.join(tmp, 'many');
  fs.mkdirSync(runsDir, { recursive: true });
  const states: RunStatus['state'][] = ['finished', 'failed', 'cancelled', 'queued', 'running'];
  const expected = new Map<string, string>();
  const deadPid = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
  for (let i = 0; i < 200; i++) {
    const id = `run-${String(i).padStart(3, '0')}`;
    const state = states[i % states.length];
    if (state === 'finished' && i % 10 === 0) makeRun(path.join(runsDir, id), { seed: i, test: 50, validation: 20 });
    else {
      fs.mkdirSync(path.join(runsDir, id));
      const s: Partial<RunStatus> = { id, experiment: 'many', state, epoch: 1, epochs: 3, error: null, pid: state === 'running' ? Number(deadPid) : null, createdAt: new Date(2026, 0, 1, 0, 0, i).toISOString() };
      fs.writeFileSync(path.join(runsDir, id, RUN_FILES.status), JSON.stringify(s));
    }
    // a "running" run whose worker is gone is shown as failed
    expected.set(id, state === 'running' ? 'failed' : state);
  }
  fs.mkdirSync(path.join(runsDir, '.locks'));
  const runs = listRuns(runsDir);
  assert.equal(runs.length, 200);
  assert.equal(runs[0].id, 'run-199', 'newest first');
  for (const r of runs) assert.equal(r.status?.state, expected.get(r.id), r.id);
  assert.equal(runs.find((r) => r.id === 'run-004')!.status!.error!, `its worker stopped without recording an outcome (process ${deadPid} is gone: killed or crashed); finished epochs and the last checkpoint are kept (resume with: early-exit train --resume ${path.join(runsDir, 'run-004')})`);
  assert.equal(runs.filter((r) => r.results).length, 20);
});
