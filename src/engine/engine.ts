/**
 * The seam between the worker and a training engine. The worker owns the run folder, the dataset
 * and the epoch loop's bookkeeping (src/engine/loop.ts: learning-rate schedule, validation
 * metrics from per-sample records); an engine owns one network on one device: it trains an
 * epoch, answers per-sample records, writes checkpoints and the exported model, and times batch-1
 * passes. The tfjs engine (src/engine/tfjs) is the first implementation; anything else that
 * trains (a PyTorch process, …) implements the same two interfaces and the rest of the product
 * does not change. Type-only except for the errors every engine throws.
 */
import type { Split } from '../data/types';
import type { Experiment } from '../spec/experiment';
import type { EpochPhase } from '../spec/method';
import type { CostModel, ExitRule, SampleRecords, Timing } from '../spec/results';

/** The device an engine runs on, as status.json and the backend line report it. */
export interface EngineDevice {
  /** What status.json and results.json record as the backend: "wasm", "cpu", "gpu", … */
  kind: string;
  /** One line: what runs, and why every faster choice was skipped. */
  description: string;
}

/**
 * A run's images as every engine receives them: bytes (uint8, HWC, one image after another), the
 * per-channel normalisation of the training split, and whether training batches are augmented.
 * Each engine turns bytes into floats its own way (per batch on the host, or on the device).
 */
export interface EngineData {
  /** [height, width, channels] */
  shape: [number, number, number];
  train: Split;
  validation: Split;
  test: Split;
  mean: number[];
  std: number[];
  /** Random crop with 4-pixel zero padding and horizontal flip (32×32×3 inputs only). */
  augment: boolean;
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

/** Means over one epoch's training batches. */
export interface EpochLosses {
  /** the whole objective (with λ·C, per-exit terms and weight decay) */
  loss: number;
  /** the cross-entropy part (CE on f̃_1, BranchyNet's weighted sum, or the backbone's) */
  ce: number;
  /** C, the expected normalised cost of Eq. 2 (proposed), else 0 */
  cost: number;
  /** λ at the end of the epoch: the phase's, or where the budget multiplier ended (method.targetBudget) */
  lambda: number;
  /** mean of λ·C over the epoch's steps (λ moves per step with a target budget; 0 while the exits warm up) */
  costTerm: number;
  imagesPerSecond: number;
  seconds: number;
}

export interface StepCallbacks {
  onStep?(p: StepProgress): void;
  /** Polled before every step: returning true ends training with TrainingCancelled. */
  shouldStop?(): boolean;
}

/** One multi-exit network on an engine's device, being trained and evaluated. */
export interface EngineNetwork {
  readonly parameters: number;
  readonly costs: CostModel;
  /** Exit point ids, in backbone order. */
  readonly points: string[];
  /**
   * Trains epoch `epoch` (1-based) at learning rate `lr` in `phase` (both the caller's: the schedule
   * and the recipes' stages live in spec/method.ts `learningRate` / `epochPhase`). Throws
   * TrainingCancelled when `shouldStop` says so, NonFiniteLossError when the loss is not finite.
   */
  trainEpoch(epoch: number, lr: number, callbacks: StepCallbacks, phase: EpochPhase): Promise<EpochLosses>;
  /** Every exit and the final classifier on every sample of a split (eval mode). */
  records(split: 'validation' | 'test'): Promise<SampleRecords>;
  /** Weights and optimiser state after `epoch`, written so that a kill at any point leaves a loadable checkpoint. */
  saveCheckpoint(dir: string, epoch: number): Promise<void>;
  /** The trained network in the run folder's `model/` format (TF.js weights manifest). */
  exportModel(dir: string): Promise<void>;
  /** Batch-1 latency of the plain backbone and of hard exits over `images` test samples. */
  timing(rule: ExitRule, thresholds: number[], images: number): Promise<Timing>;
  dispose(): void | Promise<void>;
}

export interface Engine {
  readonly name: string;
  /**
   * Initialises a device for `preference` ("auto" or a named backend); a named one that fails is
   * an error naming why, never a silent fallback; with "auto", an engine that has nothing fast to
   * offer fails too, and the caller tries the next one.
   */
  prepare(preference: string): Promise<EngineDevice>;
  /**
   * The network of `x` on `data`: fresh (its matching variables loaded from `x.training.initFrom`
   * when set: `initialised` says what was loaded), or restored with its optimiser from the
   * checkpoint folder `resumeFrom`. `epoch` = epochs already trained.
   */
  open(x: Experiment, data: EngineData, resumeFrom: string | null): Promise<{ net: EngineNetwork; epoch: number; initialised?: { loaded: number; fresh: string[] } }>;
}

/** The loss became NaN or infinite; names where. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(readonly epoch: number, readonly step: number, readonly value: number) {
    super(`loss became ${value} at epoch ${epoch}, step ${step} (try a lower learning rate or λ)`);
  }
}

/**
 * A failure an engine has already put into words for the user (one line, what to do); the worker
 * shows its message as it is, without a stack trace. Details (a Python traceback) go to worker.log.
 */
export class EngineError extends Error {
  override name = 'EngineError';
}

/** An engine's device ran out of memory; the message says where and what to change. */
export class OutOfMemoryError extends EngineError {
  override name = 'OutOfMemoryError';
  constructor(readonly device: string, readonly detail: string, readonly epoch?: number, readonly step?: number) {
    super(`out of memory${epoch ? ` at epoch ${epoch}${step ? `, step ${step}` : ''}` : ''} on ${device}: ${detail} (try a smaller batch size or width)`);
  }
}

export class TrainingCancelled extends Error {
  override name = 'TrainingCancelled';
  constructor(readonly epoch: number, readonly step: number) {
    super(`training stopped by request at epoch ${epoch}, step ${step}`);
  }
}
