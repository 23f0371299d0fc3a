/**
 * The files of a run folder (layout in run-types.ts) as every reader checks them: their names, the
 * shape each must have (every field a view, `eval` or a resume reads, with its type and the counts
 * that must agree), and what the user can do when one is missing or damaged. The Node side reads
 * the bytes (runs/files.ts, the engine's checkpoint loader); the judgement and the wording live
 * here, once. No Node, no tfjs.
 */
import { ValidationError } from './errors';
import { EXIT_RULES } from './results';

export const RUN_FILES = {
  experiment: 'experiment.json',
  status: 'status.json',
  metrics: 'metrics.jsonl',
  results: 'results.json',
  samples: 'samples.json',
  validationSamples: 'samples-validation.json',
  model: 'model',
  checkpoint: 'checkpoint',
  log: 'worker.log',
  /** measured per-part speeds by backend ("measure here" tiers) */
  tierSpeed: 'tier-speed.json',
  /** split executions over tiers, newest per placement */
  splitMeasured: 'split-measured.json',
} as const;

/**
 * A run-folder file that is missing or damaged: `<file>: <problem>; <fix>`. A ValidationError, so
 * the CLI shows it as one line without a stack trace.
 */
export class RunFileError extends ValidationError {
  override name = 'RunFileError';
  constructor(readonly file: string, readonly problem: string, readonly fix: string) {
    super(`${file}: ${problem}${fix ? `; ${fix}` : ''}`, file);
  }
}

/** The part of a run folder a (relative) file name belongs to: its first path segment. */
function partOf(name: string): string {
  return name.replace(/\\/g, '/').split('/')[0];
}

/** What to do when `name` (e.g. "results.json", "checkpoint/weights.bin") of run folder `dir` is missing or damaged. */
export function runFileFix(dir: string, name: string): string {
  switch (partOf(name)) {
    case RUN_FILES.experiment:
      return `without it the run cannot be resumed or re-measured; train the experiment file again (early-exit train <file.exits.json>)`;
    case RUN_FILES.status:
      return `early-exit train --resume ${dir} rebuilds it from experiment.json and continues the run`;
    case RUN_FILES.results: case RUN_FILES.samples: case RUN_FILES.validationSamples: case RUN_FILES.model:
      return `early-exit train --resume ${dir} evaluates the run again from its last checkpoint and rewrites it`;
    case RUN_FILES.checkpoint: case `${RUN_FILES.checkpoint}.old`:
      return `the run cannot continue from it; delete ${dir}/${RUN_FILES.checkpoint} and run early-exit train --resume ${dir} to train it again from epoch 1`;
    case RUN_FILES.metrics:
      return 'the other epochs are still read';
    case RUN_FILES.tierSpeed:
      return `delete it and run early-exit deploy measure ${dir} to time the model again`;
    case RUN_FILES.splitMeasured:
      return `delete it (the estimates do not need it) and run early-exit deploy run ${dir} to measure a split again`;
    default:
      return '';
  }
}

// ---- a small structural checker ----------------------------------------------------------------

type Shape =
  | 'number' | 'integer' | 'string' | 'boolean' | 'unit' | 'any'
  | { nullable: Shape }
  | { arrayOf: Shape; length?: number }
  | { oneOf: readonly unknown[] }
  | { object: Record<string, Shape>; optional?: readonly string[] };

const nullable = (s: Shape): Shape => ({ nullable: s });
const arrayOf = (s: Shape): Shape => ({ arrayOf: s });
const object = (o: Record<string, Shape>, optional: readonly string[] = []): Shape => ({ object: o, optional });

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isFinite(v) ? `the number ${v}` : String(v);
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v)}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

