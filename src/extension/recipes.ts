/**
 * The training recipes as the Branches view shows and edits them (pure: no `vscode` import, so the
 * unit tests check the exact texts and edits): one item per recipe field of `method` with its
 * current value, what an input box accepts, and the edit of the experiment JSON (a field set back to
 * its default is removed, so the file says only what differs from the paper's method).
 */
import { GATE_INPUTS, RECIPE_DEFAULTS, type GateInputs, type MethodConfig, type WarmupConfig } from '../spec/method';

export type RecipeField = 'warmup' | 'gateInputs' | 'targetBudget' | 'gateTemperature' | 'hardGatesFrom';
export const RECIPE_FIELDS: readonly RecipeField[] = ['warmup', 'gateInputs', 'targetBudget', 'gateTemperature', 'hardGatesFrom'];

export interface RecipeItem {
  field: RecipeField;
  label: string;
  /** the current value, short */
  description: string;
  tooltip: string;
  /** whether it differs from the paper's method */
  on: boolean;
}

const LABELS: Record<RecipeField, string> = {
  warmup: 'exits first (warm-up)',
  gateInputs: 'gate inputs',
  targetBudget: 'target budget',
  gateTemperature: 'gate temperature',
  hardGatesFrom: 'hard gates',
};

const TOOLTIPS: Record<RecipeField, string> = {
  warmup: 'method.warmup: for the first epochs every classifier learns on its own cross-entropy (optionally distilled from the final classifier) and the gates do not train; then the paper\'s loss, for every variable or (freeze) for the gates alone.',
  gateInputs: 'method.gateInputs: what each gate g_b sees. "features" is the paper\'s gate; "features+softmax" adds f_b\'s max probability, normalised entropy and top-1 − top-2 margin, so a gate can at least learn a confidence rule.',
  targetBudget: 'method.targetBudget: the share of the full network\'s MACs to aim at; λ becomes a multiplier adapted after every step (starting at method.lambda), and the run is calibrated to this budget.',
  gateTemperature: 'method.gateTemperature: gates are σ(z / T), T annealed from 1 to this value over the epochs the gates train, so they become nearly binary, as at inference.',
  hardGatesFrom: 'method.hardGatesFrom: from this epoch on the gates are hard (1[g ≥ ½]) in the forward pass, with the sigmoid\'s gradient (straight-through), so training sees what Option 2 does.',
};

function describe(m: MethodConfig, field: RecipeField): { description: string; on: boolean } {
  switch (field) {
    case 'warmup': {
      const w = m.warmup;
      if (w.epochs === 0) return w.freeze ? { description: 'none: gates only, on the exits of training.initFrom', on: true } : { description: 'off (the paper)', on: false };
      return { description: `${w.epochs} epoch${w.epochs === 1 ? '' : 's'}${w.distillation > 0 ? `, distilled ${w.distillation} at T ${w.temperature}` : ''}, then ${w.freeze ? 'gates only' : 'everything'}`, on: true };
    }
    case 'gateInputs':
      if (m.gateInputs === 'features') return { description: 'head features (the paper)', on: false };
      return { description: m.gateInputs === 'softmax' ? 'max p, entropy, margin (no features)' : 'features + max p, entropy, margin', on: true };
    case 'targetBudget':
      return m.targetBudget === null ? { description: `off: fixed λ = ${m.lambda}`, on: false } : { description: `${Math.round(1000 * m.targetBudget) / 10} % of the MACs (λ adapted, rate ${m.budgetRate})`, on: true };
    case 'gateTemperature':
      return m.gateTemperature === 1 ? { description: 'off: T = 1', on: false } : { description: `T 1 → ${m.gateTemperature}`, on: true };
    case 'hardGatesFrom':
      return m.hardGatesFrom === null ? { description: 'off (soft gates)', on: false } : { description: `from epoch ${m.hardGatesFrom}`, on: true };
  }
}

