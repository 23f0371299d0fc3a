/**
 * Training throughput and a per-kernel profile of one training step, on one backend, in a child
 * process of its own (a fresh tfjs per measurement). Prints one JSON object.
 *
 *   node --import tsx bench/train-step.ts throughput --backbone resnet18 --width 0.125 --backend wasm [--batch 64 --steps 10 --warmup 2]
 *   node --import tsx bench/train-step.ts profile    --backbone resnet18 --width 0.125 --backend wasm [--batch 64]
 *
 * Throughput runs the product's own step loop (lib/throughput.ts), timing every step after the warm-up.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm'; // registers its kernels now, so that STOCK_IDENTITY below is wasm's own
import { selectBackend, type BackendPreference } from '../src/accel/backend';
import { CONV_FILTER_GRAD, CONV_INTERLEAVE } from '../src/accel/conv2d-grad';
import { ADAM_UPDATE } from '../src/accel/fused-adam';
import { BN_TRAIN } from '../src/accel/fused-bn';
import { MAX_POOL_GRAD } from '../src/accel/pool-grad';
import { wasmSimd } from '../src/accel/wasm-simd';
import { wasmBackend } from '../src/accel/tfjs-internals';
import { channelStats, mulberry32, toFloatBatch } from '../src/data';
import { methodLoss } from '../src/engine/tfjs/loss';
import { MultiExitNetwork } from '../src/engine/tfjs/network';
import { createOptimizer } from '../src/engine/tfjs/optimizer';
import { benchNetworkConfig } from './lib/netspec';
import { METHOD, randomSplit, throughput, trainingConfig } from './lib/throughput';

export { METHOD, trainingConfig };

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** One step under tf.profile: kernel time by kernel name, and what is not kernel time. */
async function profile(net: MultiExitNetwork, batch: number): Promise<Record<string, unknown>> {
  const split = randomSplit(batch * 2, 9);
  const { mean, std } = channelStats(split, [32, 32, 3]);
  const optimizer = createOptimizer(trainingConfig(batch));
  const vars = net.trainableVariables();
  const K = 10;
  const idx = Int32Array.from({ length: batch }, (_, i) => i);
  const step = async () => {
    const t0 = performance.now();
    const f = toFloatBatch(split, [32, 32, 3], idx, { mean, std, augment: true, rng: mulberry32(1) });
    const t1 = performance.now();
    const x = tf.tensor4d(f, [batch, 32, 32, 3]);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from(idx, (i) => split.labels[i]), 'int32'), K).toFloat() as tf.Tensor2D);
    const bn: Parameters<MultiExitNetwork['forward']>[2] = [];
    const loss = optimizer.minimize(() => methodLoss(net, METHOD, x, y, 5e-4, bn).loss, true, vars) as tf.Scalar;
    net.applyBatchNormUpdates(bn);
    await loss.data();
    tf.dispose([x, y, loss]);
    return { dataMs: t1 - t0, totalMs: performance.now() - t0 };
  };
  await step(); await step(); // warm-up: kernels compiled, optimiser slots created
  const plain: number[] = [];
  for (let i = 0; i < 3; i++) plain.push((await step()).totalMs);
  let timing = { dataMs: 0, totalMs: 0 };
  const numTensorsBefore = tf.memory().numTensors;
  const info = await tf.profile(async () => { timing = await step(); });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let kernelMs = 0;
  for (const k of info.kernels) {
    const t = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    kernelMs += t;
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += t; e.calls++;
    byKernel.set(k.name, e);
  }
  const top = info.kernels
    .map((k) => ({ name: k.name, ms: typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0, inputs: k.inputShapes, outputs: k.outputShapes }))
    .sort((a, b) => b.ms - a.ms).slice(0, Number(process.env.BENCH_TOP ?? 40));
  const kernels = [...byKernel.entries()].map(([name, e]) => ({ name, ms: e.ms, calls: e.calls })).sort((a, b) => b.ms - a.ms);
  return {
    batch,
    stepMs: plain.reduce((a, b) => a + b, 0) / plain.length,
    profiledStepMs: timing.totalMs,
    dataMs: timing.dataMs,
    kernelMs,
    kernelCalls: info.kernels.length,
    newTensors: info.newTensors,
    leakedTensors: tf.memory().numTensors - numTensorsBefore,
    kernels,
    topCalls: top,
  };
}

