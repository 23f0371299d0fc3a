/**
 * Runs side by side on a machine with several GPUs: the queue's slot k trains on its own GPU(s),
 * by giving the run's worker CUDA_VISIBLE_DEVICES (the torch engine then sees them as cuda:0…).
 * No tfjs, no vscode: the CLI and the extension host count the GPUs the same way.
 */
import * as fs from 'node:fs';
import type { Experiment } from '../spec/experiment';

/**
 * The CUDA devices visible to runs: CUDA_VISIBLE_DEVICES when set (as CUDA reads it), else one per
 * NVIDIA GPU the driver lists (/proc/driver/nvidia/gpus on Linux); none elsewhere.
 */
export function visibleGpus(env: NodeJS.ProcessEnv = process.env, readdir: (dir: string) => string[] = (d) => fs.readdirSync(d)): string[] {
  const set = env.CUDA_VISIBLE_DEVICES;
  if (set !== undefined) {
    const ids = set.split(',').map((s) => s.trim()).filter(Boolean);
    // CUDA stops at the first invalid entry ("-1" hides every device)
    const valid: string[] = [];
    for (const id of ids) { if (id.startsWith('-')) break; valid.push(id); }
    return valid;
  }
  try {
    return readdir('/proc/driver/nvidia/gpus').map((_, i) => String(i));
  } catch {
    return [];
  }
}

/** GPUs a run of `x` takes: training.devices when it may train on CUDA with the torch engine, else 0. */
export function gpusPerRun(x: Pick<Experiment, 'training'>, backendOverride?: string): number {
  const backend = backendOverride ?? x.training.backend;
  const torch = backend === 'torch' || backend === 'auto';
  return torch && (x.training.device === 'auto' || x.training.device === 'cuda') ? x.training.devices : 0;
}

/** The devices of queue slot `slot` when each run takes `perRun` of `gpus`; null when they do not go round. */
export function gpusForSlot(gpus: string[], slot: number, perRun: number): string[] | null {
  if (perRun < 1 || (slot + 1) * perRun > gpus.length) return null;
  return gpus.slice(slot * perRun, (slot + 1) * perRun);
}

/** How many runs fit side by side: one per `perRun` GPUs, at least 1. */
export function runsSideBySide(gpus: string[], perRun: number): number {
  return Math.max(1, Math.floor(gpus.length / Math.max(1, perRun)));
}
