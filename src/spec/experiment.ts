/**
 * The experiment file (`*.exits.json`): one schema, one parser, used by the CLI, the worker and
 * the extension. The JSON Schema below is the single definition: the validator walks it (types,
 * enums, ranges, unknown fields) and then checks what a schema cannot say (exit points of the
 * chosen backbone, threshold counts). `schema/experiment.schema.json` is generated from it.
 */
import { BACKBONE_NAMES, type BackboneConfig, validateBackboneConfig, describeBackbone } from './backbones';
import { datasetSpecSchema, knownDatasetShape, validateDatasetSpec, type DatasetSpec } from './dataset';
import { ValidationError } from './errors';
import { parseJsonText } from './json-text';

export { parseJsonText } from './json-text';
import { HEAD_KINDS, validateExits, type ExitConfig } from './exits';
import type { CalibrationTarget, MethodName } from './results';
import { GATE_INPUTS, RECIPE_DEFAULTS, recipeRefusal, recipesOf, type EngineName, type MethodConfig, type TrainingConfig } from './method';
import { BACKEND_PREFERENCES, TORCH_DEVICES, type BackendPreference, type TorchDevice } from './backend-names';
import { deploymentSchema, validateDeployment, type DeploymentSpec } from './tiers';

export interface Experiment {
  /** Shown in the Runs view; defaults to the file name. */
  name: string;
  backbone: BackboneConfig;
  exits: ExitConfig[];
  method: MethodConfig;
  dataset: DatasetSpec;
  training: TrainingConfig & {
    backend: BackendPreference;
    /** A trained run (or model) folder whose matching variables start this run; null = from scratch. */
    initFrom: string | null;
    /** torch engine: where it trains */
    device: TorchDevice;
    /** torch engine: processes training one run together (DistributedDataParallel); 1 = one process */
    devices: number;
  };
  evaluation: {
    /** "auto" = gate for proposed, entropy for BranchyNet. */
    rule: 'auto' | 'gate' | 'confidence' | 'entropy';
    /** τ for every exit, or one per exit. */
    threshold: number | number[];
    calibration: CalibrationSettings;
    /** Test images timed at batch 1 (0 = skip timing). */
    timingImages: number;
  };
  /** JSON path → list of values; the cartesian product expands into a group of runs. */
  sweep?: Record<string, unknown[]>;
  /** The network split over tiers (device, edge, cloud): see tiers.ts. */
  deployment?: DeploymentSpec;
}

/** `evaluation.calibration`: at most one of budget, budgetShare and accuracy. */
export interface CalibrationSettings {
  budget: number | null;
  accuracy: number | null;
  budgetShare: number | null;
  perExit: boolean;
}

type Schema = Record<string, any>;

const num = (description: string, dflt: number, extra: Schema = {}): Schema => ({ type: 'number', description, default: dflt, ...extra });
const int = (description: string, dflt: number, extra: Schema = {}): Schema => ({ type: 'integer', description, default: dflt, ...extra });

