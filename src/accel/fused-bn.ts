/**
 * Training-mode batch norm, optionally followed by a residual add and a ReLU, as one kernel each
 * way, for the wasm and cpu backends:
 *
 *   y = relu?( γ·(x − μ)/√(σ² + ε) + β  (+ z) )       μ, σ²: the batch mean and (biased) variance
 *                                                     over every axis but the last (channels)
 *
 * Two passes forward (channel sums and sums of squares, then the output) and two backward (Σg and
 * Σg·(x − μ), then dx), run directly on the backend's own memory: on wasm by simd.wat's SIMD passes
 * (split between threads, see wasm-simd.ts; channel counts that are not a multiple of 4 use the
 * JavaScript loops below on views of the heap), on cpu by the JavaScript loops on its typed arrays.
 * Sums are accumulated in float64 (wasm: float32 over 128 rows, then float64). The same layer written
 * with tfjs ops takes ~12 full-size kernels forward and backward plus the ReLU and the add and their
 * gradients, each a pass over the activation, on one wasm thread (batch norm was ~25 % of a
 * ResNet-18 ×1/8 training step, see BENCHMARKS.md). Backward, with g = dy masked by y > 0 (ReLU)
 * and M the number of rows:
 *
 *   dx = γ·inv·(g − Σg/M − (x − μ)·inv²·Σg(x − μ)/M),  dγ = inv·Σg(x − μ),  dβ = Σg,  dz = g
 *
 * Other backends (webgl, tfjs-node) get the same function written with tfjs ops
 * (`batchNormTraining`, then add and relu).
 */
import * as tf from '@tensorflow/tfjs-core';
import { util } from '@tensorflow/tfjs-core';
import { batchNormTraining } from './batchnorm-grad';
import { cpuBackend, useOurKernel, wasmBackend, type CpuBackendLike, type WasmBackendLike } from './tfjs-internals';
import { wasmSimd, type WasmSimd } from './wasm-simd';

export const BN_TRAIN = 'EarlyExitBatchNormTrain';
export const BN_TRAIN_GRAD = 'EarlyExitBatchNormTrainGrad';

interface BnAttrs { eps: number; relu: boolean }

/** Forward pass over x viewed as [M, C]. Writes y, and μ and σ² per channel. */
export function bnTrainForward(
  x: Float32Array, z: Float32Array | null, C: number, gamma: Float32Array, beta: Float32Array, eps: number, relu: boolean,
  y: Float32Array, mean: Float32Array, variance: Float32Array,
): void {
  const n = x.length, M = n / C;
  const s = new Float64Array(C), q = new Float64Array(C);
  for (let i = 0; i < n;) {
    for (let c = 0; c < C; c++, i++) { const v = x[i]; s[c] += v; q[c] += v * v; }
  }
  const a = new Float64Array(C), b = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const mu = s[c] / M, v = Math.max(q[c] / M - mu * mu, 0);
    mean[c] = mu; variance[c] = v;
    a[c] = gamma[c] / Math.sqrt(v + eps);
    b[c] = beta[c] - mu * a[c];
  }
  if (z) {
    if (relu) for (let i = 0; i < n;) for (let c = 0; c < C; c++, i++) { const v = x[i] * a[c] + b[c] + z[i]; y[i] = v > 0 ? v : 0; }
    else for (let i = 0; i < n;) for (let c = 0; c < C; c++, i++) y[i] = x[i] * a[c] + b[c] + z[i];
  } else if (relu) {
    for (let i = 0; i < n;) for (let c = 0; c < C; c++, i++) { const v = x[i] * a[c] + b[c]; y[i] = v > 0 ? v : 0; }
  } else {
    for (let i = 0; i < n;) for (let c = 0; c < C; c++, i++) y[i] = x[i] * a[c] + b[c];
  }
}

/**
 * Backward pass: dx (and dz = g when `dz` is given) over [M, C], dγ and dβ per channel. `y` is the
 * forward output, read only for the ReLU mask (null without ReLU).
 */
