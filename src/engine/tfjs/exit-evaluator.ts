/**
 * Option 2, hard exits that really skip compute, and the fast inference paths around it:
 *  - the backbone runs block by block; after each exit the rows whose exit fires leave and are
 *    removed from the batch (tf.gather), so later blocks are **not computed** for them;
 *  - for timing, batch norm is folded into the convolutions (FoldedBatchNorm) and an exit's head
 *    runs where it is cheapest: `tfjsHeads` as kernels, or `hostHeads` in JavaScript from the
 *    feature map's values (acceleration tier, host-layers.ts), which at batch 1 is cheaper than
 *    the head's ~6 kernels and two reads.
 * Values are read with `await t.data()`: on webgpu a synchronous read needs OffscreenCanvas, which
 * Node does not have (on wasm and cpu the await costs a microtask).
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostSupports, runHostLayers } from '../../accel';
import { ruleFires } from '../../spec/analysis';
import { describeBackbone, layersCost, type LayerSpec, type Shape3 } from '../../spec/backbones';
import { gateInputWidth } from '../../spec/exit-costs';
import type { ExitRule } from '../../spec/results';
import { BN_EPS, type FoldedWeights, type MultiExitNetwork, type NetworkConfig } from './network';

/**
 * Largest feature map (values) whose head runs on the host: batch 1 at every exit point of the
 * three backbones up to width ×1/4 (32×32×16). Pooling a larger map in JavaScript costs what the
 * kernels do; larger batches take the kernels too.
 */
export const HOST_HEAD_MAX_VALUES = 1 << 14;

/**
 * Batch norm folded into each conv's filter and bias from the moving statistics
 * (W·γ/√(σ²+ε), β − μ·γ/√(σ²+ε)), computed on first use. Same function as the unfolded pass up
 * to float rounding; valid until the weights change: dispose it before training continues.
 */
export class FoldedBatchNorm implements FoldedWeights {
  private readonly cache = new Map<string, { filter: tf.Tensor4D; bias: tf.Tensor1D }>();
  constructor(private readonly net: MultiExitNetwork) {}

  conv(name: string, useBn: boolean): { filter: tf.Tensor4D; bias: tf.Tensor1D } {
    let f = this.cache.get(name);
    if (!f) {
      const v = (n: string) => this.net.variable(n);
      f = tf.tidy(() => {
        const kernel = v(`${name}/kernel`) as tf.Tensor4D;
        if (!useBn) return { filter: tf.keep(tf.clone(kernel)), bias: tf.keep(tf.clone(v(`${name}/bias`))) as tf.Tensor1D };
        const bn = `${name}/bn`;
        const scale = tf.mul(v(`${bn}/gamma`), tf.rsqrt(tf.add(v(`${bn}/moving_variance`), BN_EPS)));
        return {
          filter: tf.keep(tf.mul(kernel, scale)) as tf.Tensor4D,
          // a new rank-1 tensor: wasm's fused kernels read the bias's shape from its storage
          bias: tf.keep(tf.sub(v(`${bn}/beta`), tf.mul(v(`${bn}/moving_mean`), scale))) as tf.Tensor1D,
        };
      });
      this.cache.set(name, f);
    }
    return f;
  }

  dispose(): void {
    for (const f of this.cache.values()) tf.dispose([f.filter, f.bias]);
    this.cache.clear();
  }
}

/** One exit evaluated on the rows still in the batch. */
export interface ExitOutputs {
  /** g_b per row (null for an ungated network) */
  gates: ArrayLike<number> | null;
  /** f_b's logits, [n·K] (computed on first call) */
  logits(): Promise<ArrayLike<number>>;
  /** f_b's softmax, [n·K] (computed on first call) */
  probs(): Promise<ArrayLike<number>>;
  dispose(): void;
}

/** Where an exit's head and the final classifier run: as tfjs kernels, or on the host. */
export interface ExitHeads {
  /** Exit e on the features h [n, H, W, C] of its point, or null where this variant does not apply. */
  exit(e: number, h: tf.Tensor4D): Promise<ExitOutputs | null>;
  /** The final classifier's logits [n·K] on the last block's output, or null where this variant does not apply. */
  classifier(h: tf.Tensor4D): Promise<ArrayLike<number> | null>;
}

