/**
 * loadDataset: resolve a DatasetSpec to files (its `path`, or the cache, downloading if asked),
 * read them with the matching reader, then apply `resize` and `limit`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValidationError } from '../spec/errors';
import { readCifar10, readCifar100 } from './cifar';
import { defaultCacheDir, ensureDataset, type Progress } from './download';
import { fileError } from './files';
import { readImageFolders } from './folder';
import { readMnistDir } from './idx';
import { resizeBilinear } from './images';
import { balancedLimit, classCounts } from './preprocess';
import { BUNDLED_DATASETS, type DatasetName, type DatasetSpec } from '../spec/dataset';
import { syntheticDataset } from './synthetic';
import { listTar } from './tar';
import type { Dataset, Split } from './types';

export interface LoadOptions {
  /** Cache folder (default `$EARLY_EXIT_CACHE` or `~/.cache/early-exit-studio`). */
  cacheDir?: string;
  onProgress?: Progress;
  /** Seed for `limit`, the single-folder split and the synthetic set (default 0). */
  seed?: number;
  /** Base URL replacing the official hosts (default `$EARLY_EXIT_MIRROR`). */
  mirror?: string;
}

/** Guesses which reader fits a file or folder. */
export async function sniffPath(p: string): Promise<Exclude<DatasetName, 'synthetic'>> {
  if (!fs.existsSync(p)) throw new ValidationError(`${p}: no such file or folder`, p);
  const st = fs.statSync(p);
  if (st.isFile()) {
    const entries = await listTar(p);
    const names = entries.map((e) => e.name);
    if (names.some((n) => /(^|\/)(data_batch_\d+|test_batch)\.bin$/.test(n))) return 'cifar10';
    if (names.some((n) => /(^|\/)(train|test)\.bin$/.test(n)) && names.some((n) => n.includes('cifar-100'))) return 'cifar100';
    return 'folder';
  }
  const has = (...parts: string[]) => fs.existsSync(path.join(p, ...parts));
  let files: string[];
  try {
    files = fs.readdirSync(p);
  } catch (e) {
    throw fileError(e, p);
  }
  if (has('cifar-10-batches-bin') || has('test_batch.bin') || has('cifar-10-binary.tar.gz')) return 'cifar10';
  if (has('cifar-100-binary') || (has('train.bin') && has('test.bin')) || has('cifar-100-binary.tar.gz')) return 'cifar100';
  if (files.some((f) => /-idx3-ubyte(\.gz)?$/.test(f))) {
    return /fashion/i.test(path.basename(path.resolve(p))) ? 'fashion-mnist' : 'mnist';
  }
  if (has('CINIC-10.tar.gz')) return 'cinic10';
  return 'folder';
}

/**
 * What to read for a path given by hand (`data inspect PATH`): the reader that fits, and the file
 * to read — a folder that holds its dataset as one archive (`cinic10-samples.tar.gz` beside a
 * LICENSE, `CINIC-10.tar.gz`) is read through that archive, whatever the archive is called.
 */
export async function datasetSource(p: string): Promise<{ name: Exclude<DatasetName, 'synthetic'>; path: string }> {
  const name = await sniffPath(p);
  if (!fs.statSync(p).isDirectory()) return { name, path: p };
  if (name === 'cinic10' && !fs.existsSync(path.join(p, 'train'))) return { name, path: path.join(p, 'CINIC-10.tar.gz') };
  if (name !== 'folder') return { name, path: p };
  const entries = fs.readdirSync(p, { withFileTypes: true });
  const archives = entries.filter((e) => e.isFile() && /\.(tar\.gz|tgz|tar)$/i.test(e.name));
  if (entries.some((e) => e.isDirectory()) || archives.length !== 1) return { name, path: p };
  const archive = path.join(p, archives[0].name);
  return { name: await sniffPath(archive), path: archive };
}

/**
 * The folder of a dataset shipped with the package: `datasets/<name>` in the package root, found
 * from this module (src/data in a checkout, dist/ in a build or the installed extension).
 */
export function bundledDatasetDir(name: string, from = __dirname): string {
  for (let d = from, i = 0; i < 4; i++, d = path.dirname(d)) {
    const p = path.join(d, 'datasets', name);
    if (fs.existsSync(p)) return p;
  }
  throw new ValidationError(`dataset.name: "${name}" ships with Early Exit Studio, but its folder datasets/${name} is missing from this installation; reinstall it, or choose another dataset`, 'dataset.name');
}

function resizeSplit(s: Split, from: [number, number, number], to: [number, number]): Split {
  const [h, w, c] = from;
  const size = h * w * c;
  const osz = to[0] * to[1] * c;
  const images = new Uint8Array(s.count * osz);
  for (let i = 0; i < s.count; i++) {
    images.set(resizeBilinear(s.images.subarray(i * size, (i + 1) * size), h, w, c, to[0], to[1]), i * osz);
  }
  return { ...s, images };
}

