/**
 * The `dataset` part of an experiment: which data to train on and how to prepare it.
 */
import { ValidationError } from './errors';

export const DATASET_NAMES = ['synthetic', 'fashion-mnist-mini', 'cifar10', 'cifar100', 'mnist', 'fashion-mnist', 'cinic10', 'folder'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Sets that ship with the package and need no download: read from the package's `datasets/` folder. */
export const BUNDLED_DATASETS: readonly DatasetName[] = ['fashion-mnist-mini'];

/**
 * The image shape and class count a named dataset has (after `resize`), known before reading it;
 * null for image folders, whose shape only reading tells. Lets an experiment whose backbone does
 * not fit its data fail when it is validated, before a run folder exists.
 */
export function knownDatasetShape(spec: Pick<DatasetSpec, 'name' | 'resize' | 'label'>): { shape: [number, number, number]; classes: number } | null {
  const base: Record<Exclude<DatasetName, 'folder'>, [number, number, number]> = {
    synthetic: [32, 32, 3], cifar10: [32, 32, 3], cifar100: [32, 32, 3], cinic10: [32, 32, 3],
    mnist: [28, 28, 1], 'fashion-mnist': [28, 28, 1], 'fashion-mnist-mini': [28, 28, 1],
  };
  if (spec.name === 'folder') return null;
  const [h, w, c] = base[spec.name];
  const shape: [number, number, number] = spec.resize ? [spec.resize[0], spec.resize[1], c] : [h, w, c];
  return { shape, classes: spec.name === 'cifar100' ? (spec.label === 'coarse' ? 20 : 100) : 10 };
}

export interface DatasetSpec {
  name: DatasetName;
  /** File or folder to read instead of the cache (required for "folder"). */
  path?: string;
  /** Download into the cache when the files are missing. */
  download?: boolean;
  /** Class-balanced subset of the training split with this many images. */
  limit?: number;
  /** Fraction of the training split held out for validation (stratified, seeded). Default 0.1. */
  validationFraction: number;
  /** Resize every image to [height, width] (bilinear). Without it, a size mismatch is an error. */
  resize?: [number, number];
  /** For one folder of class folders: fraction of each class that goes to train. Default 0.8. */
  split?: number;
  /** CIFAR-100 label set. Default "fine". */
  label?: 'fine' | 'coarse';
  /** Number of synthetic training images. Default 5000. */
  syntheticTrain?: number;
  /** Number of synthetic test images. Default 1000. */
  syntheticTest?: number;
  /** Random crop (4-pixel padding) + horizontal flip for 32×32 colour sets. Default true. */
  augment: boolean;
}

/** The complete default spec: the offline synthetic set. */
export const DATASET_DEFAULTS: Readonly<DatasetSpec> = Object.freeze({
  name: 'synthetic',
  download: false,
  validationFraction: 0.1,
  syntheticTrain: 5000,
  syntheticTest: 1000,
  augment: true,
});

/** JSON Schema (draft-07) of the dataset spec. */
export const datasetSpecSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'DatasetSpec',
  description: 'Which dataset to train and evaluate on, and how to prepare it.',
  type: 'object',
  additionalProperties: false,
  properties: {
    name: {
      type: 'string',
      enum: [...DATASET_NAMES],
      default: 'synthetic',
      description:
        'Dataset: "fashion-mnist-mini" (4,000 + 1,000 real Fashion-MNIST images shipped with the package), "synthetic" (procedurally generated, offline), an official set read from the cache or `path`, or "folder" (image folders at `path`).',
    },
    path: { type: 'string', description: 'File or folder to read instead of the cache; required for "folder".' },
    download: { type: 'boolean', default: false, description: 'Download into the per-user cache when the files are missing.' },
    limit: { type: 'integer', minimum: 1, description: 'Train on a class-balanced subset of this many training images.' },
    validationFraction: {
      type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.1,
      description: 'Fraction of the training split held out for validation (stratified, seeded).',
    },
    resize: {
      type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 2, maxItems: 2,
      description: '[height, width]: bilinear resize of every image. Without it, images of another size are an error.',
    },
    split: {
      type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.8,
      description: 'For one folder of class folders: fraction of each class used for training (seeded); the rest is the test split.',
    },
    label: { type: 'string', enum: ['fine', 'coarse'], default: 'fine', description: 'CIFAR-100 label set.' },
    syntheticTrain: { type: 'integer', minimum: 1, default: 5000, description: 'Number of synthetic training images.' },
    syntheticTest: { type: 'integer', minimum: 1, default: 1000, description: 'Number of synthetic test images.' },
    augment: {
      type: 'boolean', default: true,
      description: 'On-the-fly augmentation for 32×32 colour sets: random crop with 4-pixel zero padding and horizontal flip (seeded).',
    },
  },
} as const;

