/**
 * Reads a run folder into what the results / comparison views show (`RunData`). Plain fs, no
 * vscode and no tfjs: the extension's panels and the CLI's report both use it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunResults, SampleRecords } from '../spec/results';
import { resultsProblem, RUN_FILES, statusProblem } from '../spec/run-files';
import type { RunStatus } from '../spec/run-types';
import { describeBackbone } from '../spec/backbones';
import type { Experiment } from '../spec/experiment';
import type { DeployData, RelatedPoint, RunData } from '../protocol/webview';
import { readRunDeployment, readSplitMeasurements, readTierSpeeds } from './deploy-files';
import { readRunJson } from './files';
import { briefError, markOrphan, readMetrics, readSamples } from './store';

/**
 * Reads one JSON file of the run folder with the one run-file reader; a missing (when `required`)
 * or damaged file is listed in `problems` as `<file>: <problem>; <fix>` and read as null.
 */
function readOptional<T>(dir: string, name: string, problems: string[], required: boolean, check: (v: unknown) => string | null): T | null {
  if (!required && !fs.existsSync(path.join(dir, name))) return null;
  try {
    return readRunJson<T>(dir, name, check);
  } catch (e) {
    problems.push(briefError(e, dir));
    return null;
  }
}

/** One run folder → RunData. Never throws for a damaged folder: what fails is listed in `problems`. */
export function readRunData(runDir: string, withRelated = true, withSamples = true): RunData {
  const dir = path.resolve(runDir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${runDir}: not a run folder`);
  const problems: string[] = [];
  const read = readOptional<RunStatus>(dir, RUN_FILES.status, problems, true, statusProblem);
  const status = read ? markOrphan(dir, read) : null;
  const results = readOptional<RunResults>(dir, RUN_FILES.results, problems, status?.state === 'finished', resultsProblem);
  const records = (split: 'test' | 'validation'): SampleRecords | null => {
    if (!results || !withSamples || (split === 'validation' && !results.files.validationSamples)) return null;
    try {
      return readSamples(dir, split, results);
    } catch (e) {
      problems.push(briefError(e, dir));
      return null;
    }
  };
  const samples = records('test');
  const validation = records('validation');
  const { metrics, errors } = readMetrics(dir);
  problems.push(...errors);
  // every epoch status.json says is finished has its record (a file cut at a line end reads as valid but short)
  const done = status?.epoch ?? 0;
  const absent = Array.from({ length: done }, (_, i) => i + 1).filter((e) => !metrics.some((m) => m.epoch === e));
  if (absent.length && !errors.length) problems.push(`${RUN_FILES.metrics}: no record of epoch ${absent.join(', ')}, though ${RUN_FILES.status} says epoch ${done} is finished (the file was cut off or replaced)`);
  return {
    id: path.basename(dir), runDir: dir, results, samples, validation, metrics, status, problems,
    related: withRelated ? relatedPoints(dir, results, status) : [],
    points: results?.points ?? exitPointsOf(dir),
    deploy: results && withSamples ? readDeployData(dir, problems) : undefined,
  };
}

/** The run's tier plan (its experiment.json's), the speeds measured here and the split executions; what fails is a problem, not an error. */
export function readDeployData(dir: string, problems: string[]): DeployData {
  const out: DeployData = { deployment: null, source: 'none', speeds: null, measured: [] };
  // a damaged file is named by the run-file reader (`<dir>/<file>: …`, shown relative to the run); an invalid plan by its field
  const attempt = <T>(f: () => T, what = ''): T | null => {
    try { return f(); } catch (e) {
      problems.push(briefError(e, dir, what));
      return null;
    }
  };
  const d = attempt(() => readRunDeployment(dir), `${RUN_FILES.experiment} deployment: `);
  if (d) Object.assign(out, { deployment: d, source: 'run' });
  out.speeds = attempt(() => readTierSpeeds(dir));
  out.measured = attempt(() => readSplitMeasurements(dir)) ?? [];
  return out;
}

/** The exits' points of a run's experiment.json in network order (what results.json's `points` will be), or null. */
function exitPointsOf(dir: string): string[] | null {
  try {
    const x = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.experiment), 'utf8')) as Experiment;
    const placed = new Set(x.exits.map((e) => e.point));
    return describeBackbone(x.backbone).points.filter((p) => placed.has(p.id)).map((p) => p.id);
  } catch {
    return null;
  }
}

/** A run's single operating point: hard exits at its thresholds, or the full network for the baseline. */
export function pointOf(id: string, results: RunResults, role: RelatedPoint['role']): RelatedPoint {
  const baseline = results.method === 'baseline';
  const accuracy = baseline ? results.finalAccuracy : results.hard.accuracy;
  const averageMacs = baseline ? results.costs.full : results.hard.averageMacs;
  return {
    id, role, lambda: results.lambda, accuracy, averageMacs,
    averageMacsPct: (100 * averageMacs) / results.costs.full,
    label: baseline ? `baseline (${id})` : results.lambda === null ? `${results.method} (${id})` : `λ = ${results.lambda} (${id})`,
  };
}

/**
 * Sibling runs (same runs folder) drawn on this run's trade-off chart: the other λ of its sweep
 * group, and baseline runs of the same dataset and backbone.
 */
export function relatedPoints(runDir: string, results: RunResults | null, status: RunStatus | null): RelatedPoint[] {
  if (!results) return [];
  const parent = path.dirname(runDir);
  const out: RelatedPoint[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return [];
  }
  for (const name of names.sort()) {
    const dir = path.join(parent, name);
    if (dir === runDir) continue;
    const problems: string[] = [];
    const other = readOptional<RunResults>(dir, RUN_FILES.results, problems, false, resultsProblem);
    if (!other || other.dataset?.name !== results.dataset.name || other.backbone?.name !== results.backbone.name) continue;
    if (other.method === 'baseline' && results.method !== 'baseline') {
      out.push(pointOf(name, other, 'baseline'));
      continue;
    }
    const otherStatus = readOptional<RunStatus>(dir, RUN_FILES.status, problems, false, statusProblem);
    if (status?.group && otherStatus?.group === status.group && other.method === results.method) out.push(pointOf(name, other, 'sweep'));
  }
  return out;
}
