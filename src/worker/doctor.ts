/**
 * What can train on this machine, engine by engine: the torch engine's Python, torch and devices;
 * every TF.js backend with whether it runs and why not; and what `auto` picks (`early-exit
 * doctor`). Loads each engine's packages, as a worker would.
 */
import { diagnoseTfjs, type TfjsDiagnosis } from '../engine/tfjs';
import { diagnoseTorch, type TorchDiagnosis } from '../engine/torch';

export interface Diagnosis {
  node: string;
  platform: string;
  arch: string;
  tfjs: TfjsDiagnosis;
  /** the torch engine: the Python EARLY_EXIT_PYTHON (else python3) names, its torch and devices */
  torch: TorchDiagnosis;
}

export async function diagnose(): Promise<Diagnosis> {
  return { node: process.version, platform: process.platform, arch: process.arch, tfjs: await diagnoseTfjs(), torch: await diagnoseTorch() };
}