const FIELDS = Object.keys(datasetSpecSchema.properties);

function fail(field: string, message: string): never {
  throw new ValidationError(`${field}: ${message}`, field);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/**
 * Checks an untrusted `dataset` object (or a bare name string) and fills in defaults.
 * Errors are ValidationErrors naming the JSON path, e.g. "dataset.limit".
 */
export function validateDatasetSpec(value: unknown, path = 'dataset'): DatasetSpec {
  if (value === undefined || value === null) return { ...DATASET_DEFAULTS };
  if (typeof value === 'string') value = { name: value };
  if (typeof value !== 'object' || Array.isArray(value)) fail(path, `must be an object, got ${Array.isArray(value) ? 'array' : typeof value}`);
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (!FIELDS.includes(k)) fail(`${path}.${k}`, `unknown field; allowed: ${FIELDS.join(', ')}`);
  }
  const name = v.name ?? 'synthetic';
  if (typeof name !== 'string' || !(DATASET_NAMES as readonly string[]).includes(name)) {
    fail(`${path}.name`, `must be one of ${DATASET_NAMES.join(', ')}; got ${JSON.stringify(name)}`);
  }
  const out: DatasetSpec = { name: name as DatasetName, validationFraction: 0.1, augment: true, download: false };
  if (v.path !== undefined) {
    if (typeof v.path !== 'string' || v.path === '') fail(`${path}.path`, 'must be a non-empty string');
    out.path = v.path;
  }
  if (out.name === 'folder' && out.path === undefined) fail(`${path}.path`, 'is required when name is "folder"');
  if (v.download !== undefined) {
    if (typeof v.download !== 'boolean') fail(`${path}.download`, 'must be true or false');
    out.download = v.download;
  }
  if (v.limit !== undefined) {
    if (!isInt(v.limit) || v.limit < 1) fail(`${path}.limit`, `must be a positive integer; got ${JSON.stringify(v.limit)}`);
    out.limit = v.limit;
  }
  if (v.validationFraction !== undefined) {
    const f = v.validationFraction;
    if (typeof f !== 'number' || !(f >= 0 && f < 1)) fail(`${path}.validationFraction`, `must be a number in [0, 1); got ${JSON.stringify(f)}`);
    out.validationFraction = f;
  }
  if (v.resize !== undefined) {
    const r = v.resize;
    if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => isInt(x) && x >= 1)) {
      fail(`${path}.resize`, `must be [height, width] with positive integers; got ${JSON.stringify(r)}`);
    }
    out.resize = [r[0] as number, r[1] as number];
  }
  if (v.split !== undefined) {
    const s = v.split;
    if (typeof s !== 'number' || !(s > 0 && s < 1)) fail(`${path}.split`, `must be a number in (0, 1); got ${JSON.stringify(s)}`);
    out.split = s;
  }
  if (v.label !== undefined) {
    if (v.label !== 'fine' && v.label !== 'coarse') fail(`${path}.label`, `must be one of fine, coarse; got ${JSON.stringify(v.label)}`);
    out.label = v.label;
  }
  for (const k of ['syntheticTrain', 'syntheticTest'] as const) {
    if (v[k] !== undefined) {
      if (!isInt(v[k]) || (v[k] as number) < 1) fail(`${path}.${k}`, `must be a positive integer; got ${JSON.stringify(v[k])}`);
      out[k] = v[k] as number;
    }
  }
  if (out.name === 'synthetic') {
    out.syntheticTrain ??= DATASET_DEFAULTS.syntheticTrain;
    out.syntheticTest ??= DATASET_DEFAULTS.syntheticTest;
  }
  if (v.augment !== undefined) {
    if (typeof v.augment !== 'boolean') fail(`${path}.augment`, 'must be true or false');
    out.augment = v.augment;
  }
  return out;
}
