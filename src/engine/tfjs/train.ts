/**
 * The training loop for the three methods:
 *  - proposed:   CE(y, f̃_1) + λ·C  (Eq. 1 and Eq. 2, paper.ts), optionally + α·Σ per-classifier CE;
 *  - branchynet: Σ_b w_b·CE(y, f_b) + w_{B+1}·CE(y, f)  (exits decide by entropy at inference);
 *  - baseline:   CE(y, f), the backbone alone.
 * Weight decay is L2 on conv and dense kernels (as PyTorch's `weight_decay`).
 */
import * as tf from '@tensorflow/tfjs';
import { accuracyOf, exitTable, softAccuracy } from '../../spec/analysis';
import { mulberry32, shuffleInPlace } from '../../spec/rng';
import { collectRecords, type BatchSource } from './evaluate';
import { EarlyExitAdam } from '../../accel/fused-adam';
import type { MultiExitNetwork } from './network';
import { crossEntropyOfLogits, crossEntropyOfProbs, expectedCost, softConditionalOutput } from './paper';
import type { ExitRule, MethodName } from '../../spec/results';
import type { EpochMetrics } from '../../spec/run-types';

export interface MethodConfig {
  name: MethodName;
  /** λ, weight of the cost regulariser C (proposed). */
  lambda: number;
  /** α, weight of an extra CE term on every classifier f_1…f_B and f (proposed; 0 = the paper's loss). */
  exitLossWeight: number;
  /** BranchyNet weights w_1…w_B, w_{B+1}; null = all 1. */
  exitWeights: number[] | null;
}

export interface TrainingConfig {
  epochs: number;
  batchSize: number;
  optimizer: 'adam' | 'sgd';
  lr: number;
  /** SGD momentum */
  momentum: number;
  weightDecay: number;
  schedule: 'constant' | 'cosine' | 'step';
  /** step schedule: multiply lr by `stepGamma` every `stepEpochs` epochs */
  stepEpochs: number;
  stepGamma: number;
  seed: number;
}

/** Training images: a batch of samples by index, augmented or not. */
export interface TrainSource {
  count: number;
  labels: ArrayLike<number>;
  batch(indices: ArrayLike<number>, augment: boolean, rng: () => number): tf.Tensor4D;
}

export interface StepProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  imagesPerSecond: number;
  /** seconds left in the whole run, from the mean step time so far */
  etaSeconds: number;
}

export interface TrainCallbacks {
  onStep?(p: StepProgress): void;
  /** Called after every epoch with its metrics, before the next epoch starts (checkpoint here). */
  onEpochEnd?(m: EpochMetrics, optimizer: tf.Optimizer): Promise<void> | void;
  /** Polled before every step: returning true ends training with TrainingCancelled. */
  shouldStop?(): boolean;
}

/** The loss became NaN or infinite; names where. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(readonly epoch: number, readonly step: number, readonly value: number) {
    super(`loss became ${value} at epoch ${epoch}, step ${step} (try a lower learning rate or λ)`);
  }
}

export class TrainingCancelled extends Error {
  override name = 'TrainingCancelled';
  constructor(readonly epoch: number, readonly step: number) {
    super(`training stopped by request at epoch ${epoch}, step ${step}`);
  }
}

/** Learning rate of an epoch (0-based) under the schedule. */
export function learningRate(cfg: TrainingConfig, epoch: number): number {
  switch (cfg.schedule) {
    case 'constant': return cfg.lr;
    case 'cosine': return cfg.lr * 0.5 * (1 + Math.cos((Math.PI * epoch) / cfg.epochs));
    case 'step': return cfg.lr * Math.pow(cfg.stepGamma, Math.floor(epoch / cfg.stepEpochs));
  }
}

export function createOptimizer(cfg: TrainingConfig): tf.Optimizer {
  return cfg.optimizer === 'adam' ? new EarlyExitAdam(cfg.lr) : tf.train.momentum(cfg.lr, cfg.momentum);
}