/** Softmax of each row of K logits, on the host. */
export function softmaxRows(logits: ArrayLike<number>, K: number, n: number): Float32Array {
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
 * f_b's softmax statistics per row on the host, [n·3]: max probability, entropy ÷ ln K, top-1 −
 * top-2 margin (what a `features+softmax` gate reads; network.ts `softmaxStatistics` on tfjs).
 */
export function gateStatistics(probs: ArrayLike<number>, K: number, n: number): Float64Array {
  const out = new Float64Array(n * 3);
  const lnK = Math.log(K);
  for (let i = 0; i < n; i++) {
    let p1 = -1, p2 = -1, h = 0;
    for (let c = 0; c < K; c++) {
      const p = probs[i * K + c];
      if (p > p1) { p2 = p1; p1 = p; } else if (p > p2) p2 = p;
      if (p > 0) h -= p * Math.log(p);
    }
    out[i * 3] = p1;
    out[i * 3 + 1] = Math.min(1, Math.max(0, h / lnK));
    out[i * 3 + 2] = p1 - p2;
  }
  return out;
}

/** Rows of [n, F] features followed by rows of [n, S] extra inputs: [n, F + S]. */
function concatRows(a: ArrayLike<number>, F: number, b: ArrayLike<number>, S: number, n: number): Float64Array {
  const out = new Float64Array(n * (F + S));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < F; j++) out[i * (F + S) + j] = a[i * F + j];
    for (let j = 0; j < S; j++) out[i * (F + S) + F + j] = b[i * S + j];
  }
  return out;
}

/** Heads as tfjs kernels: the gate first; the classifier only when asked (or when the gate reads its softmax). */
export function tfjsHeads(net: MultiExitNetwork, folded?: FoldedWeights): ExitHeads {
  return {
    async exit(e, h) {
      const [features, gate = null, early = null] = tf.tidy(() => {
        const f = net.exitFeatures(e, h, false, undefined, folded);
        if (!net.config.gated) return [f];
        if (!net.gatesSeeSoftmax) return [f, net.exitGate(e, f, false, undefined, folded)];
        const l = net.exitLogits(e, f, false, undefined, folded);
        return [f, net.exitGate(e, f, false, undefined, folded, l), l];
      }) as tf.Tensor2D[];
      const gates = gate ? await gate.data() : null;
      let logits: tf.Tensor2D | null = early, l: ArrayLike<number> | null = null, p: ArrayLike<number> | null = null;
      const logitsT = () => (logits ??= tf.tidy(() => net.exitLogits(e, features, false, undefined, folded)));
      return {
        gates,
        logits: async () => (l ??= await logitsT().data()),
        probs: async () => {
          if (!p) { const s = tf.softmax(logitsT()); p = await s.data(); s.dispose(); }
          return p;
        },
        dispose: () => tf.dispose([features, gate ?? [], logits ?? []]),
      };
    },
    async classifier(h) {
      const logits = tf.tidy(() => net.runClassifier(h, false, folded));
      const v = await logits.data();
      logits.dispose();
      return v;
    },
  };
}

/**
 * Heads on the host from the feature map's values, with folded weights: where the map is small
 * (HOST_HEAD_MAX_VALUES) and every layer is one host-layers.ts runs cheaper than the kernels
 * (no convolutions; dense layers up to its size limit). Null elsewhere. Used on wasm and cpu only
 * (the `host-heads` part), where a weight is read once, synchronously, when a head first needs it.
 */
export function hostHeads(net: MultiExitNetwork): ExitHeads {
  const values = new Map<string, Float32Array>();
  const weight = (name: string): Float32Array => {
    let w = values.get(name);
    if (!w) values.set(name, w = Float32Array.from(net.variable(name).dataSync() as Float32Array));
    return w;
  };
  /** Whether `first` runs here on h, then each of `then` on its output, and `gate` on what a gate of these inputs reads from it. */
  const runs = (h: tf.Tensor, first: LayerSpec[], then: LayerSpec[][] = [], gate?: [LayerSpec[], NetworkConfig['gateInputs']]): boolean => {
    if (h.size > HOST_HEAD_MAX_VALUES) return false;
    const shape = h.shape.slice(1) as Shape3;
    if (!hostSupports(first, shape)) return false;
    const out = layersCost(first, shape).shape;
    if (gate && !hostSupports(gate[0], [1, 1, gateInputWidth(out[0] * out[1] * out[2], gate[1])])) return false;
    return then.every((layers) => hostSupports(layers, out));
  };
  const K = net.config.backbone.classes;
  return {
    async exit(e, h) {
      const head = net.exits[e].headLayers;
      const featureLayers = head.slice(0, -1), classifier = head.slice(-1), gate = net.config.gated ? net.gateLayers(e) : [];
      const softmaxOnly = net.config.gateInputs === 'softmax';
      if (!runs(h, featureLayers, [classifier], gate.length ? [gate, net.config.gateInputs] : undefined)) return null;
      const n = h.shape[0];
      const features = runHostLayers(featureLayers, { data: await h.data() as Float32Array, shape: h.shape }, weight);
      let l: ArrayLike<number> | null = null, p: ArrayLike<number> | null = null;
      const logits = () => (l ??= runHostLayers(classifier, features, weight).data);
      const probs = () => (p ??= softmaxRows(logits(), K, n));
      let gates: Float64Array | null = null;
      if (net.config.gated) {
        const F = features.shape[1];
        const stats = net.gatesSeeSoftmax ? gateStatistics(probs(), K, n) : null;
        const input = !stats ? features : softmaxOnly ? { data: stats, shape: [n, 3] } : { data: concatRows(features.data, F, stats, 3, n), shape: [n, F + 3] };
        const T = net.gateTemperature;
        gates = Float64Array.from(runHostLayers(gate, input, weight).data, (z) => 1 / (1 + Math.exp(-z / T)));
      }
      return { gates, logits: async () => logits(), probs: async () => probs(), dispose: () => undefined };
    },
    async classifier(h) {
      if (!runs(h, net.ir.classifier)) return null;
      return runHostLayers(net.ir.classifier, { data: await h.data() as Float32Array, shape: h.shape }, weight).data;
    },
  };
}