/** JSON Schema (draft-07) of an experiment file. */
export const experimentSchema: Schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://early-exit-studio/experiment.schema.json',
  title: 'Early Exit Studio experiment',
  description: 'A multi-exit network, how to train it and how to evaluate it (Scardapane et al., ICASSP 2020).',
  type: 'object',
  additionalProperties: false,
  required: ['backbone'],
  properties: {
    $schema: { type: 'string', description: 'Path or URL of this schema (for editors).' },
    name: { type: 'string', description: 'Experiment name shown in the Runs view (default: the file name).', default: '' },
    backbone: {
      type: 'object', additionalProperties: false, required: ['name'],
      description: 'The backbone network f.',
      properties: {
        name: { enum: [...BACKBONE_NAMES], description: 'AlexNet, VGG-13 or ResNet-18 in their CIFAR forms.', default: 'resnet18' },
        width: num('Multiplier on every layer\'s channels (1 = published widths; 1/16 trains on a laptop CPU).', 1, { exclusiveMinimum: 0, maximum: 4 }),
        input: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 3, maxItems: 3, default: [32, 32, 3], description: '[height, width, channels] of the input images.' },
        classes: int('Number of classes.', 10, { minimum: 2, maximum: 10000 }),
      },
    },
    exits: {
      type: 'array', default: [], description: 'Early exits: an auxiliary classifier f_b and a gate g_b at a backbone point.',
      items: {
        type: 'object', additionalProperties: false, required: ['point'],
        properties: {
          point: { type: 'string', description: 'Candidate exit point id (e.g. "block2"; `early-exit macs <backbone>` lists them).' },
          head: {
            type: 'object', additionalProperties: false, default: { kind: 'pool' },
            description: 'The auxiliary classifier f_b.',
            properties: {
              kind: { enum: [...HEAD_KINDS], default: 'pool', description: 'pool = average pool (to head.grid²) + dense; conv-pool = conv3×3-BN-ReLU + pool + dense; pool-mlp = pool + hidden dense + dense.' },
              channels: { type: 'integer', minimum: 1, description: 'Channels of the head\'s conv or hidden layer (default: the point\'s channels, at least 8 and at most 128).' },
              grid: { type: 'integer', minimum: 1, maximum: 32, description: 'Pooling grid before the dense layer: features are average-pooled to at most grid×grid cells (default 4; 1 = global average pool). Shallow points need a grid > 1 to keep where features are.' },
            },
          },
          gate: {
            type: 'object', additionalProperties: false, default: { hidden: 0 },
            description: 'The gate g_b = sigmoid(dense(head features)).',
            properties: { hidden: int('Hidden ReLU units before the gate\'s output unit (0 = a single dense layer).', 0, { minimum: 0 }) },
          },
        },
      },
    },
    method: {
      type: 'object', additionalProperties: false, default: {},
      description: 'How the network is trained.',
      properties: {
        name: { enum: ['proposed', 'branchynet', 'baseline'], default: 'proposed', description: 'proposed = CE on the soft-conditional output + λ·cost (the paper); branchynet = weighted per-exit CE, entropy exits; baseline = the backbone alone.' },
        lambda: num('λ, weight of the expected-cost regulariser C (Eq. 2), cost normalised by the full network\'s MACs.', 0.1, { minimum: 0 }),
        exitLossWeight: num('α, weight of an extra cross-entropy on every classifier (proposed; 0 = the paper\'s loss).', 0, { minimum: 0 }),
        exitWeights: { type: ['array', 'null'], items: { type: 'number', minimum: 0 }, default: null, description: 'BranchyNet loss weights w_1…w_B, w_final (null = all 1).' },
        // Recipes that make gates route (proposed only). Every default is the paper's method as published.
        warmup: {
          type: 'object', additionalProperties: false, default: structuredClone(RECIPE_DEFAULTS.warmup),
          description: 'Recipe (proposed): train the exits before the gates. For the first `epochs` epochs every classifier learns on its own cross-entropy (optionally distilled from the final classifier) and the gates do not train; then the paper\'s loss takes over.',
          properties: {
            epochs: int('Epochs of exits-first training at the start (0 = none: the paper).', 0, { minimum: 0 }),
            distillation: num('Weight d in [0, 1] of knowledge distillation from the final classifier in the warm-up\'s exit terms: (1 − d)·CE(y, f_b) + d·T²·KL(f^T ‖ f_b^T) (Phuong & Lampert, ICCV 2019); 0 = plain cross-entropy.', 0, { minimum: 0, maximum: 1 }),
            temperature: num('Distillation temperature T.', 3, { exclusiveMinimum: 0 }),
            freeze: { type: 'boolean', default: false, description: 'After the warm-up train the gates alone, backbone and classifiers fixed (two phases; each phase runs the learning-rate schedule over its own epochs); with 0 warm-up epochs the gates alone train from the first epoch, on the exits of training.initFrom. false = everything trains on the paper\'s loss.' },
          },
        },
        gateInputs: { enum: [...GATE_INPUTS], default: 'features', description: 'Recipe (proposed): what each gate g_b sees. features = the head\'s features (the paper); features+softmax = also f_b\'s max probability, normalised entropy and top-1 − top-2 margin, so a gate can at least learn a confidence rule; softmax = those three statistics alone.' },
        targetBudget: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1, default: null, description: 'Recipe (proposed): the average cost to aim at, as a share of the full network\'s MACs (e.g. 0.6). λ becomes a multiplier adapted after every step, λ ← max(0, λ + budgetRate·(C − target)), starting at method.lambda; the run is also calibrated to this budget unless evaluation.calibration says otherwise. null = a fixed λ (the paper).' },
        budgetRate: num('Step size of the budget multiplier (with targetBudget).', RECIPE_DEFAULTS.budgetRate, { exclusiveMinimum: 0 }),
        gateTemperature: num('Recipe (proposed): gate temperature T at the last epoch, g_b = σ(z_b / T), annealed geometrically from 1 over the epochs the gates train, so gates become nearly binary as at inference (1 = off).', 1, { exclusiveMinimum: 0, maximum: 1 }),
        hardGatesFrom: { type: ['integer', 'null'], minimum: 1, default: null, description: 'Recipe (proposed): from this epoch on, gates are hard in the forward pass, 1[g_b ≥ ½], with the sigmoid\'s gradient (straight-through), so training sees what Option 2 does. null = off.' },
      },
    },
    dataset: datasetSpecSchema,
    training: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        epochs: int('Training epochs.', 10, { minimum: 1 }),
        batchSize: int('Images per step.', 64, { minimum: 1, maximum: 4096 }),
        optimizer: { enum: ['adam', 'sgd'], default: 'adam', description: 'Adam, or SGD with momentum.' },
        lr: num('Initial learning rate.', 0.001, { exclusiveMinimum: 0 }),
        momentum: num('SGD momentum.', 0.9, { minimum: 0, maximum: 1 }),
        weightDecay: num('L2 weight decay on conv and dense kernels.', 0.0005, { minimum: 0 }),
        schedule: { enum: ['constant', 'cosine', 'step'], default: 'cosine', description: 'Learning-rate schedule over epochs.' },
        stepEpochs: int('step schedule: epochs between decays.', 30, { minimum: 1 }),
        stepGamma: num('step schedule: decay factor.', 0.1, { exclusiveMinimum: 0, maximum: 1 }),
        seed: int('Seed of initialisation, shuffling and augmentation (same seed + backend = same numbers).', 1, { minimum: 0 }),
        backend: { enum: [...BACKEND_PREFERENCES], default: 'auto', description: 'Engine: auto = the PyTorch engine when it finds a CUDA GPU, else TF.js gpu → webgpu (hardware adapters only) → native-cpu → wasm → cpu; torch = the PyTorch engine on training.device (needs Python with PyTorch); gpu, webgpu, native-cpu, wasm, cpu = that TF.js backend (webgpu by name also runs on a software adapter).' },
        device: { enum: [...TORCH_DEVICES], default: 'auto', description: 'torch engine: auto = CUDA, else Apple MPS, else the CPU.' },
        devices: int('torch engine: processes that train this run together with DistributedDataParallel, one per GPU (NCCL), or gloo processes on the CPU; 1 = one process.', 1, { minimum: 1, maximum: 64 }),
        initFrom: { type: ['string', 'null'], default: null, description: 'A trained run folder (or its model/ folder) to start from: every variable with the same name and shape is loaded (e.g. the backbone and exits of a BranchyNet run), the others (new gates) start fresh. With method.warmup.freeze and no warm-up epochs, only the gates then train. A relative path is resolved against the experiment file\'s folder. null = from scratch.' },
      },
    },
    evaluation: {
      type: 'object', additionalProperties: false, default: {},
      properties: {
        rule: { enum: ['auto', 'gate', 'confidence', 'entropy'], default: 'auto', description: 'What an exit thresholds at inference: auto = gate (proposed) or entropy (BranchyNet).' },
        threshold: { type: ['number', 'array'], items: { type: 'number', minimum: 0, maximum: 1 }, minimum: 0, maximum: 1, default: 0.5, description: 'τ for every exit, or one τ per exit, in [0, 1].' },
        calibration: {
          type: 'object', additionalProperties: false, default: {},
          description: 'Pick τ on the validation split to meet a target, then report on the test split.',
          properties: {
            budget: { type: ['number', 'null'], exclusiveMinimum: 0, default: null, description: 'Average MACs budget (absolute MACs).' },
            accuracy: { type: ['number', 'null'], minimum: 0, maximum: 1, default: null, description: 'Accuracy floor in [0, 1].' },
            budgetShare: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1, default: null, description: 'Average MACs budget as a share of the full network (e.g. 0.6 = 60 %), instead of budget. Default with method.targetBudget: that budget.' },
            perExit: { type: 'boolean', default: false, description: 'Pick one τ per exit (coordinate ascent on the validation split) instead of one τ shared by every exit. Default true with method.targetBudget.' },
          },
        },
        timingImages: int('Test images timed one at a time for the speed-up (0 = no timing).', 100, { minimum: 0 }),
      },
    },
    deployment: deploymentSchema,
    sweep: {
      type: 'object', description: 'JSON path → list of values, e.g. { "method.lambda": [0.01, 0.1, 1] }; the cartesian product expands into a group of runs.',
      additionalProperties: { type: 'array', minItems: 1 },
    },
  },
};