/** The first place where `v` does not have `shape`, as "path: expected …, got …"; null when it fits. */
export function shapeProblem(v: unknown, shape: Shape, path: string): string | null {
  const at = path || '(top level)';
  if (typeof shape === 'string') {
    switch (shape) {
      case 'any': return null;
      case 'number': return typeof v === 'number' && Number.isFinite(v) ? null : `${at}: expected a number, got ${kindOf(v)}`;
      case 'unit': return typeof v === 'number' && v >= 0 && v <= 1 ? null : `${at}: expected a number in [0, 1], got ${kindOf(v)}`;
      case 'integer': return Number.isInteger(v) && (v as number) >= 0 ? null : `${at}: expected a whole number ≥ 0, got ${kindOf(v)}`;
      case 'string': return typeof v === 'string' ? null : `${at}: expected a string, got ${kindOf(v)}`;
      case 'boolean': return typeof v === 'boolean' ? null : `${at}: expected true or false, got ${kindOf(v)}`;
    }
  }
  if ('nullable' in shape) return v === null ? null : shapeProblem(v, shape.nullable, path);
  if ('oneOf' in shape) return shape.oneOf.includes(v) ? null : `${at}: expected one of ${shape.oneOf.map((x) => JSON.stringify(x)).join(', ')}, got ${kindOf(v)}`;
  if ('arrayOf' in shape) {
    if (!Array.isArray(v)) return `${at}: expected an array, got ${kindOf(v)}`;
    if (shape.length !== undefined && v.length !== shape.length) return `${at}: expected ${shape.length} items, got ${v.length}`;
    // plain number arrays (per-sample records) are checked in one loop, without building paths
    if (typeof shape.arrayOf === 'string' && shape.arrayOf !== 'any') {
      for (let i = 0; i < v.length; i++) {
        const p = shapeProblem(v[i], shape.arrayOf, '');
        if (p) return `${path}[${i}]${p.slice('(top level)'.length)}`;
      }
      return null;
    }
    for (let i = 0; i < v.length; i++) {
      const p = shapeProblem(v[i], shape.arrayOf, `${path}[${i}]`);
      if (p) return p;
    }
    return null;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return `${at}: expected an object, got ${kindOf(v)}`;
  const o = v as Record<string, unknown>;
  for (const [k, s] of Object.entries(shape.object)) {
    const sub = path ? `${path}.${k}` : k;
    if (!Object.hasOwn(o, k)) {
      if (shape.optional?.includes(k)) continue;
      return `${sub}: missing`;
    }
    const p = shapeProblem(o[k], s, sub);
    if (p) return p;
  }
  return null;
}

// ---- the shapes of the run files ---------------------------------------------------------------

const RUN_STATES = ['queued', 'running', 'finished', 'failed', 'cancelled'] as const;
const METHODS = ['proposed', 'branchynet', 'baseline'] as const;

const processShape = object({ pid: 'integer', start: nullable('string'), host: 'string' });

const statusShape = object({
  id: 'string', experiment: 'string', group: nullable('string'), sweep: nullable('any'), state: { oneOf: RUN_STATES },
  backend: nullable('string'), backendReason: nullable('string'), createdAt: 'string', startedAt: nullable('string'),
  endedAt: nullable('string'), epoch: 'integer', epochs: 'integer', error: nullable('string'), pid: nullable('integer'),
  owner: nullable(processShape), warnings: arrayOf('string'),
}, ['group', 'sweep', 'backend', 'backendReason', 'startedAt', 'endedAt', 'error', 'pid', 'owner', 'warnings']);

const exitTableShape = object({
  rule: { oneOf: EXIT_RULES }, thresholds: arrayOf('unit'), count: 'integer', accuracy: 'unit', averageMacs: 'number', averageMacsPct: 'number',
  rows: arrayOf(object({ point: 'string', position: 'integer', macs: 'number', macsPct: 'number', count: 'integer', share: 'unit', accuracy: nullable('unit'), standalone: 'unit' })),
});
const sweepShape = arrayOf(object({ threshold: 'unit', accuracy: 'unit', averageMacs: 'number', averageMacsPct: 'number' }));

const resultsShape = object({
  version: { oneOf: [1] }, method: { oneOf: METHODS }, lambda: nullable('number'),
  backbone: object({ name: 'string', label: 'string', width: 'number', input: arrayOf('integer'), classes: 'integer' }),
  dataset: object({ name: 'string', synthetic: 'boolean', classes: arrayOf('string'), train: 'integer', validation: 'integer', test: 'integer' }),
  backend: 'string', epochs: 'integer', trainSeconds: 'number', parameters: 'integer',
  costs: object({ exits: arrayOf('number'), final: 'number', full: 'number' }),
  points: arrayOf('string'), rule: { oneOf: EXIT_RULES }, thresholds: arrayOf('unit'),
  softAccuracy: nullable('unit'), finalAccuracy: 'unit', hard: exitTableShape, sweep: sweepShape,
  histograms: arrayOf(object({ point: 'string', edges: arrayOf('number'), counts: arrayOf('integer') })),
  calibration: nullable(object({ target: 'any', met: 'boolean', thresholds: arrayOf('unit'), validation: object({ accuracy: 'unit', averageMacs: 'number' }), test: exitTableShape })),
  timing: nullable(object({ images: 'integer', fullMs: 'number', hardMs: 'number', speedup: 'number', timeSavedPct: 'number', hardAccuracy: 'unit', backend: 'string' })),
  files: object({ samples: 'string', validationSamples: nullable('string'), model: nullable('string'), sha256: 'any' }, ['sha256']),
  warnings: arrayOf('string'),
}, ['warnings']);

const metricsShape = object({
  epoch: 'integer', loss: 'number', ceLoss: 'number', costLoss: 'number', expectedCost: nullable('number'), lr: 'number',
  softAccuracy: nullable('unit'), hardAccuracy: nullable('unit'), finalAccuracy: nullable('unit'), exitAccuracy: arrayOf(nullable('unit')),
  meanGates: nullable(arrayOf('unit')), exitShares: arrayOf('unit'), imagesPerSecond: 'number', seconds: 'number',
});

/** Why a parsed status.json is not one, or null. */
export function statusProblem(v: unknown): string | null {
  return shapeProblem(v, statusShape, '');
}

/** Why a parsed results.json is not one (fields, types, and counts that must agree), or null. */
export function resultsProblem(v: unknown): string | null {
  const p = shapeProblem(v, resultsShape, '');
  if (p) return p;
  const r = v as { points: string[]; costs: { exits: number[] }; thresholds: number[]; hard: { rows: unknown[] }; files: { samples: string; validationSamples: string | null } };
  const B = r.points.length;
  if (r.costs.exits.length !== B) return `costs.exits: ${r.costs.exits.length} values for ${B} exits`;
  if (r.thresholds.length !== B) return `thresholds: ${r.thresholds.length} values for ${B} exits`;
  if (r.hard.rows.length !== B + 1) return `hard.rows: ${r.hard.rows.length} rows for ${B} exits and the final classifier`;
  for (const f of [r.files.samples, r.files.validationSamples]) {
    if (f !== null && (f.includes('/') || f.includes('\\') || f.startsWith('.'))) return `files: "${f}" is not a file name inside the run folder`;
  }
  return null;
}

/** Why parsed per-sample records are not a `split` records file (every array as long as `count`), or null. */
export function samplesProblem(v: unknown, split?: 'test' | 'validation'): string | null {
  const n = (v as { count?: unknown } | null)?.count;
  const len = Number.isInteger(n) ? (n as number) : undefined;
  const col = (s: Shape): Shape => ({ arrayOf: s, length: len });
  const shape = object({
    split: { oneOf: split ? [split] : ['test', 'validation'] }, count: 'integer', labels: col('integer'),
    exits: arrayOf(object({ point: 'string', gate: nullable(col('unit')), pred: col('integer'), conf: col('unit'), entropy: col('unit') })),
    final: object({ pred: col('integer'), conf: col('unit'), entropy: col('unit') }),
    softPred: nullable(col('integer')),
  });
  return shapeProblem(v, shape, '');
}

/** Why one parsed metrics.jsonl line is not an epoch record, or null. */
export function metricsLineProblem(v: unknown): string | null {
  const p = shapeProblem(v, metricsShape, '');
  if (p) return p;
  return (v as { epoch: number }).epoch >= 1 ? null : 'epoch: expected a whole number ≥ 1';
}

/** The number of bytes one weight of a tfjs weights manifest takes. */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, float16: 2 };