/** The first variant that applies, per call. */
function firstOf(variants: ExitHeads[]): ExitHeads {
  return {
    exit: async (e, h) => { for (const v of variants) { const r = await v.exit(e, h); if (r) return r; } return null; },
    classifier: async (h) => { for (const v of variants) { const r = await v.classifier(h); if (r) return r; } return null; },
  };
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

/** Normalised entropy (÷ ln K) and max probability of each row of probabilities. */
export function rowStatistics(probs: ArrayLike<number>, K: number, n: number): { pred: number[]; conf: number[]; entropy: number[] } {
  const pred: number[] = [], conf: number[] = [], entropy: number[] = [];
  const lnK = Math.log(K);
  for (let i = 0; i < n; i++) {
    let best = 0, bestP = -1, h = 0;
    for (let c = 0; c < K; c++) {
      const p = probs[i * K + c];
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

/**
 * Evaluates a network with hard exits (and its plain backbone, for the speed-up) with one choice
 * of inference weights and heads. `fast`: folded batch norm and heads on the host where cheaper,
 * as a deployed network would run (call `dispose()` before the weights change); otherwise the
 * network's own weights and tfjs heads. `hostHeads: false` keeps the fast path's heads on tfjs.
 */
export class ExitEvaluator {
  private readonly folded: FoldedBatchNorm | undefined;
  private readonly heads: ExitHeads;
  private readonly blockMacs: number[];
  private readonly classifierMacs: number;
  /** Test hook: called with each backbone block and the rows of the tensor it runs on. */
  onBlock?: (block: number, rows: number) => void;

  constructor(readonly net: MultiExitNetwork, opts: { fast?: boolean; hostHeads?: boolean } = {}) {
    this.folded = opts.fast ? new FoldedBatchNorm(net) : undefined;
    const kernels = tfjsHeads(net, this.folded);
    this.heads = opts.fast && opts.hostHeads !== false ? firstOf([hostHeads(net), kernels]) : kernels;
    const cumulative = describeBackbone(net.config.backbone).points.map((p) => p.macs);
    this.blockMacs = cumulative.map((m, i) => m - (i ? cumulative[i - 1] : 0));
    this.classifierMacs = net.costs.full - cumulative[cumulative.length - 1];
  }

  /**
   * Option 2 on a batch: an input leaves at the first exit whose rule fires; rows that left are
   * dropped, so later blocks run only on the rows still in the batch.
   */
  async hardExitPass(x: tf.Tensor4D, rule: ExitRule, thresholds: number[]): Promise<HardPass> {
    const n = x.shape[0];
    const exitIndex = new Int32Array(n).fill(-1);
    const pred = new Int32Array(n);
    const r = await this.blockRange(x, 0, this.net.ir.blocks.length, rule, thresholds, exitIndex, pred);
    let macs = r.macs;
    if (r.alive.length) {
      macs += this.classifierMacs * r.alive.length;
      await this.classify(r.h, r.alive, exitIndex, pred);
    }
    if (r.h !== x) r.h.dispose();
    return { exitIndex, pred, macs };
  }

  /**
   * Backbone blocks [from, to) and the exits attached to them on the rows of `x` (samples
   * `alive`, default 0…n−1): a row whose exit fires leaves (its exit and prediction are written
   * to `exitIndex` and `pred` at its sample) and is dropped from the batch. Returns the rows still
   * in the batch and their feature map after block to − 1 (`x` itself when no block ran: never
   * disposed here; the caller disposes `h` when it is not `x`), and the MACs computed.
   */
  async blockRange(
    x: tf.Tensor4D, from: number, to: number, rule: ExitRule, thresholds: number[], exitIndex: Int32Array, pred: Int32Array,
    alive: number[] = Array.from({ length: x.shape[0] }, (_, i) => i),
  ): Promise<{ h: tf.Tensor4D; alive: number[]; macs: number }> {
    const net = this.net;
    const K = net.config.backbone.classes;
    // h is the caller's x until the first block replaces it (no copy); never dispose x
    let h: tf.Tensor4D = x;
    const drop = (t: tf.Tensor) => { if (t !== x) t.dispose(); };
    let macs = 0;
    for (let i = from; i < to && alive.length; i++) {
      this.onBlock?.(i, h.shape[0]);
      const next = tf.tidy(() => net.runBlock(i, h, false, undefined, this.folded));
      drop(h);
      h = next;
      macs += this.blockMacs[i] * alive.length;
      const e = net.exitAtBlock(i);
      if (e < 0) continue;
      macs += (net.exits[e].headMacs + net.exits[e].gateMacs) * alive.length;
      const out = (await this.heads.exit(e, h))!;
      const fires = new Uint8Array(alive.length);
      let rowPred: (row: number) => number;
      if (rule === 'gate' && out.gates) {
        // the gate decides; the exit's classifier only when some row leaves, argmax on the host
        let any = false;
        for (let row = 0; row < alive.length; row++) if (ruleFires(rule, out.gates[row], thresholds[e])) { fires[row] = 1; any = true; }
        const l = any ? await out.logits() : null;
        rowPred = (row) => argmaxRow(l!, row, K);
      } else {
        // confidence / entropy (BranchyNet): the exit's softmax
        const stats = rowStatistics(await out.probs(), K, alive.length);
        for (let row = 0; row < alive.length; row++) {
          const value = rule === 'gate' ? out.gates![row] : rule === 'confidence' ? stats.conf[row] : stats.entropy[row];
          if (ruleFires(rule, value, thresholds[e])) fires[row] = 1;
        }
        rowPred = (row) => stats.pred[row];
      }
      const keep: number[] = [];
      const keepRows: number[] = [];
      alive.forEach((sample, row) => {
        if (fires[row]) { exitIndex[sample] = e; pred[sample] = rowPred(row); } else { keep.push(sample); keepRows.push(row); }
      });
      out.dispose();
      if (keep.length < alive.length && keep.length > 0) {
        // drop the rows that left: later blocks are not computed for them
        const idx = tf.tensor1d(keepRows, 'int32');
        const g2 = tf.gather(h, idx) as tf.Tensor4D;
        idx.dispose(); drop(h);
        h = g2;
      }
      alive = keep;
    }
    return { h, alive, macs };
  }

  /** The final classifier on the last block's output `h` of the samples `alive`. */
  async classify(h: tf.Tensor4D, alive: number[], exitIndex: Int32Array, pred: Int32Array): Promise<void> {
    const K = this.net.config.backbone.classes;
    const logits = (await this.heads.classifier(h))!;
    alive.forEach((sample, row) => { exitIndex[sample] = this.net.exits.length; pred[sample] = argmaxRow(logits, row, K); });
  }

  /**
   * One batch-1 pass through every block, every exit (head features, gate and classifier, as when
   * it fires) and the final classifier, each part timed in ms: what a "measure here" tier computes
   * at. On backends that run kernels asynchronously (webgl, webgpu) each part's output is read, so
   * its time includes that read.
   */
  async timeParts(x: tf.Tensor4D): Promise<{ blockMs: number[]; exitMs: number[]; classifierMs: number }> {
    const net = this.net;
    const sync = !['wasm', 'cpu', 'tensorflow'].includes(tf.getBackend());
    const blockMs: number[] = [], exitMs = new Array(net.exits.length).fill(0);
    let h: tf.Tensor4D = x;
    for (let i = 0; i < net.ir.blocks.length; i++) {
      let t0 = performance.now();
      const next = tf.tidy(() => net.runBlock(i, h, false, undefined, this.folded));
      if (sync) await next.data();
      blockMs.push(performance.now() - t0);
      if (h !== x) h.dispose();
      h = next;
      const e = net.exitAtBlock(i);
      if (e < 0) continue;
      t0 = performance.now();
      const out = (await this.heads.exit(e, h))!;
      await out.logits();
      exitMs[e] = performance.now() - t0;
      out.dispose();
    }
    const t0 = performance.now();
    await this.heads.classifier(h);
    const classifierMs = performance.now() - t0;
    if (h !== x) h.dispose();
    return { blockMs, exitMs, classifierMs };
  }

  /** The plain backbone's logits [n·K], read: the full pass of the latency measurement (its classifier runs where the hard pass runs its heads). */
  async backboneOnlyLogits(x: tf.Tensor4D): Promise<ArrayLike<number>> {
    const h = tf.tidy(() => this.net.runBlocks(x, this.folded));
    try {
      return (await this.heads.classifier(h))!;
    } finally {
      if (h !== x) h.dispose();
    }
  }

  dispose(): void {
    this.folded?.dispose();
  }
}
