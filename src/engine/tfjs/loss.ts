/**
 * The training objective of the three methods, on one batch:
 *  - proposed:   CE(y, f̃_1) + λ·C  (Eq. 1 and Eq. 2, paper.ts), optionally + α·Σ per-classifier CE;
 *  - branchynet: Σ_b w_b·CE(y, f_b) + w_{B+1}·CE(y, f)  (exits decide by entropy at inference);
 *  - baseline:   CE(y, f), the backbone alone.
 * Weight decay is L2 on conv and dense kernels, (wd/2)·Σ‖W‖² (PyTorch's `weight_decay`).
 *
 * The recipes that make gates route (spec/method.ts; every one off by default, which is the paper's
 * loss exactly) are the separate functions below, each selected by the epoch's phase:
 *  - `warmupLoss`: exits first, per-exit CE with optional distillation from f; no gate trains;
 *  - `proposedLoss` on `gatesOnlyOutputs`: the gates alone learn, on a backbone run outside the tape;
 *  - the budget multiplier is the phase's λ (updated per step in train.ts, spec `nextMultiplier`);
 *  - `straightThrough`: hard gates forward, the sigmoid's gradient backward;
 *  - gate temperature and softmax-statistics inputs live in the network (network.ts `exitGate`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EpochPhase, MethodConfig } from '../../spec/method';
import type { ForwardOutputs, MultiExitNetwork } from './network';
import { crossEntropyOfLogits, crossEntropyOfProbs, expectedCost, softConditionalOutput } from './paper';

/**
 * Inputs per AddN: tfjs's webgpu AddN binds every input as a storage buffer, and a WebGPU device
 * allows 8 per shader by default, the output included.
 */
const ADDN_MAX_INPUTS = 7;

/**
 * Σ xs left to right, as AddN over at most ADDN_MAX_INPUTS tensors at a time, each after the first
 * carrying the partial sum: the same order, and so the same float32 result, as one AddN on wasm
 * and cpu.
 */
export function sumInOrder<T extends tf.Tensor>(xs: T[]): T {
  let acc = tf.addN(xs.slice(0, ADDN_MAX_INPUTS)) as T;
  for (let i = ADDN_MAX_INPUTS; i < xs.length; i += ADDN_MAX_INPUTS - 1) acc = tf.addN([acc, ...xs.slice(i, i + ADDN_MAX_INPUTS - 1)]) as T;
  return acc;
}

export interface LossParts {
  loss: tf.Scalar;
  /** the cross-entropy part */
  ce: tf.Scalar;
  /** C (Eq. 2) of the batch, for proposed */
  cost: tf.Scalar | null;
}

/** The phase of the paper's method as published: every variable, λ as given, soft gates at T = 1. */
export function paperPhase(method: Pick<MethodConfig, 'lambda'>): EpochPhase {
  return { stage: 'joint', lambda: method.lambda, gateTemperature: 1, hardGates: false };
}

/**
 * The loss of one batch and its parts (scalars, caller disposes). `phase` (spec `epochPhase`)
 * selects the recipe's stage; in the `gates` stage `fixed` holds the backbone's outputs computed
 * outside the gradient tape (`gatesOnlyOutputs`), so only the gates can receive a gradient.
 */
export function methodLoss(
  net: MultiExitNetwork, method: MethodConfig, x: tf.Tensor4D, yOneHot: tf.Tensor2D, weightDecay: number,
  bnUpdates?: Parameters<MultiExitNetwork['forward']>[2], phase: EpochPhase = paperPhase(method), fixed?: ForwardOutputs,
): LossParts {
  let parts: LossParts;
  let decayed: 'all' | 'gates' | 'network' = 'all';
  switch (method.name) {
    case 'proposed': {
      if (phase.stage === 'warmup') {
        parts = warmupLoss(net, net.forward(x, true, bnUpdates), yOneHot, method);
        decayed = 'network';
      } else if (phase.stage === 'gates') {
        if (!fixed) throw new Error('the gates-only stage needs the backbone outputs (gatesOnlyOutputs)');
        parts = proposedLoss(net, { ...fixed, gates: fixed.features.map((f, e) => net.exitGate(e, f, true, undefined, undefined, fixed.exitLogits[e])) }, yOneHot, { ...method, exitLossWeight: 0 }, phase);
        decayed = 'gates';
      } else {
        parts = proposedLoss(net, net.forward(x, true, bnUpdates), yOneHot, method, phase);
      }
      break;
    }
    case 'branchynet': {
      const o = net.forward(x, true, bnUpdates);
      const w = method.exitWeights ?? new Array(o.exitLogits.length + 1).fill(1);
      const ce = sumInOrder([...o.exitLogits, o.finalLogits].map((l, b) => tf.mul(w[b], crossEntropyOfLogits(l, yOneHot)))) as tf.Scalar;
      parts = { loss: ce, ce, cost: null };
      break;
    }
    case 'baseline': {
      const ce = crossEntropyOfLogits(net.forward(x, true, bnUpdates).finalLogits, yOneHot);
      parts = { loss: ce, ce, cost: null };
      break;
    }
  }
  if (weightDecay > 0) {
    const vars = net.decayedVariables(decayed);
    if (vars.length) parts.loss = tf.add(parts.loss, tf.mul(weightDecay / 2, sumInOrder(vars.map((v) => tf.sum(tf.square(v)))))) as tf.Scalar;
  }
  return parts;
}

