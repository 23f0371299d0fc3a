/**
 * What can train on this machine, engine by engine: every backend with whether it runs and why
 * not, and what `auto` picks (`early-exit doctor`). Loads each engine's packages, as a worker would.
 */
import { diagnoseTfjs, type TfjsDiagnosis } from '../engine/tfjs';

export interface Diagnosis {
  node: string;
  platform: string;
  arch: string;
  tfjs: TfjsDiagnosis;
}

export async function diagnose(): Promise<Diagnosis> {
  return { node: process.version, platform: process.platform, arch: process.arch, tfjs: await diagnoseTfjs() };
}