export function bnTrainBackward(
  dy: Float32Array, x: Float32Array, y: Float32Array | null, C: number, mean: Float32Array, variance: Float32Array,
  gamma: Float32Array, eps: number, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, dz: Float32Array | null,
): void {
  const n = x.length, M = n / C;
  const sg = new Float64Array(C), sgx = new Float64Array(C);
  if (y) {
    for (let i = 0; i < n;) {
      for (let c = 0; c < C; c++, i++) {
        const g = y[i] > 0 ? dy[i] : 0;
        sg[c] += g; sgx[c] += g * x[i];
      }
    }
    if (dz) for (let i = 0; i < n; i++) dz[i] = y[i] > 0 ? dy[i] : 0;
  } else {
    for (let i = 0; i < n;) for (let c = 0; c < C; c++, i++) { const g = dy[i]; sg[c] += g; sgx[c] += g * x[i]; }
    if (dz) dz.set(dy);
  }
  // dx = k1·g + k2·x + k3 per channel
  const k1 = new Float64Array(C), k2 = new Float64Array(C), k3 = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const mu = mean[c], inv = 1 / Math.sqrt(variance[c] + eps);
    const sgxm = sgx[c] - mu * sg[c]; // Σg(x − μ)
    dgamma[c] = sgxm * inv; dbeta[c] = sg[c];
    const a = gamma[c] * inv;
    k1[c] = a;
    k2[c] = -a * inv * inv * sgxm / M;
    k3[c] = -a * sg[c] / M - k2[c] * mu;
  }
  if (y) {
    for (let i = 0; i < n;) for (let c = 0; c < C; c++, i++) { const g = y[i] > 0 ? dy[i] : 0; dx[i] = k1[c] * g + k2[c] * x[i] + k3[c]; }
  } else {
    for (let i = 0; i < n;) for (let c = 0; c < C; c++, i++) dx[i] = k1[c] * dy[i] + k2[c] * x[i] + k3[c];
  }
}

// ---- kernels ---------------------------------------------------------------------------------


/**
 * Pieces to split an [M, C] pass into; each piece's reduction area ([acc32: f32 2C][acc64: f64 2C]);
 * and three f32 [C] parameter vectors p, which follow piece 0's area in this thread's scratch.
 */
function pieces(simd: WasmSimd, M: number, C: number): { parts: number; acc: number[]; p: [number, number, number] } {
  const parts = Math.max(1, Math.min(simd.partsFor(M * C), M));
  const acc = Array.from({ length: parts }, (_, i) => simd.partArea(i, i === 0 ? 36 * C : 24 * C));
  const s = acc[0];
  return { parts, acc, p: [s + 24 * C, s + 28 * C, s + 32 * C] };
}

/** Σ over the pieces of their f64 [2C] accumulators. */
function sumAcc(simd: WasmSimd, acc: number[], C: number): Float64Array {
  const total = new Float64Array(2 * C);
  for (const base of acc) {
    const a = simd.f64(base + 8 * C, 2 * C);
    for (let k = 0; k < 2 * C; k++) total[k] += a[k];
  }
  return total;
}

function forwardWasm(b: WasmBackendLike, x: tf.TensorInfo, z: tf.TensorInfo | undefined, gamma: tf.TensorInfo, beta: tf.TensorInfo, eps: number, relu: boolean): tf.TensorInfo[] {
  const C = x.shape[x.shape.length - 1];
  const infos = [b.makeOutput(x.shape, 'float32'), b.makeOutput([C], 'float32'), b.makeOutput([C], 'float32')];
  const simd = C % 4 === 0 ? wasmSimd(b) : null;
  if (!simd) {
    const v = (t: tf.TensorInfo) => b.typedArrayFromHeap(t);
    bnTrainForward(v(x), z ? v(z) : null, C, v(gamma), v(beta), eps, relu, v(infos[0]), v(infos[1]), v(infos[2]));
    return infos;
  }
  const off = (t: tf.TensorInfo) => b.getMemoryOffset(t.dataId);
  const M = sizeOf(x.shape) / C, rb = 4 * C;
  const { parts, acc, p } = pieces(simd, M, C); // every allocation before the views below
  const shift = simd.f32(p[0], C);
  shift.set(b.typedArrayFromHeap(x).subarray(0, C)); // Σ(x − x₀) and Σ(x − x₀)²: no cancellation when |μ| ≫ σ
  simd.run('moments', M, parts, (lo, hi, i) => [off(x) + lo * rb, hi - lo, C, p[0], acc[i], acc[i] + 8 * C]);
  const sums = sumAcc(simd, acc, C), g = b.typedArrayFromHeap(gamma), be = b.typedArrayFromHeap(beta);
  const mean = b.typedArrayFromHeap(infos[1]), variance = b.typedArrayFromHeap(infos[2]);
  const a = simd.f32(p[1], C), bias = simd.f32(p[2], C);
  for (let c = 0; c < C; c++) {
    const d = sums[c] / M, mu = shift[c] + d, v = Math.max(sums[C + c] / M - d * d, 0);
    mean[c] = mu; variance[c] = v;
    a[c] = g[c] / Math.sqrt(v + eps);
    bias[c] = be[c] - mu * a[c];
  }
  simd.run('affine', M, parts, (lo, hi) => [off(x) + lo * rb, z ? off(z) + lo * rb : 0, off(infos[0]) + lo * rb, hi - lo, C, p[1], p[2], relu ? 1 : 0]);
  return infos;
}

