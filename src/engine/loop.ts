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

/**
 * One epoch's metrics line from its training losses and the validation records. Without a
 * validation split every validation figure is null (shown as "—"), never a 0 that reads like a
 * measured accuracy.
 */
export function epochMetrics(
  net: Pick<EngineNetwork, 'costs'>, x: Pick<Experiment, 'method'>, epoch: number, lr: number, losses: EpochLosses,
  rec: SampleRecords, rule: ExitRule, thresholds: number[], phase?: EpochPhase,
): EpochMetrics {
  const proposed = x.method.name === 'proposed';
  const common = {
    epoch,
    loss: losses.loss,
    ceLoss: losses.ce,
    costLoss: proposed ? losses.costTerm : 0,
    expectedCost: proposed ? losses.cost : null,
    // λ moves only with a target budget (the multiplier); a fixed λ is in the experiment, not on every line
    ...(proposed && x.method.targetBudget !== null ? { lambda: losses.lambda } : {}),
    ...(phase && phase.stage !== 'joint' ? { stage: phase.stage } : {}),
    ...(phase && phase.gateTemperature !== 1 ? { gateTemperature: phase.gateTemperature } : {}),
    lr,
    imagesPerSecond: losses.imagesPerSecond,
    seconds: losses.seconds,
  };
  if (rec.count === 0) {
    return { ...common, softAccuracy: null, hardAccuracy: null, finalAccuracy: null, exitAccuracy: rec.exits.map(() => null), meanGates: null, exitShares: [] };
  }
  const table = exitTable(rec, net.costs, rule, thresholds);
  const acc = (pred: number[]) => accuracyOf(pred, rec.labels);
  const gated = rec.exits.length > 0 && rec.exits.every((e) => e.gate !== null);
  return {
    ...common,
    softAccuracy: gated ? softAccuracy(rec) : null,
    hardAccuracy: table.accuracy,
    finalAccuracy: acc(rec.final.pred),
    exitAccuracy: rec.exits.map((e) => acc(e.pred)),
    meanGates: gated ? rec.exits.map((e) => e.gate!.reduce((a, g) => a + g, 0) / rec.count) : null,
    exitShares: table.rows.map((r) => r.share),
  };
}

/**
 * Why a finished training looks diverged, or null: the loss of the last epoch is not finite, its
 * cross-entropy is far above chance level (more than twice ln K: the network is confidently
 * wrong; `ceWeight`: the summed weights of the cross-entropy terms), or the loss grew tenfold from the first epoch. A run that ends so is reported with a
 * warning, not as a quiet success.
 */
export function divergence(metrics: Pick<EpochMetrics, 'epoch' | 'loss' | 'ceLoss'>[], classes: number, ceWeight = 1): string | null {
  if (!metrics.length) return null;
  const sorted = [...metrics].sort((a, b) => a.epoch - b.epoch);
  const first = sorted[0], last = sorted[sorted.length - 1];
  // the cross-entropy of guessing uniformly, times the summed weights of its terms (BranchyNet sums one per classifier)
  const chance = ceWeight * Math.log(classes);
  const f = (v: number) => (Math.abs(v) >= 1e4 ? v.toExponential(2) : v.toFixed(3));
  if (!Number.isFinite(last.loss) || !Number.isFinite(last.ceLoss)) return `the training loss of epoch ${last.epoch} is not finite`;
  if (last.ceLoss > 2 * chance) {
    return `training diverged: the cross-entropy of epoch ${last.epoch} is ${f(last.ceLoss)}, far above the ${f(chance)} of guessing uniformly among ${classes} classes${ceWeight !== 1 ? ` (summed over its cross-entropy terms, weights ${f(ceWeight)} in all)` : ''} (loss ${f(last.loss)}); try a lower training.lr`;
  }
  if (sorted.length > 1 && last.loss > 10 * Math.max(first.loss, 1e-3)) {
    return `training diverged: the loss grew from ${f(first.loss)} (epoch ${first.epoch}) to ${f(last.loss)} (epoch ${last.epoch}); try a lower training.lr`;
  }
  return null;
}