// ---- a small validator driven by the schema ------------------------------------------------

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(t: string, v: unknown): boolean {
  const actual = typeOf(v);
  return t === actual || (t === 'number' && actual === 'integer');
}

/** Validates `value` against `schema`, filling defaults; throws ValidationError with the JSON path. */
export function validateAgainst(schema: Schema, value: unknown, path: string): unknown {
  if (value === undefined) {
    if ('default' in schema) value = structuredClone(schema.default);
    else return undefined;
  }
  if (schema.enum) {
    if (!schema.enum.includes(value)) throw new ValidationError(`${path}: ${JSON.stringify(value)} is not allowed; allowed: ${schema.enum.join(', ')}`, path);
    return value;
  }
  const types: string[] | undefined = schema.type ? ([] as string[]).concat(schema.type) : undefined;
  if (types && !types.some((t) => typeMatches(t, value))) {
    throw new ValidationError(`${path}: must be ${types.join(' or ')}, got ${typeOf(value) === 'integer' ? 'number' : typeOf(value)}${typeof value !== 'object' ? ` (${JSON.stringify(value)})` : ''}`, path);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(`${path}: must be a finite number`, path);
    if (schema.minimum !== undefined && value < schema.minimum) throw new ValidationError(`${path}: must be ≥ ${schema.minimum}, got ${value}`, path);
    if (schema.maximum !== undefined && value > schema.maximum) throw new ValidationError(`${path}: must be ≤ ${schema.maximum}, got ${value}`, path);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) throw new ValidationError(`${path}: must be > ${schema.exclusiveMinimum}, got ${value}`, path);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) throw new ValidationError(`${path}: needs at least ${schema.minItems} item(s)`, path);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) throw new ValidationError(`${path}: takes at most ${schema.maxItems} items`, path);
    if (schema.items) return value.map((v, i) => validateAgainst(schema.items, v, `${path}[${i}]`));
    return value;
  }
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const props: Record<string, Schema> = schema.properties ?? {};
    const at = (key: string) => (path ? `${path}.${key}` : key);
    for (const key of Object.keys(obj)) {
      // own properties only: "constructor" or "toString" are unknown fields, not Object.prototype's
      if (!Object.hasOwn(props, key)) {
        if (schema.additionalProperties === false) {
          throw new ValidationError(`${at(key)}: unknown field; allowed: ${Object.keys(props).join(', ')}`, at(key));
        }
        const v = typeof schema.additionalProperties === 'object' ? validateAgainst(schema.additionalProperties, obj[key], at(key)) : obj[key];
        // defineProperty: a "__proto__" key stays a key instead of replacing the prototype
        Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      }
    }
    for (const req of schema.required ?? []) {
      if (obj[req] === undefined) throw new ValidationError(`${at(req)}: missing required field`, at(req));
    }
    for (const [key, sub] of Object.entries(props)) {
      // the dataset section is validated by the dataset module's own validator
      const v = sub === datasetSpecSchema ? obj[key] : validateAgainst(sub, obj[key], at(key));
      if (v !== undefined) out[key] = v;
    }
    return out;
  }
  return value;
}

