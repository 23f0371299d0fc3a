/**
 * Messages between `early-exit deploy run` (the orchestrator) and its tier processes, over the
 * processes' IPC channel (child_process.fork). The tiers talk to each other over HTTP/2 on
 * 127.0.0.1, not through these messages. Type-only.
 */
import type { ExitRule } from '../spec/results';
import type { MeasuredSpeed } from '../spec/tier-estimate';
import type { Quantization } from '../spec/tiers';

/** One tier's share of the network and its place in the chain. */
export interface TierConfig {
  runDir: string;
  /** 0 = the device (captures the inputs and drives them); 1… = servers */
  tier: number;
  name: string;
  /** blocks [from, to) */
  from: number;
  to: number;
  /** runs the last block, hence the final classifier */
  last: boolean;
  rule: ExitRule;
  thresholds: number[];
  quantization: Quantization;
  backend: string;
}

/** Orchestrator → tier. */
export type ToTier =
  | { type: 'start'; config: TierConfig }
  /** Instead of a tier: time every block, exit and the final classifier on the first `images` test inputs. */
  | { type: 'measure'; runDir: string; backend: string; images: number; rounds: number }
  /** Where to send what this tier does not answer (null for the last tier), and the input normalisation for raw images. */
  | { type: 'connect'; nextPort: number | null; mean: number[]; std: number[] }
  /** Device only: drive `warmup` untimed inputs (sent with negative sample ids), then, after `go`, `count` timed ones from test sample 0 on. */
  | { type: 'run'; count: number; warmup: number }
  /** Device only: the warm-up is done and the counters are zeroed; time the inputs now. */
  | { type: 'go' }
  /** Servers: send the log of what they handled. */
  | { type: 'report' }
  | { type: 'stop' };

/** What a tier did with one input. */
export interface TierLogEntry {
  sample: number;
  /** ms running its blocks and exits (TierRunner.run) */
  computeMs: number;
  /** ms decoding what arrived and encoding what it sent on */
  codecMs: number;
  /** payload bytes received */
  bytesIn: number;
}

/** The device's record of one timed input. */
export interface DeviceRecord {
  sample: number;
  label: number;
  exit: number;
  pred: number;
  /** end to end, from the raw image to the answer known on the device, ms */
  latencyMs: number;
  computeMs: number;
  codecMs: number;
  /** payload bytes the device sent (0 when it answered itself) */
  bytesOut: number;
}

/** Tier → orchestrator. */
export type FromTier =
  | { type: 'ready'; backend: string; mean: number[]; std: number[]; count: number }
  | { type: 'listening'; port: number; backend: string }
  | { type: 'connected' }
  /** Device: the warm-up inputs went through; waiting for `go`. */
  | { type: 'warmed' }
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; records: DeviceRecord[] }
  | { type: 'log'; entries: TierLogEntry[] }
  | { type: 'measured'; speed: MeasuredSpeed }
  | { type: 'error'; message: string };
