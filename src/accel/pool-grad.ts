/**
 * An AvgPool gradient for non-overlapping windows (window = stride, the exit heads' grid pooling),
 * for the wasm and cpu backends: dx is dy spread evenly over each window, i.e. dy repeated k×k
 * times and divided by k², written as one broadcasting multiply. wasm's AvgPoolGrad kernel took
 * 23 ms for a [64, 32, 32, 8] input with 8×8 windows; this takes about 4 ms. Other pooling
 * geometries keep tfjs's own gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useOurGradient, useOurKernel } from './tfjs-internals';
import { simdKernelContext, simdKernelReady } from './wasm-simd';

interface PoolAttrs { filterSize: number | [number, number]; strides: number | [number, number]; pad: unknown; dimRoundingMode?: string }

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/** The replacement gradient; `stock` (tfjs's own) handles every other pooling geometry. */
export function avgPoolGradConfig(stock: tf.GradConfig): tf.GradConfig {
  return {
    kernelName: 'AvgPool',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor4D];
      const a = attrs as unknown as PoolAttrs;
      const [kh, kw] = pair(a.filterSize), [sh, sw] = pair(a.strides);
      const [N, H, W, C] = x.shape;
      const tiles = kh === sh && kw === sw && H % kh === 0 && W % kw === 0 && (a.pad === 'valid' || a.pad === 'same') && x.rank === 4;
      if (!tiles) return stock.gradFunc(dy, saved, attrs);
      const d = dy as tf.Tensor4D;
      return {
        x: () => tf.reshape(tf.mul(tf.reshape(d, [N, H / kh, 1, W / kw, 1, C]), tf.fill([1, 1, kh, 1, kw, 1], 1 / (kh * kw))), [N, H, W, C]),
      };
    },
  };
}

const isPow2 = (k: number): boolean => k >= 1 && (k & (k - 1)) === 0;

/**
 * A MaxPool gradient for non-overlapping power-of-two windows (the backbones' 2×2/2 pools), for
 * the wasm and cpu backends: dx = [x = ŷ]·(dy / m)^, where ^ repeats each output over its window
 * (a nearest-neighbour resize, exact for power-of-two factors) and m counts a window's maxima, so
 * a tie shares the gradient instead of copying it. Two reasons: wasm's MaxPoolGrad took 18 ms for a
 * [64, 32, 32, 8] input (this: about 9 ms), and it drops the gradient of every window whose
 * maximum is negative (measured against the cpu backend: 6 of 96 windows of a random input).
 * tfjs's own gradient gives a tie's whole gradient to one element; where the pool follows a ReLU
 * (every backbone here) ties are windows of zeros, whose gradient the ReLU discards either way.
 */
export function maxPoolGradConfig(stock: tf.GradConfig): tf.GradConfig {
  return {
    kernelName: 'MaxPool',
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, y] = saved as [tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as PoolAttrs;
      const [kh, kw] = pair(a.filterSize), [sh, sw] = pair(a.strides);
      const [, H, W, C] = x.shape;
      const tiling = kh === sh && kw === sw && H % kh === 0 && W % kw === 0 && (a.pad === 'valid' || a.pad === 'same') && x.rank === 4;
      if (tiling && C % 4 === 0 && simdKernelReady(MAX_POOL_GRAD)) {
        // one pass over x writing dx (the op version below is ~6 full-size kernels)
        return { x: () => tf.engine().runKernel(MAX_POOL_GRAD, { x, y, dy: dy as tf.Tensor }, { kh, kw }) as tf.Tensor4D };
      }
      if (!tiling || !isPow2(kh) || !isPow2(kw)) return stock.gradFunc(dy, saved, attrs);
      return {
        x: () => {
          const up = (t: tf.Tensor4D) => tf.image.resizeNearestNeighbor(t, [H, W]);
          const isMax = tf.cast(tf.equal(x, up(y)), 'float32') as tf.Tensor4D;
          const maxima = tf.mul(tf.avgPool(isMax, [kh, kw], [kh, kw], 'valid'), kh * kw);
          return tf.mul(isMax, up(tf.div(dy as tf.Tensor4D, maxima)));
        },
      };
    },
  };
}

export const MAX_POOL_GRAD = 'EarlyExitMaxPoolGrad';

/** simd.wat `maxPoolGrad` as a wasm kernel: inputs x, y (the pool's output), dy; attrs kh, kw. */
const maxPoolGradKernel: tf.KernelConfig = {
  kernelName: MAX_POOL_GRAD,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, y, dy } = inputs as { x: tf.TensorInfo; y: tf.TensorInfo; dy: tf.TensorInfo };
    const { kh, kw } = attrs as unknown as { kh: number; kw: number };
    const { b, simd, off } = simdKernelContext(backend, MAX_POOL_GRAD);
    const [B, oH, oW, C] = y.shape;
    const out = b.makeOutput(x.shape, 'float32');
    const inImage = 4 * x.shape[1] * x.shape[2] * C, outImage = 4 * oH * oW * C; // bytes per image
    const parts = simd.partsFor(B * x.shape[1] * x.shape[2] * C);
    simd.run('maxPoolGrad', B, parts, (lo, hi) =>
      [off(x) + lo * inImage, off(y) + lo * outImage, off(dy) + lo * outImage, off(out) + lo * inImage, hi - lo, oH, oW, C, kh, kw]);
    return out;
  },
};

let stock: { avg: tf.GradConfig; max: tf.GradConfig } | null = null;

/** The replacement AvgPool and MaxPool gradients (`on`) or tfjs's own, on wasm and cpu; `simd`: the max-pool kernel on wasm. */
export function installPoolGradients(on = true, simd = on): void {
  stock ??= { avg: tf.getGradient('AvgPool'), max: tf.getGradient('MaxPool') };
  useOurKernel(maxPoolGradKernel, simd);
  useOurGradient(avgPoolGradConfig(stock.avg), on);
  useOurGradient(maxPoolGradConfig(stock.max), on);
}