/** A tfjs weights manifest entry as the engine writes it. */
export interface WeightSpec { name: string; shape: number[]; dtype: string }

/**
 * Why the bytes of a weights file do not fit the manifest that describes them (wrong size: a
 * truncated or swapped file), or null. `bytes` is the file's size.
 */
export function weightsProblem(specs: unknown, bytes: number): string | null {
  const p = shapeProblem(specs, arrayOf(object({ name: 'string', shape: arrayOf('integer'), dtype: { oneOf: Object.keys(DTYPE_BYTES) } })), 'weights');
  if (p) return `model.json: ${p}`;
  const need = (specs as WeightSpec[]).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1) * DTYPE_BYTES[s.dtype], 0);
  if (bytes === need) return null;
  return bytes < need ? `${bytes} bytes, but model.json describes ${need} (the file is truncated)` : `${bytes} bytes, but model.json describes ${need} (the file has ${bytes - need} extra bytes or belongs to another network)`;
}

/**
 * Why per-sample records do not belong to `results` (another evaluation's records: another number
 * of samples or exits, other exit points), or null. Checked wherever both are read together, so a
 * view or `eval` never recomputes one run's table from another run's records.
 */
export function recordsMismatch(records: { count: number; exits: { point: string }[]; split: string }, results: { points: string[]; hard: { count: number }; dataset: { validation: number } }): string | null {
  const points = records.exits.map((e) => e.point).join(', ');
  if (points !== results.points.join(', ')) return `its exits are [${points}], results.json's are [${results.points.join(', ')}] (files from different runs)`;
  const want = records.split === 'test' ? results.hard.count : results.dataset.validation;
  if (records.count !== want) return `${records.count} samples, but results.json counts ${want} ${records.split} samples (files from different evaluations)`;
  return null;
}

