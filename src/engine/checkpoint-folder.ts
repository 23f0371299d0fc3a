/**
 * The run folder's model folders (`checkpoint/`, `model/`) as every engine writes and reads them:
 * the TF.js weights format (`model.json` with our network config, a weights manifest and the
 * SHA-256 of each file, `weights.bin`), plus the engine's optimiser state in a checkpoint. A folder
 * is replaced atomically: written to a temp folder, then swapped in by rename, so a kill at any
 * point leaves a loadable one. No tfjs here: the torch engine writes its folders through the same
 * swap and reads them with the same checks.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoCode, errnoPhrase } from '../spec/errno';
import { ValidationError } from '../spec/errors';
import { parseJsonText } from '../spec/json-text';
import type { Experiment } from '../spec/experiment';
import type { NetworkConfig } from '../spec/network';
import type { CostModel } from '../spec/results';
import { RunFileError, runFileFix, shapeProblem } from '../spec/run-files';
import { faultPoint } from './faults';

export const MODEL_FORMAT = 'early-exit-studio/multi-exit@1';

/** One tensor of a weights file, as tf.io writes the manifest (little-endian, in order). */
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
  /** tfjs engine checkpoints: MultiExitNetwork.dropoutCalls, where the dropout masks continue on resume */
  dropoutCalls?: number;
  /** tfjs engine checkpoints: the optimiser's variables */
  optimizer?: { paths: string[]; weights: WeightSpec[] };
  /** torch engine checkpoints: the optimiser's state_dict, written by torch.save */
  torchOptimizer?: { path: string; optimizer: string };
  /** SHA-256 of each file beside model.json: a flipped byte is found, not loaded as a different weight. */
  sha256?: Record<string, string>;
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

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

/**
 * The run folder a saved network belongs to and the file's name in it, for messages that name the
 * file and the fix ("checkpoint/weights.bin" of the run). A folder outside a run keeps its own path.
 */
export function runFile(dir: string, file: string): { error: (problem: string) => RunFileError } {
  const runDir = path.dirname(dir);
  const name = `${path.basename(dir)}/${file}`;
  return { error: (problem) => new RunFileError(path.join(dir, file), problem, runFileFix(runDir, name)) };
}

const manifestShape = {
  object: {
    format: 'string' as const,
    modelTopology: { object: { network: 'any' as const, costs: 'any' as const, exitOrder: { arrayOf: 'string' as const } } },
    weightsManifest: { arrayOf: { object: { paths: { arrayOf: 'string' as const }, weights: 'any' as const } } },
  },
};

/** Reads and checks model.json of a saved network (format, manifest); errors name the file and the fix. */
export function readModelJson(dir: string): ModelJson {
  const f = runFile(dir, 'model.json');
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'model.json'), 'utf8');
  } catch (e) {
    throw f.error(errnoCode(e) === 'ENOENT' ? 'missing' : errnoPhrase(e, 'read'));
  }
  let json: ModelJson;
  try {
    json = parseJsonText(text, 'model.json') as ModelJson;
  } catch (e) {
    if (e instanceof ValidationError) throw f.error(`${e.message.slice('model.json: '.length)} (cut off or overwritten)`);
    throw e;
  }
  const p = shapeProblem(json, manifestShape, '');
  if (p) throw f.error(`not a model.json of Early Exit Studio (${p})`);
  if (json.format !== MODEL_FORMAT) throw f.error(`format "${json.format}" is not ${MODEL_FORMAT}`);
  if (json.weightsManifest.length !== 1 || json.weightsManifest[0].paths.length !== 1) throw f.error('expected one weights file in weightsManifest');
  return json;
}

/** Checks a file of a saved network against the SHA-256 model.json records for it (no record: nothing to check). */
export function checkRecordedHash(dir: string, json: ModelJson, name: string, bytes?: Uint8Array): void {
  const want = json.sha256?.[name];
  if (!want) return;
  let buf = bytes;
  if (!buf) {
    try { buf = fs.readFileSync(path.join(dir, name)); } catch (e) { throw runFile(dir, name).error(errnoCode(e) === 'ENOENT' ? 'missing' : errnoPhrase(e, 'read')); }
  }
  if (want !== sha256(buf)) throw runFile(dir, name).error('its bytes do not match the SHA-256 recorded in model.json (the file is damaged)');
}

/**
 * Why the network saved in a checkpoint is not the one `x` describes (backbone, exits, whether it
 * has gates), or null. Key order does not matter, values do.
 */
export function networkMismatch(c: { backbone: unknown; exits: unknown; gated: boolean }, x: Experiment): string | null {
  const j = (v: unknown): string => Array.isArray(v) ? `[${v.map(j).join(',')}]`
    : v && typeof v === 'object' ? `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${j((v as Record<string, unknown>)[k])}`).join(',')}}`
      : JSON.stringify(v);
  if (j(c.backbone) !== j(x.backbone)) return `backbone ${j(c.backbone)} vs ${j(x.backbone)}`;
  if (j(c.exits) !== j(x.exits)) return `exits ${j(c.exits)} vs ${j(x.exits)}`;
  if (c.gated !== (x.method.name === 'proposed')) return c.gated ? 'it has gates, the method has none' : 'it has no gates, the method needs them';
  return null;
}

/**
 * Refuses, before any weight is loaded, to resume a run from a checkpoint it cannot continue: one of
 * another network than the run's experiment.json (edited after the run started), or one of more
 * epochs than the experiment trains. Every engine calls it; the error names model.json and the fix.
 */
export function checkResumable(dir: string, saved: { network: unknown; epoch: number }, x: Experiment): void {
  const n = saved.network as { backbone?: unknown; exits?: unknown; gated?: unknown } | null;
  if (!n || typeof n !== 'object' || typeof n.gated !== 'boolean') throw runFile(dir, 'model.json').error('its network description (modelTopology.network) is not readable');
  const mismatch = networkMismatch({ backbone: n.backbone, exits: n.exits, gated: n.gated }, x);
  if (mismatch) throw runFile(dir, 'model.json').error(`its network is not the one of this run's experiment.json (${mismatch})`);
  if (saved.epoch > x.training.epochs) throw runFile(dir, 'model.json').error(`it is the checkpoint of epoch ${saved.epoch}, but the experiment has ${x.training.epochs} epochs`);
}
