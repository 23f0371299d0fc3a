/**
 * Saving and loading networks in the TF.js weights format: `model.json` (topology = our network
 * config, `weightsManifest` as tf.io writes it) + `weights.bin`. A checkpoint adds the optimiser's
 * state so `--resume` continues exactly. Folders are swapped atomically: written to a temp folder,
 * then renamed over the old one, so a kill mid-write leaves the previous checkpoint loadable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MultiExitNetwork, type NetworkConfig } from './network';
import type { CostModel } from '../../spec/results';
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
}

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
      generatedBy: `TensorFlow.js v${tf.version.tfjs}`,
      modelTopology: { network: net.config, costs: net.costs, exitOrder: net.exits.map((e) => e.point) },
      weightsManifest: [{ paths: ['weights.bin'], weights: w.specs }],
    };
    fs.writeFileSync(path.join(tmp, 'weights.bin'), w.data);
    faultPoint('checkpoint-written', extra.epoch);
    if (extra.optimizer) {
      const named = await extra.optimizer.getWeights();
      const o = await encode(named);
      fs.writeFileSync(path.join(tmp, 'optimizer.bin'), o.data);
      json.optimizer = { paths: ['optimizer.bin'], weights: o.specs };
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

function decode(dir: string, entry: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }): tf.NamedTensorMap {
  const buf = fs.readFileSync(path.join(dir, entry.paths[0]));
  return tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), entry.weights);
}

/** Loads a saved network; with an optimiser in the checkpoint, restores it too. */
export async function loadNetwork(dir: string, opts: { optimizer?: tf.Optimizer } = {}): Promise<{ net: MultiExitNetwork; epoch: number }> {
  const from = checkpointDir(dir);
  if (!from) throw new Error(`${dir}: no model.json (no checkpoint has been written yet)`);
  const json = JSON.parse(fs.readFileSync(path.join(from, 'model.json'), 'utf8')) as ModelJson;
  if (json.format !== MODEL_FORMAT) throw new Error(`${from}/model.json: format "${json.format}" is not ${MODEL_FORMAT}`);
  const net = new MultiExitNetwork(json.modelTopology.network);
  const weights = decode(from, json.weightsManifest[0]);
  net.loadWeights(weights);
  tf.dispose(Object.values(weights));
  net.dropoutCalls = json.dropoutCalls ?? 0;
  if (opts.optimizer && json.optimizer) {
    const ow = decode(from, json.optimizer);
    await opts.optimizer.setWeights(json.optimizer.weights.map((s) => ({ name: s.name, tensor: ow[s.name] })));
  }
  return { net, epoch: json.epoch ?? 0 };
}
