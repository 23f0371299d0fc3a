/**
 * The TF.js engine: the Engine interface (../engine.ts) over MultiExitNetwork on the backend the
 * acceleration tier selects (wasm, cpu, webgpu, tfjs-node, tfjs-node-gpu). Batches are built on the host
 * from the uint8 images (normalised, augmented per batch) and become tensors one at a time.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  describeChoice, probeBackends, selectBackend, vulkanEnvironment, type BackendChoice, type BackendPreference, type BackendProbe, type VulkanEnvironment,
} from '../../accel';
import { toFloatBatch } from '../../data/preprocess';
import type { Split } from '../../data/types';
import type { Experiment } from '../../spec/experiment';
import type { EpochPhase } from '../../spec/method';
import type { ExitRule } from '../../spec/results';
import type { Engine, EngineData, EngineDevice, EngineNetwork, StepCallbacks } from '../engine';
import { checkResumable } from '../checkpoint-folder';
import { loadNetwork, saveNetwork } from './checkpoint';
import { collectRecords, measureTiming, type BatchSource } from './evaluate';
import { MultiExitNetwork } from './network';
import { initFrom } from './init-from';
import { createOptimizer } from './optimizer';
import { trainEpoch, type TrainSource, type TrainState } from './train';

/** The training, validation and test batch sources of a run (bytes stay bytes; each batch becomes floats). */
export function batchSources(data: EngineData): { train: TrainSource; validation: BatchSource; test: BatchSource } {
  const { shape, mean, std } = data;
  const tensor = (f: Float32Array, n: number) => tf.tensor4d(f, [n, shape[0], shape[1], shape[2]]);
  const range = (s: number, n: number) => Array.from({ length: n }, (_, i) => s + i);
  const batchSource = (split: Split): BatchSource => ({
    count: split.count,
    labels: split.labels,
    batch: (s, n) => tensor(toFloatBatch(split, shape, range(s, n), { mean, std }), n),
  });
  return {
    train: {
      count: data.train.count,
      labels: data.train.labels,
      batch: (idx, augment, rng) => tensor(toFloatBatch(data.train, shape, idx, { mean, std, augment, rng }), idx.length),
    },
    validation: batchSource(data.validation),
    test: batchSource(data.test),
  };
}

/** A MultiExitNetwork being trained and evaluated on the selected tfjs backend. */
export class TfjsNetwork implements EngineNetwork {
  readonly state: TrainState;
  private readonly sources: ReturnType<typeof batchSources>;

  constructor(readonly net: MultiExitNetwork, x: Experiment, data: EngineData, optimizer: ReturnType<typeof createOptimizer>, private readonly device: BackendChoice | null) {
    this.sources = batchSources(data);
    this.state = {
      net, optimizer, method: x.method, training: x.training, train: this.sources.train, augment: data.augment,
      timer: { ms: 0, steps: 0, first: true },
    };
  }

  get parameters(): number { return this.net.parameterCount(); }
  get costs() { return this.net.costs; }
  get points(): string[] { return this.net.exits.map((e) => e.point); }

  trainEpoch(epoch: number, lr: number, callbacks: StepCallbacks, phase: EpochPhase) {
    return trainEpoch(this.state, epoch, lr, callbacks, phase);
  }

  records(split: 'validation' | 'test') {
    return collectRecords(this.net, this.sources[split], split);
  }

  saveCheckpoint(dir: string, epoch: number): Promise<void> {
    return saveNetwork(dir, this.net, { epoch, optimizer: this.state.optimizer });
  }

  exportModel(dir: string): Promise<void> {
    return saveNetwork(dir, this.net);
  }

  timing(rule: ExitRule, thresholds: number[], images: number) {
    return measureTiming(this.net, this.sources.test, rule, thresholds, images, this.device?.kind ?? tf.getBackend(), !this.device?.stock.has('host-heads'));
  }

  dispose(): void {
    this.net.dispose();
    this.state.optimizer.dispose();
  }
}

export class TfjsEngine implements Engine {
  readonly name = 'tfjs';
  private device: BackendChoice | null = null;

  async prepare(preference: string): Promise<EngineDevice> {
    this.device = await selectBackend(preference as BackendPreference);
    return { kind: this.device.kind, description: describeChoice(this.device) };
  }

  async open(x: Experiment, data: EngineData, resumeFrom: string | null): Promise<{ net: TfjsNetwork; epoch: number; initialised?: { loaded: number; fresh: string[] } }> {
    const optimizer = createOptimizer(x.training);
    if (resumeFrom) {
      const r = await loadNetwork(resumeFrom, { optimizer });
      try {
        checkResumable(resumeFrom, { network: r.net.config, epoch: r.epoch }, x);
      } catch (e) {
        r.net.dispose();
        throw e;
      }
      return { net: new TfjsNetwork(r.net, x, data, optimizer, this.device), epoch: r.epoch };
    }
    const gated = x.method.name === 'proposed';
    const net = new MultiExitNetwork({
      backbone: x.backbone, exits: x.exits, gated, seed: x.training.seed,
      ...(gated && x.method.gateInputs !== 'features' ? { gateInputs: x.method.gateInputs } : {}),
    });
    let initialised;
    try {
      if (x.training.initFrom) initialised = await initFrom(net, x.training.initFrom);
    } catch (e) {
      net.dispose();
      throw e;
    }
    return { net: new TfjsNetwork(net, x, data, optimizer, this.device), epoch: 0, initialised };
  }
}

/** What the tfjs engine can run on here, for `early-exit doctor`. */
export interface TfjsDiagnosis {
  tfjs: string;
  /** every backend by name, in the order `auto` tries them */
  backends: BackendProbe[];
  /** auto's choice (its backend line, with why each faster one was skipped) */
  auto: { kind: string; description: string };
  /** Linux: the Vulkan loader and drivers WebGPU would use */
  vulkan: VulkanEnvironment | null;
}

export async function diagnoseTfjs(): Promise<TfjsDiagnosis> {
  const { backends, auto } = await probeBackends();
  return {
    tfjs: tf.version_core, backends, auto: { kind: auto.kind, description: describeChoice(auto) },
    vulkan: process.platform === 'linux' ? vulkanEnvironment() : null,
  };
}
