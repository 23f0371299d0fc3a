/**
 * How a network is trained, as the experiment file states it: the method (the paper's loss, BranchyNet,
 * the plain backbone) and the optimiser settings, with the learning-rate schedule every engine applies.
 */
import type { MethodName } from './results';

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

/** Learning rate of an epoch (0-based) under the schedule. */
export function learningRate(cfg: TrainingConfig, epoch: number): number {
  switch (cfg.schedule) {
    case 'constant': return cfg.lr;
    case 'cosine': return cfg.lr * 0.5 * (1 + Math.cos((Math.PI * epoch) / cfg.epochs));
    case 'step': return cfg.lr * Math.pow(cfg.stepGamma, Math.floor(epoch / cfg.stepEpochs));
  }
}
