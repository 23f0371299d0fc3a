/**
 * The PyTorch engine: the Engine interface over a Python process (python/early_exit_torch) that
 * trains the network TypeScript resolves (spec/network.ts describeNetwork) on CUDA, Apple MPS or
 * the CPU. TypeScript keeps everything else: the data (handed over as raw files), the epoch loop
 * and its metrics (engine/loop.ts), the records' analysis, model.json and the folder swaps of the
 * run folder. The CPU batch-1 timing runs the exported model on the tfjs engine, as `eval
 * --measure` does; on an accelerator the Python engine measures batch-1 latency there as well.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FromTorch, TorchHello } from '../../protocol/torch';
import type { TorchDevice } from '../../spec/backend-names';
import type { Experiment } from '../../spec/experiment';
import { describeNetwork, type NetworkDescription } from '../../spec/network';
import type { CostModel, ExitRule, SampleRecords, Timing } from '../../spec/results';
import type { EpochPhase } from '../../spec/method';
import { checkpointDir, checkRecordedHash, checkResumable, MODEL_FORMAT, readModelJson, replaceFolder, runFile, sha256, type ModelJson } from '../checkpoint-folder';
import { weightsProblem } from '../../spec/run-files';
import {
  EngineError, NonFiniteLossError, OutOfMemoryError, TrainingCancelled,
  type Engine, type EngineData, type EngineDevice, type EngineNetwork, type EpochLosses, type StepCallbacks,
} from '../engine';
import { TfjsEngine } from '../tfjs';
import { DataFiles } from './data-files';
import { chooseInterpreter, type InterpreterHints } from './interpreter';
import { TorchProcesses, type PythonChoice, type Reply, type TorchRequest } from './process';

export { chooseInterpreter };
export type { PythonChoice } from './process';

export interface TorchEngineOptions {
  python: PythonChoice;
  device: TorchDevice;
  /** processes training together (DistributedDataParallel); 1 = one */
  devices: number;
  /** a line for worker.log: the engine's stderr, tracebacks */
  log(line: string): void;
}

type ErrorReply = Extract<FromTorch, { type: 'error' }>;
const isErrorReply = (e: unknown): e is ErrorReply => !!e && typeof e === 'object' && (e as { type?: string }).type === 'error' && 'kind' in (e as object);

/** Why this machine certainly has no CUDA device, or null when it may have one. */
export function noCudaDriver(platform = process.platform, exists = fs.existsSync): string | null {
  if (platform === 'darwin') return 'macOS has no CUDA';
  if (platform === 'linux' && !['/proc/driver/nvidia/version', '/dev/nvidia0', '/dev/nvidiactl', '/dev/dxg'].some((f) => exists(f))) return 'no NVIDIA driver loaded';
  return null;
}

/** Which device training.device names on this Python, or why it cannot. */
function resolveDevice(want: TorchDevice, hello: TorchHello): { kind: 'cuda' | 'mps' | 'cpu'; why: string } {
  const cuda = !!hello.cuda?.available, mps = !!hello.mps;
  const noCuda = hello.cuda?.version ? 'no GPU or driver visible' : 'a CPU-only build of PyTorch';
  switch (want) {
    case 'cuda':
      if (!cuda) throw new EngineError(`training.device "cuda": torch ${hello.torch} at ${hello.executable} sees no CUDA device (${noCuda})`);
      return { kind: 'cuda', why: 'training.device "cuda"' };
    case 'mps':
      if (!mps) throw new EngineError(`training.device "mps": torch ${hello.torch} at ${hello.executable} has no Apple MPS device`);
      return { kind: 'mps', why: 'training.device "mps"' };
    case 'cpu':
      return { kind: 'cpu', why: 'training.device "cpu"' };
    case 'auto':
      if (cuda) return { kind: 'cuda', why: `CUDA ${hello.cuda!.version}` };
      if (mps) return { kind: 'mps', why: 'Apple MPS' };
      return { kind: 'cpu', why: `no CUDA device — ${noCuda} — and no MPS` };
  }
}

