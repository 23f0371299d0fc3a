import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { batchNormGradConfig } from '../../../src/accel/batchnorm-grad';

/** Training-mode batch norm as model.ts runs it: batch moments, then FusedBatchNorm. */
function bnLoss(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, r: tf.Tensor4D): tf.Scalar {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.sum(tf.mul(tf.batchNorm(x, mean, variance, beta, gamma, 1e-5), r));
}

async function grads(backend: string, seed: number, shape: [number, number, number, number]) {
  await tf.setBackend(backend);
  const c = shape[3];
  const x = tf.randomNormal(shape, 0.3, 2, 'float32', seed) as tf.Tensor4D;
  const gamma = tf.randomNormal([c], 1, 0.5, 'float32', seed + 1) as tf.Tensor1D;
  const beta = tf.randomNormal([c], 0, 1, 'float32', seed + 2) as tf.Tensor1D;
  const r = tf.randomNormal(shape, 0, 1, 'float32', seed + 3) as tf.Tensor4D;
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => bnLoss(a as tf.Tensor4D, b as tf.Tensor1D, d as tf.Tensor1D, r))([x, gamma, beta]);
  const out = await Promise.all(g.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([x, gamma, beta, r, ...g]);
  return out;
}

function maxRelError(a: Float32Array, b: Float32Array): number {
  const scale = Math.max(...Array.from(b, Math.abs));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-2 * scale));
  return worst;
}

for (const backend of ['cpu', 'wasm']) {
  test(`replacement FusedBatchNorm gradient matches the stock one: dx, dγ, dβ through the batch moments (${backend})`, async () => {
    const stock = tf.getGradient('FusedBatchNorm');
    const shapes: [number, number, number, number][] = [[4, 6, 5, 3], [2, 8, 8, 16], [7, 1, 1, 5]];
    try {
      for (const [i, s] of shapes.entries()) {
        tf.registerGradient(stock);
        const ref = await grads(backend, 10 * i + 1, s);
        tf.registerGradient(batchNormGradConfig);
        const got = await grads(backend, 10 * i + 1, s);
        for (let k = 0; k < 3; k++) {
          const e = maxRelError(got[k], ref[k]);
          assert.ok(e < 1e-4, `shape [${s}] gradient ${['x', 'gamma', 'beta'][k]}: max relative error ${e}`);
        }
      }
    } finally {
      tf.registerGradient(stock);
    }
  });
}

for (const backend of ['cpu', 'wasm']) {
  test(`batchNormTraining: same output, moments and gradients as tf.moments + tf.batchNorm (${backend})`, async () => {
    const { batchNormTraining } = await import('../../../src/accel/batchnorm-grad');
    await tf.setBackend(backend);
    for (const [i, s] of ([[4, 6, 5, 3], [2, 8, 8, 16], [9, 1, 1, 5]] as [number, number, number, number][]).entries()) {
      const c = s[3];
      const x = tf.randomNormal(s, 0.7, 2, 'float32', 100 + i) as tf.Tensor4D;
      const gamma = tf.randomNormal([c], 1, 0.5, 'float32', 200 + i) as tf.Tensor1D;
      const beta = tf.randomNormal([c], 0, 1, 'float32', 300 + i) as tf.Tensor1D;
      const r = tf.randomNormal(s, 0, 1, 'float32', 400 + i) as tf.Tensor4D;
      const refY = tf.tidy(() => { const m = tf.moments(x, [0, 1, 2]); return tf.batchNorm(x, m.mean, m.variance, beta, gamma, 1e-5); });
      const refM = tf.moments(x, [0, 1, 2]);
      const ref = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => bnLoss(a as tf.Tensor4D, b as tf.Tensor1D, d as tf.Tensor1D, r))([x, gamma, beta]);
      let moments: tf.Tensor1D[] = [];
      const y = batchNormTraining(x, gamma, beta, 1e-5, (m, v) => { moments = [m, v]; });
      const got = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(batchNormTraining(a as tf.Tensor4D, b as tf.Tensor1D, d as tf.Tensor1D, 1e-5), r)))([x, gamma, beta]);
      const pairs: [tf.Tensor, tf.Tensor, string][] = [[y, refY, 'y'], [moments[0], refM.mean, 'mean'], [moments[1], refM.variance, 'variance'],
        [got[0], ref[0], 'dx'], [got[1], ref[1], 'dγ'], [got[2], ref[2], 'dβ']];
      for (const [a, b, what] of pairs) {
        const e = maxRelError(await a.data() as Float32Array, await b.data() as Float32Array);
        assert.ok(e < 1e-3, `shape [${s}] ${what}: max relative error ${e}`);
      }
      tf.dispose([x, gamma, beta, r, refY, refM.mean, refM.variance, ...ref, ...got, y, ...moments]);
    }
  });
}
