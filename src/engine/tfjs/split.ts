/**
 * The network split at the cuts: one tier's share of a multi-exit network run at batch 1 (its
 * blocks and the exits attached to them, with hard exits), and the per-part timing that a
 * "measure here" tier profile computes at. Both use ExitEvaluator's fast path (batch norm folded,
 * small heads on the host where cheaper), as `eval --measure` and a deployed network do.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExitRule } from '../../spec/results';
import type { MeasuredSpeed } from '../../spec/tier-estimate';
import { ExitEvaluator } from './exit-evaluator';
import type { MultiExitNetwork } from './network';

/** What one tier did with an input: answered it (an exit fired, or the final classifier ran) or passed a feature map on. */
export type TierOutcome =
  | { kind: 'answer'; exit: number; pred: number }
  | { kind: 'forward'; map: tf.Tensor4D };

/** Blocks [from, to) of a network and their exits, as one tier runs them. */
export class TierRunner {
  private readonly ev: ExitEvaluator;

  constructor(
    readonly net: MultiExitNetwork,
    readonly from: number,
    readonly to: number,
    /** whether this tier runs the last block (then it also runs the final classifier) */
    readonly last: boolean,
    private readonly rule: ExitRule,
    private readonly thresholds: number[],
  ) {
    this.ev = new ExitEvaluator(net, { fast: true });
  }

  /**
   * One input x [1, H, W, C] (the input of block `from`): an answer, or the map after block to − 1
   * to send on (the caller disposes it). `x` is never disposed here.
   */
  async run(x: tf.Tensor4D): Promise<TierOutcome> {
    const exitIndex = new Int32Array(1).fill(-1), pred = new Int32Array(1);
    const r = await this.ev.blockRange(x, this.from, this.to, this.rule, this.thresholds, exitIndex, pred);
    if (!r.alive.length) return { kind: 'answer', exit: exitIndex[0], pred: pred[0] };
    if (this.last) {
      await this.ev.classify(r.h, r.alive, exitIndex, pred);
      if (r.h !== x) r.h.dispose();
      return { kind: 'answer', exit: exitIndex[0], pred: pred[0] };
    }
    return { kind: 'forward', map: r.h === x ? tf.clone(x) : r.h };
  }

  dispose(): void {
    this.ev.dispose();
  }
}

/**
 * Times every block, exit and the final classifier at batch 1 on the current backend: a warm-up
 * pass over every input, then `rounds` passes; each part's figure is its median over all timed
 * passes (a garbage collection or another process stretches single passes, not the median).
 */
export async function measureSpeed(net: MultiExitNetwork, inputs: tf.Tensor4D[], rounds = 5, backend = tf.getBackend()): Promise<MeasuredSpeed> {
  const ev = new ExitEvaluator(net, { fast: true });
  const blocks: number[][] = net.ir.blocks.map(() => []), exits: number[][] = net.exits.map(() => []), classifier: number[] = [];
  try {
    for (const x of inputs) await ev.timeParts(x);
    for (let r = 0; r < rounds; r++) {
      for (const x of inputs) {
        const t = await ev.timeParts(x);
        t.blockMs.forEach((ms, i) => blocks[i].push(ms));
        t.exitMs.forEach((ms, e) => exits[e].push(ms));
        classifier.push(t.classifierMs);
      }
    }
  } finally {
    ev.dispose();
  }
  const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : 0; };
  return {
    backend, blockMs: blocks.map(median), exitMs: exits.map(median), classifierMs: median(classifier),
    images: inputs.length, measuredAt: new Date().toISOString(),
  };
}
