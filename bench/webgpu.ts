/**
 * A backend's dispatch cost, batch-1 hard-exit latency and training throughput, measured the same
 * way on every backend (one JSON line), for the webgpu backend against wasm here and on a GPU:
 *   node --import tsx bench/webgpu.ts --backend webgpu [--backbone resnet18] [--width 0.125]
 *        [--batches 64,256] [--steps 10] [--warmup 2] [--images 20] [--no-latency]
 *  - dispatch: one small kernel and its read at batch 1 (`await data()`), and the time per kernel
 *    of a chain of 50 dependent small kernels with one read at the end;
 *  - latency: `measureTiming` (what `eval --measure` runs) on the untrained network with τ at the
 *    median first-exit gate, so that about half the images leave at the first exit;
 *  - throughput: training img/s of the product's own loop (lib/throughput.ts) per batch size.
 * Asking for webgpu by name also runs on a software adapter (a correctness-path figure only).
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendPreference } from '../src/accel/backend';
import { collectRecords, measureTiming, type BatchSource } from '../src/engine/tfjs/evaluate';
import { MultiExitNetwork } from '../src/engine/tfjs/network';
import { benchNetworkConfig } from './lib/netspec';
import { throughput } from './lib/throughput';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median ms of `f` over `n` calls after 3 warm-up calls. */
async function timeIt(n: number, f: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await f();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) { const t0 = performance.now(); await f(); ms.push(performance.now() - t0); }
  return median(ms);
}

async function dispatch(): Promise<Record<string, number>> {
  // 4 096 values: above the size below which tfjs's webgpu backend runs a kernel on the CPU
  const x = tf.randomNormal([1, 4096], 0, 1, 'float32', 1);
  await x.data();
  const oneKernelReadMs = await timeIt(30, async () => { const y = tf.add(x, x); await y.data(); y.dispose(); });
  const CHAIN = 50;
  const chainMs = await timeIt(10, async () => {
    const y = tf.tidy(() => { let t = x; for (let i = 0; i < CHAIN; i++) t = tf.add(t, x); return t; });
    await y.data();
    y.dispose();
  });
  x.dispose();
  return { oneKernelReadMs, perKernelMs: (chainMs - oneKernelReadMs) / (CHAIN - 1), chainOf50Ms: chainMs };
}

async function latency(net: MultiExitNetwork, images: number, backend: string, hostHeads: boolean): Promise<Record<string, unknown>> {
  const [H, W, C] = net.config.backbone.input;
  const x = tf.randomNormal([images, H, W, C], 0, 1, 'float32', 2) as tf.Tensor4D;
  const data: BatchSource = { count: images, labels: Array.from({ length: images }, (_, i) => i % 10), batch: (s, k) => tf.slice(x, [s, 0, 0, 0], [k, -1, -1, -1]) };
  const rec = await collectRecords(net, data, 'test', images);
  const tau = median(rec.exits[0].gate!);
  const thresholds = net.exits.map(() => tau);
  const leftAtFirst = rec.exits[0].gate!.filter((g) => g >= tau).length / images;
  const t = await measureTiming(net, data, 'gate', thresholds, images, backend, hostHeads);
  x.dispose();
  return { images, tau, leftAtFirstExit: leftAtFirst, fullMs: t.fullMs, hardMs: t.hardMs, speedup: t.speedup, timeSavedPct: t.timeSavedPct };
}

async function main(): Promise<void> {
  const backend = arg('backend', 'webgpu') as BackendPreference;
  const backbone = arg('backbone', 'resnet18') as 'resnet18';
  const width = Number(arg('width', '0.125'));
  const load = () => Math.round(os.loadavg()[0] * 100) / 100;
  const loadBefore = load();
  const choice = await selectBackend(backend);
  const net = new MultiExitNetwork(benchNetworkConfig(backbone, width));
  const out: Record<string, unknown> = {
    backend: choice.kind, backendDescription: choice.description, adapter: choice.adapter ?? null, backbone, width, tfjs: tf.version.tfjs, loadBefore,
    dispatch: await dispatch(),
  };
  if (!process.argv.includes('--no-latency')) out.latency = await latency(net, Number(arg('images', '20')), choice.kind, !choice.stock.has('host-heads'));
  out.throughput = [];
  for (const b of arg('batches', '64').split(',').map(Number)) {
    (out.throughput as unknown[]).push(await throughput(net, b, Number(arg('steps', '10')), Number(arg('warmup', '2'))));
  }
  out.loadAfter = load();
  net.dispose();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
