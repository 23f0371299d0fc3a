/**
 * How a network is trained, as the experiment file states it: the method (the paper's loss, BranchyNet,
 * the plain backbone) and the optimiser settings, with the learning-rate schedule every engine applies.
 *
 * The recipes that make gates route (all off by default: the paper's method as published) and the
 * per-epoch phase they imply are defined here, engine-independently: the epoch loop computes each
 * epoch's phase (`epochPhase`) and hands it to the engine, whose loss implements it.
 */
import type { MethodName } from './results';

/** What a gate g_b sees: the head's features (the paper), those and f_b's softmax statistics, or the statistics alone. */
export type GateInputs = 'features' | 'features+softmax' | 'softmax';
export const GATE_INPUTS: readonly GateInputs[] = ['features', 'features+softmax', 'softmax'];
/** Softmax statistics a `features+softmax` gate sees, in this order (each in [0, 1]). */
export const GATE_STATISTICS = ['max probability', 'normalised entropy', 'margin (top-1 − top-2)'] as const;

/**
 * Exits trained before the gates: for the first `epochs` epochs every classifier learns on its own
 * loss, Σ_b [(1 − d)·CE(y, f_b) + d·T²·KL(f^T ‖ f_b^T)] + CE(y, f) (d = `distillation` from the final
 * classifier f at temperature T, Phuong & Lampert, ICCV 2019), and the gates do not train. Then the
 * method's loss takes over: for every variable, or (`freeze`) for the gates alone, the rest fixed.
 */
export interface WarmupConfig {
  epochs: number;
  distillation: number;
  temperature: number;
  freeze: boolean;
}

export interface MethodConfig {
  name: MethodName;
  /** λ, weight of the cost regulariser C (proposed); with `targetBudget`, the multiplier's starting value. */
  lambda: number;
  /** α, weight of an extra CE term on every classifier f_1…f_B and f (proposed; 0 = the paper's loss). */
  exitLossWeight: number;
  /** BranchyNet weights w_1…w_B, w_{B+1}; null = all 1. */
  exitWeights: number[] | null;
  /** Recipe: exits first (epochs 0 = off). */
  warmup: WarmupConfig;
  /** Recipe: what the gates see. */
  gateInputs: GateInputs;
  /**
   * Recipe: the average cost C to aim at, as a share of the full network's MACs (null = a fixed λ).
   * λ becomes a Lagrange multiplier: after every step λ ← max(0, λ + budgetRate·(C − target)).
   */
  targetBudget: number | null;
  budgetRate: number;
  /** Recipe: gate temperature at the last epoch, g_b = σ(z_b / T), annealed geometrically from 1 over the gates' epochs (1 = off). */
  gateTemperature: number;
  /** Recipe: from this epoch on gates are hard in the forward pass, 1[g_b ≥ ½], with σ's gradient (straight-through); null = off. */
  hardGatesFrom: number | null;
}

/** A complete method config: the given fields over the defaults (the paper's method, every recipe off). */
export function methodConfig(m: Partial<MethodConfig> & Pick<MethodConfig, 'name'>): MethodConfig {
  return {
    lambda: 0.1, exitLossWeight: 0, exitWeights: null,
    ...structuredClone(RECIPE_DEFAULTS),
    ...m,
    warmup: { ...RECIPE_DEFAULTS.warmup, ...m.warmup },
  };
}

/** The recipes' defaults: the paper's method exactly as published. */
export const RECIPE_DEFAULTS = {
  warmup: { epochs: 0, distillation: 0, temperature: 3, freeze: false } as WarmupConfig,
  gateInputs: 'features' as GateInputs,
  targetBudget: null as number | null,
  budgetRate: 0.05,
  gateTemperature: 1,
  hardGatesFrom: null as number | null,
};

export type Recipe = 'warmup' | 'distillation' | 'freeze' | 'gateInputs' | 'targetBudget' | 'gateTemperature' | 'hardGatesFrom' | 'initFrom';
export const RECIPES: readonly Recipe[] = ['warmup', 'distillation', 'freeze', 'gateInputs', 'targetBudget', 'gateTemperature', 'hardGatesFrom', 'initFrom'];

/** Where a recipe is written in the experiment file. */
export function recipeField(r: Recipe): string {
  return r === 'warmup' ? 'method.warmup.epochs' : r === 'distillation' ? 'method.warmup.distillation' : r === 'freeze' ? 'method.warmup.freeze' : r === 'initFrom' ? 'training.initFrom' : `method.${r}`;
}

/**
 * The recipes a method config (and, given, the training settings) turn on: empty for the paper's
 * method, BranchyNet and the baseline trained from scratch.
 */
export function recipesOf(
  m: Pick<MethodConfig, 'warmup' | 'gateInputs' | 'targetBudget' | 'gateTemperature' | 'hardGatesFrom'>, training?: { initFrom?: string | null },
): Recipe[] {
  const on: Recipe[] = [];
  if (m.warmup.epochs > 0) on.push('warmup');
  if (m.warmup.epochs > 0 && m.warmup.distillation > 0) on.push('distillation');
  if (m.warmup.freeze) on.push('freeze');
  if (m.gateInputs !== 'features') on.push('gateInputs');
  if (m.targetBudget !== null) on.push('targetBudget');
  if (m.gateTemperature !== 1) on.push('gateTemperature');
  if (m.hardGatesFrom !== null) on.push('hardGatesFrom');
  if (training?.initFrom) on.push('initFrom');
  return on;
}