/** Loads the dataset a spec describes. A file that cannot be read is a ValidationError naming it. */
export async function loadDataset(spec: DatasetSpec, opts: LoadOptions = {}): Promise<Dataset> {
  try {
    return await loadDatasetUnchecked(spec, opts);
  } catch (e) {
    throw fileError(e, (e as NodeJS.ErrnoException)?.path ?? spec.path ?? spec.name);
  }
}

async function loadDatasetUnchecked(spec: DatasetSpec, opts: LoadOptions): Promise<Dataset> {
  const seed = opts.seed ?? 0;
  let ds: Dataset;
  if (spec.name === 'synthetic') {
    opts.onProgress?.({ phase: 'generate', done: 0 });
    ds = syntheticDataset(spec.syntheticTrain ?? 5000, spec.syntheticTest ?? 1000, seed);
  } else {
    let source = spec.path;
    if (source === undefined && BUNDLED_DATASETS.includes(spec.name)) source = bundledDatasetDir(spec.name);
    else if (source === undefined) {
      if (spec.name === 'folder' || spec.name === 'fashion-mnist-mini') throw new ValidationError('dataset.path: is required when name is "folder"', 'dataset.path');
      const { dir } = await ensureDataset(spec.name, opts.cacheDir ?? defaultCacheDir(), {
        download: spec.download, onProgress: opts.onProgress, mirror: opts.mirror,
      });
      source = spec.name === 'cinic10' ? path.join(dir, 'CINIC-10.tar.gz') : dir;
    }
    if (!fs.existsSync(source)) throw new ValidationError(`dataset.path: ${source} does not exist`, 'dataset.path');
    if (spec.name === 'cinic10' && fs.statSync(source).isDirectory() && !fs.existsSync(path.join(source, 'train'))
      && fs.existsSync(path.join(source, 'CINIC-10.tar.gz'))) {
      source = path.join(source, 'CINIC-10.tar.gz');
    }
    opts.onProgress?.({ phase: 'read', done: 0 });
    const resizeInReader = spec.resize;
    switch (spec.name) {
      case 'cifar10': ds = await readCifar10(source); break;
      case 'cifar100': ds = await readCifar100(source, spec.label ?? 'fine'); break;
      case 'mnist': case 'fashion-mnist': ds = readMnistDir(source, spec.name === 'fashion-mnist'); break;
      case 'fashion-mnist-mini':
        ds = { ...readMnistDir(source, true), name: 'fashion-mnist-mini', format: 'IDX (Fashion-MNIST subset shipped with the package)' };
        break;
      default:
        ds = await readImageFolders(source, { resize: resizeInReader, split: spec.split, seed, onProgress: opts.onProgress, name: spec.name === 'cinic10' ? 'cinic10' : source });
        if (spec.name === 'cinic10') ds.format = `CINIC-10 ${ds.format}`;
    }
    if (spec.resize && (ds.shape[0] !== spec.resize[0] || ds.shape[1] !== spec.resize[1])) {
      const from = ds.shape;
      ds.train = resizeSplit(ds.train, from, spec.resize);
      ds.test = resizeSplit(ds.test, from, spec.resize);
      if (ds.extra) for (const k of Object.keys(ds.extra)) ds.extra[k] = resizeSplit(ds.extra[k], from, spec.resize);
      ds.shape = [spec.resize[0], spec.resize[1], from[2]];
    }
  }
  if (spec.limit !== undefined && spec.limit < ds.train.count) {
    ds.train = balancedLimit(ds.train, spec.limit, seed, ds.classes.length);
  }
  opts.onProgress?.({ phase: 'done', done: ds.train.count + ds.test.count });
  return ds;
}

export interface DatasetSummary {
  name: string;
  format: string;
  shape: [number, number, number];
  classes: string[];
  synthetic: boolean;
  splits: { name: string; count: number; perClass: number[] }[];
  /** What the reader changed or left out (Dataset.notes). */
  notes: string[];
}

/** Counts per split and class, for `data inspect`. */
export function summarizeDataset(ds: Dataset): DatasetSummary {
  const k = ds.classes.length;
  const splits = [
    { name: 'train', count: ds.train.count, perClass: classCounts(ds.train, k) },
    ...Object.entries(ds.extra ?? {}).map(([name, s]) => ({ name, count: s.count, perClass: classCounts(s, k) })),
    { name: 'test', count: ds.test.count, perClass: classCounts(ds.test, k) },
  ];
  return { name: ds.name, format: ds.format, shape: ds.shape, classes: ds.classes, synthetic: ds.synthetic === true, splits, notes: ds.notes ?? [] };
}
