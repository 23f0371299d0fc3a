/**
 * The optimisers of `training.optimizer`, each with a public way to change its step size: the
 * schedule (spec/method.ts `learningRate`) calls `setLearningRate` before every epoch. tfjs's
 * MomentumOptimizer steps with a cached −lr scalar that only its own `setLearningRate` updates, so
 * assigning the field would be logged but never applied.
 */
import * as tf from '@tensorflow/tfjs-core';
import { EarlyExitAdam } from '../../accel';
import type { TrainingConfig } from '../../spec/method';

export type ScheduledOptimizer = tf.Optimizer & { setLearningRate(lr: number): void };

export function createOptimizer(cfg: Pick<TrainingConfig, 'optimizer' | 'lr' | 'momentum'>): ScheduledOptimizer {
  return cfg.optimizer === 'adam' ? new EarlyExitAdam(cfg.lr) : tf.train.momentum(cfg.lr, cfg.momentum);
}