function setLearningRate(opt: tf.Optimizer, lr: number): void {
  (opt as unknown as { learningRate: number }).learningRate = lr;
}

function shuffled(n: number, rng: () => number): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(a, rng);
  return a;
}

/** The loss of one batch and its parts (scalars, caller disposes). */
export function methodLoss(
  net: MultiExitNetwork, method: MethodConfig, x: tf.Tensor4D, yOneHot: tf.Tensor2D, weightDecay: number,
  bnUpdates?: Parameters<MultiExitNetwork['forward']>[2],
): { loss: tf.Scalar; ce: tf.Scalar; cost: tf.Scalar | null } {
  const o = net.forward(x, true, bnUpdates);
  let ce: tf.Scalar;
  let cost: tf.Scalar | null = null;
  let loss: tf.Scalar;
  const B = o.exitLogits.length;
  switch (method.name) {
    case 'proposed': {
      const exitProbs = o.exitLogits.map((l) => tf.softmax(l) as tf.Tensor2D);
      const fTilde = softConditionalOutput(exitProbs, o.gates, tf.softmax(o.finalLogits) as tf.Tensor2D);
      ce = crossEntropyOfProbs(fTilde, yOneHot);
      const full = net.costs.full;
      cost = expectedCost(o.gates, net.costs.exits.map((g) => g / full), net.costs.final / full);
      loss = tf.add(ce, tf.mul(method.lambda, cost));
      if (method.exitLossWeight > 0) {
        const perClassifier = [...o.exitLogits, o.finalLogits].map((l) => crossEntropyOfLogits(l, yOneHot));
        loss = tf.add(loss, tf.mul(method.exitLossWeight, tf.addN(perClassifier)));
      }
      break;
    }
    case 'branchynet': {
      const w = method.exitWeights ?? new Array(B + 1).fill(1);
      const terms = [...o.exitLogits, o.finalLogits].map((l, b) => tf.mul(w[b], crossEntropyOfLogits(l, yOneHot)));
      ce = tf.addN(terms) as tf.Scalar;
      loss = ce;
      break;
    }
    case 'baseline':
      ce = crossEntropyOfLogits(o.finalLogits, yOneHot);
      loss = ce;
      break;
  }
  if (weightDecay > 0) {
    const l2 = tf.addN(net.decayedVariables().map((v) => tf.sum(tf.square(v))));
    loss = tf.add(loss, tf.mul(weightDecay / 2, l2));
  }
  return { loss, ce, cost };
}

export interface TrainOptions {
  net: MultiExitNetwork;
  method: MethodConfig;
  training: TrainingConfig;
  train: TrainSource;
  augment: boolean;
  validation: BatchSource;
  rule: ExitRule;
  thresholds: number[];
  callbacks?: TrainCallbacks;
  /** Epochs already done (resume): training continues at epoch startEpoch + 1. */
  startEpoch?: number;
  /** Optimiser restored from a checkpoint. */
  optimizer?: tf.Optimizer;
}

