/**
 * The acceleration tier's assumptions about tfjs's internals hold for the installed tfjs, and the
 * product trains the same with all of our acceleration switched off (`--stock all`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/accel/backend';
import { BN_TRAIN } from '../../../src/accel/fused-bn';
import { ADAM_UPDATE } from '../../../src/accel/fused-adam';
import { ACCEL_PARTS, parseStock } from '../../../src/spec/accel-parts';
import { checkTfjsInternals, useOurGradient } from '../../../src/accel/tfjs-internals';
import { TfjsEngine } from '../../../src/engine/tfjs';
import { randomEngineData, tinyExperiment } from '../../fixtures/engine-data';
import { epochPhase } from '../../../src/spec/method';

for (const backend of ['cpu', 'wasm'] as const) {
  test(`every tfjs internal the acceleration relies on is where it expects (${backend}, tfjs ${tf.version.tfjs})`, async () => {
    await selectBackend(backend);
    const failed = [...checkTfjsInternals()].map(([part, why]) => `${part}: ${why}`);
    assert.deepEqual(failed, [], `tfjs ${tf.version.tfjs} no longer matches src/accel/tfjs-internals.ts; these parts would fall back to stock tfjs:\n${failed.join('\n')}\nUpdate the accessors and checks there for this tfjs (or pin the version it was written for).`);
  });
}

test('--stock parts: "all", a list, and an unknown name is one clear error', () => {
  assert.equal(parseStock('all').size, ACCEL_PARTS.length);
  assert.deepEqual([...parseStock('adam, identity')], ['adam', 'identity']);
  assert.equal(parseStock(undefined).size, 0);
  assert.throws(() => parseStock('adam,turbo', '--stock'), /^ValidationError: --stock: unknown part "turbo"; allowed: all, conv-grad, /);
});

test('a replacement gradient must save what tfjs\'s own saves (else it is refused, naming the kernel)', () => {
  assert.throws(() => useOurGradient({ kernelName: 'Conv2D', inputsToSave: ['x'], gradFunc: () => ({}) }, true), /^Error: Conv2D: tfjs's gradient saves \["x","filter"\]/);
});

test('stock tfjs (--stock all) on wasm: none of our kernels is registered, and training matches the accelerated path', async () => {
  const data = randomEngineData(24, [16, 16, 3], 3, 8);
  const x = tinyExperiment({
    backbone: { name: 'resnet18', width: 1 / 8, input: [16, 16, 3], classes: 3 },
    exits: [{ point: 'block2' }, { point: 'block4' }],
    method: { name: 'proposed', lambda: 0.5, exitLossWeight: 0.5 },
    training: { epochs: 1, batchSize: 8, lr: 1e-2, weightDecay: 5e-4, seed: 4 },
  });
  const run = async (stock: string) => {
    const engine = new TfjsEngine();
    process.env.EARLY_EXIT_STOCK = stock;
    let device;
    try { device = await engine.prepare('wasm'); } finally { delete process.env.EARLY_EXIT_STOCK; }
    const kernels = [BN_TRAIN, ADAM_UPDATE].filter((k) => tf.getKernel(k, 'wasm'));
    const { net } = await engine.open(x, data, null);
    const losses: number[] = [];
    await net.trainEpoch(1, 1e-2, { onStep: (p) => losses.push(p.loss) }, epochPhase(x.method, x.training.epochs, 1));
    const rec = await net.records('test');
    net.dispose();
    return { device, kernels, losses, rec };
  };
  const stock = await run('all');
  assert.match(stock.device.description, /stock tfjs for all our acceleration \(the Conv2D gradient stays as tfjs forward convolutions/);
  assert.deepEqual(stock.kernels, [], 'no kernel of ours is registered in stock mode');
  const ours = await run('');
  assert.deepEqual(ours.kernels, [BN_TRAIN, ADAM_UPDATE], 'the accelerated path registers them again');
  assert.doesNotMatch(ours.device.description, /stock/);
  assert.equal(ours.losses.length, 3);
  ours.losses.forEach((l, i) => assert.ok(Math.abs(l - stock.losses[i]) <= 1e-3 * Math.abs(stock.losses[i]), `step ${i + 1}: loss ${l} accelerated vs ${stock.losses[i]} stock`));
  const agree = ours.rec.final.pred.filter((p, i) => p === stock.rec.final.pred[i]).length;
  assert.ok(agree >= 23, `final predictions agree on ${agree}/24 samples`);
});
