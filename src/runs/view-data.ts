/**
 * Reads a run folder into what the results / comparison views show (`RunData`). Plain fs, no
 * vscode and no tfjs: the extension's panels and the CLI's report both use it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunResults, SampleRecords } from '../spec/results';
import type { RunStatus } from '../spec/run-types';
import { describeBackbone } from '../spec/backbones';
import type { Experiment } from '../spec/experiment';
import type { DeployData, RelatedPoint, RunData } from '../protocol/webview';
import { readRunDeployment, readSplitMeasurements, readTierSpeeds } from './deploy-files';
import { checkResults, RUN_FILES, readMetrics } from './store';

function readOptional<T>(file: string, problems: string[], required = false, check: (x: T) => T = (x) => x): T | null {
  if (!fs.existsSync(file)) {
    if (required) problems.push(`${path.basename(file)}: missing`);
    return null;
  }
  try {
    return check(JSON.parse(fs.readFileSync(file, 'utf8')) as T);
  } catch (e) {
    problems.push(`${path.basename(file)}: unreadable (${(e as Error).message})`);
    return null;
  }
}

/** One run folder → RunData. Never throws for a damaged folder: what fails is listed in `problems`. */
export function readRunData(runDir: string, withRelated = true, withSamples = true): RunData {
  const dir = path.resolve(runDir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${runDir}: not a run folder`);
  const problems: string[] = [];
  const status = readOptional<RunStatus>(path.join(dir, RUN_FILES.status), problems, true);
  const results = readOptional<RunResults>(path.join(dir, RUN_FILES.results), problems, status?.state === 'finished', checkResults);
  const samplesFile = results?.files.samples ?? RUN_FILES.samples;
  const samples = results && withSamples ? readOptional<SampleRecords>(path.join(dir, samplesFile), problems, true) : null;
  const validationFile = results && withSamples ? results.files.validationSamples : null;
  const validation = validationFile ? readOptional<SampleRecords>(path.join(dir, validationFile), problems, true) : null;
  const { metrics, errors } = readMetrics(dir);
  problems.push(...errors);
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
  const attempt = <T>(what: string, f: () => T): T | null => {
    try { return f(); } catch (e) { problems.push(`${what}: ${(e as Error).message}`); return null; }
  };
  const d = attempt(`${RUN_FILES.experiment} deployment`, () => readRunDeployment(dir));
  if (d) Object.assign(out, { deployment: d, source: 'run' });
  out.speeds = attempt(RUN_FILES.tierSpeed, () => readTierSpeeds(dir));
  out.measured = attempt(RUN_FILES.splitMeasured, () => readSplitMeasurements(dir)) ?? [];
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
    const other = readOptional<RunResults>(path.join(dir, RUN_FILES.results), problems, false, checkResults);
    if (!other || other.dataset?.name !== results.dataset.name || other.backbone?.name !== results.backbone.name) continue;
    if (other.method === 'baseline' && results.method !== 'baseline') {
      out.push(pointOf(name, other, 'baseline'));
      continue;
    }
    const otherStatus = readOptional<RunStatus>(path.join(dir, RUN_FILES.status), problems);
    if (status?.group && otherStatus?.group === status.group && other.method === results.method) out.push(pointOf(name, other, 'sweep'));
  }
  return out;
}