/** Validates a parsed experiment object, fills every default, and checks cross-field rules. */
export function validateExperiment(raw: unknown, fallbackName = 'experiment'): Experiment {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError('experiment: must be a JSON object', 'experiment');
  const e = validateAgainst(experimentSchema, raw, '') as Record<string, any>;
  delete e.$schema;
  const x = e as unknown as Experiment;
  if (!x.name) x.name = fallbackName;
  validateBackboneConfig(x.backbone, 'backbone');
  validateExits(x.backbone, x.exits, 'exits');
  x.dataset = validateDatasetSpec(x.dataset, 'dataset');
  if (x.method.name === 'baseline' && x.exits.length) {
    throw new ValidationError('method.name: "baseline" trains the backbone alone; remove the exits or choose "proposed" / "branchynet"', 'method.name');
  }
  if (x.method.name !== 'baseline' && !x.exits.length) {
    throw new ValidationError(
      `exits: "${x.method.name}" needs at least one exit (its ${x.method.name === 'proposed' ? 'gates decide' : 'exits\' entropy decides'} where inputs leave); `
      + `add exits (early-exit macs ${x.backbone.name} lists the points), or set method.name to "baseline" to train the backbone alone`, 'exits',
    );
  }
  if (x.method.exitWeights && x.method.exitWeights.length !== x.exits.length + 1) {
    throw new ValidationError(`method.exitWeights: needs ${x.exits.length + 1} weights (one per exit, then the final classifier), got ${x.method.exitWeights.length}`, 'method.exitWeights');
  }
  validateRecipes(x);
  const t = x.evaluation.threshold;
  if (Array.isArray(t) && t.length !== x.exits.length) {
    throw new ValidationError(`evaluation.threshold: needs one τ per exit (${x.exits.length}), got ${t.length}`, 'evaluation.threshold');
  }
  if (x.evaluation.rule === 'gate' && x.method.name !== 'proposed') {
    throw new ValidationError(`evaluation.rule: "gate" needs gates, which only the "proposed" method trains; use "entropy" or "confidence"`, 'evaluation.rule');
  }
  const cal = x.evaluation.calibration;
  if ([cal.budget, cal.budgetShare, cal.accuracy].filter((v) => v != null).length > 1) {
    throw new ValidationError('evaluation.calibration: give one of budget, budgetShare and accuracy, not several', 'evaluation.calibration');
  }
  if (x.deployment) validateDeployment(x.deployment, describeBackbone(x.backbone).points.map((p) => p.id));
  if (x.sweep) expandSweep(x); // fails early on an empty or invalid sweep
  return x;
}