// tfjs's own gradients and kernels, captured before selectBackend installs our replacements, so
// that `--stock a,b,...` can measure the "before" of an optimisation in the same harness:
//   FusedBatchNorm, AvgPool, MaxPool   tfjs's own gradient of that kernel
//   bn-moments         training batch norm as tf.moments + tf.batchNorm (then add, relu)
//   fused-bn           batchNormTraining + add + relu as tfjs ops instead of the one-kernel version
//   conv-filter-grad   the filter gradient as pad/transpose + XNNPACK conv instead of the SIMD kernel
//   max-pool-grad      the 2×2 max-pool gradient as mask/resize ops instead of the SIMD kernel
//   identity           wasm's copying Identity instead of the zero-copy one
//   simd-helpers       our SIMD kernels on the calling thread only (no helper threads)
//   conv-input-grad    strided input gradients as one convolution of a zero-interleaved dy (not one per phase)
//   adam               tfjs's Adam update (~14 kernels per variable) instead of the one-kernel one
const STOCK_GRADIENTS = new Map(['FusedBatchNorm', 'AvgPool', 'MaxPool'].map((k) => [k, tf.getGradient(k)]));
const STOCK_IDENTITY = tf.getKernel('Identity', 'wasm'); // the copying one

/**
 * `--stock bn-moments`: training-mode batch norm as it was before batchNormTraining
 * (tf.moments + tf.batchNorm, differentiated op by op), for the before/after figures.
 */
function restoreMomentsBatchNorm(): void {
  type Ctx = { training: boolean; bnUpdates?: { name: string; mean: tf.Tensor; variance: tf.Tensor }[] };
  type BatchNorm = (x: tf.Tensor4D, name: string, ctx: Ctx, relu?: boolean, residual?: tf.Tensor4D) => tf.Tensor4D;
  const proto = MultiExitNetwork.prototype as unknown as { batchNorm: BatchNorm };
  const current = proto.batchNorm;
  proto.batchNorm = function (this: MultiExitNetwork, x, name, ctx, relu = false, residual) {
    if (!ctx.training) return current.call(this, x, name, ctx, relu, residual);
    const gamma = this.vars.get(`${name}/gamma`)!, beta = this.vars.get(`${name}/beta`)!;
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    ctx.bnUpdates?.push({ name, mean: tf.keep(mean), variance: tf.keep(variance) });
    let y = tf.batchNorm(x, mean, variance, beta, gamma, 1e-5) as tf.Tensor4D;
    if (residual) y = tf.add(y, residual);
    return relu ? tf.relu(y) : y;
  };
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  const backbone = arg('backbone', 'resnet18') as 'resnet18';
  const width = Number(arg('width', '0.125'));
  const backend = arg('backend', 'wasm') as BackendPreference;
  const batch = Number(arg('batch', '64'));
  const choice = await selectBackend(backend);
  const stock = arg('stock', '').split(',').filter(Boolean);
  for (const k of stock) {
    if (k === 'bn-moments') restoreMomentsBatchNorm();
    else if (k === 'fused-bn') tf.unregisterKernel(BN_TRAIN, choice.tfBackend); // batchNormTraining + add + relu as tfjs ops
    else if (k === 'conv-filter-grad') tf.unregisterKernel(CONV_FILTER_GRAD, choice.tfBackend); // transposes + XNNPACK conv
    else if (k === 'max-pool-grad') tf.unregisterKernel(MAX_POOL_GRAD, choice.tfBackend); // mask/resize ops instead of the SIMD kernel
    else if (k === 'conv-input-grad') tf.unregisterKernel(CONV_INTERLEAVE, choice.tfBackend); // zero-interleaved dy path
    else if (k === 'adam') tf.unregisterKernel(ADAM_UPDATE, choice.tfBackend); // EarlyExitAdam falls back to tfjs's update
    else if (k === 'simd-helpers') wasmSimd(wasmBackend(tf.backend()))?.stopHelpers(); // our kernels on one thread
    else if (k === 'identity') {
      if (choice.tfBackend === 'wasm' && STOCK_IDENTITY) { tf.unregisterKernel('Identity', 'wasm'); tf.registerKernel(STOCK_IDENTITY); }
    }
    else tf.registerGradient(STOCK_GRADIENTS.get(k)!);
  }
  const net = new MultiExitNetwork(benchNetworkConfig(backbone, width));
  const base = { backbone, width, stock, backend: choice.kind, backendDescription: choice.description, tfjs: tf.version.tfjs, parameters: net.parameterCount(), macs: net.costs };
  const r = mode === 'profile' ? await profile(net, batch) : await throughput(net, batch, Number(arg('steps', '10')), Number(arg('warmup', '2')));
  process.stdout.write(JSON.stringify({ ...base, ...r }) + '\n');
}

if (require.main === module) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
