/**
 * Evaluation on tfjs: per-sample records (everything needed to re-evaluate any threshold without
 * the network, with Option 1's soft-conditional prediction), and batch-1 timing of the plain
 * backbone against Option 2's hard exits (exit-evaluator.ts). Tables, sweeps and calibration are
 * computed from the records by the shared analysis (spec/analysis.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExitRule, SampleRecords, Timing } from '../../spec/results';
import { ExitEvaluator, rowStatistics } from './exit-evaluator';
import type { MultiExitNetwork } from './network';
import { softConditionalOutput } from './paper';

/** A source of normalised float batches: images [n, H, W, C] and their labels. */
export interface BatchSource {
  count: number;
  labels: ArrayLike<number>;
  /** Normalised images of samples [start, start + n) as a tensor [n, H, W, C]. */
  batch(start: number, n: number): tf.Tensor4D;
}

/** Gates to 6 significant digits, not 6 decimals: trained gates can all sit below 1e-3, and their order is what τ reads. */
const significant = (v: number) => Number(v.toPrecision(6));

/** Runs every exit on every sample (eval mode) and collects the per-sample records. */
export async function collectRecords(net: MultiExitNetwork, data: BatchSource, split: SampleRecords['split'], batchSize = 200): Promise<SampleRecords> {
  const K = net.config.backbone.classes;
  const B = net.exits.length;
  const rec: SampleRecords = {
    split,
    count: data.count,
    labels: Array.from(data.labels, Number),
    exits: net.exits.map((e) => ({ point: e.point, gate: net.config.gated ? [] : null, pred: [], conf: [], entropy: [] })),
    final: { pred: [], conf: [], entropy: [] },
    softPred: net.config.gated && B > 0 ? [] : null,
  };
  for (let start = 0; start < data.count; start += batchSize) {
    const n = Math.min(batchSize, data.count - start);
    const x = data.batch(start, n);
    const outs = tf.tidy(() => {
      const o = net.forward(x, false);
      const exitProbs = o.exitLogits.map((l) => tf.softmax(l) as tf.Tensor2D);
      const finalProbs = tf.softmax(o.finalLogits) as tf.Tensor2D;
      const soft = net.config.gated && B > 0 ? [softConditionalOutput(exitProbs, o.gates, finalProbs)] : [];
      return { exitProbs, gates: o.gates, finalProbs, soft };
    });
    x.dispose();
    for (let b = 0; b < B; b++) {
      const r = rowStatistics(await outs.exitProbs[b].data() as Float32Array, K, n);
      const e = rec.exits[b];
      e.pred.push(...r.pred); e.conf.push(...r.conf); e.entropy.push(...r.entropy);
      if (e.gate) e.gate.push(...Array.from(await outs.gates[b].data(), significant));
    }
    const f = rowStatistics(await outs.finalProbs.data() as Float32Array, K, n);
    rec.final.pred.push(...f.pred); rec.final.conf.push(...f.conf); rec.final.entropy.push(...f.entropy);
    if (outs.soft.length && rec.softPred) {
      const am = tf.argMax(outs.soft[0], 1);
      rec.softPred.push(...Array.from(await am.data()));
      am.dispose();
    }
    tf.dispose([outs.exitProbs, outs.gates, outs.finalProbs, outs.soft]);
  }
  return rec;
}

/**
 * Batch-1 latency of the plain backbone and of hard exits over `images` test samples. `hostHeads`
 * false keeps the heads on tfjs kernels (the stock path).
 */
export async function measureTiming(
  net: MultiExitNetwork, data: BatchSource, rule: ExitRule, thresholds: number[], images = 100, backend = tf.getBackend(), hostHeads = true,
): Promise<Timing> {
  const n = Math.min(images, data.count);
  const inputs = Array.from({ length: n }, (_, i) => data.batch(i, 1));
  // Both paths run as a deployed network would: batch norm folded into the convolutions, and
  // their small heads (the exits', the final classifier) on the host where that is cheaper.
  const ev = new ExitEvaluator(net, { fast: true, hostHeads });
  const fullOne = async (x: tf.Tensor4D) => {
    const t0 = performance.now();
    await ev.backboneOnlyLogits(x);
    return performance.now() - t0;
  };
  const correct = new Float64Array(n);
  const hardOne = async (i: number) => {
    const t0 = performance.now();
    const r = await ev.hardExitPass(inputs[i], rule, thresholds);
    const ms = performance.now() - t0;
    correct[i] = r.pred[0] === data.labels[i] ? 1 : 0;
    return ms;
  };
  // At batch 1 a small network's latency is mostly per-op JavaScript dispatch, which is slow until
  // V8 has optimised it, and a garbage collection or another process can stretch any single pass:
  // warm both paths over every image, then time ROUNDS interleaved rounds and keep, per image and
  // path, the fastest pass.
  const ROUNDS = 5;
  const fullBest = new Float64Array(n).fill(Infinity), hardBest = new Float64Array(n).fill(Infinity);
  try {
    for (let i = 0; i < n; i++) { await fullOne(inputs[i]); await hardOne(i); }
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < n; i++) {
        fullBest[i] = Math.min(fullBest[i], await fullOne(inputs[i]));
        hardBest[i] = Math.min(hardBest[i], await hardOne(i));
      }
    }
  } finally {
    ev.dispose();
  }
  const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
  const fullMs = sum(fullBest) / n, hardMs = sum(hardBest) / n;
  tf.dispose(inputs);
  return {
    images: n, fullMs, hardMs, speedup: fullMs / hardMs, timeSavedPct: 100 * (1 - hardMs / fullMs), hardAccuracy: sum(correct) / n, backend,
  };
}
