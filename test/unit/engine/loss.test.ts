/**
 * The training objective by value: methodLoss on a real (tiny) network against the same objective
 * written out by hand in float64 from that network's forward outputs, for every method and option.
 * The costs γ_b are counted by hand too, so a cost term scaled by any factor, a λ, α, BranchyNet
 * weight or weight decay applied wrongly, or a term left out, changes the number.
 *
 * Network: VGG-13 ×1/64 on 8×8×1, 2 classes (engine.test.ts counts its MACs: 4912), exits at
 *   conv2 (8×8×1, 4×4 grid → 16 features): head 16·2 = 32, gate 16          → γ_1 = 1152 + 48 = 1200
 *   conv4 (2×2×2, global pool → 2 features): head 2·2 = 4, gate 2           → γ_2 = 2016 + 48 + 6 = 2070
 *   every exit passed: 4912 + 48 + 6                                         → γ_3 = 4966
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { MultiExitNetwork } from '../../../src/engine/tfjs/network';
import { methodLoss } from '../../../src/engine/tfjs/loss';
import { methodConfig, type MethodConfig } from '../../../src/spec/method';

const N = 6, K = 2;
const GAMMA = [1200, 2070], GAMMA_FINAL = 4966, FULL = 4912;
const exits = [
  { point: 'conv2', head: { kind: 'pool' as const, grid: 4 }, gate: { hidden: 0 } },
  { point: 'conv4', head: { kind: 'pool' as const, grid: 1 }, gate: { hidden: 0 } },
];
const backbone = { name: 'vgg13' as const, width: 1 / 64, input: [8, 8, 1] as [number, number, number], classes: K };
const labels = [0, 1, 1, 0, 1, 0];

/** Every conv and dense kernel of the network above (weight decay's set), by hand: no biases, no batch norm. */
const KERNELS = [
  ...Array.from({ length: 10 }, (_, i) => `conv${i + 1}/kernel`), 'fc/kernel',
  'exit_conv2/fc/kernel', 'exit_conv2/gate/kernel', 'exit_conv4/fc/kernel', 'exit_conv4/gate/kernel',
];

const rows = (t: tf.Tensor): number[][] => t.arraySync() as number[][];
const softmax = (z: number[]) => { const m = Math.max(...z); const e = z.map((v) => Math.exp(v - m)); const s = e.reduce((a, b) => a + b, 0); return e.map((v) => v / s); };
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
/** CE of logits against the labels, mean over the batch. */
const ceOfLogits = (logits: number[][]) => mean(logits.map((z, i) => -Math.log(softmax(z)[labels[i]])));

function setup(gated: boolean, withExits = true) {
  const net = new MultiExitNetwork({ backbone, exits: withExits ? exits : [], gated, seed: 11 });
  const x = tf.randomNormal([N, 8, 8, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), K).toFloat() as tf.Tensor2D;
  // the outputs methodLoss sees: training mode (batch statistics), no dropout in VGG-13
  const o = net.forward(x, true);
  const out = { exits: o.exitLogits.map(rows), gates: o.gates.map((g) => rows(g).map((r) => r[0])), final: rows(o.finalLogits) };
  const l2 = KERNELS.filter((n) => (withExits || !n.startsWith('exit_')) && (gated || !n.endsWith('/gate/kernel')))
    .reduce((s, n) => s + (net.variable(n).dataSync() as Float32Array).reduce((a, v) => a + v * v, 0), 0);
  const loss = (method: Partial<MethodConfig>, wd = 0) => {
    const m = methodConfig({ name: 'proposed', lambda: 0, exitLossWeight: 0, exitWeights: null, ...method });
    const r = methodLoss(net, m, x, y, wd);
    return { loss: r.loss.dataSync()[0], ce: r.ce.dataSync()[0], cost: r.cost ? r.cost.dataSync()[0] : null };
  };
  return { net, out, l2, loss };
}

