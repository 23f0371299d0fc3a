import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { CONV_FILTER_GRAD, CONV_INTERLEAVE, conv2dFilterGradient, conv2dGradients, conv2dInputGradient, installConv2dGradient, type Conv2DAttrs } from '../../../src/accel/conv2d-grad';
import { filterGradReference, inputGradReference, maxRelError } from '../../fixtures/float64-references';

type Case = { shape: [number, number, number, number]; k: number; cout: number; stride: number; pad: Conv2DAttrs['pad'] };
const cases: Case[] = [
  { shape: [3, 8, 8, 4], k: 3, cout: 5, stride: 1, pad: 'same' },
  { shape: [2, 9, 7, 3], k: 3, cout: 4, stride: 2, pad: 'same' },
  { shape: [2, 8, 8, 3], k: 5, cout: 2, stride: 1, pad: 'valid' },
  { shape: [2, 11, 10, 2], k: 5, cout: 3, stride: 2, pad: 'valid' },
  { shape: [2, 8, 8, 6], k: 1, cout: 4, stride: 2, pad: 'same' },
  { shape: [1, 7, 9, 2], k: 3, cout: 2, stride: 1, pad: [[0, 0], [1, 0], [0, 2], [0, 0]] },
];

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

test('wasm SIMD filter gradient (no pad/transpose copies) matches a float64 reference: strides, paddings, channel tails', async () => {
  await tf.setBackend('wasm');
  installConv2dGradient();
  assert.ok(tf.getKernel(CONV_FILTER_GRAD, 'wasm'), 'the SIMD kernel is registered for wasm');
  // [shape, k, Cout, stride, pad, pt, pl]: Cin 3 / 9 / 12 exercise the 8-channel blocks and the one-channel tail
  const cases: [[number, number, number, number], number, number, number, Conv2DAttrs['pad'], number, number][] = [
    [[3, 8, 8, 8], 3, 8, 1, 'same', 1, 1],
    [[2, 9, 7, 3], 3, 4, 2, 'same', 1, 1],
    [[2, 11, 10, 12], 5, 12, 2, 'valid', 0, 0],
    [[2, 8, 8, 9], 1, 4, 2, 'same', 0, 0],
    [[1, 7, 9, 9], 3, 8, 1, [[0, 0], [1, 0], [0, 2], [0, 0]], 1, 0],
    [[4, 16, 16, 16], 3, 32, 2, 'same', 0, 0],
  ];
  for (const [shape, k, cout, s, pad, pt, pl] of cases) {
    const x = tf.randomNormal(shape, 0, 1, 'float32', 21) as tf.Tensor4D;
    const w = tf.zeros([k, k, shape[3], cout]) as tf.Tensor4D;
    const yShape = tf.tidy(() => tf.conv2d(x, w, s, pad as 'same').shape);
    const dy = tf.randomNormal(yShape, 0, 1, 'float32', 22) as tf.Tensor4D;
    let got: tf.Tensor4D | undefined;
    const profile = await tf.profile(() => { got = conv2dFilterGradient(dy, x, w, { strides: s, pad }); return got; });
    assert.deepEqual(profile.kernelNames, [CONV_FILTER_GRAD], 'one SIMD kernel, no Pad/Transpose/Conv2D');
    if (!got) throw new Error('no gradient');
    const ref = filterGradReference(await x.data() as Float32Array, shape, await dy.data() as Float32Array, yShape, k, s, pt, pl);
    const e = maxRelError(await got.data() as Float32Array, Float32Array.from(ref));
    assert.ok(e < 1e-4, `${JSON.stringify([shape, k, cout, s, pad])}: relative error ${e}`);
    tf.dispose([x, w, dy, got]);
  }
});

test('wasm strided input gradient: one stride-1 convolution per phase, interleaved by our kernel, matches a float64 reference', async () => {
  await tf.setBackend('wasm');
  installConv2dGradient();
  assert.ok(tf.getKernel(CONV_INTERLEAVE, 'wasm'), 'the interleave kernel is registered for wasm');
  // [shape, k, Cout, stride, pad, pt, pl, phases with taps]: ResNet's 3×3 and 1×1 (only one phase has
  // taps: the rest is zero), a 5×5 and a 4×4 window (pt = 1), 'valid', explicit padding, stride 3, channel tails
  const cases: [[number, number, number, number], number, number, number, Conv2DAttrs['pad'], number, number, number][] = [
    [[2, 8, 8, 8], 3, 16, 2, 'same', 0, 0, 4],
    [[2, 8, 8, 6], 1, 12, 2, 'same', 0, 0, 1],
    [[2, 12, 12, 4], 5, 3, 2, 'same', 1, 1, 4],
    [[2, 8, 8, 5], 4, 4, 2, 'same', 1, 1, 4],
    [[3, 8, 8, 3], 3, 4, 2, 'valid', 0, 0, 4],
    [[1, 8, 10, 7], 3, 5, 2, [[0, 0], [1, 1], [1, 1], [0, 0]], 1, 1, 4],
    [[2, 9, 9, 4], 3, 8, 3, 'same', 0, 0, 9],
    [[64, 16, 16, 8], 3, 16, 2, 'same', 0, 0, 4],
  ];
  for (const [shape, k, cout, s, pad, pt, pl, nPhases] of cases) {
    const x = tf.zeros(shape) as tf.Tensor4D;
    const w = tf.randomNormal([k, k, shape[3], cout], 0, 1, 'float32', 31) as tf.Tensor4D;
    const yShape = tf.tidy(() => tf.conv2d(x, w, s, pad as 'same').shape);
    const dy = tf.randomNormal(yShape, 0, 1, 'float32', 32) as tf.Tensor4D;
    let got: tf.Tensor4D | undefined;
    const profile = await tf.profile(() => { got = conv2dInputGradient(dy, x, w, { strides: s, pad }); return got; });
    const what = JSON.stringify([shape, k, cout, s, pad]);
    assert.deepEqual(profile.kernels.map((kk) => kk.name).filter((n) => n !== 'Identity').sort(), [...Array(nPhases).fill('Conv2D'), CONV_INTERLEAVE].sort(), `${what}: one conv per phase with taps, then the interleave (no PadV2 of dy)`);
    if (!got) throw new Error('no gradient');
    assert.deepEqual(got.shape, shape);
    const ref = inputGradReference(await dy.data() as Float32Array, yShape, await w.data() as Float32Array, shape, k, s, pt, pl);
    const e = maxRelError(await got.data() as Float32Array, Float32Array.from(ref));
    assert.ok(e < 1e-4, `${what}: relative error ${e}`);
    tf.dispose([x, w, dy, got]);
  }
});
