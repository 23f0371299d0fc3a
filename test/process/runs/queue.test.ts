/**
 * Reliability matrix (docs/reliability.md), the queue: through the real CLI. A lock file in
 * `<runs>/.locks` that is empty, unparsable, names a process that is gone or is not ours (a reused
 * pid), or whose heartbeat stopped, is taken over by the next `train`, which says so — it used to
 * block every later train forever, silently; a live lock makes `train` say what it waits for; a
 * `train` killed while its run is queued leaves the run marked, not "queued" forever.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertOneLine, killAll, quote, runCli, tinyExperiment } from '../../fixtures/cli';
import { ROOT } from '../../paths';

let tmp = '';
let quick = '';
const LIMIT = 120_000;
const sleepers: number[] = [];

before(() => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/worker.js')), 'dist/worker.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-rel-queue-'));
  // a run that gets past the queue and then fails at once (no training image left): cheap proof the slot was taken
  quick = tinyExperiment(tmp, { dataset: { syntheticTrain: 10, syntheticTest: 8, validationFraction: 0.9 }, training: { batchSize: 8 } }, 'quick.exits.json');
});
after(() => {
  killAll();
  for (const p of sleepers) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A live process that is not ours. */
function sleeper(): number {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  sleepers.push(c.pid!);
  return c.pid!;
}
const deadPid = () => Number(spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim());
const startOf = (pid: number) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];

function lock(runs: string, text: string, ageSeconds = 0): string {
  const f = path.join(runs, '.locks', 'slot-0.lock');
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
  const t = new Date(Date.now() - ageSeconds * 1000);
  fs.utimesSync(f, t, t);
  return f;
}
const full = (pid: number, start: string | null, host = os.hostname()) => JSON.stringify({ version: 1, owner: { pid, start, host }, label: 'r0 (somewhere)', since: '2026-01-01T00:00:00.000Z', token: 't' });

test('a stale lock — empty, unparsable, of a process that is gone or is another program now, or whose heartbeat stopped — is taken over, and train says so', async () => {
  const live = sleeper();
  const dead = deadPid();
  const cases: [string, string, number, string][] = [
    ['empty', '', 60, 'slot-0.lock was empty and untouched for <age> s'],
    ['unparsable', '{"pid": 12', 60, 'slot-0.lock was not a lock this version of Early Exit Studio wrote and untouched for <age> s'],
    ['old format, live pid', JSON.stringify({ pid: live, owner: 'x' }), 60, 'slot-0.lock was not a lock this version of Early Exit Studio wrote and untouched for <age> s'],
    ['gone', full(dead, '1'), 0, `slot-0.lock was held by run r0 (somewhere) (process ${dead} on this machine, since 2026-01-01T00:00:00.000Z), but process ${dead} is gone`],
    ['pid reused', full(live, '1'), 0, `slot-0.lock was held by run r0 (somewhere) (process ${live} on this machine, since 2026-01-01T00:00:00.000Z), but process ${live} is another program now (its process id was reused)`],
    ['other host, heartbeat stopped', full(live, startOf(live), 'elsewhere.example'), 60, `slot-0.lock was held by run r0 (somewhere) (process ${live} on elsewhere.example, since 2026-01-01T00:00:00.000Z), whose heartbeat stopped <age> s ago`],
  ];
  for (const [name, text, age, why] of cases) {
    const runs = path.join(tmp, name.replace(/\W+/g, '-'));
    const f = lock(runs, text, age);
    const r = await runCli(['train', quick, '--out', runs], { timeoutMs: LIMIT });
    assert.equal(r.timedOut, false, `${name}: train waited on a stale lock (${r.ms} ms)`);
    // the age is the lock's, 60 s, plus however long the CLI took to start
    assert.match(r.stderr, new RegExp(`^took over a stale queue slot: ${quote(why).replace('<age>', '(6\\d|[7-9]\\d)')}$`, 'm'), `${name}:\n${r.stderr}`);
    // past the queue: the worker ran and refused the empty training split
    assert.match(r.stderr, /failed: dataset\.validationFraction: 0\.9 of the 10 training images/, name);
    assert.equal(r.code, 1, name);
    assert.ok(!fs.existsSync(f), `${name}: the lock was released`);
  }
});

