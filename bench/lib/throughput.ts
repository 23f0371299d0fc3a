/**
 * Training throughput of a network through the product's own step loop (`trainEpoch`: batch
 * assembly from uint8 images with `toFloatBatch`, Eq. 1 + λ·Eq. 2, Adam, weight decay), random
 * images, no augmentation (the PyTorch reference does the same work), on the active backend.
 * Shared by train-step.ts and webgpu.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { channelStats, mulberry32, toFloatBatch, type Split } from '../../src/data';
import type { MultiExitNetwork } from '../../src/engine/tfjs/network';
import { createOptimizer } from '../../src/engine/tfjs/optimizer';
import { trainEpoch, type TrainSource } from '../../src/engine/tfjs/train';
import { methodConfig, type MethodConfig, type TrainingConfig } from '../../src/spec/method';

export const METHOD: MethodConfig = methodConfig({ name: 'proposed', lambda: 0.1 });

export function trainingConfig(batchSize: number, epochs = 1): TrainingConfig {
  return { epochs, batchSize, optimizer: 'adam', lr: 1e-3, momentum: 0.9, weightDecay: 5e-4, schedule: 'constant', stepEpochs: 30, stepGamma: 0.1, seed: 1 };
}

export function randomSplit(n: number, seed: number): Split {
  const rng = mulberry32(seed);
  const images = new Uint8Array(n * 3072);
  for (let i = 0; i < images.length; i++) images[i] = (rng() * 256) | 0;
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = (rng() * 10) | 0;
  return { images, labels, count: n };
}

function trainSource(split: Split): TrainSource {
  const shape: [number, number, number] = [32, 32, 3];
  const { mean, std } = channelStats(split, shape);
  return {
    count: split.count, labels: split.labels,
    batch: (idx, augment, rng) => tf.tensor4d(toFloatBatch(split, shape, idx, { mean, std, augment, rng }), [idx.length, 32, 32, 3]),
  };
}

/** Training img/s of `net`, timing every step after `warmup`. */
export async function throughput(net: MultiExitNetwork, batch: number, steps: number, warmup: number): Promise<Record<string, unknown>> {
  const split = randomSplit(batch * (steps + warmup), 7);
  const stepMs: number[] = [];
  let last = 0;
  // CPU time of the whole process (XNNPACK's and our kernels' threads included) over the measured steps
  let cpu0: NodeJS.CpuUsage | undefined, cpuSeconds = NaN;
  const training = trainingConfig(batch);
  const optimizer = createOptimizer(training);
  await trainEpoch({ net, optimizer, method: METHOD, training, train: trainSource(split), augment: false, timer: { ms: 0, steps: 0, first: true } }, 1, training.lr, {
    onStep: (p) => {
      const now = performance.now();
      if (p.step > warmup) stepMs.push(now - last);
      if (p.step === warmup) cpu0 = process.cpuUsage();
      if (p.step === warmup + steps && cpu0) { const c = process.cpuUsage(cpu0); cpuSeconds = (c.user + c.system) / 1e6; }
      last = now;
    },
  });
  optimizer.dispose();
  const mean = stepMs.reduce((a, b) => a + b, 0) / stepMs.length;
  return { batch, steps: stepMs.length, warmup, stepMs: mean, imgPerSec: (1000 * batch) / mean, imgPerCpuSec: (batch * stepMs.length) / cpuSeconds, stepTimes: stepMs.map((t) => Math.round(t)) };
}

