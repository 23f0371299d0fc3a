/**
 * Type-only description of a run folder (the contract between the worker and every reader):
 *
 *   <runs>/<runId>/
 *     experiment.json        the resolved experiment (sweep expanded, defaults filled)
 *     status.json            RunStatus
 *     metrics.jsonl          one EpochMetrics per line
 *     checkpoint/            weights + optimizer step of the last finished epoch
 *     model/                 the trained network with all exits (TF.js weights format)
 *     results.json           RunResults (see results.ts)
 *     samples.json           SampleRecords of the test split
 *     samples-validation.json SampleRecords of the validation split (for calibration)
 *
 * Every file is written atomically (temp file + rename).
 */

export type RunState = 'queued' | 'running' | 'finished' | 'failed' | 'cancelled';

export interface RunStatus {
  id: string;
  /** Experiment name (file name without .exits.json). */
  experiment: string;
  /** Sweep group id shared by the runs one experiment file expanded into, or null. */
  group: string | null;
  /** Sweep values of this run, e.g. { "method.lambda": 0.5 }. */
  sweep: Record<string, unknown> | null;
  state: RunState;
  backend: string | null;
  /** Why this backend was chosen and why the others were skipped. */
  backendReason: string | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  /** Last finished epoch (0 = none). */
  epoch: number;
  epochs: number;
  error: string | null;
  /** The worker's process id while it runs. */
  pid: number | null;
  /**
   * The process responsible for the run now: the CLI or VS Code window that queued it, then its
   * worker. A queued or running run whose owner is gone is marked (store.markOrphan).
   */
  owner?: ProcessIdentity | null;
  /** Things the user should know about a run that finished (e.g. the loss diverged). */
  warnings?: string[];
}

/** A process as the run store records it: pid + start time + host, so a reused pid is not mistaken for it. */
export interface ProcessIdentity {
  pid: number;
  /** Start time as the OS reports it (Linux: clock ticks after boot), or null where unknown. */
  start: string | null;
  host: string;
}

/** One line of metrics.jsonl, written at the end of every epoch. */
export interface EpochMetrics {
  epoch: number;
  /** Mean training loss (total) and its parts. */
  loss: number;
  ceLoss: number;
  /** λ·C (proposed), 0 otherwise. */
  costLoss: number;
  /** Mean of the expected cost C ∈ (0, 1] (normalised by the full network's MACs); null without gates. */
  expectedCost: number | null;
  /** λ at the end of the epoch (proposed): method.lambda, or the budget multiplier (method.targetBudget). */
  lambda?: number;
  /** The recipe's stage when it is not the method's plain loss: "warmup" (exits first) or "gates" (gates only). */
  stage?: 'warmup' | 'gates';
  /** Gate temperature T of the epoch when annealed (method.gateTemperature). */
  gateTemperature?: number;
  lr: number;
  /** Option 1 validation accuracy (null without gates). */
  softAccuracy: number | null;
  /** Option 2 validation accuracy at the run's thresholds (null without a validation split, as every validation figure). */
  hardAccuracy: number | null;
  /** Final classifier alone. */
  finalAccuracy: number | null;
  /** Standalone validation accuracy per exit. */
  exitAccuracy: (number | null)[];
  /** Mean gate value per exit on the validation split (null without gates). */
  meanGates: number[] | null;
  /** Share of validation inputs leaving at each exit then the final classifier. */
  exitShares: number[];
  imagesPerSecond: number;
  seconds: number;
}
