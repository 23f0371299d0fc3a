/**
 * Evaluation as the paper reports it, and more: per-sample records (everything needed to
 * re-evaluate any threshold without the network), Option 1 (soft-conditional output) and
 * Option 2 (hard exits that really skip the rest of the network), and batch-1 timing.
 */
import * as tf from '@tensorflow/tfjs';
import { accuracyOf, calibrate, exitHistograms, exitTable, ruleFires, softAccuracy, thresholdSweep, thresholdsFor } from '../../spec/analysis';
import { describeBackbone } from '../../spec/backbones';
import type { MultiExitNetwork } from './network';
import { softConditionalOutput } from './paper';
import type { Calibration, CalibrationTarget, ExitRule, ExitTable, Histogram, SampleRecords, SweepPoint, Timing } from '../../spec/results';

/** A source of normalised float batches: images [n, H, W, C] and their labels. */
export interface BatchSource {
  count: number;
  labels: ArrayLike<number>;
  /** Normalised images of samples [start, start + n) as a tensor [n, H, W, C]. */
  batch(start: number, n: number): tf.Tensor4D;
}

function entropyNormalised(probs: Float32Array, k: number, n: number): { pred: number[]; conf: number[]; entropy: number[] } {
  const pred: number[] = [], conf: number[] = [], entropy: number[] = [];
  const lnK = Math.log(k);
  for (let i = 0; i < n; i++) {
    let best = 0, bestP = -1, h = 0;
    for (let c = 0; c < k; c++) {
      const p = probs[i * k + c];
      if (p > bestP) { bestP = p; best = c; }
      if (p > 0) h -= p * Math.log(p);
    }
    pred.push(best);
    conf.push(round(bestP));
    entropy.push(round(Math.min(1, Math.max(0, h / lnK))));
  }
  return { pred, conf, entropy };
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

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
      const r = entropyNormalised(await outs.exitProbs[b].data() as Float32Array, K, n);
      const e = rec.exits[b];
      e.pred.push(...r.pred); e.conf.push(...r.conf); e.entropy.push(...r.entropy);
      if (e.gate) e.gate.push(...Array.from(await outs.gates[b].data(), round));
    }
    const f = entropyNormalised(await outs.finalProbs.data() as Float32Array, K, n);
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

/** What a hard-exit pass computed, sample by sample. */
export interface HardPass {
  /** exit index per sample (exits.length = final classifier) */
  exitIndex: Int32Array;
  pred: Int32Array;
  /** MACs actually computed for the batch (backbone blocks, heads and gates on the rows still alive) */
  macs: number;
}

/** Index of the largest of row `row`'s K values (the first on ties, as tf.argMax). */
function argmaxRow(v: ArrayLike<number>, row: number, K: number): number {
  let best = 0;
  for (let c = 1; c < K; c++) if (v[row * K + c] > v[row * K + best]) best = c;
  return best;
}

/** Softmax of each row of K logits, on the host. */
function softmaxRows(logits: ArrayLike<number>, K: number, n: number): Float32Array {
  const p = new Float32Array(n * K);
  for (let row = 0; row < n; row++) {
    let max = -Infinity, sum = 0;
    for (let c = 0; c < K; c++) max = Math.max(max, logits[row * K + c]);
    for (let c = 0; c < K; c++) sum += (p[row * K + c] = Math.exp(logits[row * K + c] - max));
    for (let c = 0; c < K; c++) p[row * K + c] /= sum;
  }
  return p;
}

/**
 * Option 2: runs the backbone block by block; after each exit, rows whose exit fires leave and
 * are removed from the batch (tf.gather), so later blocks are **not computed** for them.
 */

