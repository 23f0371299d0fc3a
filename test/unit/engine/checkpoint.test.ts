/**
 * Checkpoints: saveNetwork / loadNetwork round-trip every variable, the configuration and the
 * optimiser state; and a run stopped after an epoch and resumed from its checkpoint ends with the
 * same weights and the same metrics as the run that was never stopped (same backend), for Adam
 * and for SGD with momentum, on a backbone with dropout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadNetwork, MODEL_FORMAT, saveNetwork } from '../../../src/engine/tfjs/checkpoint';
import { MultiExitNetwork } from '../../../src/engine/tfjs/network';
import { createOptimizer } from '../../../src/engine/tfjs/optimizer';
import { TfjsEngine, type TfjsNetwork } from '../../../src/engine/tfjs';
import { trainEpochs } from '../../../src/engine/loop';
import type { EpochMetrics } from '../../../src/spec/run-types';
import { randomEngineData, tinyExperiment } from '../../fixtures/engine-data';
import { checkResumable } from '../../../src/engine/checkpoint-folder';
import { defaultExperiment } from '../../../src/spec/experiment';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ee-ckpt-'));

/** Every variable of a network, by its stable name. */
function weightsOf(net: MultiExitNetwork): Map<string, Float32Array> {
  return new Map([...net.vars].map(([n, v]) => [n, Float32Array.from(v.dataSync() as Float32Array)]));
}

