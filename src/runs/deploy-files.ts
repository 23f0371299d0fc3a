/**
 * The run folder's deployment files: tier-speed.json (per-part speeds measured here, by backend)
 * and split-measured.json (split executions, the newest per profile × placement × quantisation ×
 * shaping), and the deployment a run was trained with. Plain fs, atomic writes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackboneConfig } from '../spec/backbones';
import { parseDeployment } from '../spec/experiment';
import type { SplitMeasurement } from '../spec/split-results';
import type { MeasuredSpeed, TierSpeeds } from '../spec/tier-estimate';
import type { DeploymentSpec } from '../spec/tiers';
import { RUN_FILES, writeJsonAtomic } from './store';

function readJsonIf<T>(file: string): T | null {
  if (!fs.existsSync(file)) return null;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function readTierSpeeds(dir: string): TierSpeeds | null {
  return readJsonIf<TierSpeeds>(path.join(dir, RUN_FILES.tierSpeed));
}

/** Adds (or replaces) the measurement of one backend. */
export function writeTierSpeed(dir: string, speed: MeasuredSpeed): TierSpeeds {
  const all = { ...(readTierSpeeds(dir) ?? {}), [speed.backend]: speed };
  writeJsonAtomic(path.join(dir, RUN_FILES.tierSpeed), all);
  return all;
}

export function readSplitMeasurements(dir: string): SplitMeasurement[] {
  return readJsonIf<SplitMeasurement[]>(path.join(dir, RUN_FILES.splitMeasured)) ?? [];
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
  const x = readJsonIf<{ backbone?: BackboneConfig; deployment?: unknown }>(path.join(dir, RUN_FILES.experiment));
  if (!x?.deployment || !x.backbone) return null;
  return parseDeployment(x.deployment, x.backbone);
}