/** The engine a backend preference names, or null when it is chosen at run time ("auto"). */
export function engineOfBackend(backend: string): EngineName | null {
  if (backend === 'auto') return null;
  return backend === 'torch' ? 'torch' : 'tfjs';
}

/** Recipes need gates, an epoch for the gates to train, and an engine that implements them. */
function validateRecipes(x: Experiment): void {
  const m = x.method;
  const on = recipesOf(m, x.training);
  if (!on.length) return;
  if (m.name !== 'proposed' && on.some((r) => r !== 'initFrom')) {
    const first = on.find((r) => r !== 'initFrom')!;
    const field = first === 'warmup' || first === 'distillation' || first === 'freeze' ? 'method.warmup' : `method.${first}`;
    throw new ValidationError(`${field}: training recipes shape how gates learn, and only "proposed" has gates; remove it or set method.name to "proposed"`, field);
  }
  if (m.name === 'proposed' && m.warmup.freeze && m.warmup.epochs === 0 && !x.training.initFrom) {
    throw new ValidationError('method.warmup.freeze: with no warm-up epochs the gates alone would learn on untrained exits; set method.warmup.epochs, or start from a trained run with training.initFrom', 'method.warmup.freeze');
  }
  if (m.warmup.freeze && m.warmup.epochs >= x.training.epochs) {
    throw new ValidationError(`method.warmup.epochs: ${m.warmup.epochs} warm-up epochs leave none of the ${x.training.epochs} for the gates; use fewer than training.epochs`, 'method.warmup.epochs');
  }
  if (m.hardGatesFrom !== null && m.hardGatesFrom > x.training.epochs) {
    throw new ValidationError(`method.hardGatesFrom: epoch ${m.hardGatesFrom} is after the last (${x.training.epochs}); use 1…${x.training.epochs} or null`, 'method.hardGatesFrom');
  }
  const engine = engineOfBackend(x.training.backend);
  const refusal = engine && recipeRefusal(m, engine, x.training);
  if (refusal) throw new ValidationError(refusal, 'method');
}

/**
 * The backbone's input and classes must be the dataset's: checked for every set whose shape is known
 * without reading it (the worker checks image folders once it has read them). Part of reading an
 * experiment file (`parseExperiment`) and of creating runs, so that a mismatch is an error of the
 * file, before any run folder exists; in-memory experiments whose data is given directly (the
 * engine's tests) are not held to their `dataset`.
 */
