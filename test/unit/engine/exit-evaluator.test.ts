/**
 * The hard-exit evaluator's parts by value (hard-exits.test.ts proves the headline claim): the row
 * statistics the exit rules read, the host softmax, heads with batch norm in eval mode, and the
 * work it promises not to do — read from the kernels tfjs ran: a gate that lets nobody out computes
 * no classifier, the batch is re-gathered only when some but not all rows leave, and at batch 1 the
 * deployed pass runs its small heads on the host (no head kernels at all), and those host heads
 * compute the kernels' gates whatever the gates see (gateInputs) and at any gate temperature.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { MultiExitNetwork } from '../../../src/engine/tfjs/network';
import { collectRecords } from '../../../src/engine/tfjs/evaluate';
import { ExitEvaluator, gateStatistics, rowStatistics, softmaxRows } from '../../../src/engine/tfjs/exit-evaluator';
import { softmaxStatistics } from '../../../src/engine/tfjs/network';
import { exitAssignments } from '../../../src/spec/analysis';

test('rowStatistics: argmax (the first of ties), max probability and entropy ÷ ln K, rounded to 6 decimals', () => {
  const s = rowStatistics([0.1234567, 0.8765433, 0, 0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3, 0.2, 0.3, 0.5], 3, 4);
  // row 1: [.1234567, .8765433, 0] → H = −Σ p ln p (0 ln 0 = 0) = 0.371424… ÷ ln 3
  const h1 = -(0.1234567 * Math.log(0.1234567) + 0.8765433 * Math.log(0.8765433)) / Math.log(3);
  assert.deepEqual(s.pred, [1, 0, 0, 2]);
  assert.deepEqual(s.conf, [0.876543, 0.5, 0.333333, 0.5]);
  assert.deepEqual(s.entropy, [Math.round(h1 * 1e6) / 1e6, Math.round((Math.log(2) / Math.log(3)) * 1e6) / 1e6, 1, Math.round((-(0.2 * Math.log(0.2) + 0.3 * Math.log(0.3) + 0.5 * Math.log(0.5)) / Math.log(3)) * 1e6) / 1e6]);
  // a one-hot row has entropy 0 and confidence 1; rounding noise above 1 is clamped
  assert.deepEqual(rowStatistics([0, 1], 2, 1), { pred: [1], conf: [1], entropy: [0] });
  assert.deepEqual(rowStatistics([0.5000001, 0.5000001], 2, 1).entropy, [1]);
});

test('softmaxRows: each row sums to 1, equal to the float64 softmax, also for logits that would overflow exp', () => {
  const logits = [1, 2, 3, 1000, 1001, 999, -5, -5, -5];
  const p = softmaxRows(logits, 3, 3);
  const ref = (z: number[]) => { const m = Math.max(...z); const e = z.map((v) => Math.exp(v - m)); const t = e.reduce((a, b) => a + b); return e.map((v) => v / t); };
  [0, 1, 2].forEach((r) => ref(logits.slice(3 * r, 3 * r + 3)).forEach((v, c) => assert.ok(Math.abs(p[3 * r + c] - v) < 1e-6, `row ${r} class ${c}: ${p[3 * r + c]} vs ${v}`)));
  assert.equal(p.length, 9);
});

test('gateStatistics (the host heads\' gate inputs): max probability, entropy ÷ ln K and the top-1 − top-2 margin, as the network computes them', () => {
  // by hand: the second largest after the largest, a tie for the largest, a one-hot row
  const rows = [0.1, 0.6, 0.05, 0.25, 0.4, 0.4, 0.1, 0.1, 0, 1, 0, 0];
  const s = gateStatistics(rows, 4, 3);
  const h = (p: number[]) => -p.filter((v) => v > 0).reduce((a, v) => a + v * Math.log(v), 0) / Math.log(4);
  const want = [[0.6, h([0.1, 0.6, 0.05, 0.25]), 0.35], [0.4, h([0.4, 0.4, 0.1, 0.1]), 0], [1, 0, 1]];
  want.flat().forEach((v, i) => assert.ok(Math.abs(s[i] - v) < 1e-12, `row ${Math.floor(i / 3)} statistic ${i % 3}: ${s[i]} vs ${v}`));
  // random rows against the tensor version the network feeds its gates with
  tf.tidy(() => {
    const logits = tf.randomNormal([7, 5], 0, 3, 'float32', 2) as tf.Tensor2D;
    const host = gateStatistics(tf.softmax(logits).dataSync(), 5, 7);
    const kernels = softmaxStatistics(logits).dataSync();
    kernels.forEach((v, i) => assert.ok(Math.abs(host[i] - v) < 1e-5, `value ${i}: host ${host[i]} vs kernels ${v}`));
  });
});

const backbone = { name: 'resnet18' as const, width: 1 / 32, input: [16, 16, 3] as [number, number, number], classes: 5 };

/** Every kernel `f` ran, by name, in order. */
async function kernelNames(f: () => void | Promise<void>): Promise<string[]> {
  return (await tf.profile(f)).kernels.map((k) => k.name);
}
const count = (names: string[], re: RegExp) => names.filter((n) => re.test(n)).length;

