/**
 * Saving and loading networks in the TF.js weights format: `model.json` (topology = our network
 * config, `weightsManifest` as tf.io writes it) + `weights.bin`. A checkpoint adds the optimiser's
 * state so `--resume` continues exactly. Folders are swapped atomically: written to a temp folder,
 * then renamed over the old one, so a kill mid-write leaves the previous checkpoint loadable.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { MultiExitNetwork, type NetworkConfig } from './network';
import { errnoCode, errnoPhrase } from '../../spec/errno';
import { ValidationError } from '../../spec/errors';
import { parseJsonText } from '../../spec/json-text';
import type { CostModel } from '../../spec/results';
import { RunFileError, runFileFix, shapeProblem, weightsProblem } from '../../spec/run-files';
import { faultPoint } from '../faults';

export const MODEL_FORMAT = 'early-exit-studio/multi-exit@1';

interface ModelJson {
  format: string;
  generatedBy: string;
  modelTopology: { network: NetworkConfig; costs: CostModel; exitOrder: string[] };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  epoch?: number;
  /** MultiExitNetwork.dropoutCalls: where the dropout masks continue on resume */
  dropoutCalls?: number;
  optimizer?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] };
  /** SHA-256 of each weights file: a flipped byte is found, not loaded as a different weight. */
  sha256?: Record<string, string>;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function encode(tensors: tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>): Promise<{ data: Buffer; specs: tf.io.WeightsManifestEntry[] }> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return { data: Buffer.from(data), specs };
}

function syncDir(dir: string): void {
  try { const fd = fs.openSync(dir, 'r'); fs.fsyncSync(fd); fs.closeSync(fd); } catch { /* not supported everywhere */ }
}

/**
 * Writes net (and optionally the optimiser) to `dir`, replacing it atomically: the new files go to
 * a temp folder, then the folders are swapped by rename. A failed write (disk full) removes the
 * temp folder and leaves `dir` as it was; a kill at any point leaves `dir` or `dir.old` loadable.
 */
export async function saveNetwork(dir: string, net: MultiExitNetwork, extra: { epoch?: number; optimizer?: tf.Optimizer } = {}): Promise<void> {
  faultPoint('checkpoint-start', extra.epoch, dir);
  const tmp = `${dir}.tmp-${process.pid}`;
  // temp folders of earlier, killed writers of this run
  for (const f of fs.readdirSync(path.dirname(dir))) {
    if (f.startsWith(`${path.basename(dir)}.tmp-`)) fs.rmSync(path.join(path.dirname(dir), f), { recursive: true, force: true });
  }
  try {
    fs.mkdirSync(tmp, { recursive: true });
    const w = await encode(net.namedWeights());
    const json: ModelJson = {
      format: MODEL_FORMAT,
      generatedBy: `TensorFlow.js v${tf.version_core}`,
      modelTopology: { network: net.config, costs: net.costs, exitOrder: net.exits.map((e) => e.point) },
      weightsManifest: [{ paths: ['weights.bin'], weights: w.specs }],
    };
    fs.writeFileSync(path.join(tmp, 'weights.bin'), w.data);
    json.sha256 = { 'weights.bin': sha256(w.data) };
    faultPoint('checkpoint-written', extra.epoch);
    if (extra.optimizer) {
      const named = await extra.optimizer.getWeights();
      const o = await encode(named);
      fs.writeFileSync(path.join(tmp, 'optimizer.bin'), o.data);
      json.optimizer = { paths: ['optimizer.bin'], weights: o.specs };
      json.sha256['optimizer.bin'] = sha256(o.data);
    }
    if (extra.epoch !== undefined) json.epoch = extra.epoch;
    if (net.dropoutCalls) json.dropoutCalls = net.dropoutCalls;
    fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(json, null, 1));
    for (const f of fs.readdirSync(tmp)) { const fd = fs.openSync(path.join(tmp, f), 'r'); fs.fsyncSync(fd); fs.closeSync(fd); }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  // swap: dir → dir.old, tmp → dir, remove dir.old. A crash in between leaves dir.old, which
  // loadNetwork falls back to. After such a crash dir is missing and dir.old is the only
  // checkpoint: it is kept until the new one is in place.
  const old = `${dir}.old`;
  if (fs.existsSync(path.join(dir, 'model.json'))) {
    fs.rmSync(old, { recursive: true, force: true });
    fs.renameSync(dir, old);
  } else {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  faultPoint('checkpoint-swap', extra.epoch);
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
function runFile(dir: string, file: string): { error: (problem: string) => RunFileError } {
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
function readModelJson(dir: string): ModelJson {
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

/** Reads one weights file of a manifest entry, checking its size against the manifest and its SHA-256 against model.json. */
function decode(dir: string, json: ModelJson, entry: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }): tf.NamedTensorMap {
  const name = entry.paths[0];
  const f = runFile(dir, name);
  if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw runFile(dir, 'model.json').error(`weights path "${name}" is not a file name in the folder`);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path.join(dir, name));
  } catch (e) {
    throw f.error(errnoCode(e) === 'ENOENT' ? 'missing' : errnoPhrase(e, 'read'));
  }
  const sizeProblem = weightsProblem(entry.weights, buf.length);
  if (sizeProblem) throw f.error(sizeProblem);
  const want = json.sha256?.[name];
  if (want && want !== sha256(buf)) throw f.error('its bytes do not match the SHA-256 recorded in model.json (the file is damaged)');
  return tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer, entry.weights);
}

/**
 * Loads a saved network; with an optimiser in the checkpoint, restores it too. A missing or
 * damaged model.json or weights file (wrong size, checksum, or weights of another network) is a
 * RunFileError naming the file and what to do.
 */
export async function loadNetwork(dir: string, opts: { optimizer?: tf.Optimizer } = {}): Promise<{ net: MultiExitNetwork; epoch: number }> {
  const from = checkpointDir(dir);
  if (!from) throw runFile(dir, 'model.json').error('missing (no checkpoint has been written yet)');
  const json = readModelJson(from);
  let net: MultiExitNetwork;
  try {
    net = new MultiExitNetwork(json.modelTopology.network);
  } catch (e) {
    throw runFile(from, 'model.json').error(`its network cannot be built (${(e as Error).message})`);
  }
  const weights = decode(from, json, json.weightsManifest[0]);
  try {
    net.loadWeights(weights);
  } catch (e) {
    net.dispose();
    throw runFile(from, 'weights.bin').error(`its weights do not fit the network in model.json (${(e as Error).message})`);
  } finally {
    tf.dispose(Object.values(weights));
  }
  net.dropoutCalls = Number.isInteger(json.dropoutCalls) && json.dropoutCalls! >= 0 ? json.dropoutCalls! : 0;
  if (opts.optimizer && json.optimizer) {
    const ow = decode(from, json, json.optimizer);
    try {
      await opts.optimizer.setWeights(json.optimizer.weights.map((s) => ({ name: s.name, tensor: ow[s.name] })));
    } catch (e) {
      net.dispose();
      throw runFile(from, json.optimizer.paths[0]).error(`the optimiser state does not fit (${(e as Error).message})`);
    }
  }
  return { net, epoch: Number.isInteger(json.epoch) && json.epoch! >= 0 ? json.epoch! : 0 };
}
