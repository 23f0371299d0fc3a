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
import { MODEL_FORMAT, readModelJson, replaceFolder, type ModelJson, type WeightSpec } from '../checkpoint-folder';

export { checkpointDir, MODEL_FORMAT } from '../checkpoint-folder';

async function encode(tensors: tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>): Promise<{ data: Buffer; specs: WeightSpec[] }> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return { data: Buffer.from(data), specs: specs as WeightSpec[] };
}

/**
 * Writes net (and optionally the optimiser) to `dir`, replacing it atomically (replaceFolder): a
 * failed write leaves `dir` as it was; a kill at any point leaves `dir` or `dir.old` loadable.
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
    if (extra.optimizer) {
      const named = await extra.optimizer.getWeights();
      const o = await encode(named);
      fs.writeFileSync(path.join(tmp, 'optimizer.bin'), o.data);
      json.optimizer = { paths: ['optimizer.bin'], weights: o.specs };
    }
    if (extra.epoch !== undefined) json.epoch = extra.epoch;
    fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(json, null, 1));
  }, extra.epoch);
}

function decode(dir: string, entry: { paths: string[]; weights: WeightSpec[] }): tf.NamedTensorMap {
  const buf = fs.readFileSync(path.join(dir, entry.paths[0]));
  return tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), entry.weights);
}

/** Loads a saved network; with an optimiser in the checkpoint, restores it too. */
export async function loadNetwork(dir: string, opts: { optimizer?: tf.Optimizer } = {}): Promise<{ net: MultiExitNetwork; epoch: number }> {
  const { from, json } = readModelJson(dir);
  if (opts.optimizer && json.torchOptimizer) {
    throw new Error(`${from}: this checkpoint was written by the torch engine; resume it with training.backend "torch" (the tfjs engine cannot read its optimiser state)`);
  }
  const net = new MultiExitNetwork(json.modelTopology.network);
  const weights = decode(from, json.weightsManifest[0]);
  net.loadWeights(weights);
  tf.dispose(Object.values(weights));
  if (opts.optimizer && json.optimizer) {
    const ow = decode(from, json.optimizer);
    await opts.optimizer.setWeights(json.optimizer.weights.map((s) => ({ name: s.name, tensor: ow[s.name] })));
  }
  return { net, epoch: json.epoch ?? 0 };
}
