import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { conv2dGradients, type Conv2DAttrs } from '../../src/core/conv2d-grad';

type Case = { shape: [number, number, number, number]; k: number; cout: number; stride: number; pad: Conv2DAttrs['pad'] };
const cases: Case[] = [
  { shape: [3, 8, 8, 4], k: 3, cout: 5, stride: 1, pad: 'same' },
  { shape: [2, 9, 7, 3], k: 3, cout: 4, stride: 2, pad: 'same' },
  { shape: [2, 8, 8, 3], k: 5, cout: 2, stride: 1, pad: 'valid' },
  { shape: [2, 11, 10, 2], k: 5, cout: 3, stride: 2, pad: 'valid' },
  { shape: [2, 8, 8, 6], k: 1, cout: 4, stride: 2, pad: 'same' },
  { shape: [1, 7, 9, 2], k: 3, cout: 2, stride: 1, pad: [[0, 0], [1, 0], [0, 2], [0, 0]] },
];

/** max |a − b| / max(|b|, 1e-3·max|b|): relative error robust to near-zero entries */
function maxRelError(a: Float32Array, b: Float32Array): number {
  const scale = Math.max(...Array.from(b, Math.abs));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-2 * scale));
  return worst;
}

async function stock(c: Case) {
  await tf.setBackend('cpu');
  const x = tf.randomNormal(c.shape, 0, 1, 'float32', 11) as tf.Tensor4D;
  const w = tf.randomNormal([c.k, c.k, c.shape[3], c.cout], 0, 1, 'float32', 12) as tf.Tensor4D;
  const y = tf.conv2d(x, w, c.stride, c.pad as 'same');
  const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 13) as tf.Tensor4D;
  const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad as 'same'))([x, w], dy);
  return { x: await x.data(), w: await w.data(), dy: await dy.data(), dyShape: dy.shape, gx: await gx.data() as Float32Array, gw: await gw.data() as Float32Array };
}

for (const backend of ['cpu', 'wasm']) {
  test(`replacement Conv2D gradient matches the stock gradient within 1e-4 relative (${backend})`, async () => {
    for (const c of cases) {
      const ref = await stock(c);
      await tf.setBackend(backend);
      const x = tf.tensor4d(ref.x, c.shape);
      const w = tf.tensor4d(ref.w, [c.k, c.k, c.shape[3], c.cout]);
      const dy = tf.tensor4d(ref.dy, ref.dyShape);
      const { dx, dFilter } = conv2dGradients(dy, x, w, { strides: c.stride, pad: c.pad });
      assert.deepEqual(dx.shape, c.shape);
      assert.deepEqual(dFilter.shape, [c.k, c.k, c.shape[3], c.cout]);
      const ex = maxRelError(await dx.data() as Float32Array, ref.gx);
      const ew = maxRelError(await dFilter.data() as Float32Array, ref.gw);
      assert.ok(ex < 1e-4, `${JSON.stringify(c)}: dx relative error ${ex}`);
      assert.ok(ew < 1e-4, `${JSON.stringify(c)}: dFilter relative error ${ew}`);
      tf.dispose([x, w, dy, dx, dFilter]);
    }
  });
}
