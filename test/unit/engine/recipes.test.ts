/**
 * The recipes that make gates route (spec/method.ts, engine/tfjs/loss.ts, network.ts): each one
 * changes exactly what it says — which variables learn, what the gates read, what the loss sees —
 * and hard-exit inference agrees with the records whatever the gates read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MultiExitNetwork, softmaxStatistics, type NetworkConfig } from '../../../src/engine/tfjs/network';
import { distillationKl, methodLoss, straightThrough } from '../../../src/engine/tfjs/loss';
import { collectRecords, type BatchSource } from '../../../src/engine/tfjs/evaluate';
import { ExitEvaluator, gateStatistics } from '../../../src/engine/tfjs/exit-evaluator';
import { loadNetwork, saveNetwork } from '../../../src/engine/tfjs/checkpoint';
import { TfjsEngine } from '../../../src/engine/tfjs';
import { trainEpochs } from '../../../src/engine/loop';
import { costModel } from '../../../src/spec/exit-costs';
import { exitAssignments } from '../../../src/spec/analysis';
import { epochPhase, methodConfig } from '../../../src/spec/method';
import { randomEngineData, tinyExperiment } from '../../fixtures/engine-data';

const EXITS: NetworkConfig['exits'] = [
  { point: 'block2', head: { kind: 'pool', grid: 2 }, gate: { hidden: 0 } },
  { point: 'block5', head: { kind: 'pool-mlp', channels: 6 }, gate: { hidden: 4 } },
];
const tiny = (extra: Partial<NetworkConfig> = {}) => new MultiExitNetwork({
  backbone: { name: 'resnet18', width: 1 / 32, input: [8, 8, 3], classes: 4 }, gated: true, seed: 3, exits: EXITS, ...extra,
});
const batch = () => ({
  x: tf.randomNormal([6, 8, 8, 3], 0, 1, 'float32', 7) as tf.Tensor4D,
  y: tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1], 'int32'), 4).toFloat() as tf.Tensor2D,
});
const nameOf = (net: MultiExitNetwork) => new Map([...net.vars.entries()].map(([n, v]) => [v.name, n]));

/** Names of the variables that get a non-zero gradient from `loss`. */
async function reached(net: MultiExitNetwork, loss: () => tf.Scalar): Promise<string[]> {
  const vars = net.trainableVariables();
  const { value, grads } = tf.variableGrads(loss, vars);
  const names = nameOf(net);
  const out: string[] = [];
  for (const [vname, g] of Object.entries(grads)) if (g && (await tf.norm(g).data())[0] > 0) out.push(names.get(vname)!);
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

test('epochPhase: exits first, then gates only or joint; λ carried only with a budget; T annealed 1 → end; hard gates from their epoch', () => {
  const m = methodConfig({ name: 'proposed', lambda: 0.2, warmup: { epochs: 2, distillation: 0, temperature: 3, freeze: true }, gateTemperature: 0.01, hardGatesFrom: 5 });
  const phases = [1, 2, 3, 4, 5].map((e) => epochPhase(m, 5, e, 7));
  assert.deepEqual(phases.map((p) => p.stage), ['warmup', 'warmup', 'gates', 'gates', 'gates']);
  assert.deepEqual(phases.map((p) => p.hardGates), [false, false, false, false, true]);
  // three gate epochs: T = 0.01^(0/2), 0.01^(1/2), 0.01^(2/2)
  assert.deepEqual(phases.map((p) => Number(p.gateTemperature.toFixed(6))), [1, 1, 1, 0.1, 0.01]);
  assert.ok(phases.every((p) => p.lambda === 0.2), 'no target budget: λ is the method\'s whatever is carried');
  const b = methodConfig({ name: 'proposed', lambda: 0.2, targetBudget: 0.5 });
  assert.equal(epochPhase(b, 5, 1, null).lambda, 0.2);
  assert.equal(epochPhase(b, 5, 2, 0.9).lambda, 0.9);
  // the paper: every epoch the same, joint, λ, T = 1, soft gates
  const paper = methodConfig({ name: 'proposed', lambda: 0.2 });
  assert.deepEqual(epochPhase(paper, 3, 2, 5), { stage: 'joint', lambda: 0.2, gateTemperature: 1, hardGates: false });
});

test('warm-up: every classifier learns, no gate does; distillation adds a term that vanishes when f_b matches the teacher', async () => {
  await tf.setBackend('cpu');
  const net = tiny();
  const { x, y } = batch();
  const m = methodConfig({ name: 'proposed', warmup: { epochs: 1, distillation: 0.5, temperature: 2, freeze: false } });
  const names = await reached(net, () => methodLoss(net, m, x, y, 5e-4, undefined, epochPhase(m, 3, 1)).loss);
  assert.ok(names.some((n) => n.startsWith('exit_block2/fc')) && names.some((n) => n.startsWith('exit_block5/fc')) && names.some((n) => n.startsWith('fc')));
  assert.deepEqual(names.filter((n) => MultiExitNetwork.isGateVariable(n)), [], 'no gradient (not even weight decay) reaches a gate');
  // KL(p ‖ softmax(l / T)) = 0 when softmax(l / T) = p, > 0 otherwise
  const l = tf.tensor2d([[1, 2, 0.5, -1]]);
  const p = tf.softmax(tf.div(l, 2)) as tf.Tensor2D;
  assert.ok(Math.abs((await distillationKl(p, l, 2).data())[0]) < 1e-6);
  assert.ok((await distillationKl(p, tf.tensor2d([[0, 0, 3, 0]]), 2).data())[0] > 0.1);
  // the phase after the warm-up trains the gates again
  const joint = await reached(net, () => methodLoss(net, m, x, y, 5e-4, undefined, epochPhase(m, 3, 2)).loss);
  assert.ok(joint.some((n) => n === 'exit_block2/gate/kernel'));
  net.dispose();
});

test('gates only (warmup.freeze): an epoch moves the gates and nothing else, batch-norm statistics included', async () => {
  await tf.setBackend('cpu');
  const x = tinyExperiment({
    backbone: { name: 'resnet18', width: 1 / 32, input: [8, 8, 3], classes: 4 }, exits: EXITS,
    method: { name: 'proposed', lambda: 0.3, warmup: { epochs: 1, freeze: true } },
    dataset: { name: 'synthetic', limit: 24 }, training: { epochs: 2, batchSize: 8, lr: 0.05 },
  });
  const { net } = await new TfjsEngine().open(x, randomEngineData(24, [8, 8, 3], 4, 2), null);
  const snapshot = () => new Map([...net.net.vars.entries()].map(([n, v]) => [n, Float32Array.from(v.dataSync() as Float32Array)]));
  await net.trainEpoch(1, 0.05, {}, epochPhase(x.method, 2, 1));
  const before = snapshot();
  const losses = await net.trainEpoch(2, 0.05, {}, epochPhase(x.method, 2, 2));
  const after = snapshot();
  const moved = [...before.keys()].filter((n) => before.get(n)!.some((v, i) => v !== after.get(n)![i]));
  assert.ok(moved.length > 0 && moved.every((n) => MultiExitNetwork.isGateVariable(n)), `only gates move, moved: ${moved.join(', ')}`);
  assert.ok(moved.includes('exit_block2/gate/kernel') && moved.includes('exit_block5/gate_hidden/kernel'));
  assert.ok(losses.cost > 0 && losses.lambda === 0.3);
  net.dispose();
});

test('softmax gates: the gate reads [features, max p, entropy, margin] without training the classifier through it; costs count the 3 inputs', async () => {
  await tf.setBackend('cpu');
  const plain = costModel({ backbone: { name: 'resnet18', width: 1 / 32, input: [8, 8, 3], classes: 4 }, exits: EXITS, gated: true });
  const soft = costModel({ backbone: { name: 'resnet18', width: 1 / 32, input: [8, 8, 3], classes: 4 }, exits: EXITS, gated: true, gateInputs: 'features+softmax' });
  assert.equal(soft.gateMacs[0] - plain.gateMacs[0], 3, 'a one-unit gate: 3 more multiply-adds');
  assert.equal(soft.gateMacs[1] - plain.gateMacs[1], 3 * 4, 'a gate with 4 hidden units: 3·4 more');
  const only = costModel({ backbone: { name: 'resnet18', width: 1 / 32, input: [8, 8, 3], classes: 4 }, exits: EXITS, gated: true, gateInputs: 'softmax' });
  assert.deepEqual(only.gateMacs, [3, 3 * 4 + 4], 'the statistics alone: 3 inputs');
  assert.equal(tiny({ gateInputs: 'softmax' }).variable('exit_block2/gate/kernel').shape[0], 3);
  const net = tiny({ gateInputs: 'features+softmax' });
  assert.equal(net.variable('exit_block2/gate/kernel').shape[0], net.exits[0].featureShape[2] + 3);
  // the statistics, on tfjs and on the host
  const logits = tf.tensor2d([[2, 0, 0, 0], [1, 1, 1, 1]]);
  const s = await softmaxStatistics(logits as tf.Tensor2D).data();
  const p = await tf.softmax(logits).data();
  const host = gateStatistics(p, 4, 2);
  const p0 = Math.exp(2) / (Math.exp(2) + 3);
  assert.deepEqual(Array.from(s, (v) => Number(v.toFixed(5))), Array.from(host, (v) => Number(v.toFixed(5))));
  assert.ok(Math.abs(s[0] - p0) < 1e-6 && Math.abs(s[2] - (p0 - (1 - p0) / 3)) < 1e-6);
  assert.ok(Math.abs(s[4] - 1) < 1e-5 && Math.abs(s[5]) < 1e-6, 'uniform: entropy 1, margin 0');
  // d g / d(classifier) is zero: the statistics carry no gradient back
  const { x } = batch();
  const names = await reached(net, () => tf.sum(net.forward(x, true).gates[0]) as tf.Scalar);
  assert.ok(names.includes('exit_block2/gate/kernel'));
  assert.ok(!names.some((n) => n.startsWith('exit_block2/fc')), 'the gate does not train f_b');
  net.dispose();
});

const source = (x: tf.Tensor4D, labels: number[]): BatchSource => ({ count: labels.length, labels, batch: (s, n) => tf.slice(x, [s, 0, 0, 0], [n, -1, -1, -1]) as tf.Tensor4D });

for (const [label, extra] of [['softmax gates', { gateInputs: 'features+softmax' as const }], ['softmax-only gates', { gateInputs: 'softmax' as const }], ['gate temperature 0.2', { gateTemperature: 0.2 }]] as const) {
  test(`${label}: hard exits (tfjs and host heads) decide as the records say`, async () => {
    await tf.setBackend('cpu');
    const net = tiny(extra);
    const x = tf.randomNormal([12, 8, 8, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
    const labels = Array.from({ length: 12 }, (_, i) => i % 4);
    const rec = await collectRecords(net, source(x, labels), 'test');
    // τ halfway between two recorded gate values: records round to 1e-6, a τ on a value would test the rounding
    const sorted = rec.exits[0].gate!.slice().sort((a, b) => a - b);
    const tau = [(sorted[5] + sorted[6]) / 2, 0.5];
    assert.ok(sorted[6] - sorted[5] > 1e-5);
    const want = exitAssignments(rec, 'gate', tau);
    for (const opts of [{}, { fast: true, hostHeads: true }, { fast: true, hostHeads: false }]) {
      const ev = new ExitEvaluator(net, opts);
      const got = await ev.hardExitPass(x, 'gate', tau);
      const one: number[] = [];
      for (let i = 0; i < 12; i++) one.push((await ev.hardExitPass(tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D, 'gate', tau)).exitIndex[0]);
      ev.dispose();
      assert.deepEqual(Array.from(got.exitIndex), Array.from(want), `batch, ${JSON.stringify(opts)}`);
      assert.deepEqual(one, Array.from(want), `batch 1, ${JSON.stringify(opts)}`);
    }
    net.dispose();
  });
}

test('gate temperature: g = σ(z / T), saved with the weights and used after loading', async () => {
  await tf.setBackend('cpu');
  const net = tiny();
  const { x } = batch();
  const g1 = await net.forward(x).gates[0].data();
  net.setGateTemperature(0.25);
  const g4 = await net.forward(x).gates[0].data();
  const logit = (g: number) => Math.log(g / (1 - g));
  g1.forEach((g, i) => assert.ok(Math.abs(logit(g4[i]) - 4 * logit(g)) < 1e-3));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-temp-'));
  await saveNetwork(dir, net);
  const { net: back } = await loadNetwork(dir);
  assert.equal(back.gateTemperature, 0.25);
  assert.deepEqual(Array.from(await back.forward(x).gates[0].data()), Array.from(g4));
  back.dispose(); net.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('straight-through: hard 0/1 forward, the gate\'s own gradient backward', async () => {
  await tf.setBackend('cpu');
  const g = tf.tensor2d([[0.2], [0.5], [0.9]]);
  assert.deepEqual(Array.from(await straightThrough(g as tf.Tensor2D).data()), [0, 1, 1]);
  const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(straightThrough(t as tf.Tensor2D), tf.tensor2d([[1], [2], [3]]))))(g);
  assert.deepEqual(Array.from(await grad.data()), [1, 2, 3]);
});

test('target budget: the multiplier rises while C is above the target, is carried across epochs and C falls towards the target', async () => {
  await tf.setBackend('cpu');
  const x = tinyExperiment({
    backbone: { name: 'resnet18', width: 1 / 32, input: [8, 8, 3], classes: 4 }, exits: EXITS,
    method: { name: 'proposed', lambda: 0, targetBudget: 0.3, budgetRate: 2 },
    dataset: { name: 'synthetic', limit: 32 }, training: { epochs: 4, batchSize: 8, lr: 0.02, seed: 2 },
  });
  const { net } = await new TfjsEngine().open(x, randomEngineData(32, [8, 8, 3], 4, 5), null);
  const m = await trainEpochs(net, x, { startEpoch: 0, rule: 'gate', thresholds: [0.5, 0.5] });
  net.dispose();
  const lambdas = m.map((e) => e.lambda!);
  assert.ok(lambdas[0] > 0, `λ starts moving in the first epoch: ${lambdas}`);
  assert.ok(m[0].expectedCost! > 0.3, 'the untrained gates cost more than the target');
  assert.ok(m[3].expectedCost! < m[0].expectedCost!, `C falls: ${m.map((e) => e.expectedCost)}`);
  assert.ok(m.every((e) => e.costLoss >= 0));
});

test('resume with a target budget: the multiplier continues from the last finished epoch\'s λ', async () => {
  await tf.setBackend('cpu');
  const x = tinyExperiment({
    backbone: { name: 'resnet18', width: 1 / 32, input: [8, 8, 3], classes: 4 }, exits: EXITS,
    method: { name: 'proposed', lambda: 0, targetBudget: 0.3, budgetRate: 1e-6 },
    dataset: { name: 'synthetic', limit: 16 }, training: { epochs: 2, batchSize: 8, lr: 0.01 },
  });
  const { net } = await new TfjsEngine().open(x, randomEngineData(16, [8, 8, 3], 4, 5), null);
  const m = await trainEpochs(net, x, { startEpoch: 1, startLambda: 5, rule: 'gate', thresholds: [0.5, 0.5] });
  net.dispose();
  assert.equal(m.length, 1);
  assert.ok(Math.abs(m[0].lambda! - 5) < 1e-3, `λ ${m[0].lambda} continues from 5, not from method.lambda = 0`);
});

test('initFrom: a BranchyNet model\'s backbone and classifiers start a gated network, the gates start fresh; then the gates alone train', async () => {
  await tf.setBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-init-'));
  const backbone = { name: 'resnet18', width: 1 / 32, input: [8, 8, 3], classes: 4 };
  const bn = tinyExperiment({ backbone, exits: EXITS, method: { name: 'branchynet' }, dataset: { name: 'synthetic', limit: 16 }, training: { epochs: 1, batchSize: 8 } });
  const data = randomEngineData(16, [8, 8, 3], 4, 5);
  const { net: trained } = await new TfjsEngine().open(bn, data, null);
  await trained.trainEpoch(1, 0.05, {}, epochPhase(bn.method, 1, 1));
  await trained.exportModel(path.join(dir, 'model'));
  const x = tinyExperiment({
    backbone, exits: EXITS, method: { name: 'proposed', warmup: { freeze: true }, gateInputs: 'features+softmax' },
    dataset: { name: 'synthetic', limit: 16 }, training: { epochs: 1, batchSize: 8, initFrom: dir },
  });
  const { net, initialised } = await new TfjsEngine().open(x, data, null);
  assert.ok(initialised && initialised.loaded > 0);
  assert.deepEqual(initialised.fresh.sort(), ['exit_block2/gate/bias', 'exit_block2/gate/kernel', 'exit_block5/gate/bias', 'exit_block5/gate/kernel', 'exit_block5/gate_hidden/bias', 'exit_block5/gate_hidden/kernel']);
  for (const name of ['block1/conv1/kernel', 'exit_block2/fc/kernel', 'fc/kernel', 'block3/conv2/bn/moving_mean']) {
    assert.deepEqual(Array.from(net.net.variable(name).dataSync()), Array.from(trained.net.variable(name).dataSync()), name);
  }
  // the same records for every exit's classifier as the trained network
  const [a, b] = [await trained.records('test'), await net.records('test')];
  assert.deepEqual(b.exits.map((e) => e.pred), a.exits.map((e) => e.pred));
  const before = Array.from(net.net.variable('exit_block2/fc/kernel').dataSync());
  const phase = epochPhase(x.method, 1, 1);
  assert.equal(phase.stage, 'gates');
  await net.trainEpoch(1, 0.05, {}, phase);
  assert.deepEqual(Array.from(net.net.variable('exit_block2/fc/kernel').dataSync()), before, 'the classifiers stay as loaded');
  net.dispose();
  // another width: refused naming a variable
  const wider = tinyExperiment({ backbone: { ...backbone, width: 1 / 16 }, exits: EXITS, method: { name: 'branchynet' }, dataset: { name: 'synthetic', limit: 16 }, training: { epochs: 1, initFrom: dir } });
  await assert.rejects(new TfjsEngine().open(wider, data, null), /training\.initFrom: "[^"]+" is \[[\d,]+\] in .* but \[[\d,]+\] here; start from a run with the same backbone, width and exits/);
  await assert.rejects(new TfjsEngine().open({ ...wider, training: { ...wider.training, initFrom: path.join(dir, 'nothing') } }, data, null), /is neither a finished run folder/);
  trained.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});