export function checkBackboneFitsData(x: Experiment): void {
  const known = knownDatasetShape(x.dataset);
  if (!known) return;
  const { input, classes } = x.backbone;
  if (input.join('x') !== known.shape.join('x')) {
    throw new ValidationError(`backbone.input: [${input.join(', ')}], but dataset "${x.dataset.name}" has ${known.shape.join('×')} images; set backbone.input to [${known.shape.join(', ')}]${known.shape[2] === input[2] ? ' or dataset.resize' : ''}`, 'backbone.input');
  }
  if (classes !== known.classes) {
    throw new ValidationError(`backbone.classes: ${classes}, but dataset "${x.dataset.name}" has ${known.classes} classes; set backbone.classes to ${known.classes}`, 'backbone.classes');
  }
}

/** Reads and validates an experiment file's text, including that its backbone fits its dataset. */
export function parseExperiment(text: string, file = 'experiment', fallbackName?: string): Experiment {
  try {
    const x = validateExperiment(parseJsonText(text, file), fallbackName ?? experimentNameFromFile(file));
    for (const r of expandSweep(x)) checkBackboneFitsData(r.experiment);
    return x;
  } catch (e) {
    if (e instanceof ValidationError && !e.message.startsWith(file)) throw new ValidationError(`${file}: ${e.message}`, e.field);
    throw e;
  }
}

export function experimentNameFromFile(file: string): string {
  return file.replace(/\\/g, '/').split('/').pop()!.replace(/\.exits\.json$|\.json$/, '');
}

/** Keys that would reach Object.prototype through a path: never fields of an experiment. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Sets a dotted JSON path ("training.lr", "exits[1].head.kind") on a plain object. */
export function setPath(obj: Record<string, any>, path: string, value: unknown): void {
  const parts = path.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean);
  if (!parts.length) throw new ValidationError(`--set: empty path`, path);
  const bad = parts.find((p) => UNSAFE_KEYS.has(p));
  if (bad) throw new ValidationError(`${path}: "${bad}" is not a field of an experiment`, path);
  let cur: any = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    if (cur[parts[i]] === undefined || cur[parts[i]] === null) cur[parts[i]] = /^\d+$/.test(parts[i + 1]) ? [] : {};
    cur = cur[parts[i]];
    if (typeof cur !== 'object') throw new ValidationError(`${path}: "${parts.slice(0, i + 1).join('.')}" is not an object`, path);
  }
  cur[parts[parts.length - 1]] = value;
}

/** "28x28x1" (or "28×28×1") → [28, 28, 1]; null when the text is not sizes joined by x. */
export function parseDims(text: string): number[] | null {
  const t = text.trim();
  if (!/^\d+([x×]\d+)+$/i.test(t)) return null;
  return t.split(/[x×]/i).map(Number);
}

/** Fields whose value is a shape, which `--set` also takes as HxWxC (as `macs --input` does). */
const SHAPE_FIELDS = new Set(['backbone.input', 'dataset.resize']);

/**
 * Parses a `--set path=value` override; the value is JSON when it parses, else a string — and for a
 * shape field, `28x28x1` as well as `[28,28,1]`.
 */
export function parseOverride(s: string): { path: string; value: unknown } {
  const eq = s.indexOf('=');
  if (eq <= 0) throw new ValidationError(`--set: expected path=value, got "${s}"`, s);
  const path = s.slice(0, eq), text = s.slice(eq + 1);
  const dims = SHAPE_FIELDS.has(path) ? parseDims(text) : null;
  if (dims) return { path, value: dims };
  let value: unknown = text;
  try { value = JSON.parse(text); } catch { /* a plain string */ }
  return { path, value };
}

export interface ExpandedRun {
  experiment: Experiment;
  /** The sweep values of this run (null when there is no sweep). */
  sweep: Record<string, unknown> | null;
}

/** Expands `sweep` into one validated experiment per combination (cartesian product). */
export function expandSweep(x: Experiment): ExpandedRun[] {
  if (!x.sweep) return [{ experiment: x, sweep: null }];
  const entries = Object.entries(x.sweep);
  if (!entries.length) throw new ValidationError('sweep: empty; list at least one path with values, e.g. { "method.lambda": [0.01, 0.1] }', 'sweep');
  for (const [p, vals] of entries) {
    if (!Array.isArray(vals) || vals.length === 0) throw new ValidationError(`sweep.${p}: expands to zero runs; give at least one value`, `sweep.${p}`);
    if (p.startsWith('sweep')) throw new ValidationError(`sweep.${p}: a sweep cannot change the sweep`, `sweep.${p}`);
  }
  let combos: Record<string, unknown>[] = [{}];
  for (const [p, vals] of entries) combos = combos.flatMap((c) => vals.map((v) => ({ ...c, [p]: v })));
  if (combos.length > 1000) throw new ValidationError(`sweep: expands to ${combos.length} runs (at most 1000)`, 'sweep');
  return combos.map((combo) => {
    const base = structuredClone({ ...x, sweep: undefined }) as Record<string, any>;
    delete base.sweep;
    for (const [p, v] of Object.entries(combo)) setPath(base, p, v);
    try {
      return { experiment: validateExperiment(base, x.name), sweep: combo };
    } catch (e) {
      if (e instanceof ValidationError) throw new ValidationError(`sweep ${JSON.stringify(combo)}: ${e.message}`, e.field);
      throw e;
    }
  });
}