export class TorchEngine implements Engine {
  readonly name = 'torch';
  private procs: TorchProcesses | null = null;
  private hello: TorchHello | null = null;
  private device: { kind: 'cuda' | 'mps' | 'cpu'; why: string } | null = null;

  constructor(private readonly o: TorchEngineOptions) {}

  /**
   * Starts the engine process and checks what it can do. `auto` (the worker's default) wants a
   * CUDA device: without one this fails, saying why, and the caller falls back to tfjs.
   */
  async prepare(preference: string): Promise<EngineDevice> {
    if (preference === 'auto') {
      // `auto` on a machine without an NVIDIA driver need not start Python to learn it has no CUDA
      const why = noCudaDriver();
      if (why) throw new EngineError(`no CUDA device (${why}), and training.backend "torch" would train on the CPU`);
    }
    const { procs, hello } = await TorchProcesses.start(this.o.python, { log: this.o.log });
    try {
      const py = `Python ${hello.python} at ${hello.executable} (${this.o.python.source})`;
      if (preference === 'auto' && !(hello.cuda?.available && (this.o.device === 'auto' || this.o.device === 'cuda'))) {
        throw new EngineError(`torch ${hello.torch} (${py}) has no CUDA device${hello.cuda?.version ? '' : ' (a CPU-only build)'}, and training.backend "torch" would train on the CPU`);
      }
      this.device = resolveDevice(this.o.device, hello);
      const count = this.device.kind === 'cuda' ? hello.cuda!.count : 1;
      if (this.o.devices > 1 && this.device.kind === 'cuda' && count < this.o.devices) {
        throw new EngineError(`training.devices: ${this.o.devices}, but torch sees ${count} CUDA device(s) (${hello.cuda!.names.join(', ')})`);
      }
      if (this.o.devices > 1 && this.device.kind === 'mps') throw new EngineError('training.devices > 1 needs CUDA devices or the CPU (gloo); Apple MPS trains in one process');
      this.procs = procs;
      this.hello = hello;
      const where = this.device.kind === 'cuda' ? `cuda (${hello.cuda!.names.slice(0, Math.max(1, this.o.devices)).join(', ')})` : this.device.kind;
      const ranks = this.o.devices > 1 ? `, ${this.o.devices} processes (DistributedDataParallel)` : '';
      // a queue that spreads runs over GPUs gives each worker its own (runs/gpus.ts)
      const visible = process.env.CUDA_VISIBLE_DEVICES !== undefined ? `, CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES}` : '';
      return { kind: `torch-${this.device.kind}`, description: `torch ${hello.torch} on ${where} (${this.device.why})${ranks}${visible}; ${py}` };
    } catch (e) {
      await procs.close(1_000);
      throw e;
    }
  }

  async open(x: Experiment, data: EngineData, resumeFrom: string | null): Promise<{ net: TorchNetwork; epoch: number }> {
    if (resumeFrom) {
      const { json, from } = checkedSavedNetwork(resumeFrom);
      if (!json.torchOptimizer) {
        throw new EngineError(`${from}: this checkpoint was written by the tfjs engine (${json.generatedBy}); resume it with that backend (training.backend "${x.training.backend === 'torch' ? 'auto' : x.training.backend}" without torch), or start a new run`);
      }
      checkRecordedHash(from, json, json.torchOptimizer.path);
      checkResumable(from, { network: json.modelTopology.network, epoch: json.epoch ?? 0 }, x);
      return this.openWith(x, data, { resumeFrom: from, init: null });
    }
    return this.openWith(x, data, { resumeFrom: null, init: null });
  }

  /** The network starting from a saved network's weights (the parity tests start both engines from one). */
  async openFromWeights(x: Experiment, data: EngineData, folder: string): Promise<{ net: TorchNetwork; epoch: number }> {
    return this.openWith(x, data, { resumeFrom: null, init: checkedSavedNetwork(folder).from });
  }

