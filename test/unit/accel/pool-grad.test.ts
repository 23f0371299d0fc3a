import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { MAX_POOL_GRAD, avgPoolGradConfig, installPoolGradients, maxPoolGradConfig } from '../../../src/accel/pool-grad';

const STOCK = tf.getGradient('AvgPool');
const STOCK_MAX = tf.getGradient('MaxPool');

type Case = { shape: [number, number, number, number]; k: number; s: number; pad: 'same' | 'valid' };
// non-overlapping windows (the replacement) and geometries that fall back to the stock gradient
const cases: Case[] = [
  { shape: [3, 8, 8, 4], k: 4, s: 4, pad: 'same' },
  { shape: [2, 16, 12, 3], k: 4, s: 4, pad: 'valid' },
  { shape: [2, 6, 6, 2], k: 2, s: 2, pad: 'same' },
  { shape: [2, 7, 7, 2], k: 2, s: 2, pad: 'same' },
  { shape: [2, 8, 8, 2], k: 3, s: 2, pad: 'valid' },
];

/** d/dx of Σ(pool(x)·r) for random x (mean `xMean`) and r: the gradient of `pool` at x. */
async function poolGrad(pool: typeof tf.avgPool, c: Case, seed: number, xMean = 0): Promise<Float32Array> {
  const x = tf.randomNormal(c.shape, xMean, 1, 'float32', seed) as tf.Tensor4D;
  const y = pool(x, c.k, c.s, c.pad);
  const r = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 1);
  const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a as tf.Tensor4D, c.k, c.s, c.pad), r)))(x);
  const out = await g.data() as Float32Array;
  tf.dispose([x, y, r, g]);
  return out;
}
const grad = (c: Case, seed: number) => poolGrad(tf.avgPool, c, seed);

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

// 2×2/2 and 4×4/4 (the replacement; inputs straddle zero so many windows have a negative maximum),
// then geometries that keep the stock gradient: odd size, overlapping windows, a 3×3 window
const maxCases: Case[] = [
  { shape: [2, 8, 8, 3], k: 2, s: 2, pad: 'same' },
  { shape: [3, 16, 12, 5], k: 2, s: 2, pad: 'valid' },
  { shape: [2, 8, 8, 2], k: 4, s: 4, pad: 'same' },
  { shape: [2, 7, 7, 2], k: 2, s: 2, pad: 'same' },
  { shape: [2, 9, 9, 2], k: 3, s: 2, pad: 'valid' },
  { shape: [2, 9, 9, 2], k: 3, s: 3, pad: 'valid' },
];

// inputs straddle zero (mean −0.3): many windows have a negative maximum
const maxGrad = (c: Case, seed: number) => poolGrad(tf.maxPool, c, seed, -0.3);

test('replacement MaxPool gradient equals tfjs\'s cpu gradient on cpu and wasm (wasm\'s own drops negative maxima)', async () => {
  // the reference: tfjs's own cpu kernel, checked to route every window's gradient to its maximum
  await tf.setBackend('cpu');
  tf.registerGradient(STOCK_MAX);
  const ref = [];
  for (const [i, c] of maxCases.entries()) ref.push(await maxGrad(c, 7 + 10 * i));
  const r0 = ref[0];
  assert.equal(r0.filter((v) => v !== 0).length, 2 * 4 * 4 * 3, 'the cpu reference gives one element per window a gradient');

  await tf.setBackend('wasm');
  const wasmStock = await maxGrad(maxCases[0], 7);
  const lost = r0.reduce((n, v, j) => n + (v !== 0 && wasmStock[j] === 0 ? 1 : 0), 0);
  assert.ok(lost > 0, 'wasm\'s stock MaxPoolGrad still drops windows with a negative maximum: the replacement\'s second reason is gone');

  tf.registerGradient(maxPoolGradConfig(STOCK_MAX));
  try {
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      for (const [i, c] of maxCases.entries()) {
        if (backend === 'wasm' && i >= 3) continue; // stock geometries: wasm's own kernel, not ours
        const got = await maxGrad(c, 7 + 10 * i);
        let worst = 0;
        for (let j = 0; j < got.length; j++) worst = Math.max(worst, Math.abs(got[j] - ref[i][j]));
        assert.ok(worst < 1e-6, `${backend} case ${JSON.stringify(c)}: max abs error ${worst}`);
      }
    }
  } finally {
    tf.registerGradient(STOCK_MAX);
  }
});

