/**
 * The run folder's model folders (`checkpoint/`, `model/`) as every engine writes them: the TF.js
 * weights format (`model.json` with our network config and a weights manifest, `weights.bin`),
 * plus the engine's optimiser state in a checkpoint. A folder is replaced atomically: written to a
 * temp folder, then swapped in by rename, so a kill at any point leaves a loadable one. No tfjs
 * here: the torch engine writes its folders through the same swap.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NetworkConfig } from '../spec/network';
import type { CostModel } from '../spec/results';
import { faultPoint } from './faults';

export const MODEL_FORMAT = 'early-exit-studio/multi-exit@1';

/** One tensor of a weights file, as tf.io writes the manifest (float32, little-endian, in order). */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

export interface ModelJson {
  format: string;
  generatedBy: string;
  modelTopology: { network: NetworkConfig; costs: CostModel; exitOrder: string[] };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  /** checkpoints: epochs trained */
  epoch?: number;
  /** tfjs engine checkpoints: the optimiser's variables */
  optimizer?: { paths: string[]; weights: WeightSpec[] };
  /** torch engine checkpoints: the optimiser's state_dict, written by torch.save */
  torchOptimizer?: { path: string; optimizer: string };
}

function syncDir(dir: string): void {
  try { const fd = fs.openSync(dir, 'r'); fs.fsyncSync(fd); fs.closeSync(fd); } catch { /* not supported everywhere */ }
}

/**
 * Replaces `dir` by what `write` puts into a fresh temp folder. A failed write (disk full) removes
 * the temp folder and leaves `dir` as it was; a kill at any point leaves `dir` or `dir.old`
 * loadable (`checkpointDir` finds it). `epoch` places the reliability tests' faults.
 */
export async function replaceFolder(dir: string, write: (tmp: string) => Promise<void> | void, epoch?: number): Promise<void> {
  faultPoint('checkpoint-start', epoch, dir);
  const tmp = `${dir}.tmp-${process.pid}`;
  // temp folders of earlier, killed writers of this run
  for (const f of fs.readdirSync(path.dirname(dir))) {
    if (f.startsWith(`${path.basename(dir)}.tmp-`)) fs.rmSync(path.join(path.dirname(dir), f), { recursive: true, force: true });
  }
  try {
    fs.mkdirSync(tmp, { recursive: true });
    await write(tmp);
    faultPoint('checkpoint-written', epoch);
    for (const f of fs.readdirSync(tmp)) { const fd = fs.openSync(path.join(tmp, f), 'r'); fs.fsyncSync(fd); fs.closeSync(fd); }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  // swap: dir → dir.old, tmp → dir, remove dir.old. A crash in between leaves dir.old, which
  // checkpointDir falls back to. After such a crash dir is missing and dir.old is the only
  // checkpoint: it is kept until the new one is in place.
  const old = `${dir}.old`;
  if (fs.existsSync(path.join(dir, 'model.json'))) {
    fs.rmSync(old, { recursive: true, force: true });
    fs.renameSync(dir, old);
  } else {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  faultPoint('checkpoint-swap', epoch);
  fs.renameSync(tmp, dir);
  syncDir(path.dirname(dir));
  fs.rmSync(old, { recursive: true, force: true });
}

/** The folder to read: `dir`, or `dir.old` when a swap was interrupted. */
export function checkpointDir(dir: string): string | null {
  if (fs.existsSync(path.join(dir, 'model.json'))) return dir;
  if (fs.existsSync(path.join(`${dir}.old`, 'model.json'))) return `${dir}.old`;
  return null;
}

/** model.json of a saved network (or of `dir.old`), checked to be ours. */
export function readModelJson(dir: string): { from: string; json: ModelJson } {
  const from = checkpointDir(dir);
  if (!from) throw new Error(`${dir}: no model.json (no checkpoint has been written yet)`);
  const json = JSON.parse(fs.readFileSync(path.join(from, 'model.json'), 'utf8')) as ModelJson;
  if (json.format !== MODEL_FORMAT) throw new Error(`${from}/model.json: format "${json.format}" is not ${MODEL_FORMAT}`);
  return { from, json };
}
