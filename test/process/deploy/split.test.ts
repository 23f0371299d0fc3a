/**
 * The split execution for real: a tiny trained run's network cut into three tiers, each tier its
 * own process that loads the run's model/ and runs only its blocks and exits, talking HTTP/2 on
 * 127.0.0.1 through the link shaper. Measured against the estimate for the same inputs, links and
 * the speeds measured here: latency within SPLIT_TOLERANCE, payload bytes exactly, exits as the
 * records say. Then int8 maps from a raw-image cut, and a tier with no blocks relaying.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { measureSpeedHere, runSplit } from '../../../src/deploy/split';
import { readResults, readSamples } from '../../../src/runs/store';
import type { SampleRecords } from '../../../src/spec/results';
import { compareSplit, SPLIT_TOLERANCE } from '../../../src/spec/split-results';
import { exitAssignments } from '../../../src/spec/analysis';
import { networkCostsOf, type MeasuredSpeed } from '../../../src/spec/tier-estimate';
import { featureBytes, inputBytes, type TierProfile } from '../../../src/spec/tiers';
import { trainTinyRun } from '../../fixtures/model-run';

let tmp = '';
let runDir = '';
let speed: MeasuredSpeed;
let records: SampleRecords;

/**
 * Three tiers whose links dominate the latency, as a cellular uplink and a long WAN path do: the
 * few ms per hop that scheduling adds on a loaded 2-core machine (measured: BENCHMARKS.md) stay
 * inside the tolerance.
 */
const TIERS: TierProfile[] = [
  { name: 'device', compute: { measure: 'wasm' }, link: { name: 'radio', bitsPerSecond: 1e6, rttMs: 100 } },
  { name: 'edge', compute: { measure: 'wasm' }, link: { name: 'wan', bitsPerSecond: 0.5e6, rttMs: 150 } },
  { name: 'cloud', compute: { measure: 'wasm' } },
];
/** A τ at which about half the inputs leave at the first exit (the fixture is trained for one epoch only). */
let tau: number[] = [];

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-split-'));
  runDir = await trainTinyRun(path.join(tmp, 'runs'), { test: 160 });
  records = readSamples(runDir, 'test');
  speed = await measureSpeedHere(runDir, 'wasm', { images: 10, rounds: 3 });
  // between two gate values near the median, where the widest gap leaves rounding no gate to flip
  const gates = [...records.exits[0].gate!].sort((a, b) => a - b);
  let at = Math.floor(gates.length * 0.3);
  for (let i = at; i < gates.length * 0.7; i++) if (gates[i + 1] - gates[i] > gates[at + 1] - gates[at]) at = i;
  tau = [(gates[at] + gates[at + 1]) / 2, 0.5];
});
after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

test('per-part speed measured here: every block, exit and the classifier timed', () => {
  assert.equal(speed.backend, 'wasm');
  assert.equal(speed.blockMs.length, 8);
  assert.equal(speed.exitMs.length, 2);
  for (const ms of [...speed.blockMs, ...speed.exitMs, speed.classifierMs]) assert.ok(ms > 0 && ms < 1000, `${ms} ms`);
});

test('three tier processes over shaped HTTP/2 agree with the estimate: latency within the tolerance, bytes exactly, exits as recorded', async (t) => {
  const results = readResults(runDir);
  const net = networkCostsOf(results);
  // device: block1; edge: block2–block4 with exit block2; cloud: block5–block8, exit block5, final
  const cuts = [1, 4];
  let progress = 0;
  const m = await runSplit({ runDir, tiers: TIERS, profile: 'test', cuts, quantization: 'float32', rule: 'gate', thresholds: tau, backend: 'wasm', speed, images: 60, warmup: 8, onProgress: (d) => { progress = d; } });
  assert.equal(progress, 60);
  assert.equal(m.inputs.length, 60);
  assert.ok(m.shaped);
  // the exit each input left at is the one the records say at that τ
  const assign = exitAssignments(records, 'gate', tau);
  const same = m.inputs.filter((i) => i.exit === assign[i.sample]).length;
  assert.ok(same >= 59, `${same} of 60 inputs left where the records say`);
  assert.ok(m.inputs.some((i) => i.tier === 1) && m.inputs.some((i) => i.tier === 2), 'inputs answered on the edge and in the cloud');
  // payload: every input crosses the device's link with block1's map; those not answered on the edge also carry block4's
  const b1 = featureBytes(net.blocks[0].shape, 'float32'), b4 = featureBytes(net.blocks[3].shape, 'float32');
  for (const i of m.inputs) {
    assert.equal(i.bytes[0], b1, `input ${i.sample}: the device sends block1's map`);
    assert.equal(i.bytes[1], i.tier === 2 ? b4 : 0, `input ${i.sample} (answered on tier ${i.tier})`);
    assert.equal(i.tier, i.exit === 0 ? 1 : 2);
    assert.ok(i.computeMs[0] > 0 && i.computeMs[1] > 0 && i.latencyMs > 20, 'device and edge compute; at least one RTT');
  }
  const rows = compareSplit(m, records);
  const row = (what: string) => rows.find((r) => r.what === what)!;
  assert.equal(row('payload bytes per input').agrees, true);
  assert.equal(row('payload bytes per input').measured, m.estimate.bytesPerInput.chosen);
  const wire = row('wire bytes per input (both ways)');
  assert.ok(wire.measured > m.estimate.bytesPerInput.chosen, 'HTTP/2 framing and headers come on top of the payload');
  assert.ok(wire.measured < m.estimate.bytesPerInput.chosen * 1.05 + 400, `wire ${wire.measured} vs payload ${m.estimate.bytesPerInput.chosen}`);
  const mean = row('mean latency'), p95 = row('p95 latency');
  const detail = rows.map((r) => `${r.what}: est ${r.estimated.toFixed(2)} meas ${r.measured.toFixed(2)}`).join('; ');
  // The tolerance is stated for a machine that is not overloaded: with several runnable processes per
  // core every hop waits for one (a single process relaying HTTP/2 through the shaper measured
  // +5 … +75 ms per request at a load of 22 on 2 cores). There the latency is reported, not judged.
  const perCore = Math.max(...m.loadAverage) / os.cpus().length;
  if (perCore < 1.5) {
    assert.ok(mean.agrees, `mean latency outside ±${SPLIT_TOLERANCE.relative * 100} % + ${SPLIT_TOLERANCE.absoluteMsPerHop} ms per hop: ${detail}`);
    assert.ok(p95.agrees, `p95 latency outside the tolerance: ${detail}`);
  } else {
    t.diagnostic(`load ${m.loadAverage.map((l) => l.toFixed(1)).join(' → ')} on ${os.cpus().length} cores: latency not judged (${detail})`);
  }
  // whatever the load, the links cannot be faster than their physics: rate and RTT are lower bounds
  assert.ok(mean.measured >= mean.estimated - row('  of which compute (all tiers, mean)').estimated - 1, `measured ${mean.measured} ms below the links' own time`);
  assert.equal(row('inputs leaving at the exit the records say').agrees, true);
});

