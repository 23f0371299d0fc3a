/**
 * Type-only description of what an evaluated run leaves behind (`results.json`, `samples.json`).
 * Shared by the worker, the CLI, the extension and the webviews: no runtime code here.
 */
import type { BudgetCell } from './analysis';
import type { Routing, RuleComparison } from './routing';

/**
 * How an exit decides to fire at inference (Option 2 of the paper):
 * - `gate`: the learned gate g_b(x) ≥ τ_b (the proposed method);
 * - `confidence`: max softmax probability of f_b(x) ≥ τ_b;
 * - `entropy`: normalised entropy of f_b(x) (÷ ln classes, so in [0, 1]) ≤ τ_b (BranchyNet).
 */
export const EXIT_RULES = ['gate', 'confidence', 'entropy'] as const;
export type ExitRule = (typeof EXIT_RULES)[number];

/** Per-sample outputs of one auxiliary classifier f_b and its gate g_b. */
export interface ExitRecord {
  /** Backbone point the exit is attached to ("block2"). */
  point: string;
  /** g_b(x) per sample, or null for exits without a gate (BranchyNet). */
  gate: number[] | null;
  /** argmax f_b(x) */
  pred: number[];
  /** max softmax probability of f_b(x) */
  conf: number[];
  /** entropy of f_b(x) divided by ln(classes), in [0, 1] */
  entropy: number[];
}

/** Everything needed to re-evaluate any threshold without the network. Column-wise arrays. */
export interface SampleRecords {
  split: 'test' | 'validation';
  count: number;
  labels: number[];
  exits: ExitRecord[];
  /** The final classifier f. */
  final: { pred: number[]; conf: number[]; entropy: number[] };
  /** argmax of the soft-conditional output f̃_1 (Option 1); null for methods without gates. */
  softPred: number[] | null;
}

/**
 * Costs in MACs. γ_b covers the backbone up to exit b's point plus the heads and gates of exits
 * 1…b (all of them run before the input leaves at b). `final` is the cost of an input that
 * passes every exit; `full` is the plain backbone without exits (the speed-up reference).
 */
export interface CostModel {
  exits: number[];
  final: number;
  full: number;
}

/** One row of the exit table (the paper's Table 2 layout). */
export interface ExitRow {
  /** "block2", or "final" for the last row before totals. */
  point: string;
  /** Position of the point in the backbone, 1-based (#1…#B as in the paper); final = points + 1. */
  position: number;
  macs: number;
  /** macs / full network MACs × 100 */
  macsPct: number;
  /** inputs leaving here */
  count: number;
  /** count / all inputs */
  share: number;
  /** accuracy of the inputs leaving here (null when none leave) */
  accuracy: number | null;
  /** accuracy of this classifier on every input */
  standalone: number;
}

export interface ExitTable {
  rule: ExitRule;
  thresholds: number[];
  /** One row per exit, then the final classifier. */
  rows: ExitRow[];
  count: number;
  accuracy: number;
  averageMacs: number;
  averageMacsPct: number;
}

export interface SweepPoint {
  threshold: number;
  accuracy: number;
  averageMacs: number;
  averageMacsPct: number;
}

export interface Histogram {
  point: string;
  /** Bin edges, bins + 1 values from 0 to 1. */
  edges: number[];
  counts: number[];
}

export interface CalibrationTarget {
  /** Average MACs must not exceed this (absolute MACs). */
  budget?: number;
  /** Accuracy on the validation split must be at least this (0–1). */
  accuracy?: number;
}

export interface Calibration {
  target: CalibrationTarget;
  /** Whether the target was met on the validation split. */
  met: boolean;
  /** One τ per exit (coordinate ascent) rather than one shared τ; absent in runs written before it existed. */
  perExit?: boolean;
  thresholds: number[];
  validation: { accuracy: number; averageMacs: number };
  test: ExitTable;
}

export interface Timing {
  /** Images timed, one at a time. */
  images: number;
  /** ms per image, batch 1, plain backbone (no exits). */
  fullMs: number;
  /** ms per image, batch 1, hard exits at the run's thresholds: later layers really skipped. */
  hardMs: number;
  /** fullMs / hardMs */
  speedup: number;
  /** (1 − hardMs / fullMs) × 100 */
  timeSavedPct: number;
  /** accuracy of the timed hard-exit pass (must agree with the records). */
  hardAccuracy: number;
  backend: string;
  /**
   * The same measurement on the accelerator the run trained on (the torch engine on a CUDA or MPS
   * device), beside the CPU figure above; absent when the run trained on the CPU.
   */
  accelerator?: Omit<Timing, 'accelerator'>;
}

export type MethodName = 'proposed' | 'branchynet' | 'baseline';

/** results.json */
export interface RunResults {
  version: 1;
  method: MethodName;
  lambda: number | null;
  backbone: { name: string; label: string; width: number; input: number[]; classes: number };
  dataset: { name: string; synthetic: boolean; classes: string[]; train: number; validation: number; test: number };
  backend: string;
  epochs: number;
  trainSeconds: number;
  parameters: number;
  costs: CostModel;
  points: string[];
  rule: ExitRule;
  thresholds: number[];
  /** Option 1: accuracy of argmax f̃_1 (null for methods without gates). */
  softAccuracy: number | null;
  /** The final classifier alone on every input. */
  finalAccuracy: number;
  /** Option 2 at `thresholds`. */
  hard: ExitTable;
  /** How `hard` splits the inputs (absent in runs written before it existed: `routingOf(hard)`). */
  routing?: Routing;
  /** Every exit rule's curve on these records and the area between them (absent in older runs). */
  rules?: RuleComparison | null;
  sweep: SweepPoint[];
  histograms: Histogram[];
  calibration: Calibration | null;
  /** With a MACs budget to calibrate to: every rule calibrated to it (absent in older runs). */
  budgetComparison?: BudgetCell[] | null;
  /** The training recipes of method (absent for runs without any, and in older runs): recipeSummary. */
  recipes?: string;
  timing: Timing | null;
  /** Files beside results.json. */
  files: {
    samples: string; validationSamples: string | null; model: string | null;
    /** SHA-256 of the files above as written, so a damaged or swapped records file is found instead of read. */
    sha256?: Record<string, string>;
  };
  /** What the user should know about these results (e.g. the training loss diverged). */
  warnings?: string[];
}
