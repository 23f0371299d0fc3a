/**
 * Saving and loading networks in the TF.js weights format: `model.json` (topology = our network
 * config, `weightsManifest` as tf.io writes it) + `weights.bin`. A checkpoint adds the optimiser's
 * state so `--resume` continues exactly. Folders are swapped atomically: written to a temp folder,
 * then renamed over the old one, so a kill mid-write leaves the previous checkpoint loadable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { MultiExitNetwork } from './network';
import { errnoCode, errnoPhrase } from '../../spec/errno';
import { weightsProblem } from '../../spec/run-files';
import { checkpointDir, checkRecordedHash, MODEL_FORMAT, readModelJson, replaceFolder, runFile, sha256, type ModelJson, type WeightSpec } from '../checkpoint-folder';

export { checkpointDir, MODEL_FORMAT } from '../checkpoint-folder';

async function encode(tensors: tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>): Promise<{ data: Buffer; specs: WeightSpec[] }> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return { data: Buffer.from(data), specs: specs as WeightSpec[] };
}

/**
 * Writes net (and optionally the optimiser) to `dir`, replacing it atomically (replaceFolder): a
 * failed write (disk full) leaves `dir` as it was; a kill at any point leaves `dir` or `dir.old` loadable.
 */
export async function saveNetwork(dir: string, net: MultiExitNetwork, extra: { epoch?: number; optimizer?: tf.Optimizer } = {}): Promise<void> {
  await replaceFolder(dir, async (tmp) => {
    const w = await encode(net.namedWeights());
    const json: ModelJson = {
      format: MODEL_FORMAT,
      generatedBy: `TensorFlow.js v${tf.version_core}`,
      modelTopology: { network: net.config, costs: net.costs, exitOrder: net.exits.map((e) => e.point) },
      weightsManifest: [{ paths: ['weights.bin'], weights: w.specs }],
    };
    fs.writeFileSync(path.join(tmp, 'weights.bin'), w.data);
    json.sha256 = { 'weights.bin': sha256(w.data) };
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
  }, extra.epoch);
}

/** Reads one weights file of a manifest entry, checking its size against the manifest and its SHA-256 against model.json. */
function decode(dir: string, json: ModelJson, entry: { paths: string[]; weights: WeightSpec[] }): tf.NamedTensorMap {
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
  checkRecordedHash(dir, json, name, buf);
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
  if (opts.optimizer && json.torchOptimizer) {
    throw runFile(from, 'model.json').error('this checkpoint was written by the torch engine; resume it with training.backend "torch" (the tfjs engine cannot read its optimiser state)');
  }
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