/** "warm-up 8 ep. (frozen after), softmax gates, budget 60 %": the recipes, short, for headers and lists. */
export function recipeSummary(m: Pick<MethodConfig, 'warmup' | 'gateInputs' | 'targetBudget' | 'gateTemperature' | 'hardGatesFrom'>): string {
  const parts: string[] = [];
  if (m.warmup.epochs > 0) {
    parts.push(`exits first ${m.warmup.epochs} ep.${m.warmup.distillation > 0 ? ` (distilled ${m.warmup.distillation})` : ''}${m.warmup.freeze ? ', then gates only' : ''}`);
  } else if (m.warmup.freeze) parts.push('gates only');
  if (m.gateInputs === 'features+softmax') parts.push('gates see softmax');
  if (m.gateInputs === 'softmax') parts.push('gates see softmax only');
  if (m.targetBudget !== null) parts.push(`budget ${Math.round(100 * m.targetBudget)} % MACs`);
  if (m.gateTemperature !== 1) parts.push(`gate T → ${m.gateTemperature}`);
  if (m.hardGatesFrom !== null) parts.push(`hard gates from ep. ${m.hardGatesFrom}`);
  return parts.join(', ');
}

/** The engines and the recipes each implements; the experiment parser refuses the others. */
export type EngineName = 'tfjs' | 'torch';
export const ENGINE_RECIPES: Record<EngineName, readonly Recipe[]> = {
  tfjs: RECIPES,
  torch: [],
};

/** One line naming the recipe(s) `engine` does not implement, or null. */
export function recipeRefusal(m: MethodConfig, engine: EngineName, training?: { initFrom?: string | null }): string | null {
  const missing = recipesOf(m, training).filter((r) => !ENGINE_RECIPES[engine].includes(r));
  if (!missing.length) return null;
  return `${missing.map(recipeField).join(', ')}: the ${engine} engine does not implement ${missing.length > 1 ? 'these recipes' : 'this recipe'} yet; train with a TF.js backend (training.backend "wasm", "cpu", …) or remove ${missing.length > 1 ? 'them' : 'it'}`;
}

/**
 * The learning rate of epoch `epoch` (1-based). With the gates trained alone after a warm-up
 * (method.warmup.freeze), each phase runs the schedule over its own epochs: the exits get a whole
 * schedule, and the gates start from the full rate.
 */
export function phaseLearningRate(x: { method: MethodConfig; training: TrainingConfig }, epoch: number): number {
  const w = x.method.name === 'proposed' && x.method.warmup.freeze ? x.method.warmup.epochs : 0;
  if (w <= 0 || w >= x.training.epochs) return learningRate(x.training, epoch - 1);
  return epoch <= w ? learningRate({ ...x.training, epochs: w }, epoch - 1) : learningRate({ ...x.training, epochs: x.training.epochs - w }, epoch - w - 1);
}

/**
 * What one epoch trains:
 *  - `warmup`: every classifier on its own CE (and distillation); the gates do not train;
 *  - `joint`: the method's loss on every variable;
 *  - `gates`: the method's loss on the gates alone (backbone and classifiers fixed, in eval mode).
 */
export type Stage = 'warmup' | 'joint' | 'gates';

export interface EpochPhase {
  stage: Stage;
  /** λ for this epoch: the method's, or the budget multiplier carried from the last epoch. */
  lambda: number;
  /** T of g_b = σ(z_b / T). */
  gateTemperature: number;
  /** gates hard in the forward pass (straight-through) */
  hardGates: boolean;
}

/**
 * The phase of epoch `epoch` (1-based) of `epochs`; `carriedLambda` is the multiplier at the end of
 * the previous epoch (used only with a target budget). Engines implement the phase; the schedule
 * itself lives only here.
 */
export function epochPhase(m: MethodConfig, epochs: number, epoch: number, carriedLambda: number | null = null): EpochPhase {
  const w = m.warmup.epochs;
  const stage: Stage = m.name !== 'proposed' ? 'joint' : epoch <= w ? 'warmup' : m.warmup.freeze ? 'gates' : 'joint';
  const gateEpochs = Math.max(1, epochs - w);
  const k = Math.max(0, epoch - w - 1);
  let gateTemperature = 1;
  if (stage !== 'warmup' && m.gateTemperature !== 1) {
    gateTemperature = gateEpochs === 1 ? m.gateTemperature : Math.pow(m.gateTemperature, k / (gateEpochs - 1));
  }
  return {
    stage,
    lambda: m.targetBudget !== null && carriedLambda !== null ? carriedLambda : m.lambda,
    gateTemperature,
    hardGates: stage !== 'warmup' && m.hardGatesFrom !== null && epoch >= m.hardGatesFrom,
  };
}

/** The budget multiplier after one step whose expected cost was `cost` (dual ascent on C ≤ target, kept ≥ 0). */
export function nextMultiplier(lambda: number, cost: number, target: number, rate: number): number {
  return Math.max(0, lambda + rate * (cost - target));
}

export interface TrainingConfig {
  epochs: number;
  batchSize: number;
  optimizer: 'adam' | 'sgd';
  lr: number;
  /** SGD momentum */
  momentum: number;
  weightDecay: number;
  schedule: 'constant' | 'cosine' | 'step';
  /** step schedule: multiply lr by `stepGamma` every `stepEpochs` epochs */
  stepEpochs: number;
  stepGamma: number;
  seed: number;
}

/** Learning rate of an epoch (0-based) under the schedule. */
export function learningRate(cfg: TrainingConfig, epoch: number): number {
  switch (cfg.schedule) {
    case 'constant': return cfg.lr;
    case 'cosine': return cfg.lr * 0.5 * (1 + Math.cos((Math.PI * epoch) / cfg.epochs));
    case 'step': return cfg.lr * Math.pow(cfg.stepGamma, Math.floor(epoch / cfg.stepEpochs));
  }
}