function backwardWasm(
  b: WasmBackendLike, t: Record<string, tf.TensorInfo>, eps: number, relu: boolean, residual: boolean,
): tf.TensorInfo[] {
  const { dy, x, y, mean, variance, gamma } = t;
  const C = x.shape[x.shape.length - 1];
  const infos = [b.makeOutput(x.shape, 'float32'), b.makeOutput([C], 'float32'), b.makeOutput([C], 'float32')];
  if (residual) infos.push(b.makeOutput(x.shape, 'float32'));
  const simd = C % 4 === 0 ? wasmSimd(b) : null;
  if (!simd) {
    const v = (ti: tf.TensorInfo) => b.typedArrayFromHeap(ti);
    bnTrainBackward(v(dy), v(x), relu ? v(y) : null, C, v(mean), v(variance), v(gamma), eps, v(infos[0]), v(infos[1]), v(infos[2]), residual ? v(infos[3]) : null);
    return infos;
  }
  const off = (ti: tf.TensorInfo) => b.getMemoryOffset(ti.dataId);
  const M = sizeOf(x.shape) / C, rb = 4 * C;
  const { parts, acc, p } = pieces(simd, M, C);
  const at = (ti: tf.TensorInfo | undefined, lo: number, use = true) => (ti && use ? off(ti) + lo * rb : 0);
  simd.run('gradSums', M, parts, (lo, hi, i) =>
    [at(dy, lo), at(x, lo), at(y, lo, relu), at(infos[3], lo, residual), hi - lo, C, off(mean), acc[i], acc[i] + 8 * C]);
  const sums = sumAcc(simd, acc, C);
  const mu = b.typedArrayFromHeap(mean), va = b.typedArrayFromHeap(variance), g = b.typedArrayFromHeap(gamma);
  const dgamma = b.typedArrayFromHeap(infos[1]), dbeta = b.typedArrayFromHeap(infos[2]);
  const k1 = simd.f32(p[0], C), k2 = simd.f32(p[1], C), k3 = simd.f32(p[2], C);
  for (let c = 0; c < C; c++) {
    const inv = 1 / Math.sqrt(va[c] + eps), sg = sums[c], sgxm = sums[C + c];
    dgamma[c] = sgxm * inv; dbeta[c] = sg;
    const a = g[c] * inv, c2 = -a * inv * inv * sgxm / M;
    k1[c] = a; k2[c] = c2; k3[c] = -a * sg / M - c2 * mu[c];
  }
  simd.run('gradApply', M, parts, (lo, hi) => [at(dy, lo), at(x, lo), at(y, lo, relu), at(infos[0], lo), hi - lo, C, p[0], p[1], p[2]]);
  return infos;
}

const sizeOf = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

function cpuOutputs(b: CpuBackendLike, shapes: number[][]): { infos: tf.TensorInfo[]; views: Float32Array[] } {
  const views = shapes.map((s) => new Float32Array(sizeOf(s)));
  return { infos: shapes.map((s, i) => b.makeTensorInfo(s, 'float32', views[i])), views };
}

function checkFloat(ts: (tf.TensorInfo | undefined)[], kernel: string): void {
  for (const t of ts) if (t && t.dtype !== 'float32') throw new Error(`${kernel}: float32 inputs only, got ${t.dtype}`);
}

function forwardKernel(backendName: 'wasm' | 'cpu'): tf.KernelConfig {
  return {
    kernelName: BN_TRAIN,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, gamma, beta, z } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo; z?: tf.TensorInfo };
      const { eps, relu } = attrs as unknown as BnAttrs;
      checkFloat([x, gamma, beta, z], BN_TRAIN);
      if (backendName === 'wasm') return forwardWasm(wasmBackend(backend), x, z, gamma, beta, eps, relu);
      const b = cpuBackend(backend), v = (t: tf.TensorInfo) => b.readSync(t.dataId);
      const C = x.shape[x.shape.length - 1];
      const { infos, views: [y, mean, variance] } = cpuOutputs(b, [x.shape, [C], [C]]);
      bnTrainForward(v(x), z ? v(z) : null, C, v(gamma), v(beta), eps, relu, y, mean, variance);
      return infos;
    },
  };
}

