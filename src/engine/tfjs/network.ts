/**
 * The multi-exit network in tfjs: a backbone from the catalogue (backbones.ts), auxiliary
 * classifiers f_b at chosen points, each with a gate g_b = sigmoid(dense(head features)), and the
 * final classifier f. Written with raw ops and named variables (not tf.layers) so that
 *  - hard-exit inference can run the backbone block by block and really skip what it does not
 *    need (rows that left are dropped from the batch), and
 *  - every convolution goes through the Conv2D kernel, whose gradient we can replace on wasm/cpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  avgPoolWindow, buildBackboneIR, layersCost, type BackboneIR, type LayerSpec, type Shape3,
} from '../../spec/backbones';
import { batchNormActivation } from '../../accel';
import type { CostModel } from '../../spec/results';
import { costModel, gateInputWidth, resolveExits, type ResolvedExit } from '../../spec/exit-costs';
import { gateLayersOf, type NetworkConfig } from '../../spec/network';

export { HEAD_KINDS, validateExits, type ExitConfig, type HeadKind } from '../../spec/exits';
// The head layers and their costs live in exit-costs.ts (no tfjs), shared with the extension host.
export { costModel } from '../../spec/exit-costs';

export type { NetworkConfig } from '../../spec/network';

/** Outputs of one forward pass through every exit. Shapes for a batch of N and K classes. */
export interface ForwardOutputs {
  /** B tensors [N, K] */
  exitLogits: tf.Tensor2D[];
  /** B tensors [N, 1] (empty when not gated, or when the caller asked for no gates) */
  gates: tf.Tensor2D[];
  /** B tensors [N, F_b]: each exit's head features, what its classifier and gate read */
  features: tf.Tensor2D[];
  /** [N, K] */
  finalLogits: tf.Tensor2D;
}

/** Batch-norm statistics of one training step, applied to the moving averages after the step. */
interface BnUpdate { name: string; mean: tf.Tensor; variance: tf.Tensor }

/**
 * Inference weights with batch norm folded into each convolution (exit-evaluator.ts): with them a
 * conv, its bias and ReLU run as one fused kernel and dense layers as one fused matMul.
 */
export interface FoldedWeights {
  conv(name: string, useBn: boolean): { filter: tf.Tensor4D; bias: tf.Tensor1D };
}

interface Ctx {
  training: boolean;
  bnUpdates?: BnUpdate[];
  /** inference only: folded weights to run instead of conv + batch norm */
  folded?: FoldedWeights;
}

/**
 * f_b's softmax statistics per row, [N, 3]: max probability, entropy ÷ ln K, top-1 − top-2 margin
 * (GATE_STATISTICS; the host path computes the same in exit-evaluator.ts `gateStatistics`). No
 * gradient flows back: a gate reads the classifier's confidence and must not train it to look
 * confident.
 */
const statisticsOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const logits = args[0] as tf.Tensor2D, save = args[1] as tf.GradSaveFunc;
  save([logits]);
  const K = logits.shape[1];
  const value = tf.tidy(() => {
    const p = tf.softmax(logits);
    const [p1, p2] = tf.split(tf.topk(p, 2).values, 2, 1);
    const entropy = tf.div(tf.neg(tf.sum(tf.mul(p, tf.log(tf.maximum(p, 1e-30))), 1, true)), Math.log(K));
    return tf.concat([p1, tf.clipByValue(entropy, 0, 1), tf.sub(p1, p2)], 1);
  });
  return { value, gradFunc: (_dy: tf.Tensor, saved: tf.Tensor[]) => [tf.zerosLike(saved[0])] };
});

export function softmaxStatistics(logits: tf.Tensor2D): tf.Tensor2D {
  return statisticsOp(logits) as tf.Tensor2D;
}

export const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.9;

function hashSeed(seed: number, name: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h % 2147483647;
}

export class MultiExitNetwork {
  readonly ir: BackboneIR;
  readonly exits: ResolvedExit[];
  readonly costs: CostModel;
  readonly vars = new Map<string, tf.Variable>();
  /** Names of non-trainable variables (batch-norm moving statistics). */
  private readonly frozen = new Set<string>();
  /**
   * Dropout masks drawn so far in training. Each mask's seed derives from the network's seed and
   * this count, so the checkpoint keeps it: a resumed run draws the masks the uninterrupted run would.
   */
  dropoutCalls = 0;

