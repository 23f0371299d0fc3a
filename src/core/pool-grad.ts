/**
 * An AvgPool gradient for non-overlapping windows (window = stride, the exit heads' grid pooling),
 * for the wasm and cpu backends: dx is dy spread evenly over each window, i.e. dy repeated k×k
 * times and divided by k², written as one broadcasting multiply. wasm's AvgPoolGrad kernel took
 * 23 ms for a [64, 32, 32, 8] input with 8×8 windows; this takes about 4 ms. Other pooling
 * geometries keep tfjs's own gradient.
 */
import * as tf from '@tensorflow/tfjs';

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

let installed = false;

/** Registers the replacement as the AvgPool gradient for the whole process (idempotent). */
export function installAvgPoolGradient(): void {
  if (installed) return;
  tf.registerGradient(avgPoolGradConfig(tf.getGradient('AvgPool')));
  installed = true;
}