  private async openWith(x: Experiment, data: EngineData, from: { resumeFrom: string | null; init: string | null }): Promise<{ net: TorchNetwork; epoch: number }> {
    if (!this.procs || !this.device) throw new Error('TorchEngine.open before prepare');
    const procs = this.procs;
    const network = describeNetwork({ backbone: x.backbone, exits: x.exits, gated: x.method.name === 'proposed', seed: x.training.seed });
    const files = new DataFiles(data);
    try {
      const dist = this.o.devices > 1 ? { ...(await procs.spread(this.o.devices)), world: this.o.devices } : undefined;
      const call = caller(procs, this.device.kind, this.o.log);
      const opened = await call({
        type: 'open', network, training: x.training, method: x.method, device: this.device.kind,
        data: { shape: data.shape, splits: files.splits, mean: data.mean, std: data.std, augment: data.augment },
        ...from, ...(dist ? { dist } : {}),
      }, 'opened');
      files.unlinkData();
      // the network Python built must be the one TypeScript resolved
      const c = network.costs;
      if (opened.macs.exits.join() !== c.exits.join() || opened.macs.final !== c.final || opened.macs.full !== c.full) {
        throw new EngineError(`the torch engine built a network of other costs than this worker resolved (MACs ${JSON.stringify(opened.macs)} vs ${JSON.stringify(c)})`);
      }
      this.o.log(`torch engine: ${opened.device.description} (pid ${procs.pids.join(', ')})`);
      const net = new TorchNetwork(procs, call, network, x, data, files, opened.parameters, opened.device.description, this.device.kind, this.hello!.torch!);
      this.procs = null; // the network owns the processes now
      return { net, epoch: opened.epoch };
    } catch (e) {
      files.dispose();
      throw e;
    }
  }

  /** Ends the engine process when no network took it over (prepare without open). */
  async dispose(): Promise<void> {
    await this.procs?.close(1_000);
    this.procs = null;
  }
}

/**
 * A saved network's folder (or its .old after an interrupted swap) with model.json and weights.bin
 * checked as the tfjs engine checks them — format, manifest, size, SHA-256 — before Python reads it.
 */
function checkedSavedNetwork(dir: string): { from: string; json: ModelJson } {
  const from = checkpointDir(dir);
  if (!from) throw runFile(dir, 'model.json').error('missing (no checkpoint has been written yet)');
  const json = readModelJson(from);
  const name = json.weightsManifest[0].paths[0];
  if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw runFile(from, 'model.json').error(`weights path "${name}" is not a file name in the folder`);
  let size: number;
  try { size = fs.statSync(path.join(from, name)).size; } catch { throw runFile(from, name).error('missing'); }
  const problem = weightsProblem(json.weightsManifest[0].weights, size);
  if (problem) throw runFile(from, name).error(problem);
  checkRecordedHash(from, json, name);
  return { from, json };
}

/** What `early-exit doctor` says about the torch engine: which Python, its torch and devices, and whether `auto` takes it. */
export interface TorchDiagnosis {
  python: PythonChoice;
  pythonVersion: string | null;
  executable: string | null;
  torch: string | null;
  cuda: { version: string | null; names: string[] } | null;
  mps: boolean;
  /** why the engine cannot run (no Python, no torch, …), or null */
  error: string | null;
  /** whether `auto` trains on the torch engine here (it wants a CUDA device) */
  auto: boolean;
}

/** Starts the engine's Python once, as a worker would, and reports what it found. */
export async function diagnoseTorch(hints: InterpreterHints = {}): Promise<TorchDiagnosis> {
  const python = chooseInterpreter(hints);
  const none = { python, pythonVersion: null, executable: null, torch: null, cuda: null, mps: false, auto: false };
  try {
    const { procs, hello } = await TorchProcesses.start(python, { log: () => {} });
    await procs.close(1_000);
    const cuda = hello.cuda?.available ? { version: hello.cuda.version, names: hello.cuda.names } : null;
    return { python, pythonVersion: hello.python, executable: hello.executable, torch: hello.torch ?? null, cuda, mps: !!hello.mps, error: null, auto: !!cuda };
  } catch (e) {
    return { ...none, error: (e as Error).message };
  }
}

