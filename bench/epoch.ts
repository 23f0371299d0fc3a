/**
 * Child processes of the scaling and memory benchmarks (one JSON object on stdout).
 *
 *   epoch  --backbone B --width W --images N   one training epoch on N real CIFAR-10 images
 *                                              (the 5k subset, augmented, the product's loop)
 *   memory --backbone B --width W --steps S    load the full 60k CIFAR-10 JPEG set as the worker
 *                                              does, train S steps; peak resident memory
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendPreference } from '../src/accel/backend';
import { balancedLimit, channelStats, loadDataset, splitValidation, type Dataset, type Split } from '../src/data';
import { batchSources } from '../src/engine/tfjs';
import { collectRecords } from '../src/engine/tfjs/evaluate';
import { MultiExitNetwork } from '../src/engine/tfjs/network';
import { createOptimizer } from '../src/engine/tfjs/optimizer';
import { trainEpoch, type TrainSource } from '../src/engine/tfjs/train';
import { benchNetworkConfig } from './lib/netspec';
import { METHOD, trainingConfig } from './train-step';
import { CIFAR5K, CIFAR_JPG } from './lib/util';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** Resident set now and at its peak (VmHWM), in MiB. */
function memory(): { rssMiB: number; peakMiB: number; heapMiB: number; externalMiB: number } {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  const m = process.memoryUsage();
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024, heapMiB: m.heapUsed / 2 ** 20, externalMiB: (m.external + m.arrayBuffers) / 2 ** 20 };
}

/** The worker's batch sources for these splits. */
function sources(ds: Dataset, train: Split, validation: Split, test: Split) {
  const { mean, std } = channelStats(train, ds.shape);
  return batchSources({ shape: ds.shape, train, validation, test, mean, std, augment: true });
}

/** One epoch of the product's step loop over `train`, then the validation pass the worker runs after it. */
async function epoch(net: MultiExitNetwork, batch: number, train: TrainSource) {
  const training = trainingConfig(batch);
  const optimizer = createOptimizer(training);
  const r = await trainEpoch({ net, optimizer, method: METHOD, training, train, augment: true, timer: { ms: 0, steps: 0, first: true } }, 1, training.lr);
  optimizer.dispose();
  return r;
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  const backbone = arg('backbone', 'resnet18') as 'resnet18';
  const width = Number(arg('width', '0.125'));
  const choice = await selectBackend(arg('backend', 'wasm') as BackendPreference);
  const batch = Number(arg('batch', '64'));
  const net = new MultiExitNetwork(benchNetworkConfig(backbone, width));
  const thresholds = net.exits.map(() => 0.5);
  if (mode === 'epoch') {
    const images = Number(arg('images', '1000'));
    const ds = await loadDataset({ name: 'cifar10', path: CIFAR5K, validationFraction: 0, augment: true });
    const train = balancedLimit(ds.train, images, 1, 10);
    const src = sources(ds, train, balancedLimit(ds.test, 10, 1, 10), ds.test);
    const m = await epoch(net, batch, src.train);
    void thresholds;
    process.stdout.write(JSON.stringify({ backbone, width, images: train.count, backend: choice.kind, batch, seconds: m.seconds, imgPerSec: m.imagesPerSecond, macs: net.costs.full }) + '\n');
    return;
  }
  // memory: the worker's path (loadDataset → splitValidation → batch sources → an epoch and its validation pass)
  const steps = Number(arg('steps', '5'));
  const t0 = performance.now();
  const start = memory();
  const ds = await loadDataset({ name: 'folder', path: arg('path', CIFAR_JPG), validationFraction: 0.1, augment: true });
  const loadSeconds = (performance.now() - t0) / 1000;
  const afterLoad = memory();
  const { train, validation } = splitValidation(ds.train, 0.1, 1);
  ds.train = train; // the worker keeps only the split copies
  const src = sources(ds, train, validation, ds.test);
  const afterSplit = memory();
  // an "epoch" of `steps` batches (drawn from the first steps·batch images; all 60k stay loaded)
  // followed by the full validation pass the worker runs after every epoch
  const valCount = Number(arg('validation', String(validation.count)));
  const t1 = performance.now();
  const trainSeconds = (await epoch(net, batch, { ...src.train, count: steps * batch })).seconds;
  await collectRecords(net, { ...src.validation, count: Math.min(valCount, validation.count) }, 'validation');
  const stepSeconds = trainSeconds / steps;
  const validationSeconds = (performance.now() - t1) / 1000 - trainSeconds;
  const end = memory();
  process.stdout.write(JSON.stringify({
    backbone, width, backend: choice.kind, batch, steps, images: { train: train.count, validation: validation.count, test: ds.test.count },
    imageBytesMiB: (train.images.length + validation.images.length + ds.test.images.length) / 2 ** 20,
    loadSeconds, stepSeconds, validationSeconds, validationImages: Math.min(valCount, validation.count), start, afterLoad, afterSplit, end, peakMiB: end.peakMiB, tensors: tf.memory().numTensors,
  }) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