/** Eq. 1 and Eq. 2 by hand: CE on f̃_1 and the mean normalised cost γ̃_1. */
function proposedByHand(out: { exits: number[][][]; gates: number[][]; final: number[][] }): { ce: number; cost: number } {
  const ces: number[] = [], costs: number[] = [];
  for (let i = 0; i < N; i++) {
    let f = softmax(out.final[i]);
    let c = GAMMA_FINAL / FULL;
    for (let b = GAMMA.length - 1; b >= 0; b--) {
      const g = out.gates[b][i], p = softmax(out.exits[b][i]);
      f = f.map((v, k) => g * p[k] + (1 - g) * v);
      c = g * (GAMMA[b] / FULL) + (1 - g) * c;
    }
    ces.push(-Math.log(f[labels[i]] + 1e-7));
    costs.push(c);
  }
  return { ce: mean(ces), cost: mean(costs) };
}

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= 2e-6 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected} by hand`);

test('the costs γ_b the loss uses are the hand-counted MACs', () => {
  const net = new MultiExitNetwork({ backbone, exits, gated: true, seed: 11 });
  assert.deepEqual(net.costs, { exits: GAMMA, final: GAMMA_FINAL, full: FULL });
  assert.deepEqual(net.decayedVariables().map((v) => [...net.vars].find(([, w]) => w === v)![0]).sort(), [...KERNELS].sort());
  net.dispose();
});

test('proposed: CE(y, f̃_1) + λ·C by value, with C on MACs ÷ full network MACs', async () => {
  await tf.setBackend('cpu');
  const { net, out, loss } = setup(true);
  const hand = proposedByHand(out);
  // the gates are not saturated, so C is a mixture and not one of the γ_b
  assert.ok(out.gates.flat().every((g) => g > 0.05 && g < 0.95), `gates ${out.gates}`);
  for (const lambda of [0, 0.7, 3]) {
    const r = loss({ lambda });
    close(r.ce, hand.ce, `CE λ=${lambda}`);
    close(r.cost!, hand.cost, `C λ=${lambda}`);
    close(r.loss, hand.ce + lambda * hand.cost, `loss λ=${lambda}`);
  }
  net.dispose();
});

test('proposed with per-exit CE: + α·Σ_b CE(y, f_b) over every exit and the final classifier', async () => {
  await tf.setBackend('cpu');
  const { net, out, loss } = setup(true);
  const hand = proposedByHand(out);
  const perClassifier = [...out.exits, out.final].map(ceOfLogits);
  assert.equal(perClassifier.length, 3);
  for (const alpha of [0.3, 2]) {
    const r = loss({ lambda: 0.7, exitLossWeight: alpha });
    close(r.ce, hand.ce, `CE α=${alpha} (the reported CE stays the paper's)`);
    close(r.loss, hand.ce + 0.7 * hand.cost + alpha * perClassifier.reduce((a, b) => a + b, 0), `loss α=${alpha}`);
  }
  net.dispose();
});

test('BranchyNet: Σ_b w_b·CE(y, f_b) + w_final·CE(y, f), weights 1 by default; no cost term', async () => {
  await tf.setBackend('cpu');
  const { net, out, loss } = setup(false);
  assert.equal(out.gates.length, 0, 'BranchyNet exits have no gates');
  const ce = [...out.exits, out.final].map(ceOfLogits);
  const ones = loss({ name: 'branchynet', lambda: 5, exitLossWeight: 5 });
  close(ones.loss, ce[0] + ce[1] + ce[2], 'loss, weights null = all 1 (λ and α play no part)');
  close(ones.ce, ones.loss, 'CE = the weighted sum');
  assert.equal(ones.cost, null);
  const weighted = loss({ name: 'branchynet', exitWeights: [0.25, 0.5, 2] });
  close(weighted.loss, 0.25 * ce[0] + 0.5 * ce[1] + 2 * ce[2], 'loss, weights [0.25, 0.5, 2]');
  net.dispose();
});

test('baseline: CE(y, f) of the backbone alone', async () => {
  await tf.setBackend('cpu');
  const { net, out, loss } = setup(false, false);
  const r = loss({ name: 'baseline', lambda: 5 });
  close(r.loss, ceOfLogits(out.final), 'loss');
  close(r.ce, r.loss, 'CE');
  assert.equal(r.cost, null);
  net.dispose();
});

test('weight decay adds (wd/2)·Σ‖W‖² over conv and dense kernels only, for every method', async () => {
  await tf.setBackend('cpu');
  for (const [method, gated] of [['proposed', true], ['branchynet', false]] as const) {
    const { net, l2, loss } = setup(gated);
    assert.ok(l2 > 1, `Σ‖W‖² = ${l2}`);
    const plain = loss({ name: method, lambda: 0.7, exitLossWeight: 0.3 }).loss;
    for (const wd of [1e-3, 0.05]) {
      const r = loss({ name: method, lambda: 0.7, exitLossWeight: 0.3 }, wd);
      close(r.loss, plain + (wd / 2) * l2, `${method} wd=${wd}`);
    }
    net.dispose();
  }
});

test('α = 0 and weight decay 0 add no work: no per-classifier cross-entropy, no squared weights', async () => {
  await tf.setBackend('cpu');
  const { net, loss } = setup(true);
  const kernels = async (method: Partial<MethodConfig>, wd: number) => (await tf.profile(() => { loss(method, wd); })).kernels.map((k) => k.name);
  const count = (names: string[], k: string) => names.filter((n) => n === k).length;
  const plain = await kernels({ lambda: 0.7 }, 0);
  // the paper's loss takes one Log (of f̃_1); each per-classifier term adds the Log of a log-softmax,
  // weight decay a Square per decayed kernel
  assert.equal(count(plain, 'Log'), 1);
  assert.equal(count(await kernels({ lambda: 0.7, exitLossWeight: 0.3 }, 0), 'Log'), 1 + 3);
  assert.equal(count(await kernels({ lambda: 0.7 }, 1e-3), 'Square') - count(plain, 'Square'), KERNELS.length);
  net.dispose();
});
