/**
 * Training throughput of the product's torch engine (src/engine/torch, a Python process) on the
 * CPU, on the network and work of bench/train-step.ts (random images, no augmentation, Eq. 1 +
 * λ·Eq. 2, Adam, weight decay, batch 64): one epoch of warmup + steps steps through the engine's
 * own `trainEpoch` (per-step read-back and progress included), timing every step after the warm-up
 * by its progress message, as bench/train-step.ts times the tfjs loop. Prints one JSON object.
 *
 *   node --import tsx bench/torch-engine-step.ts --backbone resnet18 --width 0.125 [--batch 64 --steps 12 --warmup 2 --threads 2]
 */
import * as fs from 'node:fs';
import { channelStats } from '../src/data';
import { TorchEngine } from '../src/engine/torch';
import { validateExperiment } from '../src/spec/experiment';
import { mulberry32 } from '../src/spec/rng';
import { benchNetworkConfig } from './lib/netspec';
import { METHOD, trainingConfig } from './lib/throughput';
import { PYTHON } from './lib/util';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** User + system CPU seconds of process `pid` so far (Linux /proc; clock ticks of 10 ms). */
function procCpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main(): Promise<void> {
  const backbone = arg('backbone', 'resnet18') as 'resnet18';
  const width = Number(arg('width', '0.125'));
  const batch = Number(arg('batch', '64'));
  const steps = Number(arg('steps', '12'));
  const warmup = Number(arg('warmup', '2'));
  process.env.EARLY_EXIT_TORCH_THREADS = arg('threads', '2');
  const cfg = benchNetworkConfig(backbone, width);
  const x = validateExperiment({
    backbone: cfg.backbone, exits: cfg.exits, method: METHOD,
    training: { ...trainingConfig(batch, 1), backend: 'torch', device: 'cpu' },
  }, 'bench');
  const n = batch * (steps + warmup);
  const rng = mulberry32(7);
  const images = new Uint8Array(n * 3072);
  for (let i = 0; i < images.length; i++) images[i] = (rng() * 256) | 0;
  const labels = Uint8Array.from({ length: n }, () => (rng() * 10) | 0);
  const split = { images, labels, count: n };
  const { mean, std } = channelStats(split, [32, 32, 3]);
  const data = { shape: [32, 32, 3] as [number, number, number], train: split, validation: split, test: split, mean, std, augment: false };
  const engine = new TorchEngine({ python: { command: process.env.EARLY_EXIT_PYTHON ?? PYTHON, source: 'bench' }, device: 'cpu', devices: 1, log: () => {} });
  const device = await engine.prepare('torch');
  const { net } = await engine.open(x, data, null);
  try {
    const stepMs: number[] = [];
    let last = 0;
    // CPU time of the engine's process (all its threads) and of this driver over the measured steps
    const cpuNow = () => procCpuSeconds(net.pids[0]) + (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
    let cpu0 = 0, cpu = NaN;
    await net.trainEpoch(1, 1e-3, {
      onStep: (p) => {
        const now = performance.now();
        if (p.step > warmup) stepMs.push(now - last);
        if (p.step === warmup) cpu0 = cpuNow();
        if (p.step === warmup + steps) cpu = cpuNow() - cpu0;
        last = now;
      },
    });
    const mean = stepMs.reduce((a, b) => a + b, 0) / stepMs.length;
    process.stdout.write(JSON.stringify({
      backbone, width, batch, steps: stepMs.length, warmup, imgPerSec: (1000 * batch) / mean, imgPerCpuSec: (batch * stepMs.length) / cpu, stepMs: mean, parameters: net.parameters,
      backendDescription: device.description, engine: net.description,
    }) + '\n');
  } finally {
    await net.dispose();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