test('a lock held by a live run makes train say what it waits for, then run when it is released; a train killed or stopped while queued leaves its run marked', async () => {
  const runs = path.join(tmp, 'held');
  // held by this very process (alive, ours to release)
  const f = lock(runs, full(process.pid, startOf(process.pid)));
  const waiting = runCli(['train', quick, '--out', runs], { timeoutMs: LIMIT, signal: { signal: 'SIGKILL', when: /^queued: /m } });
  const killed = await waiting;
  assert.equal(killed.timedOut, false);
  assert.equal(killed.signal, 'SIGKILL');
  assert.match(killed.stderr, new RegExp(`^queued: waiting for a free slot of ${quote(runs)} \\(one run at a time\\): slot 0 is held by run r0 \\(somewhere\\) \\(process ${process.pid} on this machine, since 2026-01-01T00:00:00\\.000Z\\); Ctrl-C cancels$`, 'm'));
  // the train that queued it is gone: the run is marked, on disk too
  const id = fs.readdirSync(runs).find((d) => !d.startsWith('.'))!;
  const list = await runCli(['runs', '--out', runs, '--json'], { timeoutMs: LIMIT });
  const listed = JSON.parse(list.stdout) as { id: string; state: string; error: string }[];
  const orphan = listed.find((x) => x.id === id)!;
  assert.equal(orphan.state, 'cancelled');
  assert.match(orphan.error, new RegExp(`^queued, but the program that queued it ended before starting it \\(process \\d+ is gone\\); start it with: early-exit train --resume ${quote(path.join(runs, id))}$`));
  assert.equal(JSON.parse(fs.readFileSync(path.join(runs, id, 'status.json'), 'utf8')).state, 'cancelled');

  // while a run is queued by a live train, a second process may not take it over with --resume
  let queuedChild: ChildProcess | undefined;
  let onQueued: () => void = () => {};
  const isQueued = new Promise<void>((r) => { onQueued = r; });
  const before = new Set(fs.readdirSync(runs));
  const stoppedRun = runCli(['train', quick, '--out', runs], { timeoutMs: LIMIT, onSpawn: (c) => { queuedChild = c; }, onStderr: (t) => { if (/^queued: /m.test(t)) onQueued(); } });
  await isQueued;
  const queuedId = fs.readdirSync(runs).find((d) => !before.has(d))!;
  const resume = await runCli(['train', '--resume', path.join(runs, queuedId)], { timeoutMs: LIMIT });
  assertOneLine(resume, 2, new RegExp(`^early-exit train: --resume: run ${quote(queuedId)} is queued in process ${queuedChild!.pid}; stop it there first \\(two processes must not write one run folder\\)$`));
  // SIGTERM while queued: cancelled, one clear account, exit 143
  queuedChild!.kill('SIGTERM');
  const stopped = await stoppedRun;
  assert.equal(stopped.code, 143, stopped.stderr);
  assert.match(stopped.stderr, /^SIGTERM: stopping after the current step \(send it again to kill\)…$/m);
  assert.match(stopped.stderr, /^run \S+ cancelled while queued \(it never started; start it with: early-exit train --resume .*\)$/m);

  // released: a waiting train goes ahead
  const r = await runCli(['train', quick, '--out', runs], { timeoutMs: LIMIT, onStderr: (t) => { if (/^queued: /m.test(t)) fs.rmSync(f, { force: true }); } });
  assert.match(r.stderr, /^queued: waiting for a free slot/m);
  assert.match(r.stderr, /failed: dataset\.validationFraction/);
});
