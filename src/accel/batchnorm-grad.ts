/**
 * A FusedBatchNorm gradient without `tile`, for the wasm and cpu backends.
 *
 * tfjs's stock gradient broadcasts 1/√(var+ε) to the full [N, H, W, C] shape with `tile` before
 * multiplying; wasm's Tile kernel is slow (≈ 1/3 of a whole ResNet-18 ×1/8 training step went into
 * 20 Tile calls, bench/train-step.ts profile). Here every per-channel factor stays a [C] vector that
 * the element-wise kernels broadcast, and the two per-channel sums are computed once and shared:
 *
 *   x̂-free form, with inv = 1/√(var+ε), xm = x − mean, Σ over every axis but the channels:
 *   dx = dy·(scale·inv)            dmean = −Σdy·scale·inv
 *   dvar = −½·Σ(dy·xm)·scale·inv³   dscale = Σ(dy·xm)·inv      doffset = Σdy
 *
 * Same values as the stock gradient (checked in test/unit/batchnorm-grad.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { useOurGradient } from './tfjs-internals';

/** Axes to sum a [.., C]-broadcast per-channel parameter over. */
function reductionAxes(param: tf.Tensor, x: tf.Tensor): number[] {
  const axes: number[] = [];
  const offset = x.rank - param.rank;
  for (let i = 0; i < x.rank; i++) {
    const p = i - offset;
    if (p < 0 || (param.shape[p] === 1 && x.shape[i] !== 1)) axes.push(i);
  }
  return axes;
}

export const batchNormGradConfig: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved as tf.Tensor[];
    const d = dy as tf.Tensor;
    const axes = reductionAxes(mean, x);
    const reduce = (t: tf.Tensor) => (axes.length ? tf.reshape(tf.sum(t, axes), mean.shape) : t);
    const inv = tf.rsqrt(tf.add(variance, varianceEpsilon));
    const scaleInv = scale == null ? inv : tf.mul(scale, inv);
    // the two per-channel sums every parameter gradient shares (computed here, outside the
    // per-input thunks: the engine runs each thunk in a scope of its own)
    const sumDy = reduce(d);
    const sumDyXm = reduce(tf.mul(d, tf.sub(x, mean)));
    return {
      x: () => tf.mul(d, scaleInv),
      mean: () => tf.neg(tf.mul(sumDy, scaleInv)),
      variance: () => tf.mul(tf.mul(sumDyXm, scaleInv), tf.mul(tf.square(inv), -0.5)),
      scale: () => tf.mul(sumDyXm, inv),
      offset: () => tf.clone(sumDy),
    };
  },
};

/** The replacement FusedBatchNorm gradient (`on`) or tfjs's own, on wasm and cpu. */
export function installBatchNormGradient(on = true): void {
  useOurGradient(batchNormGradConfig, on);
}

/**
 * Training-mode batch norm over every axis but the channels, with its closed-form gradient:
 * y = γ·(x − μ)/√(σ² + ε) + β with the batch mean μ and (biased) variance σ².
 *
 * The per-channel sums are an average pool over the whole H×W plane (XNNPACK, NHWC-native) and a
 * sum over the batch of the small [N, C] result, instead of Mean/Sum reductions over the leading
 * axes (wasm transposes for those) or products with a row of ones (XNNPACK repacks the activation
 * as a weight matrix on every call: 4 ms per [65536, 8] operand), and the backward pass is the
 * textbook one:
 *   dx = γ·inv·(dy − Σdy/M − x̂·Σ(dy·x̂)/M),  dγ = Σ(dy·x̂),  dβ = Σdy,  inv = 1/√(σ² + ε)
 * instead of differentiating through `tf.moments` and FusedBatchNorm (about 15 full-size kernels
 * per layer, 5 here). `onMoments` receives μ and σ² ([C], kept: the caller disposes them) for the
 * moving averages.
 */
export function batchNormTraining(
  x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, onMoments?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): tf.Tensor4D {
  const [N, H, W, C] = x.shape;
  const M = N * H * W;
  /** Σ over N, H, W of a [M, C] (viewed as [N, H, W, C]) tensor → [1, C]. */
  const channelSum = (t: tf.Tensor): tf.Tensor2D => {
    const pooled = H * W > 1 ? tf.avgPool(tf.reshape(t, [N, H, W, C]) as tf.Tensor4D, [H, W], [H, W], 'valid') : t;
    return tf.reshape(tf.mul(tf.sum(tf.reshape(pooled, [N, C]), 0), H * W), [1, C]) as tf.Tensor2D;
  };
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const x2 = tf.reshape(xIn, [M, C]) as tf.Tensor2D;
    const mean = tf.div(channelSum(x2), M) as tf.Tensor2D; // [1, C]
    const xm = tf.sub(x2, mean) as tf.Tensor2D;
    const variance = tf.div(channelSum(tf.square(xm)), M) as tf.Tensor2D;
    const inv = tf.rsqrt(tf.add(variance, eps));
    const y = tf.add(tf.mul(xm, tf.mul(inv, g)), b);
    if (onMoments) onMoments(tf.keep(tf.reshape(mean, [C])) as tf.Tensor1D, tf.keep(tf.reshape(variance, [C])) as tf.Tensor1D);
    save([xm, inv, g]);
    return {
      value: tf.reshape(y, xIn.shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xmS, invS, gS] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor];
        const dy2 = tf.reshape(dy, [M, C]) as tf.Tensor2D;
        const sumDy = channelSum(dy2); // [1, C]
        const sumDyXm = channelSum(tf.mul(dy2, xmS)); // [1, C]
        const a = tf.mul(gS, invS); // γ·inv
        // dx = a·dy − a·Σdy/M − xm·(a·inv²·Σ(dy·xm)/M)
        const c = tf.mul(a, tf.mul(tf.square(invS), tf.div(sumDyXm, M)));
        const dx = tf.sub(tf.sub(tf.mul(dy2, a), tf.mul(xmS, c)), tf.mul(a, tf.div(sumDy, M)));
        return [tf.reshape(dx, xIn.shape), tf.reshape(tf.mul(sumDyXm, invS), [C]), tf.reshape(sumDy, [C])];
      },
    };
  });
  return f(x, gamma, beta) as tf.Tensor4D;
}