function backwardKernel(backendName: 'wasm' | 'cpu'): tf.KernelConfig {
  return {
    kernelName: BN_TRAIN_GRAD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const t = inputs as Record<string, tf.TensorInfo>;
      const { eps, relu, residual } = attrs as unknown as BnAttrs & { residual: boolean };
      if (backendName === 'wasm') return backwardWasm(wasmBackend(backend), t, eps, relu, residual);
      const b = cpuBackend(backend), v = (ti: tf.TensorInfo) => b.readSync(ti.dataId);
      const C = t.x.shape[t.x.shape.length - 1];
      const { infos, views: [dx, dgamma, dbeta, dz] } = cpuOutputs(b, residual ? [t.x.shape, [C], [C], t.x.shape] : [t.x.shape, [C], [C]]);
      bnTrainBackward(v(t.dy), v(t.x), relu ? v(t.y) : null, C, v(t.mean), v(t.variance), v(t.gamma), eps, dx, dgamma, dbeta, residual ? dz : null);
      return infos;
    },
  };
}

const gradConfig: tf.GradConfig = {
  kernelName: BN_TRAIN,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [true, true, true],
  // dy: the gradients of [y, μ, σ²]; μ and σ² only feed the moving averages, outside the loss
  gradFunc: (dys, saved, attrs) => {
    const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
    const [x, gamma, y, mean, variance] = saved;
    const { eps, relu, residual } = attrs as unknown as BnAttrs & { residual: boolean };
    const outs = tf.engine().runKernel(BN_TRAIN_GRAD, { dy, x, y, mean, variance, gamma }, { eps, relu, residual } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    const grads: Record<string, () => tf.Tensor> = { x: () => outs[0], gamma: () => outs[1], beta: () => outs[2] };
    if (residual) grads.z = () => outs[3];
    return grads;
  },
};

let gradientRegistered = false;

/** Registers (`on`) or removes the one-kernel batch norm on wasm and cpu (tfjs ops run without it). */
export function installFusedBatchNorm(on = true): void {
  for (const b of ['wasm', 'cpu'] as const) {
    useOurKernel(forwardKernel(b), on);
    useOurKernel(backwardKernel(b), on);
  }
  // the gradient of our own kernel name: nothing of tfjs's to replace or restore
  if (on && !gradientRegistered) { tf.registerGradient(gradConfig); gradientRegistered = true; }
}

/** True when the current backend runs the one-kernel version. */
export function fusedBatchNormAvailable(): boolean {
  return tf.getKernel(BN_TRAIN, tf.getBackend()) !== undefined;
}

export interface BnOptions {
  relu?: boolean;
  /** Added after the batch norm, before the ReLU (a residual block's shortcut). */
  residual?: tf.Tensor4D;
  /** Receives μ and σ² ([C], kept: the caller disposes them) for the moving averages. */
  onMoments?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void;
}

/** relu?(batchNorm(x) + residual) in training mode: one kernel where available, tfjs ops otherwise. */
export function batchNormActivation(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, opts: BnOptions = {}): tf.Tensor4D {
  const relu = opts.relu ?? false;
  if (!fusedBatchNormAvailable()) {
    return tf.tidy(() => {
      let y = batchNormTraining(x, gamma, beta, eps, opts.onMoments);
      if (opts.residual) y = tf.add(y, opts.residual);
      return relu ? tf.relu(y) : y;
    });
  }
  if (opts.residual && !util.arraysEqual(opts.residual.shape, x.shape)) {
    throw new Error(`batchNormActivation: residual shape [${opts.residual.shape}] differs from the input's [${x.shape}]`);
  }
  const inputs: tf.NamedTensorMap = { x, gamma, beta };
  if (opts.residual) inputs.z = opts.residual;
  const [y, mean, variance] = tf.engine().runKernel(BN_TRAIN, inputs, { eps, relu, residual: !!opts.residual } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  if (opts.onMoments) opts.onMoments(tf.keep(mean) as tf.Tensor1D, tf.keep(variance) as tf.Tensor1D);
  else tf.dispose([mean, variance]);
  return y as tf.Tensor4D;
}