test('int8 maps from a raw-image cut, and a tier with no blocks relaying what it receives', async () => {
  const results = readResults(runDir);
  const net = networkCostsOf(results);
  // the device sends the raw image; the edge runs block1–block2 and sends an 8-bit map of block2
  const q = await runSplit({ runDir, tiers: TIERS, profile: 'test', cuts: [0, 2], quantization: 'int8', rule: 'gate', thresholds: tau, backend: 'wasm', speed, images: 30, warmup: 3, shape: false });
  assert.equal(q.wireBytes, null, 'raw loopback: no shaper');
  for (const i of q.inputs) {
    assert.equal(i.bytes[0], inputBytes(net.input));
    assert.equal(i.bytes[1], i.tier === 2 ? featureBytes(net.blocks[1].shape, 'int8') : 0);
    assert.equal(i.computeMs[0], 0, 'the device runs no block');
  }
  assert.equal(compareSplit(q, records).find((r) => r.what === 'payload bytes per input')!.agrees, true);
  const acc = q.inputs.filter((i) => i.pred === i.label).length / q.inputs.length;
  assert.ok(Math.abs(acc - q.estimate.accuracy) <= 0.1, `int8 accuracy ${acc} vs float32 records ${q.estimate.accuracy}`);
  assert.ok(q.inputs.some((i) => i.tier === 2) && q.inputs.some((i) => i.tier === 1));
  // the edge runs nothing: block2's float map goes through it unchanged
  const r = await runSplit({ runDir, tiers: TIERS, profile: 'test', cuts: [2, 2], quantization: 'float32', rule: 'gate', thresholds: tau, backend: 'wasm', speed, images: 20, warmup: 2, shape: false });
  const b2 = featureBytes(net.blocks[1].shape, 'float32');
  for (const i of r.inputs) {
    if (i.tier === 0) continue;
    assert.deepEqual(i.bytes, [b2, b2], `input ${i.sample}: relayed as it came`);
    assert.equal(i.computeMs[1], 0);
  }
  assert.ok(r.inputs.some((i) => i.tier === 2), 'some inputs reach the cloud');
});

/** Whether a process is still there. */
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

test('a tier process that dies, or a stop, ends the split execution naming why, and leaves no tier process behind', async () => {
  let pids: { name: string; pid: number }[] = [];
  const base = { runDir, tiers: TIERS, profile: 'test', cuts: [1, 4], quantization: 'float32' as const, rule: 'gate' as const, thresholds: tau, backend: 'wasm', speed, images: 60, warmup: 2, shape: false };
  await assert.rejects(runSplit({
    ...base, onStart: (p) => { pids = p; },
    onProgress: (done) => { if (done >= 10) process.kill(pids.find((p) => p.name === 'edge')!.pid, 'SIGKILL'); },
  }), /tier "(edge|device)"/);
  assert.equal(pids.length, 3);
  assert.deepEqual(pids.filter((p) => alive(p.pid)).map((p) => p.name), [], 'every tier process is gone');
  const ac = new AbortController();
  await assert.rejects(runSplit({ ...base, signal: ac.signal, onStart: (p) => { pids = p; }, onProgress: (done) => { if (done >= 10) ac.abort(); } }), /stopped by request/);
  assert.deepEqual(pids.filter((p) => alive(p.pid)).map((p) => p.name), []);
});