test('replacement MaxPool gradient shares a tie\'s gradient between its maxima', async () => {
  await tf.setBackend('wasm');
  tf.registerGradient(maxPoolGradConfig(STOCK_MAX));
  try {
    // windows (2×2, row-major): four equal maxima (dy 8), two (dy 6), one (dy 10), two (dy 20)
    const x = tf.tensor4d([5, 5, 1, 2, 5, 5, 2, 0, 0, 3, 4, 4, 1, 2, 0, 1], [1, 4, 4, 1]);
    const dy = tf.tensor4d([8, 6, 10, 20], [1, 2, 2, 1]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), dy)))(x);
    assert.deepEqual(Array.from(await g.data()), [2, 2, 0, 3, 2, 2, 3, 0, 0, 10, 10, 10, 0, 0, 0, 0]);
    tf.dispose([x, dy, g]);
  } finally {
    tf.registerGradient(STOCK_MAX);
  }
});

test('wasm SIMD MaxPool gradient (C % 4 = 0, any tiling window): equals tfjs\'s cpu gradient, shares ties, one kernel', async () => {
  // tiling windows with 4·k channels: 2×2, 4×4 and a non-power-of-two 3×3/3 (the op version needs powers of two)
  const simdCases: Case[] = [
    { shape: [2, 8, 8, 4], k: 2, s: 2, pad: 'same' },
    { shape: [3, 16, 12, 8], k: 2, s: 2, pad: 'valid' },
    { shape: [2, 8, 8, 12], k: 4, s: 4, pad: 'same' },
    { shape: [2, 9, 9, 4], k: 3, s: 3, pad: 'valid' },
  ];
  await tf.setBackend('cpu');
  tf.registerGradient(STOCK_MAX);
  const ref = [];
  for (const [i, c] of simdCases.entries()) ref.push(await maxGrad(c, 70 + i));
  await tf.setBackend('wasm');
  installPoolGradients();
  tf.registerGradient(maxPoolGradConfig(STOCK_MAX));
  try {
    for (const [i, c] of simdCases.entries()) {
      const got = await maxGrad(c, 70 + i);
      let worst = 0;
      for (let j = 0; j < got.length; j++) worst = Math.max(worst, Math.abs(got[j] - ref[i][j]));
      assert.ok(worst < 1e-6, `case ${JSON.stringify(c)}: max abs error ${worst}`);
    }
    // the tie windows of the test above, repeated over 4 channels (channel c scaled by c + 1)
    const base = [5, 5, 1, 2, 5, 5, 2, 0, 0, 3, 4, 4, 1, 2, 0, 1];
    const x = tf.tensor4d(base.flatMap((v) => [v, 2 * v, 3 * v, 4 * v]), [1, 4, 4, 4]);
    const dy = tf.tensor4d([8, 6, 10, 20].flatMap((v) => [v, v, v, v]), [1, 2, 2, 4]);
    const info = await tf.profile(() => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), dy)))(x));
    assert.ok(info.kernelNames.includes(MAX_POOL_GRAD), `the SIMD kernel ran: ${info.kernelNames.join(',')}`);
    const g = await (info.result as tf.Tensor).data();
    assert.deepEqual(Array.from(g).filter((_, j) => j % 4 === 2), [2, 2, 0, 3, 2, 2, 3, 0, 0, 10, 10, 10, 0, 0, 0, 0]);
    tf.dispose([x, dy, info.result as tf.Tensor]);
  } finally {
    tf.registerGradient(STOCK_MAX);
  }
});