export async function hardExitPass(net: MultiExitNetwork, x: tf.Tensor4D, rule: ExitRule, thresholds: number[]): Promise<HardPass> {
  const n = x.shape[0];
  const exitIndex = new Int32Array(n).fill(-1);
  const pred = new Int32Array(n);
  const desc = blockMacs(net);
  const K = net.config.backbone.classes;
  let alive = Array.from({ length: n }, (_, i) => i);
  // h is the caller's x until the first block replaces it (no copy); never dispose x
  let h: tf.Tensor4D = x;
  const drop = (t: tf.Tensor) => { if (t !== x) t.dispose(); };
  let macs = 0;
  for (let i = 0; i < net.ir.blocks.length && alive.length; i++) {
    const next = tf.tidy(() => net.runBlock(i, h));
    drop(h);
    h = next;
    macs += desc.blocks[i] * alive.length;
    const e = net.exitAtBlock(i);
    if (e < 0) continue;
    macs += (net.exits[e].headMacs + net.exits[e].gateMacs) * alive.length;
    const fires = new Uint8Array(alive.length);
    let rowPred: (row: number) => number;
    if (rule === 'gate' && net.config.gated) {
      // the gate first; the exit's classifier only when some row leaves, argmax on the host. With
      // folded weights (the latency measurement) the head runs on the host from h's values: at
      // batch 1 its ~6 tfjs kernels and two reads cost more than its arithmetic.
      let l: ArrayLike<number> | null = null;
      let any = false;
      const host = net.exitOnHost(e, h);
      if (host) {
        for (let row = 0; row < alive.length; row++) if (ruleFires(rule, host.gates![row], thresholds[e])) { fires[row] = 1; any = true; }
        if (any) l = host.logits();
      } else {
        const [features, gate] = tf.tidy(() => { const f = net.exitFeatures(e, h); return [f, net.exitGate(e, f)]; });
        const g = gate.dataSync();
        for (let row = 0; row < alive.length; row++) if (ruleFires(rule, g[row], thresholds[e])) { fires[row] = 1; any = true; }
        if (any) { const logits = tf.tidy(() => net.exitLogits(e, features)); l = logits.dataSync(); logits.dispose(); }
        tf.dispose([features, gate]);
      }
      rowPred = (row) => argmaxRow(l!, row, K);
    } else {
      // confidence / entropy (BranchyNet): the exit's softmax; on the host with folded weights, as above
      let probs: Float32Array, g: ArrayLike<number> | null;
      const host = net.exitOnHost(e, h);
      if (host) {
        probs = softmaxRows(host.logits(), K, alive.length);
        g = host.gates;
      } else {
        const [logits, gate = null] = tf.tidy(() => { const r = net.runExit(e, h); return r.gate ? [r.logits, r.gate] : [r.logits]; }) as tf.Tensor2D[];
        const p = tf.softmax(logits);
        probs = p.dataSync() as Float32Array;
        g = gate ? gate.dataSync() : null;
        tf.dispose([logits, gate ?? [], p]);
      }
      const stats = entropyNormalised(probs, K, alive.length);
      for (let row = 0; row < alive.length; row++) {
        const value = rule === 'gate' ? g![row] : rule === 'confidence' ? stats.conf[row] : stats.entropy[row];
        if (ruleFires(rule, value, thresholds[e])) fires[row] = 1;
      }
      rowPred = (row) => stats.pred[row];
    }
    const keep: number[] = [];
    const keepRows: number[] = [];
    alive.forEach((sample, row) => {
      if (fires[row]) { exitIndex[sample] = e; pred[sample] = rowPred(row); } else { keep.push(sample); keepRows.push(row); }
    });
    if (keep.length < alive.length && keep.length > 0) {
      // drop the rows that left: later blocks are not computed for them
      const idx = tf.tensor1d(keepRows, 'int32');
      const g2 = tf.gather(h, idx) as tf.Tensor4D;
      idx.dispose(); drop(h);
      h = g2;
    }
    alive = keep;
  }
  if (alive.length) {
    macs += desc.classifier * alive.length;
    const host = net.classifierOnHost(h);
    if (host) {
      alive.forEach((sample, row) => { exitIndex[sample] = net.exits.length; pred[sample] = argmaxRow(host, row, K); });
    } else {
      const logits = tf.tidy(() => net.runClassifier(h));
      const am = tf.argMax(logits, 1);
      const p = am.dataSync();
      tf.dispose([logits, am]);
      alive.forEach((sample, row) => { exitIndex[sample] = net.exits.length; pred[sample] = p[row]; });
    }
  }
  drop(h);
  await Promise.resolve();
  return { exitIndex, pred, macs };
}

