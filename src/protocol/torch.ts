/**
 * The protocol between the training worker (src/engine/torch, TypeScript) and the PyTorch engine
 * process it spawns (python/early_exit_torch): one JSON object per line, requests on the engine's
 * stdin, replies and progress on its stdout. The engine speaks first (`hello`, with its protocol
 * version); each request carries an `id` its reply echoes; `stop` has none and is read out of
 * band, so training stops after the current step. The version both sides must speak is
 * TORCH_PROTOCOL_VERSION (src/engine/torch/process.ts) = PROTOCOL_VERSION (python/early_exit_torch).
 * Several ranks (training.devices > 1) each get every request and answer it; rank 0's answer is
 * the result. Type-only.
 */
import type { MethodConfig, TrainingConfig } from '../spec/method';
import type { NetworkDescription } from '../spec/network';
import type { CostModel, ExitRule } from '../spec/results';
import type { TorchDevice } from '../spec/backend-names';

/** One tensor of weights.bin (float32, little-endian, tfjs layout), as tf.io's manifest lists it. */
export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** A split as raw files (uint8 images HWC one after another, uint8 labels) the engine maps. */
export interface RawSplit {
  count: number;
  images: string;
  labels: string;
}

/** TypeScript → engine. */
export type ToTorch =
  | {
    id: number; type: 'open';
    network: NetworkDescription;
    training: TrainingConfig;
    method: MethodConfig;
    device: TorchDevice;
    data: { shape: [number, number, number]; splits: Record<'train' | 'validation' | 'test', RawSplit>; mean: number[]; std: number[]; augment: boolean };
    /** a checkpoint folder: weights, optimiser state and epoch */
    resumeFrom: string | null;
    /** a saved network's folder to start from instead of the seeded initialisation (parity tests) */
    init: string | null;
    /** several ranks: the rendezvous (torchrun's env:// variables; ranks above 0 have them in their environment) */
    dist?: { masterAddr: string; masterPort: number; world: number };
  }
  | { id: number; type: 'trainEpoch'; epoch: number; lr: number }
  /** per-sample records written as raw columns into `folder` */
  | { id: number; type: 'records'; split: 'validation' | 'test'; folder: string }
  /** weights.bin (and optimizer.pt) into `folder`; TypeScript writes model.json */
  | { id: number; type: 'save'; folder: string; optimizer: boolean; epoch: number }
  | { id: number; type: 'timing'; rule: ExitRule; thresholds: number[]; images: number }
  /** every classifier's probabilities, the gates and the loss on given samples (parity tests) */
  | { id: number; type: 'outputs'; split: 'train' | 'validation' | 'test'; indices: number[]; training: boolean }
  | { id: number; type: 'close' }
  | { type: 'stop' };

export interface TorchHello {
  type: 'hello';
  protocol: number;
  python: string;
  executable: string;
  pid: number;
  /** absent when `import torch` failed */
  torch?: string;
  cuda?: { available: boolean; version: string | null; count: number; names: string[] };
  mps?: boolean;
  /** why torch could not be imported */
  error?: string;
}

/** engine → TypeScript. */
export type FromTorch =
  | TorchHello
  | { id: number; type: 'opened'; parameters: number; macs: CostModel; epoch: number; device: { kind: string; description: string } }
  | { type: 'progress'; epoch: number; step: number; steps: number; loss: number; meanStepMs: number }
  | { id: number; type: 'epochDone'; loss: number; ce: number; cost: number; images: number; seconds: number }
  | { id: number; type: 'records'; count: number; file: string; columns: { key: string; dtype: 'int32' | 'float64' }[] }
  | { id: number; type: 'saved'; weights: WeightEntry[] }
  | { id: number; type: 'timing'; images: number; fullMs: number; hardMs: number; speedup: number; timeSavedPct: number; hardAccuracy: number; backend: string }
  | { id: number; type: 'outputs'; exitProbs: number[][][]; gates: number[][]; finalProbs: number[][]; loss: number; ce: number; cost: number }
  | { id: number; type: 'closed' }
  | {
    id: number; type: 'error';
    kind: 'cancelled' | 'nonFinite' | 'outOfMemory' | 'error';
    /** one line for the user */
    message: string;
    epoch?: number;
    step?: number;
    /** nonFinite: the loss as Number() reads it ("NaN", "Infinity") */
    value?: string;
    /** for worker.log */
    traceback?: string;
  };
