import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { avgPoolGradConfig } from '../../src/core/pool-grad';

const STOCK = tf.getGradient('AvgPool');

type Case = { shape: [number, number, number, number]; k: number; s: number; pad: 'same' | 'valid' };
// non-overlapping windows (the replacement) and geometries that fall back to the stock gradient
const cases: Case[] = [
  { shape: [3, 8, 8, 4], k: 4, s: 4, pad: 'same' },
  { shape: [2, 16, 12, 3], k: 4, s: 4, pad: 'valid' },
  { shape: [2, 6, 6, 2], k: 2, s: 2, pad: 'same' },
  { shape: [2, 7, 7, 2], k: 2, s: 2, pad: 'same' },
  { shape: [2, 8, 8, 2], k: 3, s: 2, pad: 'valid' },
];

async function grad(c: Case, seed: number): Promise<Float32Array> {
  const x = tf.randomNormal(c.shape, 0, 1, 'float32', seed) as tf.Tensor4D;
  const y = tf.avgPool(x, c.k, c.s, c.pad);
  const r = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 1);
  const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(a as tf.Tensor4D, c.k, c.s, c.pad), r)))(x);
  const out = await g.data() as Float32Array;
  tf.dispose([x, y, r, g]);
  return out;
}

for (const backend of ['cpu', 'wasm']) {
  test(`replacement AvgPool gradient equals the stock one (${backend})`, async () => {
    await tf.setBackend(backend);
    tf.registerGradient(STOCK);
    const ref = [];
    for (const [i, c] of cases.entries()) ref.push(await grad(c, 10 * i));
    tf.registerGradient(avgPoolGradConfig(STOCK));
    for (const [i, c] of cases.entries()) {
      const got = await grad(c, 10 * i);
      let worst = 0;
      for (let j = 0; j < got.length; j++) worst = Math.max(worst, Math.abs(got[j] - ref[i][j]));
      assert.ok(worst < 1e-6, `case ${JSON.stringify(c)}: max abs error ${worst}`);
    }
  });
}
