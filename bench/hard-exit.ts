/**
 * Batch-1 latency of the full network and of hard exits for a trained run, with a per-kernel
 * profile of one hard-exit pass (where the time of the exits' bookkeeping goes).
 *   node --import tsx bench/hard-exit.ts <rundir> [--threshold T] [--images N]
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/accel/backend';
import { channelStats, loadDataset, splitValidation, toFloatBatch } from '../src/data';
import { measureTiming } from '../src/engine/tfjs/evaluate';
import { ExitEvaluator } from '../src/engine/tfjs/exit-evaluator';
import type { MultiExitNetwork } from '../src/engine/tfjs/network';
import { loadNetwork } from '../src/engine/tfjs/checkpoint';
import { readExperimentOf } from '../src/runs/store';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** The hard-exit pass as it was before this bench (clone of x, softmax + two awaited reads per exit), for the before/after figure. */
async function hardExitPassBefore(net: MultiExitNetwork, x: tf.Tensor4D, thresholds: number[]): Promise<number[]> {
  const n = x.shape[0];
  const pred: number[] = new Array(n).fill(-1);
  let alive = Array.from({ length: n }, (_, i) => i);
  let h: tf.Tensor4D = tf.clone(x);
  for (let i = 0; i < net.ir.blocks.length && alive.length; i++) {
    const next = net.runBlock(i, h);
    h.dispose();
    h = next;
    const e = net.exitAtBlock(i);
    if (e < 0) continue;
    const { logits, gate } = net.runExit(e, h);
    const probs = tf.softmax(logits);
    const p = await probs.data() as Float32Array;
    const g = gate ? await gate.data() : null;
    tf.dispose([logits, gate ?? [], probs]);
    const keep: number[] = [], keepRows: number[] = [];
    alive.forEach((sample, row) => {
      if (g![row] >= thresholds[e]) pred[sample] = Array.from(p.subarray(row * 10, row * 10 + 10)).indexOf(Math.max(...p.subarray(row * 10, row * 10 + 10)));
      else { keep.push(sample); keepRows.push(row); }
    });
    if (keep.length < alive.length && keep.length > 0) {
      const idx = tf.tensor1d(keepRows, 'int32');
      const g2 = tf.gather(h, idx) as tf.Tensor4D;
      idx.dispose(); h.dispose();
      h = g2;
    }
    alive = keep;
  }
  if (alive.length) {
    const logits = net.runClassifier(h);
    const p = await tf.argMax(logits, 1).data();
    logits.dispose();
    alive.forEach((sample, row) => { pred[sample] = p[row]; });
  }
  h.dispose();
  return pred;
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  const x = readExperimentOf(dir);
  await selectBackend('wasm');
  const { net } = await loadNetwork(path.join(dir, 'model'));
  const ds = await loadDataset(x.dataset, { seed: x.training.seed });
  const { train } = splitValidation(ds.train, x.dataset.validationFraction, x.training.seed);
  const { mean, std } = channelStats(train, ds.shape);
  const t = ds.test;
  const src = { count: t.count, labels: t.labels, batch: (s: number, n: number) => tf.tensor4d(toFloatBatch(t, ds.shape, Array.from({ length: n }, (_, i) => s + i), { mean, std }), [n, 32, 32, 3]) };
  const tau = Number(arg('threshold', '0.5'));
  const thresholds = net.exits.map(() => tau);
  const images = Number(arg('images', '100'));
  const timing = await measureTiming(net, src, 'gate', thresholds, images, 'wasm');
  const ev = new ExitEvaluator(net);
  const hardExitPass = async (_net: MultiExitNetwork, xi: tf.Tensor4D, rule: 'gate', th: number[]) => ev.hardExitPass(xi, rule, th);
  const x1 = src.batch(0, 1);
  await hardExitPass(net, x1, 'gate', thresholds);
  const prof = await tf.profile(async () => { await hardExitPass(net, x1, 'gate', thresholds); });
  // after vs before, interleaved on the same 100 test images at batch 1
  const xs = Array.from({ length: 100 }, (_, i) => src.batch(i, 1));
  for (const xi of xs.slice(0, 5)) { await hardExitPass(net, xi, 'gate', thresholds); await hardExitPassBefore(net, xi, thresholds); }
  let after = 0, before = 0;
  for (let r = 0; r < 3; r++) {
    let t0 = performance.now();
    for (const xi of xs) await hardExitPass(net, xi, 'gate', thresholds);
    after += performance.now() - t0;
    t0 = performance.now();
    for (const xi of xs) await hardExitPassBefore(net, xi, thresholds);
    before += performance.now() - t0;
  }
  const onePassMs = after / 300, beforePassMs = before / 300;
  tf.dispose(xs);
  const kernelMs = prof.kernels.reduce((a, k) => a + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0), 0);
  process.stdout.write(JSON.stringify({ timing, onePassMs, beforePassMs, passSpeedup: beforePassMs / onePassMs, kernelCalls: prof.kernels.length, kernelMs, kernels: prof.kernels.map((k) => `${k.name} ${typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs.toFixed(3) : ''}`) }) + '\n');
}
main().catch((e) => { console.error(e); process.exit(1); });