test('a conv-pool head (batch norm) and a hidden gate run in eval mode: the hard pass leaves where the records say', async () => {
  await tf.setBackend('cpu');
  const net = new MultiExitNetwork({
    backbone, gated: true, seed: 4,
    exits: [{ point: 'block2', head: { kind: 'conv-pool' }, gate: { hidden: 4 } }, { point: 'block4', head: { kind: 'pool-mlp' }, gate: { hidden: 0 } }],
  });
  // batch-norm statistics far from a fresh batch's, so batch statistics would give other outputs
  // and gates and confidences spread out (fresh ones sit near 0.5 and 1/K, where the records' rounding to 1e-6 decides)
  for (const [name, v] of net.vars) {
    if (name.endsWith('moving_mean')) v.assign(tf.fill(v.shape, 0.7));
    else if (name.endsWith('moving_variance')) v.assign(tf.fill(v.shape, 3));
    else if (/gate(_hidden)?\/(kernel|bias)$/.test(name)) v.assign(tf.add(tf.mul(v, 40), name.endsWith('bias') ? 0.5 : 0));
    else if (/^exit_.*\/fc\/kernel$/.test(name)) v.assign(tf.mul(v, 30));
  }
  const x = tf.randomNormal([24, 16, 16, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
  const rec = await collectRecords(net, { count: 24, labels: new Array(24).fill(0), batch: (s, k) => tf.slice(x, [s, 0, 0, 0], [k, -1, -1, -1]) }, 'test');
  for (const rule of ['gate', 'confidence'] as const) {
    const v = [...(rule === 'gate' ? rec.exits[0].gate! : rec.exits[0].conf)].sort((a, b) => a - b);
    assert.ok(v[12] - v[11] > 1e-4, `${rule}: the 12th and 13th values are apart (${v[11]}, ${v[12]})`);
    const tau = [(v[11] + v[12]) / 2, 0];
    const pass = await new ExitEvaluator(net).hardExitPass(x, rule, tau);
    assert.deepEqual(Array.from(pass.exitIndex), Array.from(exitAssignments(rec, rule, tau)), rule);
    pass.exitIndex.forEach((b, i) => assert.equal(pass.pred[i], b < 2 ? rec.exits[b].pred[i] : rec.final.pred[i], `${rule} sample ${i}`));
  }
  net.dispose();
});

test('no needless work: no classifier where the gate lets nobody out, no gather where nobody or everybody left, heads on the host at batch 1', async () => {
  await tf.setBackend('cpu');
  const net = new MultiExitNetwork({ backbone, gated: true, seed: 7, exits: [{ point: 'block2', head: { kind: 'pool' }, gate: { hidden: 0 } }, { point: 'block5', head: { kind: 'pool' }, gate: { hidden: 0 } }] });
  const x = tf.randomNormal([16, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const ev = new ExitEvaluator(net);
  // the tfjs heads: each exit's gate is a matMul, its classifier one more, the final classifier one
  const matMuls = async (tau: number[]) => count(await kernelNames(async () => { await ev.hardExitPass(x, 'gate', tau); }), /MatMul/);
  assert.equal(await matMuls([2, 2]), 2 + 1, 'τ above every gate: the two gates and the final classifier, no exit classifier');
  assert.equal(await matMuls([-1, 2]), 2, 'τ below every gate: exit 1\'s gate and classifier, nothing after it');
  // gathers: only where some rows leave and some stay
  const gathers = async (tau: number[]) => count(await kernelNames(async () => { await ev.hardExitPass(x, 'gate', tau); }), /^GatherV2$/);
  assert.equal(await gathers([2, 2]), 0);
  assert.equal(await gathers([-1, 2]), 0);
  const g = Array.from((await collectRecords(net, { count: 16, labels: new Array(16).fill(0), batch: (s, k) => tf.slice(x, [s, 0, 0, 0], [k, -1, -1, -1]) }, 'test')).exits[0].gate!).sort((a, b) => a - b);
  assert.equal(await gathers([(g[7] + g[8]) / 2, 2]), 1, 'half leave at exit 1: one gather');
  ev.dispose();

  // batch 1, deployed: pooling, gates and classifiers in JavaScript; with hostHeads: false on kernels
  const x1 = tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
  const heads = /MatMul|AvgPool|Mean|Sigmoid|Softmax/;
  const fast = new ExitEvaluator(net, { fast: true });
  assert.equal(count(await kernelNames(async () => { await fast.hardExitPass(x1, 'gate', [2, 2]); }), heads), 0, 'no head kernel at batch 1');
  assert.equal(count(await kernelNames(async () => { await fast.backboneOnlyLogits(x1); }), heads), 0, 'the final classifier on the host too');
  // 40 images of block2's 16×16×2 are over the host heads' size (16 384 values): exit 1's head runs as kernels
  const x40 = tf.randomNormal([40, 16, 16, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  assert.ok(count(await kernelNames(async () => { await fast.hardExitPass(x40, 'gate', [2, 2]); }), heads) > 0);
  fast.dispose();
  const stock = new ExitEvaluator(net, { fast: true, hostHeads: false });
  assert.ok(count(await kernelNames(async () => { await stock.hardExitPass(x1, 'gate', [2, 2]); }), heads) >= 3, 'hostHeads: false keeps the heads on kernels');
  stock.dispose();
  net.dispose();
});

test('the host heads at batch 1 compute the gates the kernels compute, for every gateInputs and a gate temperature ≠ 1', async () => {
  await tf.setBackend('cpu');
  for (const gateInputs of ['features', 'features+softmax', 'softmax'] as const) {
    const net = new MultiExitNetwork({
      backbone, gated: true, seed: 11, gateInputs, gateTemperature: 2.5,
      exits: [{ point: 'block2', head: { kind: 'pool' }, gate: { hidden: 4 } }, { point: 'block4', head: { kind: 'pool' }, gate: { hidden: 0 } }],
    });
    // gates spread out, so that τ just above and just below a record's gate tell the two apart
    for (const [name, v] of net.vars) if (/gate(_hidden)?\/kernel$/.test(name)) v.assign(tf.mul(v, 6));
    const x = tf.randomNormal([6, 16, 16, 3], 0, 1, 'float32', 21) as tf.Tensor4D;
    const rec = await collectRecords(net, { count: 6, labels: new Array(6).fill(0), batch: (s, k) => tf.slice(x, [s, 0, 0, 0], [k, -1, -1, -1]) }, 'test');
    const host = new ExitEvaluator(net, { fast: true });
    for (let i = 0; i < 6; i++) {
      const xi = tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
      const g = rec.exits[0].gate![i];
      // the host pass runs no head kernel (so the gate below is the host's), and its g_1 is the record's within 1e-4
      const heads = count(await kernelNames(async () => { await host.hardExitPass(xi, 'gate', [g - 1e-4, 2]); }), /MatMul|Sigmoid|Softmax/);
      assert.equal(heads, 0, `${gateInputs}: image ${i} ran head kernels`);
      const below = await host.hardExitPass(xi, 'gate', [g - 1e-4, 2]);
      const above = await host.hardExitPass(xi, 'gate', [g + 1e-4, 2]);
      assert.equal(below.exitIndex[0], 0, `${gateInputs} image ${i}: g_1 = ${g} ≥ τ = g − 1e-4 leaves at exit 1`);
      assert.equal(below.pred[0], rec.exits[0].pred[i], `${gateInputs} image ${i}: f_1's prediction`);
      assert.notEqual(above.exitIndex[0], 0, `${gateInputs} image ${i}: g_1 = ${g} < τ = g + 1e-4 goes on`);
      xi.dispose();
    }
    assert.ok(new Set(Array.from(rec.exits[0].gate!, (v) => v.toFixed(3))).size > 3, `${gateInputs}: the gates differ between images`);
    host.dispose();
    x.dispose();
    net.dispose();
  }
});

test('timeParts: one time per block, per exit and for the classifier, that add up to no more than the call took; no tensor leaked, the input kept', async () => {
  await tf.setBackend('cpu');
  const net = new MultiExitNetwork({ backbone, gated: true, seed: 5, exits: [{ point: 'block2', head: { kind: 'pool' }, gate: { hidden: 0 } }, { point: 'block5', head: { kind: 'conv-pool' }, gate: { hidden: 4 } }] });
  const x = tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
  for (const ev of [new ExitEvaluator(net, { fast: true }), new ExitEvaluator(net, { fast: true, hostHeads: false })]) {
    await ev.timeParts(x); // warm-up: kernels compiled, folded batch norm built
    const tensors = tf.memory().numTensors;
    const t0 = performance.now();
    const t = await ev.timeParts(x);
    const wall = performance.now() - t0;
    assert.equal(t.blockMs.length, net.ir.blocks.length);
    assert.equal(t.exitMs.length, 2);
    for (const ms of [...t.blockMs, ...t.exitMs, t.classifierMs]) assert.ok(Number.isFinite(ms) && ms > 0, `a part took ${ms} ms`);
    const parts = t.blockMs.reduce((a, b) => a + b, 0) + t.exitMs[0] + t.exitMs[1] + t.classifierMs;
    assert.ok(parts <= wall + 1e-6, `the parts (${parts} ms) add up to more than the call (${wall} ms)`);
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaked');
    assert.equal(x.isDisposed, false, 'the input is the caller\'s');
    ev.dispose();
  }
  x.dispose();
  net.dispose();
});