/**
 * A complete default experiment: every field present with its default. By default on the real
 * images shipped with the package (Fashion-MNIST mini, 28×28×1), so that the first run's table
 * means something; `synthetic` gives the generated 32×32×3 set the tests train on. The method is
 * the paper's with λ = 1 and a per-classifier cross-entropy (α = `exitLossWeight` = 0.5): with the
 * paper's loss alone every input leaves at one exit and the final classifier stays untrained
 * (README "What it implements"); the schema's defaults stay the paper's (λ = 0.1, α = 0).
 */
export function defaultExperiment(backbone: BackboneConfig['name'] = 'resnet18', name = 'experiment', dataset: 'fashion-mnist-mini' | 'synthetic' = 'fashion-mnist-mini'): Experiment {
  const presets: Record<string, { width: number; exits: string[] }> = {
    resnet18: { width: 0.0625, exits: ['block2', 'block4', 'block6'] },
    vgg13: { width: 0.125, exits: ['conv2', 'conv4', 'conv7'] },
    alexnet: { width: 0.125, exits: ['conv1', 'conv2', 'conv4'] },
  };
  const p = presets[backbone];
  if (!p) validateBackboneConfig({ name: backbone, width: 1, input: [32, 32, 3], classes: 10 });
  const x = validateExperiment({
    name,
    backbone: { name: backbone, width: p.width, input: dataset === 'synthetic' ? [32, 32, 3] : [28, 28, 1] },
    exits: p.exits.map((point) => ({ point })),
    method: { lambda: 1, exitLossWeight: 0.5 },
    dataset: { name: dataset },
    training: { epochs: 3 },
  }, name);
  return x;
}

/**
 * The calibration target of a run (absolute MACs for a budget) and whether τ is per exit, or null
 * for none. A target budget trained for (method.targetBudget) is calibrated to by default.
 */
export function calibrationOf(x: Experiment, fullMacs: number): { target: CalibrationTarget; perExit: boolean } | null {
  const c = x.evaluation.calibration;
  if (c.budget != null) return { target: { budget: c.budget }, perExit: c.perExit };
  if (c.budgetShare != null) return { target: { budget: c.budgetShare * fullMacs }, perExit: c.perExit };
  if (c.accuracy != null) return { target: { accuracy: c.accuracy }, perExit: c.perExit };
  if (x.method.name === 'proposed' && x.method.targetBudget !== null) return { target: { budget: x.method.targetBudget * fullMacs }, perExit: true };
  return null;
}

/** Method-dependent default exit rule. */
export function resolveRule(x: Experiment): 'gate' | 'confidence' | 'entropy' {
  if (x.evaluation.rule !== 'auto') return x.evaluation.rule;
  return x.method.name === 'proposed' ? 'gate' : 'entropy';
}

/**
 * The 1-based backbone positions of the experiment's exits in backbone order, then the final
 * classifier's (number of points + 1): the "#b" column of the exit table.
 */
export function exitPositions(x: Experiment): number[] {
  const points = describeBackbone(x.backbone).points;
  return [...points.filter((p) => x.exits.some((e) => e.point === p.id)).map((p) => p.index), points.length + 1];
}

export type { MethodName };

/** A `deployment` section on its own (from a run's experiment.json, a `--tiers` file or the panel), schema-checked and defaults filled. */
export function parseDeployment(raw: unknown, backbone: BackboneConfig, path = 'deployment'): DeploymentSpec {
  const d = validateAgainst(deploymentSchema, raw, path) as DeploymentSpec | undefined;
  if (!d) throw new ValidationError(`${path}: missing`, path);
  return validateDeployment(d, describeBackbone(backbone).points.map((p) => p.id), path);
}