test('saveNetwork / loadNetwork: every variable, the configuration, the costs and the epoch come back; outputs are identical', async () => {
  await tf.setBackend('cpu');
  const net = new MultiExitNetwork({
    backbone: { name: 'resnet18', width: 1 / 32, input: [16, 16, 3], classes: 4 }, gated: true, seed: 9,
    exits: [{ point: 'block2', head: { kind: 'conv-pool', channels: 6 }, gate: { hidden: 3 } }, { point: 'block6', head: { kind: 'pool-mlp' }, gate: { hidden: 0 } }],
  });
  // move every variable off its initial value, batch-norm moving statistics included
  for (const v of net.vars.values()) v.assign(tf.add(v, tf.randomUniform(v.shape, 0.1, 0.2, 'float32', v.size)));
  const dir = path.join(tmp(), 'model');
  await saveNetwork(dir, net, { epoch: 7 });
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  assert.equal(json.format, MODEL_FORMAT);
  assert.equal(json.epoch, 7);
  const { net: back, epoch } = await loadNetwork(dir);
  assert.equal(epoch, 7);
  assert.deepEqual(back.config, net.config);
  assert.deepEqual(back.costs, net.costs);
  const a = weightsOf(net), b = weightsOf(back);
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [n, w] of a) assert.deepEqual(b.get(n), w, n);
  const x = tf.randomNormal([3, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const out = (m: MultiExitNetwork) => { const o = m.forward(x); return [...o.exitLogits, ...o.gates, o.finalLogits].map((t) => Array.from(t.dataSync())); };
  assert.deepEqual(out(back), out(net));
  // a network saved without an epoch loads as epoch 0; a folder with no model.json names itself
  await saveNetwork(dir, back);
  assert.equal((await loadNetwork(dir)).epoch, 0);
  await assert.rejects(loadNetwork(path.join(dir, 'nothing')), /nothing\/model\.json: missing \(no checkpoint has been written yet\)$/);
  net.dispose(); back.dispose();
});

for (const optimizer of ['adam', 'sgd'] as const) {
  test(`saveNetwork / loadNetwork restore the ${optimizer} optimiser's state: the next step is the same`, async () => {
    await tf.setBackend('cpu');
    const cfg = { optimizer, lr: 0.05, momentum: 0.9 };
    const make = () => new MultiExitNetwork({ backbone: { name: 'vgg13', width: 1 / 32, input: [8, 8, 3], classes: 3 }, gated: true, seed: 1, exits: [{ point: 'conv3', head: { kind: 'pool' }, gate: { hidden: 0 } }] });
    const net = make();
    const opt = createOptimizer(cfg);
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const step = (m: MultiExitNetwork, o: tf.Optimizer) => o.minimize(() => tf.mean(tf.square(m.forward(x, false).finalLogits)) as tf.Scalar, false, m.trainableVariables());
    for (let i = 0; i < 3; i++) step(net, opt);
    const dir = path.join(tmp(), 'checkpoint');
    await saveNetwork(dir, net, { epoch: 1, optimizer: opt });
    const restoredOpt = createOptimizer(cfg);
    const { net: back } = await loadNetwork(dir, { optimizer: restoredOpt });
    const state = async (o: tf.Optimizer) => (await o.getWeights()).map((w) => [w.name.replace(/_[a-z0-9]{6}(?=\/|$)/, ''), Array.from(w.tensor.dataSync())]);
    assert.deepEqual(await state(restoredOpt), await state(opt), 'iterations and moments / momentum accumulators');
    step(net, opt);
    step(back, restoredOpt);
    for (const [n, w] of weightsOf(net)) assert.deepEqual(weightsOf(back).get(n), w, `${n} after one more step`);
    // without the optimiser state the next step differs: the comparison above can fail
    const fresh = await loadNetwork(dir);
    step(fresh.net, createOptimizer(cfg));
    const differs = [...weightsOf(net)].some(([n, w]) => w.some((v, i) => v !== weightsOf(fresh.net).get(n)![i]));
    assert.ok(differs, 'a step with a fresh optimiser lands elsewhere');
    net.dispose(); back.dispose(); fresh.net.dispose();
  });
}

/** Metrics that must agree between runs (not the wall-clock ones). */
const comparable = (m: EpochMetrics) => ({ ...m, imagesPerSecond: 0, seconds: 0 });

for (const optimizer of ['adam', 'sgd'] as const) {
  test(`stopped after epoch 1 and resumed from the checkpoint = never stopped: weights and metrics (${optimizer}, dropout, cosine schedule)`, async () => {
    await tf.setBackend('cpu');
    const data = randomEngineData(24, [16, 16, 3], 3, 8);
    // AlexNet: its classifier has dropout, whose masks must continue where the stopped run left off
    const x = tinyExperiment({
      backbone: { name: 'alexnet', width: 1 / 32, input: [16, 16, 3], classes: 3 },
      exits: [{ point: 'conv2' }],
      method: { name: 'proposed', lambda: 0.5, exitLossWeight: 0.2 },
      training: { epochs: 3, batchSize: 8, optimizer, lr: 0.02, momentum: 0.9, weightDecay: 1e-3, schedule: 'cosine', seed: 5 },
    });
    const loop = { rule: 'gate' as const, thresholds: [0.5] };
    const straight = await new TfjsEngine().open(x, data, null);
    const all = await trainEpochs(straight.net, x, { startEpoch: 0, ...loop });

    const dir = path.join(tmp(), 'checkpoint');
    const first = await new TfjsEngine().open(x, data, null);
    const one = await trainEpochs(first.net, { ...x, training: { ...x.training, epochs: 1 } }, { startEpoch: 0, ...loop });
    await first.net.saveCheckpoint(dir, 1);
    first.net.dispose();
    const resumed = await new TfjsEngine().open(x, data, dir);
    assert.equal(resumed.epoch, 1);
    const rest = await trainEpochs(resumed.net, x, { startEpoch: resumed.epoch, ...loop });

    assert.deepEqual([...one, ...rest].map((m) => m.epoch), [1, 2, 3]);
    assert.deepEqual([...one, ...rest].map(comparable), all.map(comparable));
    const a = weightsOf((straight.net as TfjsNetwork).net), b = weightsOf((resumed.net as TfjsNetwork).net);
    for (const [n, w] of a) assert.deepEqual(b.get(n), w, `${n} after 3 epochs`);
    straight.net.dispose(); resumed.net.dispose();
  });
}

test('checkResumable: a checkpoint of another network, of more epochs, or with no readable network is refused naming model.json and the fix', () => {
  const x = defaultExperiment('resnet18', 'x', 'synthetic');
  const dir = path.join(os.tmpdir(), 'some-run', 'checkpoint');
  const same = { backbone: x.backbone, exits: x.exits, gated: true };
  assert.doesNotThrow(() => checkResumable(dir, { network: same, epoch: x.training.epochs }, x));
  const refused = (network: unknown, epoch: number, why: RegExp) => assert.throws(() => checkResumable(dir, { network, epoch }, x), (e: Error) => {
    assert.ok(e.message.startsWith(`${path.join(dir, 'model.json')}: `), e.message);
    assert.match(e.message, why);
    assert.match(e.message, /; the run cannot continue from it; delete .*checkpoint and run early-exit train --resume .*some-run to train it again from epoch 1$/);
    return true;
  });
  refused(null, 1, /: its network description \(modelTopology\.network\) is not readable;/);
  refused({ backbone: x.backbone, exits: x.exits }, 1, /: its network description \(modelTopology\.network\) is not readable;/);
  refused({ ...same, exits: [{ point: 'block7' }] }, 1, /: its network is not the one of this run's experiment\.json \(exits \[\{"point":"block7"\}\] vs /);
  refused({ ...same, gated: false }, 1, /: its network is not the one of this run's experiment\.json \(it has no gates, the method needs them\);/);
  refused(same, x.training.epochs + 1, new RegExp(`: it is the checkpoint of epoch ${x.training.epochs + 1}, but the experiment has ${x.training.epochs} epochs;`));
});
