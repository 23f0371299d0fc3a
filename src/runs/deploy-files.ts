/**
 * The run folder's deployment files: tier-speed.json (per-part speeds measured here, by backend)
 * and split-measured.json (split executions, the newest per profile × placement × quantisation ×
 * shaping), and the deployment a run was trained with. Read with the run-file reader and checked
 * (spec/run-files.ts), so a damaged file is named with what to do; atomic writes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackboneConfig } from '../spec/backbones';
import { parseDeployment } from '../spec/experiment';
import type { SplitMeasurement } from '../spec/split-results';
import type { MeasuredSpeed, TierSpeeds } from '../spec/tier-estimate';
import type { DeploymentSpec } from '../spec/tiers';
import { splitMeasurementsProblem, tierSpeedsProblem } from '../spec/run-files';
import { readRunJson } from './files';
import { RUN_FILES, writeJsonAtomic } from './store';

/** An optional file of the run folder: null when absent, else read and checked (a RunFileError when damaged). */
function readJsonIf<T>(dir: string, name: string, problem: (v: unknown) => string | null = () => null): T | null {
  if (!fs.existsSync(path.join(dir, name))) return null;
  return readRunJson<T>(dir, name, problem);
}

export function readTierSpeeds(dir: string): TierSpeeds | null {
  return readJsonIf<TierSpeeds>(dir, RUN_FILES.tierSpeed, tierSpeedsProblem);
}

/** Adds (or replaces) the measurement of one backend. */
export function writeTierSpeed(dir: string, speed: MeasuredSpeed): TierSpeeds {
  const all = { ...(readTierSpeeds(dir) ?? {}), [speed.backend]: speed };
  writeJsonAtomic(path.join(dir, RUN_FILES.tierSpeed), all);
  return all;
}

export function readSplitMeasurements(dir: string): SplitMeasurement[] {
  return readJsonIf<SplitMeasurement[]>(dir, RUN_FILES.splitMeasured, splitMeasurementsProblem) ?? [];
}

/** What makes two measurements the same experiment: the newer replaces the older. */
export function splitKey(m: Pick<SplitMeasurement, 'profile' | 'cuts' | 'quantization' | 'shaped'>): string {
  return `${m.profile}|${m.cuts.join(',')}|${m.quantization}|${m.shaped ? 'shaped' : 'loopback'}`;
}

export function addSplitMeasurement(dir: string, m: SplitMeasurement): SplitMeasurement[] {
  const all = [...readSplitMeasurements(dir).filter((x) => splitKey(x) !== splitKey(m)), m];
  writeJsonAtomic(path.join(dir, RUN_FILES.splitMeasured), all, 0);
  return all;
}

/** The `deployment` section of a run's experiment.json (null when it has none); throws a ValidationError when it is invalid. */
export function readRunDeployment(dir: string): DeploymentSpec | null {
  const x = readJsonIf<{ backbone?: BackboneConfig; deployment?: unknown }>(dir, RUN_FILES.experiment);
  if (!x?.deployment || !x.backbone) return null;
  return parseDeployment(x.deployment, x.backbone);
}
