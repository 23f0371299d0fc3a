/**
 * One training epoch of a MultiExitNetwork on tfjs: shuffled mini-batches, the method's loss
 * (loss.ts), one optimiser step each, batch-norm moving averages after every step. The epoch
 * loop around it (schedule, validation metrics, checkpoints) is engine-independent:
 * src/engine/loop.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32, shuffleInPlace } from '../../spec/rng';
import { nextMultiplier, type EpochPhase, type MethodConfig, type TrainingConfig } from '../../spec/method';
import { NonFiniteLossError, TrainingCancelled, type EpochLosses, type StepCallbacks } from '../engine';
import { gatesOnlyOutputs, methodLoss, paperPhase } from './loss';
import type { MultiExitNetwork } from './network';
import type { ScheduledOptimizer } from './optimizer';

/** Training images: a batch of samples by index, augmented or not. */
export interface TrainSource {
  count: number;
  labels: ArrayLike<number>;
  batch(indices: ArrayLike<number>, augment: boolean, rng: () => number): tf.Tensor4D;
}

/** What persists between epochs of one training: the network, its optimiser, the step timer. */
export interface TrainState {
  net: MultiExitNetwork;
  optimizer: ScheduledOptimizer;
  method: MethodConfig;
  training: TrainingConfig;
  train: TrainSource;
  augment: boolean;
  /** Mean step time so far (ms) and the steps it is over; the first step of a process compiles kernels and is left out. */
  timer: { ms: number; steps: number; first: boolean };
}

function shuffled(n: number, rng: () => number): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(a, rng);
  return a;
}

/**
 * Trains epoch `epoch` (1-based) at learning rate `lr`, in the recipe's `phase` (spec `epochPhase`;
 * default: the paper's method). With a target budget the multiplier λ moves after every step and
 * the epoch returns where it ended.
 */
export async function trainEpoch(s: TrainState, epoch: number, lr: number, callbacks: StepCallbacks = {}, phase: EpochPhase = paperPhase(s.method)): Promise<EpochLosses> {
  const { net, optimizer, training: cfg, train } = s;
  net.setGateTemperature(phase.gateTemperature);
  const budget = s.method.name === 'proposed' && phase.stage !== 'warmup' ? s.method.targetBudget : null;
  let lambda = phase.lambda;
  const K = net.config.backbone.classes;
  const steps = Math.ceil(train.count / cfg.batchSize);
  const vars = net.trainableVariables();
  optimizer.setLearningRate(lr);
  // One PRNG per epoch, derived from the seed: a resumed run shuffles exactly like an uninterrupted one.
  const rng = mulberry32(cfg.seed * 7919 + epoch);
  const order = shuffled(train.count, rng);
  const t0 = performance.now();
  let lossSum = 0, ceSum = 0, costSum = 0, costTermSum = 0, seen = 0;
  for (let step = 1; step <= steps; step++) {
    // yield to the event loop so a stop request (IPC message, signal) is seen between steps
    await new Promise((r) => setImmediate(r));
    if (callbacks.shouldStop?.()) throw new TrainingCancelled(epoch, step);
    const ts = performance.now();
    const idx = order.subarray((step - 1) * cfg.batchSize, Math.min(train.count, step * cfg.batchSize));
    const x = train.batch(idx, s.augment, rng);
    const labels = tf.tensor1d(Array.from(idx, (i) => train.labels[i]), 'int32');
    // tf.cast, not the chained .toFloat(): tfjs-core alone (what the worker loads) registers no chained ops
    const y = tf.tidy(() => tf.cast(tf.oneHot(labels, K), 'float32')) as tf.Tensor2D;
    const bnUpdates: Parameters<MultiExitNetwork['forward']>[2] = [];
    let ceT: tf.Scalar | null = null, costT: tf.Scalar | null = null;
    // gates only: the backbone and classifiers run outside the tape, so nothing else gets a gradient
    // (every variable stays in the list with a null gradient: the optimiser's slots are by position)
    const fixed = phase.stage === 'gates' ? gatesOnlyOutputs(net, x) : undefined;
    const stepPhase = { ...phase, lambda };
    const lossT = optimizer.minimize(() => {
      const r = methodLoss(net, s.method, x, y, cfg.weightDecay, bnUpdates, stepPhase, fixed);
      ceT = tf.keep(r.ce);
      costT = r.cost ? tf.keep(r.cost) : null;
      return r.loss;
    }, true, vars) as tf.Scalar;
    if (fixed) tf.dispose([fixed.exitLogits, fixed.features, fixed.finalLogits]);
    net.applyBatchNormUpdates(bnUpdates);
    const [loss] = await lossT.data();
    const ce = (await (ceT as unknown as tf.Scalar).data())[0];
    const cost = costT ? (await (costT as tf.Scalar).data())[0] : 0;
    tf.dispose([x, labels, y, lossT, ceT ?? [], costT ?? []]);
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(epoch, step, loss);
    const n = idx.length;
    lossSum += loss * n; ceSum += ce * n; costSum += cost * n; seen += n;
    if (phase.stage !== 'warmup') costTermSum += lambda * cost * n;
    if (budget !== null) lambda = nextMultiplier(lambda, cost, budget, s.method.budgetRate);
    const dt = performance.now() - ts;
    if (s.timer.first) s.timer.first = false;
    else { s.timer.ms += dt; s.timer.steps++; }
    const meanStep = s.timer.steps ? s.timer.ms / s.timer.steps : dt;
    const stepsLeft = (cfg.epochs - epoch) * steps + (steps - step);
    callbacks.onStep?.({
      epoch, epochs: cfg.epochs, step, steps, loss,
      imagesPerSecond: (cfg.batchSize * 1000) / meanStep,
      etaSeconds: (stepsLeft * meanStep) / 1000,
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  return { loss: lossSum / seen, ce: ceSum / seen, cost: costSum / seen, lambda, costTerm: costTermSum / seen, imagesPerSecond: seen / seconds, seconds };
}
