/**
 * The message protocol between a parent (CLI or extension host) and a training worker process
 * (`child_process.fork` of dist/worker.js). Type-only: both sides import it.
 */
import type { RunResults } from '../spec/results';
import type { EpochMetrics } from '../spec/run-types';

/** Parent → worker. */
export type ToWorker =
  /** Start (or resume) the run in `runDir`, whose experiment.json is already written. */
  | {
    type: 'start'; runDir: string; resume: boolean; backend?: string; cacheDir?: string;
    /** the torch engine's Python: the earlyExit.pythonPath setting, the Python extension's interpreter (EARLY_EXIT_PYTHON is read by the worker) */
    python?: { setting?: string; pythonExtension?: string };
  }
  /** Stop cooperatively: finish the current step, keep the last checkpoint, end as cancelled. */
  | { type: 'stop' };

/** Worker → parent. */
export type FromWorker =
  | { type: 'started'; runId: string; backend: string; backendReason: string; resumedFromEpoch: number; trainCount: number; validationCount: number; testCount: number; parameters: number }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'datasetProgress'; phase: string; done: number; total?: number }
  | { type: 'progress'; epoch: number; epochs: number; step: number; steps: number; loss: number; imagesPerSecond: number; etaSeconds: number }
  | { type: 'epochEnd'; metrics: EpochMetrics }
  | { type: 'evaluated'; results: RunResults }
  | { type: 'finished'; runId: string; seconds: number }
  | { type: 'cancelled'; runId: string; epoch: number; step: number }
  | { type: 'failed'; runId: string; error: string; epoch?: number; step?: number };