/** Trains for the remaining epochs; returns the optimiser (for checkpoints) and the metrics. */
export async function trainNetwork(o: TrainOptions): Promise<{ optimizer: tf.Optimizer; metrics: EpochMetrics[] }> {
  const { net, method, training: cfg, train } = o;
  const optimizer = o.optimizer ?? createOptimizer(cfg);
  const K = net.config.backbone.classes;
  const steps = Math.ceil(train.count / cfg.batchSize);
  const metrics: EpochMetrics[] = [];
  const vars = net.trainableVariables();
  const startEpoch = o.startEpoch ?? 0;
  let stepTimes = 0, stepsTimed = 0;
  for (let epoch = startEpoch + 1; epoch <= cfg.epochs; epoch++) {
    const lr = learningRate(cfg, epoch - 1);
    setLearningRate(optimizer, lr);
    // One PRNG per epoch, derived from the seed: a resumed run shuffles exactly like an uninterrupted one.
    const rng = mulberry32(cfg.seed * 7919 + epoch);
    const order = shuffled(train.count, rng);
    const t0 = performance.now();
    let lossSum = 0, ceSum = 0, costSum = 0, seen = 0;
    for (let step = 1; step <= steps; step++) {
      // yield to the event loop so a stop request (IPC message, signal) is seen between steps
      await new Promise((r) => setImmediate(r));
      if (o.callbacks?.shouldStop?.()) throw new TrainingCancelled(epoch, step);
      const ts = performance.now();
      const idx = order.subarray((step - 1) * cfg.batchSize, Math.min(train.count, step * cfg.batchSize));
      const x = train.batch(idx, o.augment, rng);
      const labels = tf.tensor1d(Array.from(idx, (i) => train.labels[i]), 'int32');
      const y = tf.oneHot(labels, K).toFloat() as tf.Tensor2D;
      const bnUpdates: Parameters<MultiExitNetwork['forward']>[2] = [];
      let ceT: tf.Scalar | null = null, costT: tf.Scalar | null = null;
      const lossT = optimizer.minimize(() => {
        const r = methodLoss(net, method, x, y, cfg.weightDecay, bnUpdates);
        ceT = tf.keep(r.ce);
        costT = r.cost ? tf.keep(r.cost) : null;
        return r.loss;
      }, true, vars) as tf.Scalar;
      net.applyBatchNormUpdates(bnUpdates);
      const [loss] = await lossT.data();
      const ce = (await (ceT as unknown as tf.Scalar).data())[0];
      const cost = costT ? (await (costT as tf.Scalar).data())[0] : 0;
      tf.dispose([x, labels, y, lossT, ceT ?? [], costT ?? []]);
      if (!Number.isFinite(loss)) throw new NonFiniteLossError(epoch, step, loss);
      const n = idx.length;
      lossSum += loss * n; ceSum += ce * n; costSum += cost * n; seen += n;
      const dt = performance.now() - ts;
      // the first step of a run compiles kernels; leave it out of speed and ETA
      if (!(epoch === startEpoch + 1 && step === 1)) { stepTimes += dt; stepsTimed++; }
      const meanStep = stepsTimed ? stepTimes / stepsTimed : dt;
      const stepsLeft = (cfg.epochs - epoch) * steps + (steps - step);
      o.callbacks?.onStep?.({
        epoch, epochs: cfg.epochs, step, steps, loss,
        imagesPerSecond: (cfg.batchSize * 1000) / meanStep,
        etaSeconds: (stepsLeft * meanStep) / 1000,
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    const m = await validationMetrics(o, epoch, lr, { loss: lossSum / seen, ce: ceSum / seen, cost: costSum / seen }, seen / seconds, seconds);
    metrics.push(m);
    await o.callbacks?.onEpochEnd?.(m, optimizer);
  }
  return { optimizer, metrics };
}

async function validationMetrics(
  o: TrainOptions, epoch: number, lr: number, losses: { loss: number; ce: number; cost: number }, imagesPerSecond: number, seconds: number,
): Promise<EpochMetrics> {
  const rec = await collectRecords(o.net, o.validation, 'validation');
  const table = exitTable(rec, o.net.costs, o.rule, o.thresholds);
  const acc = (pred: number[]) => accuracyOf(pred, rec.labels);
  const gated = o.net.config.gated && rec.exits.length > 0;
  return {
    epoch,
    loss: losses.loss,
    ceLoss: losses.ce,
    costLoss: o.method.name === 'proposed' ? o.method.lambda * losses.cost : 0,
    expectedCost: o.method.name === 'proposed' ? losses.cost : null,
    lr,
    softAccuracy: gated ? softAccuracy(rec) : null,
    hardAccuracy: table.accuracy,
    finalAccuracy: acc(rec.final.pred),
    exitAccuracy: rec.exits.map((e) => acc(e.pred)),
    meanGates: gated ? rec.exits.map((e) => e.gate!.reduce((a, g) => a + g, 0) / Math.max(1, rec.count)) : null,
    exitShares: table.rows.map((r) => r.share),
    imagesPerSecond,
    seconds,
  };
}