// ---- the deployment files (`early-exit deploy measure | run`) ----------------------------------

const speedShape = object({ backend: 'string', blockMs: arrayOf('number'), exitMs: arrayOf('number'), classifierMs: 'number', images: 'integer', measuredAt: 'string' });
const distributionShape = object({ mean: 'number', p50: 'number', p95: 'number', p99: 'number', max: 'number' });
const estimateShape = object({
  tiers: arrayOf(object({ name: 'string' })), cuts: arrayOf('integer'), quantization: { oneOf: ['float32', 'int8'] }, rule: { oneOf: EXIT_RULES }, thresholds: arrayOf('unit'),
  paths: arrayOf(object({
    exit: 'integer', point: 'string', tier: 'integer', computeMs: arrayOf('number'), linkMs: arrayOf('number'), bytesFloat32: arrayOf('number'), bytesInt8: arrayOf('number'),
    macs: arrayOf('number'), latencyMs: 'number', energyJ: nullable('number'),
  })),
  counts: arrayOf('integer'), tierStops: arrayOf('integer'), crossings: arrayOf('integer'), count: 'integer', accuracy: 'unit', latency: distributionShape, deviceShare: 'unit',
  bytesPerInput: object({ float32: 'number', int8: 'number', chosen: 'number' }), bytesPer1000: object({ perLink: arrayOf('number'), total: 'number' }),
  computeMs: arrayOf('number'), energyPerInputJ: nullable('number'),
});
const splitShape = object({
  version: { oneOf: [1] }, tiers: arrayOf(object({ name: 'string', compute: 'any' })), profile: 'string', cuts: arrayOf('integer'), cutNames: arrayOf('string'),
  quantization: { oneOf: ['float32', 'int8'] }, rule: { oneOf: EXIT_RULES }, thresholds: arrayOf('unit'), backend: 'string', shaped: 'boolean', warmup: 'integer',
  inputs: arrayOf(object({
    sample: 'integer', label: 'integer', exit: 'integer', pred: 'integer', tier: 'integer', latencyMs: 'number', computeMs: arrayOf('number'), codecMs: arrayOf('number'), bytes: arrayOf('number'),
  })),
  wireBytes: nullable(arrayOf(object({ up: 'number', down: 'number' }))), measuredAt: 'string', loadAverage: arrayOf('number'), estimate: estimateShape, speed: speedShape,
});

/** Why a parsed tier-speed.json (measured speeds by backend) is not one, or null. */
export function tierSpeedsProblem(v: unknown): string | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return `(top level): expected an object of measurements by backend, got ${kindOf(v)}`;
  for (const [backend, s] of Object.entries(v)) {
    const p = shapeProblem(s, speedShape, backend);
    if (p) return p;
    if ((s as { backend: string }).backend !== backend) return `${backend}.backend: "${(s as { backend: string }).backend}" under the key "${backend}"`;
  }
  return null;
}

/** Why a parsed split-measured.json (the split executions) is not one, or null. */
export function splitMeasurementsProblem(v: unknown): string | null {
  const p = shapeProblem(v, arrayOf(splitShape), '');
  if (p) return p;
  for (const [k, m] of (v as { cuts: number[]; cutNames: string[]; tiers: unknown[]; inputs: { bytes: number[]; computeMs: number[] }[] }[]).entries()) {
    if (m.cutNames.length !== m.cuts.length || m.tiers.length !== m.cuts.length + 1) return `[${k}]: ${m.tiers.length} tiers, ${m.cuts.length} cuts and ${m.cutNames.length} cut names (a plan has one cut per link)`;
    const bad = m.inputs.findIndex((i) => i.bytes.length !== m.cuts.length || i.computeMs.length !== m.tiers.length);
    if (bad >= 0) return `[${k}].inputs[${bad}]: bytes per link and compute per tier do not match its ${m.tiers.length} tiers`;
  }
  return null;
}
