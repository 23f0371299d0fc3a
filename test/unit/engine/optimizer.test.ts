/**
 * The learning-rate schedule changes the step size the optimiser applies, for Adam and for SGD
 * with momentum (tfjs's MomentumOptimizer steps with a cached −lr that only its own
 * setLearningRate updates), not only the lr the metrics record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { TfjsEngine, type TfjsNetwork } from '../../../src/engine/tfjs';
import { trainEpochs } from '../../../src/engine/loop';
import { randomEngineData, tinyExperiment } from '../../fixtures/engine-data';
import { epochPhase } from '../../../src/spec/method';

const data = randomEngineData(16, [16, 16, 3], 3, 5);

function experiment(optimizer: 'adam' | 'sgd', training: Record<string, unknown> = {}) {
  return tinyExperiment({
    backbone: { name: 'alexnet', width: 1 / 32, input: [16, 16, 3], classes: 3 },
    exits: [{ point: 'conv2' }],
    method: { name: 'proposed', lambda: 0.5 },
    training: { epochs: 2, batchSize: 8, optimizer, lr: 0.05, momentum: 0, weightDecay: 0, schedule: 'constant', seed: 2, ...training },
  });
}

function trainable(net: TfjsNetwork): Float32Array[] {
  return net.net.trainableVariables().map((v) => v.dataSync() as Float32Array).map((a) => Float32Array.from(a));
}

function maxChange(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((w, i) => w.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - b[i][j])); }));
  return worst;
}

for (const optimizer of ['adam', 'sgd'] as const) {
  test(`${optimizer}: the step size is the scheduled one (lr 0 moves no weight, lr > 0 does)`, async () => {
    await tf.setBackend('cpu');
    const x = experiment(optimizer);
    const { net } = await new TfjsEngine().open(x, data, null);
    const w0 = trainable(net);
    await net.trainEpoch(1, 0, {}, epochPhase(x.method, x.training.epochs, 1));
    assert.equal(maxChange(w0, trainable(net)), 0, 'an epoch at lr 0 leaves every trainable weight as it was');
    await net.trainEpoch(2, 0.05, {}, epochPhase(x.method, x.training.epochs, 2));
    assert.ok(maxChange(w0, trainable(net)) > 1e-3, 'an epoch at lr 0.05 moves the weights');
    net.dispose();
  });

  for (const schedule of ['step', 'cosine'] as const) {
    test(`${optimizer} + ${schedule} schedule: the lr the metrics record is the lr applied`, async () => {
      await tf.setBackend('cpu');
      // step: ×1e-30 after epoch 1, so epoch 2 must not move the weights; cosine over 3 epochs
      // ends at lr·(1 + cos(2π/3))/2 = lr/4, so epoch 3 moves them less than epoch 1 does
      const x = experiment(optimizer, schedule === 'step' ? { schedule, stepEpochs: 1, stepGamma: 1e-30 } : { schedule, epochs: 3 });
      const { net } = await new TfjsEngine().open(x, data, null);
      const after: Float32Array[][] = [trainable(net)];
      const metrics = await trainEpochs(net, x, { startEpoch: 0, rule: 'gate', thresholds: [0.5], onEpochEnd: () => { after.push(trainable(net)); } });
      if (schedule === 'step') {
        assert.deepEqual(metrics.map((m) => m.lr), [0.05, 0.05 * 1e-30]);
        assert.ok(maxChange(after[0], after[1]) > 1e-3, 'epoch 1 trains');
        assert.ok(maxChange(after[1], after[2]) < 1e-12, `epoch 2 at lr 5e-32 moves nothing (moved ${maxChange(after[1], after[2])})`);
      } else {
        assert.deepEqual(metrics.map((m) => +m.lr.toFixed(6)), [0.05, 0.0375, 0.0125]);
        if (optimizer === 'sgd') {
          // SGD without momentum: a step is lr·g; the third epoch's lr is a quarter of the first's
          const first = maxChange(after[0], after[1]), third = maxChange(after[2], after[3]);
          assert.ok(third < 0.6 * first, `epoch 3 (lr ${metrics[2].lr}) moves less than epoch 1 (lr ${metrics[0].lr}): ${third} vs ${first}`);
        }
      }
      net.dispose();
    });
  }
}
