/**
 * The two equations of Scardapane et al., "Differentiable branching in deep networks for fast
 * inference" (ICASSP 2020), and nothing else. Everything here is differentiable tfjs.
 *
 * B exits b = 1…B, each with a classifier f_b(x) (class probabilities) and a gate g_b(x) ∈ (0, 1);
 * f(x) = f_{B+1}(x) is the final classifier, whose gate is fixed to 1.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Eq. 1, the soft-conditional output, unrolled from the last exit backwards:
 *   f̃_{B+1}(x) = f(x)
 *   f̃_b(x)     = g_b(x)·f_b(x) + (1 − g_b(x))·f̃_{b+1}(x)
 * @param exitProbs  B tensors [N, K]: f_b(x), softmax probabilities
 * @param gates      B tensors [N, 1]: g_b(x)
 * @param finalProbs [N, K]: f(x)
 * @returns [N, K]: f̃_1(x)
 */
export function softConditionalOutput(exitProbs: tf.Tensor2D[], gates: tf.Tensor2D[], finalProbs: tf.Tensor2D): tf.Tensor2D {
  let fTilde = finalProbs;
  for (let b = exitProbs.length - 1; b >= 0; b--) {
    const g = gates[b];
    fTilde = tf.add(tf.mul(g, exitProbs[b]), tf.mul(tf.sub(1, g), fTilde));
  }
  return fTilde;
}

/**
 * Eq. 2, the expected cost of each input, with the same recursion:
 *   γ̃_{B+1}(x) = γ_{B+1}
 *   γ̃_b(x)     = g_b(x)·γ_b + (1 − g_b(x))·γ̃_{b+1}(x)
 * and the regulariser C = (1/N) Σ_i γ̃_1(x_i).
 * @param gates     B tensors [N, 1]: g_b(x)
 * @param gamma     B costs γ_b of leaving at exit b (normalised: MACs ÷ full network MACs)
 * @param gammaLast γ_{B+1}, the cost of reaching the final classifier
 * @returns scalar C
 */
export function expectedCost(gates: tf.Tensor2D[], gamma: number[], gammaLast: number): tf.Scalar {
  let gammaTilde: tf.Tensor = tf.scalar(gammaLast);
  for (let b = gates.length - 1; b >= 0; b--) {
    const g = gates[b];
    gammaTilde = tf.add(tf.mul(g, gamma[b]), tf.mul(tf.sub(1, g), gammaTilde));
  }
  return tf.mean(gammaTilde);
}

/**
 * Cross-entropy of probabilities (not logits) against integer labels, mean over the batch:
 *   CE(y, p) = −(1/N) Σ_i log p_i[y_i]
 * Used on f̃_1, which is a mixture of probabilities and so has no logits.
 */
export function crossEntropyOfProbs(probs: tf.Tensor2D, labelsOneHot: tf.Tensor2D, eps = 1e-7): tf.Scalar {
  const picked = tf.sum(tf.mul(probs, labelsOneHot), 1);
  return tf.neg(tf.mean(tf.log(tf.add(picked, eps))));
}

/** Cross-entropy of logits against one-hot labels, mean over the batch (per-exit terms, BranchyNet). */
export function crossEntropyOfLogits(logits: tf.Tensor2D, labelsOneHot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(labelsOneHot, tf.logSoftmax(logits)), 1)));
}
