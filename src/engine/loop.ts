/**
 * The epoch loop every engine shares: the learning-rate schedule and the recipes' phase of each
 * epoch (spec/method.ts: exits-first warm-up, gates only, gate temperature, hard gates, the budget
 * multiplier carried from epoch to epoch), one `trainEpoch` per epoch, validation metrics computed
 * here from the engine's per-sample records (with the same analysis the results use), then the
 * caller's epoch-end hook (metrics line, checkpoint).
 */
import { accuracyOf, exitTable, softAccuracy } from '../spec/analysis';
import { epochPhase, phaseLearningRate, type EpochPhase } from '../spec/method';
import type { Experiment } from '../spec/experiment';
import type { ExitRule, SampleRecords } from '../spec/results';
import type { EpochMetrics } from '../spec/run-types';
import type { EngineNetwork, EpochLosses, StepCallbacks } from './engine';

export interface LoopOptions extends StepCallbacks {
  /** Epochs already trained (resume): training continues at startEpoch + 1. */
  startEpoch: number;
  /** The budget multiplier where the last trained epoch left it (resume: its metrics line's λ); null = start at method.lambda. */
  startLambda?: number | null;
  rule: ExitRule;
  thresholds: number[];
  /** After each epoch, before the next starts (write metrics, checkpoint here). */
  onEpochEnd?(m: EpochMetrics): Promise<void> | void;
}

/** Trains `net` for the experiment's remaining epochs; returns every epoch's metrics. */
export async function trainEpochs(net: EngineNetwork, x: Pick<Experiment, 'method' | 'training'>, o: LoopOptions): Promise<EpochMetrics[]> {
  const all: EpochMetrics[] = [];
  let lambda = o.startLambda ?? null;
  for (let epoch = o.startEpoch + 1; epoch <= x.training.epochs; epoch++) {
    const lr = phaseLearningRate(x, epoch);
    const phase = epochPhase(x.method, x.training.epochs, epoch, lambda);
    const losses = await net.trainEpoch(epoch, lr, { onStep: o.onStep, shouldStop: o.shouldStop }, phase);
    if (x.method.targetBudget !== null && phase.stage !== 'warmup') lambda = losses.lambda;
    const m = epochMetrics(net, x, epoch, lr, losses, await net.records('validation'), o.rule, o.thresholds, phase);
    all.push(m);
    await o.onEpochEnd?.(m);
  }
  return all;
}

/** One epoch's metrics line from its training losses and the validation records. */
export function epochMetrics(
  net: Pick<EngineNetwork, 'costs'>, x: Pick<Experiment, 'method'>, epoch: number, lr: number, losses: EpochLosses,
  rec: SampleRecords, rule: ExitRule, thresholds: number[], phase?: EpochPhase,
): EpochMetrics {
  const table = exitTable(rec, net.costs, rule, thresholds);
  const acc = (pred: number[]) => accuracyOf(pred, rec.labels);
  const gated = rec.exits.length > 0 && rec.exits.every((e) => e.gate !== null);
  const proposed = x.method.name === 'proposed';
  return {
    epoch,
    loss: losses.loss,
    ceLoss: losses.ce,
    costLoss: proposed ? losses.costTerm : 0,
    expectedCost: proposed ? losses.cost : null,
    ...(proposed ? { lambda: losses.lambda } : {}),
    ...(phase && phase.stage !== 'joint' ? { stage: phase.stage } : {}),
    ...(phase && phase.gateTemperature !== 1 ? { gateTemperature: phase.gateTemperature } : {}),
    lr,
    softAccuracy: gated ? softAccuracy(rec) : null,
    hardAccuracy: table.accuracy,
    finalAccuracy: acc(rec.final.pred),
    exitAccuracy: rec.exits.map((e) => acc(e.pred)),
    meanGates: gated ? rec.exits.map((e) => e.gate!.reduce((a, g) => a + g, 0) / Math.max(1, rec.count)) : null,
    exitShares: table.rows.map((r) => r.share),
    imagesPerSecond: losses.imagesPerSecond,
    seconds: losses.seconds,
  };
}