const blockMacsCache = new WeakMap<MultiExitNetwork, { blocks: number[]; classifier: number }>();

/** MACs of each backbone block and of the final classifier alone. */
function blockMacs(net: MultiExitNetwork): { blocks: number[]; classifier: number } {
  let r = blockMacsCache.get(net);
  if (!r) {
    const cumulative = describeBackbone(net.config.backbone).points.map((p) => p.macs);
    const blocks = cumulative.map((m, i) => m - (i ? cumulative[i - 1] : 0));
    r = { blocks, classifier: net.costs.full - cumulative[cumulative.length - 1] };
    blockMacsCache.set(net, r);
  }
  return r;
}

/** Batch-1 latency of the plain backbone and of hard exits over `images` test samples. */
export async function measureTiming(
  net: MultiExitNetwork, data: BatchSource, rule: ExitRule, thresholds: number[], images = 100, backend = tf.getBackend(),
): Promise<Timing> {
  const n = Math.min(images, data.count);
  const inputs = Array.from({ length: n }, (_, i) => data.batch(i, 1));
  const fullOne = async (x: tf.Tensor4D) => {
    const t0 = performance.now();
    net.backboneOnlyLogits(x); // its classifier runs where the hard pass runs its heads
    await Promise.resolve();
    return performance.now() - t0;
  };
  const correct = new Float64Array(n);
  const hardOne = async (i: number) => {
    const t0 = performance.now();
    const r = await hardExitPass(net, inputs[i], rule, thresholds);
    const ms = performance.now() - t0;
    correct[i] = r.pred[0] === data.labels[i] ? 1 : 0;
    return ms;
  };
  // At batch 1 a small network's latency is mostly per-op JavaScript dispatch, which is slow until
  // V8 has optimised it, and a garbage collection or another process can stretch any single pass:
  // warm both paths over every image, then time ROUNDS interleaved rounds and keep, per image and
  // path, the fastest pass. Both paths run with batch norm folded into the convolutions, as a
  // deployed network would, and both run their small heads (the exits', the final classifier) on
  // the host from the feature map's values (MultiExitNetwork.exitOnHost / classifierOnHost).
  const ROUNDS = 5;
  const fullBest = new Float64Array(n).fill(Infinity), hardBest = new Float64Array(n).fill(Infinity);
  net.foldBatchNorm();
  try {
    for (let i = 0; i < n; i++) { await fullOne(inputs[i]); await hardOne(i); }
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < n; i++) {
        fullBest[i] = Math.min(fullBest[i], await fullOne(inputs[i]));
        hardBest[i] = Math.min(hardBest[i], await hardOne(i));
      }
    }
  } finally {
    net.unfoldBatchNorm();
  }
  const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
  const fullMs = sum(fullBest) / n, hardMs = sum(hardBest) / n;
  tf.dispose(inputs);
  return {
    images: n, fullMs, hardMs, speedup: fullMs / hardMs, timeSavedPct: 100 * (1 - hardMs / fullMs), hardAccuracy: sum(correct) / n, backend,
  };
}

export interface EvaluationReport {
  softAccuracy: number | null;
  finalAccuracy: number;
  rule: ExitRule;
  thresholds: number[];
  hard: ExitTable;
  sweep: SweepPoint[];
  histograms: Histogram[];
  calibration: Calibration | null;
}

/** Everything derived from the records (no network needed). */
export function summarise(
  net: { costs: MultiExitNetwork['costs'] }, test: SampleRecords, validation: SampleRecords | null, rule: ExitRule,
  tau: number | number[], target: CalibrationTarget | null, positions?: number[],
): EvaluationReport {
  const thresholds = thresholdsFor(test, tau);
  return {
    softAccuracy: softAccuracy(test),
    finalAccuracy: accuracyOf(test.final.pred, test.labels),
    rule,
    thresholds,
    hard: exitTable(test, net.costs, rule, thresholds, positions),
    sweep: test.exits.length ? thresholdSweep(test, net.costs, rule) : [],
    histograms: exitHistograms(test, rule),
    calibration: target && validation && test.exits.length ? calibrate(validation, test, net.costs, rule, target, undefined, positions) : null,
  };
}