type Caller = <T extends Reply['type']>(m: TorchRequest, expect: T) => Promise<Extract<Reply, { type: T }>>;

/** Requests whose error replies become the engine errors every engine throws. */
function caller(procs: TorchProcesses, device: string, log: (line: string) => void): Caller {
  return (async (m: TorchRequest, expect: Reply['type']) => {
    try {
      return await procs.request(m, expect);
    } catch (e) {
      if (!isErrorReply(e)) throw e;
      if (e.traceback) for (const line of e.traceback.trimEnd().split('\n')) log(`torch: ${line}`);
      switch (e.kind) {
        case 'cancelled': throw new TrainingCancelled(e.epoch ?? 0, e.step ?? 0);
        case 'nonFinite': throw new NonFiniteLossError(e.epoch ?? 0, e.step ?? 0, Number(e.value));
        case 'outOfMemory': throw new OutOfMemoryError(`the torch engine's ${device} device`, e.message, e.epoch, e.step);
        default: throw new EngineError(`the torch engine failed during "${m.type}": ${e.message} (the traceback is in worker.log)`);
      }
    }
  }) as Caller;
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

/** The network in the engine process, driven through the protocol. */
export class TorchNetwork implements EngineNetwork {
  readonly costs: CostModel;
  readonly points: string[];

  constructor(
    private readonly procs: TorchProcesses, private readonly call: Caller, readonly network: NetworkDescription,
    private readonly x: Experiment, private readonly data: EngineData, private readonly files: DataFiles,
    readonly parameters: number, readonly description: string, private readonly deviceKind: 'cuda' | 'mps' | 'cpu',
    private readonly torchVersion: string,
  ) {
    this.costs = network.costs;
    this.points = network.exits.map((e) => e.point);
  }

  /** The paper's method only (no recipe: method.ts ENGINE_RECIPES refuses them for this engine), so λ is the phase's, fixed. */
  async trainEpoch(epoch: number, lr: number, callbacks: StepCallbacks = {}, phase?: EpochPhase): Promise<EpochLosses> {
    const { batchSize, epochs } = this.x.training;
    let stopped = false;
    const poll = () => {
      if (!stopped && callbacks.shouldStop?.()) { stopped = true; this.procs.stop(); }
    };
    poll();
    const timer = setInterval(poll, 25);
    this.procs.onProgress((m) => {
      poll();
      callbacks.onStep?.({
        epoch: m.epoch, epochs, step: m.step, steps: m.steps, loss: m.loss,
        imagesPerSecond: (batchSize * 1000) / m.meanStepMs,
        etaSeconds: (((epochs - m.epoch) * m.steps + (m.steps - m.step)) * m.meanStepMs) / 1000,
      });
    });
    try {
      const r = await this.call({ type: 'trainEpoch', epoch, lr }, 'epochDone');
      const lambda = phase?.lambda ?? this.x.method.lambda;
      const proposed = this.x.method.name === 'proposed';
      return { loss: r.loss, ce: r.ce, cost: r.cost, lambda, costTerm: proposed ? lambda * r.cost : 0, imagesPerSecond: r.images / r.seconds, seconds: r.seconds };
    } finally {
      clearInterval(timer);
    }
  }

  async records(split: 'validation' | 'test'): Promise<SampleRecords> {
    const r = await this.call({ type: 'records', split, folder: this.files.dir }, 'records');
    const buf = fs.readFileSync(r.file);
    fs.rmSync(r.file, { force: true });
    const n = r.count;
    const cols = new Map<string, number[]>();
    let off = 0;
    for (const c of r.columns) {
      const size = c.dtype === 'int32' ? 4 : 8;
      const view = new DataView(buf.buffer, buf.byteOffset + off, n * size);
      cols.set(c.key, Array.from({ length: n }, (_, i) => (c.dtype === 'int32' ? view.getInt32(i * size, true) : view.getFloat64(i * size, true))));
      off += n * size;
    }
    const col = (k: string) => cols.get(k) ?? [];
    const gated = this.network.config.gated && this.points.length > 0;
    return {
      split,
      count: n,
      labels: Array.from(this.data[split].labels.subarray(0, n), Number),
      exits: this.points.map((point, b) => ({
        point,
        gate: this.network.config.gated ? col(`exit${b}.gate`).map(round) : null,
        pred: col(`exit${b}.pred`), conf: col(`exit${b}.conf`).map(round), entropy: col(`exit${b}.entropy`).map(round),
      })),
      final: { pred: col('final.pred'), conf: col('final.conf').map(round), entropy: col('final.entropy').map(round) },
      softPred: gated ? col('softPred') : null,
    };
  }

  /** The run folder's model format: Python writes the tensors, this side model.json. */
  private save(dir: string, extra: { epoch?: number }): Promise<void> {
    return replaceFolder(dir, async (tmp) => {
      const withOptimizer = extra.epoch !== undefined;
      const r = await this.call({ type: 'save', folder: tmp, optimizer: withOptimizer, epoch: extra.epoch ?? 0 }, 'saved');
      const json: ModelJson = {
        format: MODEL_FORMAT,
        generatedBy: `PyTorch ${this.torchVersion} (Early Exit Studio torch engine)`,
        modelTopology: { network: this.network.config, costs: this.costs, exitOrder: this.points },
        weightsManifest: [{ paths: ['weights.bin'], weights: r.weights }],
      };
      json.sha256 = { 'weights.bin': sha256(fs.readFileSync(path.join(tmp, 'weights.bin'))) };
      if (withOptimizer) {
        json.epoch = extra.epoch;
        json.torchOptimizer = { path: 'optimizer.pt', optimizer: this.x.training.optimizer };
        json.sha256['optimizer.pt'] = sha256(fs.readFileSync(path.join(tmp, 'optimizer.pt')));
      }
      fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(json, null, 1));
    }, extra.epoch);
  }

  saveCheckpoint(dir: string, epoch: number): Promise<void> {
    return this.save(dir, { epoch });
  }

  exportModel(dir: string): Promise<void> {
    return this.save(dir, {});
  }

  /**
   * Batch-1 latency on the CPU — the exported network on the tfjs engine, as `eval --measure` and a
   * CPU deployment run it — and, when training ran on CUDA or MPS, on that device as well.
   */
  async timing(rule: ExitRule, thresholds: number[], images: number): Promise<Timing> {
    const dir = path.join(this.files.dir, 'timing-model');
    await this.exportModel(dir);
    const tfjs = new TfjsEngine();
    await tfjs.prepare('auto');
    const { net } = await tfjs.open(this.x, this.data, dir);
    let cpu: Timing;
    try {
      cpu = await net.timing(rule, thresholds, images);
    } finally {
      net.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (this.deviceKind === 'cpu') return cpu;
    const g = await this.call({ type: 'timing', rule, thresholds, images }, 'timing');
    return { ...cpu, accelerator: { images: g.images, fullMs: g.fullMs, hardMs: g.hardMs, speedup: g.speedup, timeSavedPct: g.timeSavedPct, hardAccuracy: g.hardAccuracy, backend: `torch ${g.backend}` } };
  }

  /** The engine's outputs on given samples (no augmentation): the parity tests compare them with tfjs's. */
  outputs(split: 'train' | 'validation' | 'test', indices: number[], training: boolean) {
    return this.call({ type: 'outputs', split, indices, training }, 'outputs');
  }

  /** The engine processes' ids (tests check that none outlives the worker). */
  get pids(): number[] {
    return this.procs.pids;
  }

  async dispose(): Promise<void> {
    try {
      await this.procs.close();
    } finally {
      this.files.dispose();
    }
  }
}