/** The paper's objective CE(y, f̃_1) + λ·C (+ α·Σ per-classifier CE), with the phase's λ and, late in training, hard gates. */
export function proposedLoss(net: MultiExitNetwork, o: ForwardOutputs, yOneHot: tf.Tensor2D, method: Pick<MethodConfig, 'exitLossWeight'>, phase: EpochPhase): LossParts {
  const gates = phase.hardGates ? o.gates.map(straightThrough) : o.gates;
  const exitProbs = o.exitLogits.map((l) => tf.softmax(l) as tf.Tensor2D);
  const fTilde = softConditionalOutput(exitProbs, gates, tf.softmax(o.finalLogits) as tf.Tensor2D);
  const ce = crossEntropyOfProbs(fTilde, yOneHot);
  const full = net.costs.full;
  const cost = expectedCost(gates, net.costs.exits.map((g) => g / full), net.costs.final / full);
  let loss: tf.Scalar = tf.add(ce, tf.mul(phase.lambda, cost));
  if (method.exitLossWeight > 0) {
    const perClassifier = [...o.exitLogits, o.finalLogits].map((l) => crossEntropyOfLogits(l, yOneHot));
    loss = tf.add(loss, tf.mul(method.exitLossWeight, sumInOrder(perClassifier)));
  }
  return { loss, ce, cost };
}

/**
 * Exits first (recipe `warmup`): Σ_b [(1 − d)·CE(y, f_b) + d·T²·KL(f^T ‖ f_b^T)] + CE(y, f), the
 * final classifier f the teacher (no gradient through it in the distillation term). The gates are
 * not in the loss; C is reported (the gates as they are), not trained.
 */
export function warmupLoss(net: MultiExitNetwork, o: ForwardOutputs, yOneHot: tf.Tensor2D, method: Pick<MethodConfig, 'warmup'>): LossParts {
  const { distillation: d, temperature: T } = method.warmup;
  const teacher = d > 0 ? tf.softmax(tf.div(stopGradient(o.finalLogits), T)) as tf.Tensor2D : null;
  const terms = o.exitLogits.map((l) => {
    const ce = crossEntropyOfLogits(l, yOneHot);
    return teacher ? tf.add(tf.mul(1 - d, ce), tf.mul(d * T * T, distillationKl(teacher, l, T))) : ce;
  });
  const ce = sumInOrder([...terms, crossEntropyOfLogits(o.finalLogits, yOneHot)]) as tf.Scalar;
  const full = net.costs.full;
  const cost = o.gates.length ? tf.tidy(() => stopGradient(expectedCost(o.gates, net.costs.exits.map((g) => g / full), net.costs.final / full)) as tf.Scalar) : null;
  return { loss: ce, ce, cost };
}

/** KL(p ‖ softmax(logits / T)), mean over the batch: how far the student's softened output is from the teacher's. */
export function distillationKl(teacher: tf.Tensor2D, logits: tf.Tensor2D, T: number): tf.Scalar {
  const logQ = tf.logSoftmax(tf.div(logits, T));
  const logP = tf.log(tf.maximum(teacher, 1e-30));
  return tf.mean(tf.sum(tf.mul(teacher, tf.sub(logP, logQ)), 1));
}

/**
 * The gates-only stage's inputs: every exit's features and logits and the final logits, in eval
 * mode (moving batch-norm statistics), computed outside the gradient tape; the caller disposes.
 */
export function gatesOnlyOutputs(net: MultiExitNetwork, x: tf.Tensor4D): ForwardOutputs {
  return tf.tidy(() => net.forward(x, false, undefined, undefined, { gates: false }) as unknown as tf.TensorContainerObject) as unknown as ForwardOutputs;
}

const stopGradientOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy)] };
});

/** x forward, no gradient backward. */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stopGradientOp(x) as T;
}

const straightThroughOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const g = args[0] as tf.Tensor;
  return { value: tf.cast(tf.greaterEqual(g, 0.5), 'float32'), gradFunc: (dy: tf.Tensor) => [dy] };
});

/** Recipe `hardGatesFrom`: 1[g ≥ ½] forward (exactly Option 2 at τ = ½), the identity backward (straight-through). */
export function straightThrough(g: tf.Tensor2D): tf.Tensor2D {
  return straightThroughOp(g) as tf.Tensor2D;
}