/** The recipe items of a method (none for methods without gates). */
export function recipeItems(m: MethodConfig): RecipeItem[] {
  if (m.name !== 'proposed') return [];
  return RECIPE_FIELDS.map((field) => ({ field, label: LABELS[field], tooltip: TOOLTIPS[field], ...describe(m, field) }));
}

/** The method node's description: "paper's loss, λ 0.1" or the recipes in short. */
export function methodDescription(m: MethodConfig): string {
  if (m.name !== 'proposed') return m.name === 'branchynet' ? 'per-exit CE, entropy exits (no gates: no recipes)' : 'the backbone alone';
  const on = recipeItems(m).filter((i) => i.on);
  return on.length ? on.map((i) => `${i.label}: ${i.description}`).join(' · ') : `the paper's loss, λ ${m.lambda}`;
}

export type ParsedValue<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parses what an input box holds for a recipe: empty = off; else a number in the field's range. */
export function parseRecipeValue(field: 'targetBudget' | 'gateTemperature' | 'hardGatesFrom' | 'warmupEpochs' | 'distillation', text: string, epochs: number): ParsedValue<number | null> {
  const t = text.trim().replace(/%$/, '');
  if (!t) return field === 'gateTemperature' ? { ok: true, value: 1 } : field === 'warmupEpochs' || field === 'distillation' ? { ok: true, value: 0 } : { ok: true, value: null };
  const v = Number(t);
  switch (field) {
    case 'targetBudget':
      return v > 0 && v <= 100 ? { ok: true, value: Math.round(v * 10) / 1000 } : { ok: false, error: 'a share of the full network\'s MACs in % (e.g. 60), or empty for a fixed λ' };
    case 'gateTemperature':
      return v > 0 && v <= 1 ? { ok: true, value: v } : { ok: false, error: 'the temperature at the last epoch, in (0, 1] (1 = off)' };
    case 'hardGatesFrom':
      return Number.isInteger(v) && v >= 1 && v <= epochs ? { ok: true, value: v } : { ok: false, error: `an epoch from 1 to ${epochs}, or empty for soft gates` };
    case 'warmupEpochs':
      return Number.isInteger(v) && v >= 0 && v < epochs ? { ok: true, value: v } : { ok: false, error: `whole epochs from 0 to ${epochs - 1} (training.epochs is ${epochs})` };
    case 'distillation':
      return v >= 0 && v <= 1 ? { ok: true, value: v } : { ok: false, error: 'a weight in [0, 1] (0 = plain cross-entropy)' };
  }
}

/** A new recipe value for `field`, as the experiment file holds it. */
export type RecipeValue =
  | { field: 'warmup'; value: WarmupConfig }
  | { field: 'gateInputs'; value: GateInputs }
  | { field: 'targetBudget'; value: number | null }
  | { field: 'gateTemperature'; value: number }
  | { field: 'hardGatesFrom'; value: number | null };

/** The experiment JSON with one recipe changed; a value equal to the default is removed from the file. */
export function withRecipe(json: Record<string, unknown>, v: RecipeValue): Record<string, unknown> {
  const method = { ...((json.method ?? {}) as Record<string, unknown>) };
  const dflt = RECIPE_DEFAULTS[v.field];
  let value: unknown = v.value;
  if (v.field === 'warmup') {
    // only what differs from the defaults, so a file stays short
    const w = Object.fromEntries(Object.entries(v.value).filter(([k, x]) => x !== (RECIPE_DEFAULTS.warmup as unknown as Record<string, unknown>)[k]));
    value = Object.keys(w).length ? w : undefined;
  } else if (v.field === 'gateInputs' && !GATE_INPUTS.includes(v.value)) {
    throw new Error(`gate inputs: "${v.value}" is not one of ${GATE_INPUTS.join(', ')}`);
  } else if (value === dflt) {
    value = undefined;
  }
  if (value === undefined) delete method[v.field];
  else method[v.field] = value;
  if (v.field === 'targetBudget' && value === undefined) delete method.budgetRate;
  return { ...json, method };
}
