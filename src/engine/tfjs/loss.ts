/**
 * The training objective of the three methods, on one batch:
 *  - proposed:   CE(y, f̃_1) + λ·C  (Eq. 1 and Eq. 2, paper.ts), optionally + α·Σ per-classifier CE;
 *  - branchynet: Σ_b w_b·CE(y, f_b) + w_{B+1}·CE(y, f)  (exits decide by entropy at inference);
 *  - baseline:   CE(y, f), the backbone alone.
 * Weight decay is L2 on conv and dense kernels, (wd/2)·Σ‖W‖² (PyTorch's `weight_decay`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MethodConfig } from '../../spec/method';
import type { MultiExitNetwork } from './network';
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
        loss = tf.add(loss, tf.mul(method.exitLossWeight, sumInOrder(perClassifier)));
      }
      break;
    }
    case 'branchynet': {
      const w = method.exitWeights ?? new Array(B + 1).fill(1);
      const terms = [...o.exitLogits, o.finalLogits].map((l, b) => tf.mul(w[b], crossEntropyOfLogits(l, yOneHot)));
      ce = sumInOrder(terms) as tf.Scalar;
      loss = ce;
      break;
    }
    case 'baseline':
      ce = crossEntropyOfLogits(o.finalLogits, yOneHot);
      loss = ce;
      break;
  }
  if (weightDecay > 0) {
    const l2 = sumInOrder(net.decayedVariables().map((v) => tf.sum(tf.square(v))));
    loss = tf.add(loss, tf.mul(weightDecay / 2, l2));
  }
  return { loss, ce, cost };
}