  constructor(readonly config: NetworkConfig) {
    this.ir = buildBackboneIR(config.backbone);
    this.exits = resolveExits(config);
    const c = costModel(config);
    this.costs = { exits: c.exits, final: c.final, full: c.full };
    this.createVariables();
  }

  /** Exit index (into this.exits) attached after each backbone block, or -1. */
  exitAtBlock(block: number): number {
    return this.exits.findIndex((e) => e.block === block);
  }

  // ---- variables -------------------------------------------------------------------------

  private createVariable(name: string, init: () => tf.Tensor, trainable = true): void {
    if (this.vars.has(name)) throw new Error(`duplicate variable ${name}`);
    const t = init();
    this.vars.set(name, tf.variable(t, trainable, name + '_' + Math.random().toString(36).slice(2, 8)));
    t.dispose();
    if (!trainable) this.frozen.add(name);
  }

  private createLayerVariables(layers: LayerSpec[], input: Shape3): void {
    const seed = this.config.seed;
    const heNormal = (name: string, shape: number[], fanIn: number) =>
      this.createVariable(name, () => tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', hashSeed(seed, name)));
    const zeros = (name: string, n: number, trainable = true) => this.createVariable(name, () => tf.zeros([n]), trainable);
    const ones = (name: string, n: number, trainable = true) => this.createVariable(name, () => tf.ones([n]), trainable);
    const bn = (name: string, n: number) => {
      ones(`${name}/gamma`, n); zeros(`${name}/beta`, n);
      zeros(`${name}/moving_mean`, n, false); ones(`${name}/moving_variance`, n, false);
    };
    const conv = (name: string, k: number, cin: number, cout: number, useBn: boolean) => {
      heNormal(`${name}/kernel`, [k, k, cin, cout], k * k * cin);
      if (useBn) bn(`${name}/bn`, cout); else zeros(`${name}/bias`, cout);
    };
    let shape = input;
    for (const l of layers) {
      const c = shape[2];
      switch (l.kind) {
        case 'conv':
          conv(l.name, l.kernel, c, l.filters, l.bn);
          break;
        case 'residual':
          conv(`${l.name}/conv1`, 3, c, l.filters, true);
          conv(`${l.name}/conv2`, 3, l.filters, l.filters, true);
          if (l.stride !== 1 || c !== l.filters) conv(`${l.name}/shortcut`, 1, c, l.filters, true);
          break;
        case 'dense': {
          const n = shape[0] * shape[1] * c;
          // PyTorch's default for linear layers: U(−1/√n, 1/√n)
          const b = 1 / Math.sqrt(n);
          this.createVariable(`${l.name}/kernel`, () => tf.randomUniform([n, l.units], -b, b, 'float32', hashSeed(seed, l.name)));
          zeros(`${l.name}/bias`, l.units);
          break;
        }
        default:
          break;
      }
      shape = layersCost([l], shape).shape;
    }
  }

  private createVariables(): void {
    let shape = this.config.backbone.input;
    this.ir.blocks.forEach((b, i) => {
      this.createLayerVariables(b.layers, shape);
      shape = layersCost(b.layers, shape).shape;
      const e = this.exitAtBlock(i);
      if (e >= 0) {
        const exit = this.exits[e];
        this.createLayerVariables(exit.headLayers, shape);
        if (this.config.gated) {
          const f = gateInputWidth(exit.featureShape[2], this.config.gateInputs);
          this.createLayerVariables(this.gateLayers(e), [1, 1, f]);
        }
      }
    });
    this.createLayerVariables(this.ir.classifier, shape);
  }

  /** Variables the optimiser updates. */
  trainableVariables(): tf.Variable[] {
    return [...this.vars.entries()].filter(([n]) => !this.frozen.has(n)).map(([, v]) => v);
  }

  /**
   * Convolution and dense kernels: what weight decay applies to; `part` keeps the gates' (g_b) or
   * everything else's (the exits-first warm-up trains no gate, the gates-only phase nothing else).
   */
  decayedVariables(part: 'all' | 'gates' | 'network' = 'all'): tf.Variable[] {
    return [...this.vars.entries()]
      .filter(([n]) => n.endsWith('/kernel') && (part === 'all' || (part === 'gates') === MultiExitNetwork.isGateVariable(n)))
      .map(([, v]) => v);
  }

  /** Whether variable `name` belongs to a gate g_b. */
  static isGateVariable(name: string): boolean {
    return /^exit_[^/]+\/gate(_hidden)?\//.test(name);
  }

  /** Whether the gates see f_b's softmax statistics (method.gateInputs). */
  get gatesSeeSoftmax(): boolean {
    return this.config.gateInputs === 'features+softmax' || this.config.gateInputs === 'softmax';
  }

  /** T of g_b = σ(z_b / T) (1 unless a recipe anneals it). */
  get gateTemperature(): number {
    return this.config.gateTemperature ?? 1;
  }

  /** Sets the gate temperature (the epoch's phase); it is saved with the weights and used at inference. */
  setGateTemperature(t: number): void {
    if (!(t > 0)) throw new Error(`gate temperature must be > 0, got ${t}`);
    if (t === 1 && this.config.gateTemperature === undefined) return;
    this.config.gateTemperature = t;
  }

  parameterCount(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** The variable `name` ("block3/conv1/kernel", …); throws naming it when missing. */
  variable(name: string): tf.Variable {
    return this.v(name);
  }

  private v(name: string): tf.Variable {
    const t = this.vars.get(name);
    if (!t) throw new Error(`missing variable ${name}`);
    return t;
  }

  // ---- forward ---------------------------------------------------------------------------

  /** relu?(batchNorm(x) + residual): batch statistics in training (one fused kernel where the backend has it), moving ones otherwise. */
  private batchNorm(x: tf.Tensor4D, name: string, ctx: Ctx, relu = false, residual?: tf.Tensor4D): tf.Tensor4D {
    const gamma = this.v(`${name}/gamma`), beta = this.v(`${name}/beta`);
    if (ctx.training) {
      return batchNormActivation(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, BN_EPS, {
        relu, residual,
        onMoments: (mean, variance) => {
          if (ctx.bnUpdates) ctx.bnUpdates.push({ name, mean, variance }); else tf.dispose([mean, variance]);
        },
      });
    }
    let y = tf.batchNorm(x, this.v(`${name}/moving_mean`), this.v(`${name}/moving_variance`), beta, gamma, BN_EPS) as tf.Tensor4D;
    if (residual) y = tf.add(y, residual);
    return relu ? tf.relu(y) : y;
  }

  /** relu?(bn-or-bias(conv(x)) + residual); `residual` (a shortcut) is added before the ReLU. */
  private conv(x: tf.Tensor4D, name: string, stride: number, useBn: boolean, relu: boolean, ctx: Ctx, residual?: tf.Tensor4D): tf.Tensor4D {
    if (ctx.folded && !ctx.training) {
      const f = ctx.folded.conv(name, useBn);
      if (residual) {
        const y = tf.fused.conv2d({ x, filter: f.filter, strides: stride, pad: 'same', bias: f.bias });
        const sum = tf.add(y, residual) as tf.Tensor4D;
        return relu ? tf.relu(sum) : sum;
      }
      return tf.fused.conv2d({ x, filter: f.filter, strides: stride, pad: 'same', bias: f.bias, activation: relu ? 'relu' : 'linear' });
    }
    const y = tf.conv2d(x, this.v(`${name}/kernel`) as tf.Tensor4D, stride, 'same');
    if (useBn) return this.batchNorm(y, `${name}/bn`, ctx, relu, residual);
    let out = tf.add(y, this.v(`${name}/bias`)) as tf.Tensor4D;
    if (residual) out = tf.add(out, residual);
    return relu ? tf.relu(out) : out;
  }

  private applyLayers(layers: LayerSpec[], x: tf.Tensor, ctx: Ctx): tf.Tensor {
    let h = x;
    for (const l of layers) {
      switch (l.kind) {
        case 'conv':
          h = this.conv(h as tf.Tensor4D, l.name, l.stride, l.bn, l.relu, ctx);
          break;
        case 'maxpool':
          h = tf.maxPool(h as tf.Tensor4D, l.size, l.stride, 'same');
          break;
        case 'residual': {
          const x4 = h as tf.Tensor4D;
          const a = this.conv(x4, `${l.name}/conv1`, l.stride, true, true, ctx);
          const shortcut = this.vars.has(`${l.name}/shortcut/kernel`) ? this.conv(x4, `${l.name}/shortcut`, l.stride, true, false, ctx) : x4;
          h = this.conv(a, `${l.name}/conv2`, 1, true, true, ctx, shortcut); // relu(bn(conv2(a)) + shortcut)
          break;
        }
        case 'gap':
          h = tf.mean(h, [1, 2]);
          break;
        case 'avgpool': {
          const k = avgPoolWindow(h.shape[1]!, h.shape[2]!, l.grid);
          if (k > 1) h = tf.avgPool(h as tf.Tensor4D, k, k, 'same');
          break;
        }
        case 'flatten':
          h = tf.reshape(h, [h.shape[0], -1]);
          break;
        case 'dropout':
          if (ctx.training && l.rate > 0) h = tf.dropout(h, l.rate, undefined, hashSeed(this.config.seed, `dropout${this.dropoutCalls++}`));
          break;
        case 'dense': {
          if (ctx.folded && !ctx.training) {
            h = tf.fused.matMul({ a: h as tf.Tensor2D, b: this.v(`${l.name}/kernel`) as tf.Tensor2D, bias: this.v(`${l.name}/bias`), activation: l.relu ? 'relu' : 'linear' });
            break;
          }
          const y = tf.add(tf.matMul(h as tf.Tensor2D, this.v(`${l.name}/kernel`) as tf.Tensor2D), this.v(`${l.name}/bias`));
          h = l.relu ? tf.relu(y) : y;
          break;
        }
      }
    }
    return h;
  }

  /** Backbone block i: [N, H, W, C] → [N, H', W', C'] */
  runBlock(i: number, x: tf.Tensor4D, training = false, bnUpdates?: BnUpdate[], folded?: FoldedWeights): tf.Tensor4D {
    return this.applyLayers(this.ir.blocks[i].layers, x, { training, bnUpdates, folded }) as tf.Tensor4D;
  }

  /** Exit e on the features of its point: logits f_b [N, K] (pre-softmax) and gate g_b [N, 1]. */
  runExit(e: number, h: tf.Tensor4D, training = false, bnUpdates?: BnUpdate[], folded?: FoldedWeights): { logits: tf.Tensor2D; gate: tf.Tensor2D | null } {
    const features = this.exitFeatures(e, h, training, bnUpdates, folded);
    const logits = this.exitLogits(e, features, training, bnUpdates, folded);
    return { logits, gate: this.config.gated ? this.exitGate(e, features, training, bnUpdates, folded, logits) : null };
  }

  /** Exit e's head up to its last layer (what the classifier and the gate share). */
  exitFeatures(e: number, h: tf.Tensor4D, training = false, bnUpdates?: BnUpdate[], folded?: FoldedWeights): tf.Tensor2D {
    return this.applyLayers(this.exits[e].headLayers.slice(0, -1), h, { training, bnUpdates, folded }) as tf.Tensor2D;
  }

  /** Exit e's classifier f_b on its features: logits [N, K]. */
  exitLogits(e: number, features: tf.Tensor2D, training = false, bnUpdates?: BnUpdate[], folded?: FoldedWeights): tf.Tensor2D {
    return this.applyLayers(this.exits[e].headLayers.slice(-1), features, { training, bnUpdates, folded }) as tf.Tensor2D;
  }

  /**
   * Exit e's gate g_b = σ(z_b / T) on its features (and, with softmax gates, the statistics of
   * f_b's `logits`): [N, 1] in (0, 1).
   */
  exitGate(e: number, features: tf.Tensor2D, training = false, bnUpdates?: BnUpdate[], folded?: FoldedWeights, logits?: tf.Tensor2D): tf.Tensor2D {
    const z = this.applyLayers(this.gateLayers(e), this.gateInput(e, features, logits), { training, bnUpdates, folded });
    const T = this.gateTemperature;
    return tf.sigmoid(T === 1 ? z : tf.div(z, T)) as tf.Tensor2D;
  }

  /** What gate e reads: the head's features, then (softmax gates) f_b's statistics from its logits; or the statistics alone. */
  gateInput(e: number, features: tf.Tensor2D, logits?: tf.Tensor2D): tf.Tensor2D {
    if (!this.gatesSeeSoftmax) return features;
    if (!logits) throw new Error(`gate of exit ${this.exits[e].point} sees f_b's softmax: pass its logits`);
    const stats = softmaxStatistics(logits);
    return this.config.gateInputs === 'softmax' ? stats : tf.concat([features, stats], 1);
  }

  /** Exit e's gate up to the sigmoid: an optional hidden dense layer (ReLU), then one unit. */
  gateLayers(e: number): LayerSpec[] {
    return gateLayersOf(this.exits[e]);
  }

  /** The final classifier on the last block's output: logits [N, K]. */
  runClassifier(h: tf.Tensor4D, training = false, folded?: FoldedWeights): tf.Tensor2D {
    return this.applyLayers(this.ir.classifier, h, { training, folded }) as tf.Tensor2D;
  }

  /**
   * Every exit and the final classifier on a batch x [N, H, W, C]. In training mode batch norm
   * uses batch statistics and pushes them to `bnUpdates` (apply with `applyBatchNormUpdates`).
   */
  forward(x: tf.Tensor4D, training = false, bnUpdates?: BnUpdate[], folded?: FoldedWeights, opts: { gates?: boolean } = {}): ForwardOutputs {
    const exitLogits: tf.Tensor2D[] = [], gates: tf.Tensor2D[] = [], features: tf.Tensor2D[] = [];
    const withGates = this.config.gated && opts.gates !== false;
    let h = x;
    for (let i = 0; i < this.ir.blocks.length; i++) {
      h = this.runBlock(i, h, training, bnUpdates, folded);
      const e = this.exitAtBlock(i);
      if (e >= 0) {
        const f = this.exitFeatures(e, h, training, bnUpdates, folded);
        const logits = this.exitLogits(e, f, training, bnUpdates, folded);
        exitLogits.push(logits);
        features.push(f);
        if (withGates) gates.push(this.exitGate(e, f, training, bnUpdates, folded, logits));
      }
    }
    return { exitLogits, gates, features, finalLogits: this.runClassifier(h, training, folded) };
  }

  /** The plain backbone (no exits): what the speed-up is measured against. */
  forwardBackboneOnly(x: tf.Tensor4D, folded?: FoldedWeights): tf.Tensor2D {
    return this.runClassifier(this.runBlocks(x, folded), false, folded);
  }

  /** Every backbone block on x: the final classifier's input. */
  runBlocks(x: tf.Tensor4D, folded?: FoldedWeights): tf.Tensor4D {
    let h = x;
    for (let i = 0; i < this.ir.blocks.length; i++) h = this.runBlock(i, h, false, undefined, folded);
    return h;
  }

  /** Moves the batch-norm moving averages towards one step's batch statistics; disposes them. */
  applyBatchNormUpdates(updates: BnUpdate[]): void {
    tf.tidy(() => {
      for (const u of updates) {
        const mm = this.v(`${u.name}/moving_mean`), mv = this.v(`${u.name}/moving_variance`);
        mm.assign(tf.add(tf.mul(mm, BN_MOMENTUM), tf.mul(u.mean, 1 - BN_MOMENTUM)));
        mv.assign(tf.add(tf.mul(mv, BN_MOMENTUM), tf.mul(u.variance, 1 - BN_MOMENTUM)));
      }
    });
    for (const u of updates) { u.mean.dispose(); u.variance.dispose(); }
  }

  // ---- weights ---------------------------------------------------------------------------

  /** All variables by name (a copy is not made: do not dispose). */
  namedWeights(): tf.NamedTensorMap {
    const m: tf.NamedTensorMap = {};
    for (const [n, v] of this.vars) m[n] = v;
    return m;
  }

  /** Loads weights saved by `namedWeights`; names and shapes must match exactly. */
  loadWeights(weights: tf.NamedTensorMap): void {
    for (const [n, v] of this.vars) {
      const t = weights[n];
      if (!t) throw new Error(`weights: missing "${n}"`);
      if (t.shape.join('x') !== v.shape.join('x')) throw new Error(`weights: "${n}" has shape [${t.shape}] but the network needs [${v.shape}]`);
      v.assign(t);
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
