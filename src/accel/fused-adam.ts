/**
 * Adam with one kernel per variable on wasm: tfjs's AdamOptimizer runs ~14 small kernels per
 * variable (1 040 per ResNet-18 step, 10–17 ms, mostly dispatch). `EarlyExitAdamUpdate`
 * (simd.wat `adam`) does the same f32 arithmetic in one pass, so the result is bit for bit tfjs's.
 * Elsewhere (cpu, native backends, no SIMD) it is tfjs's AdamOptimizer unchanged. The moments,
 * iterations and getWeights/setWeights (checkpoints, resume) are tfjs's own.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adamState, useOurKernel } from './tfjs-internals';
import { simdKernelContext, simdKernelReady } from './wasm-simd';

export const ADAM_UPDATE = 'EarlyExitAdamUpdate';

const adamKernel: tf.KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { w, m, v, g } = inputs as { w: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo; g: tf.TensorInfo };
    const { b, simd, off } = simdKernelContext(backend, ADAM_UPDATE);
    const n = w.shape.reduce((a, d) => a * d, 1);
    const out = [b.makeOutput(w.shape, 'float32'), b.makeOutput(w.shape, 'float32'), b.makeOutput(w.shape, 'float32')];
    const k = simd.scratch(32); // after the outputs: allocating can grow (and detach) the heap
    simd.f32(k, 8).set((attrs as unknown as { k: number[] }).k);
    simd.run('adam', n, simd.partsFor(n), (lo, hi) => [off(w), off(m), off(v), off(g), off(out[0]), off(out[1]), off(out[2]), lo, hi, k]);
    return out;
  },
};

/** tf.train.adam with the one-kernel update where `EarlyExitAdamUpdate` runs. */
export class EarlyExitAdam extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
  }

  /** The step size from the next update on (the learning-rate schedule); tfjs's Adam has no setter. */
  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void {
    if (!simdKernelReady(ADAM_UPDATE)) {
      super.applyGradients(variableGradients as Parameters<tf.AdamOptimizer['applyGradients']>[0]);
      return;
    }
    const s = adamState(this);
    // tfjs keeps β^t as f32 variables; the same f32 values, read once per step
    const accBeta1 = s.accBeta1.dataSync()[0], accBeta2 = s.accBeta2.dataSync()[0];
    const f = Math.fround;
    const k = [s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, 1 - accBeta1, 1 - accBeta2, s.epsilon, -s.learningRate].map(f);
    const registered = tf.engine().registeredVariables;
    // a map, or (minimize with a variable list) an array of { name, tensor }
    const entries = Array.isArray(variableGradients)
      ? variableGradients.map((e) => [e.name, e.tensor] as const)
      : Object.entries(variableGradients);
    tf.tidy(() => {
      entries.forEach(([name, gradient], i) => {
        const value = registered[name];
        s.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        s.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        if (gradient == null) return;
        const m = s.accumulatedFirstMoment[i].variable, v = s.accumulatedSecondMoment[i].variable;
        const [w2, m2, v2] = tf.engine().runKernel(ADAM_UPDATE, { w: value, m, v, g: gradient }, { k } as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(m2);
        v.assign(v2);
        value.assign(w2);
      });
      s.accBeta1.assign(tf.scalar(f(accBeta1 * f(s.beta1))));
      s.accBeta2.assign(tf.scalar(f(accBeta2 * f(s.beta2))));
    });
    this.incrementIterations();
  }
}

/** Registers (`on`) or removes `EarlyExitAdamUpdate` on wasm; EarlyExitAdam runs tfjs's update without it. */
export function installFusedAdam(on = true): void {
  useOurKernel(adamKernel, on);
}
