/**
 * Image-folder datasets: `<split>/<class>/*.png|jpg` (CINIC-10 layout: train / valid / test) or one
 * folder of class folders split by a seeded fraction. Reads a folder or a tar(.gz) of one.
 * Two passes: list names first, then decode every image straight into its final slot, so memory
 * holds only the pixel bytes of the result.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValidationError } from '../spec/errors';
import { readDataFile, readDir } from './files';
import { decodeImage, decodeInto, IMAGE_EXT } from './images';
import { mulberry32, shuffleInPlace } from '../spec/rng';
import { walkTar } from './tar';
import type { Dataset, Split } from './types';

export const SPLIT_NAMES = ['train', 'test', 'valid', 'val', 'validation'];

export interface FolderOptions {
  /** [height, width] to resize to; without it every image must match the first one's size. */
  resize?: [number, number];
  /** Train fraction for one folder of class folders (default 0.8). */
  split?: number;
  seed?: number;
  onProgress?: (p: { phase: string; done: number; total?: number }) => void;
  /** Dataset name to report (default: the path). */
  name?: string;
}

interface Listing {
  files: string[]; // posix paths relative to the root, image files only
  dirs: Set<string>;
  firstBytes?: { name: string; data: Uint8Array };
}

function walkDir(root: string): Listing {
  const files: string[] = [];
  const dirs = new Set<string>();
  const rec = (rel: string) => {
    const abs = rel ? path.join(root, rel) : root;
    for (const d of readDir(abs)) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) { dirs.add(r); rec(r); } else if (IMAGE_EXT.test(d.name)) files.push(r);
    }
  };
  rec('');
  return { files, dirs };
}

async function listTarImages(file: string): Promise<Listing> {
  const files: string[] = [];
  const dirs = new Set<string>();
  let firstBytes: Listing['firstBytes'];
  await walkTar(
    file,
    (e) => firstBytes === undefined && IMAGE_EXT.test(e.name),
    (e, data) => {
      if (e.type === 'dir') dirs.add(e.name);
      else if (e.type === 'file' && IMAGE_EXT.test(e.name)) {
        files.push(e.name);
        if (data && !firstBytes) firstBytes = { name: e.name, data };
      }
    },
  );
  for (const f of files) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return { files, dirs, firstBytes };
}

interface Slot { split: string; index: number }

/** Reads an image-folder dataset from a folder or a tar(.gz) archive of one. */
export async function readImageFolders(source: string, opts: FolderOptions = {}): Promise<Dataset> {
  if (!fs.existsSync(source)) throw new ValidationError(`${source}: no such file or folder`, source);
  const isDir = fs.statSync(source).isDirectory();
  const listing = isDir ? walkDir(source) : await listTarImages(source);
  if (listing.files.length === 0) throw new ValidationError(`${source}: no .png or .jpg images found`, source);

  // Strip the folders every image shares (e.g. "cinic10-2k/"), keeping at least one level.
  const dirParts = listing.files.map((f) => f.split('/').slice(0, -1));
  const depth = dirParts[0].length;
  for (let i = 0; i < dirParts.length; i++) {
    if (dirParts[i].length !== depth) {
      throw new ValidationError(
        `${source}: images at different depths (${listing.files[0]} and ${listing.files[i]}); expected <split>/<class>/<image> or <class>/<image>`,
        source,
      );
    }
  }
  if (depth === 0) throw new ValidationError(`${source}: images must be inside class folders (found ${listing.files[0]})`, source);
  let common = 0;
  while (common < depth - 1 && dirParts.every((p) => p[common] === dirParts[0][common])) common++;
  const prefix = dirParts[0].slice(0, common);
  const level = depth - common;
  if (level > 2) {
    throw new ValidationError(`${source}: images are nested too deeply (${listing.files[0]}); expected <split>/<class>/<image> or <class>/<image>`, source);
  }
  const splitLayout = level === 2;
  const rel = (f: string) => f.split('/').slice(common);
  if (splitLayout) {
    for (const p of dirParts) {
      if (!SPLIT_NAMES.includes(p[common])) {
        throw new ValidationError(`${source}: folder "${[...prefix, p[common]].join('/')}" is not a split name (${SPLIT_NAMES.join(', ')})`, source);
      }
    }
  }
  // Empty class folders are an error.
  const classDirs = new Set(listing.files.map((f) => f.split('/').slice(0, -1).join('/')));
  for (const d of listing.dirs) {
    const parts = d.split('/');
    if (parts.length !== depth || prefix.some((p, i) => parts[i] !== p)) continue;
    if (splitLayout && !SPLIT_NAMES.includes(parts[common])) continue;
    if (!classDirs.has(d)) {
      throw new ValidationError(`${isDir ? path.join(source, d) : `${source}:${d}`}: empty class folder (no .png or .jpg images)`, d);
    }
  }

  const classes = [...new Set(listing.files.map((f) => rel(f)[level - 1]))].sort();
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  // Sort by class, then file name, so the order does not depend on the archive's order.
  const sorted = [...listing.files].sort((a, b) => {
    const ra = rel(a), rb = rel(b);
    const ca = classIndex.get(ra[level - 1])!, cb = classIndex.get(rb[level - 1])!;
    if (ca !== cb) return ca - cb;
    return ra[level] < rb[level] ? -1 : ra[level] > rb[level] ? 1 : 0;
  });

  const members = new Map<string, string[]>(); // split → files
  const push = (s: string, f: string) => { if (!members.has(s)) members.set(s, []); members.get(s)!.push(f); };
  if (splitLayout) {
    for (const f of sorted) push(rel(f)[0], f);
  } else {
    const frac = opts.split ?? 0.8;
    const rng = mulberry32(opts.seed ?? 0);
    const byClass = classes.map(() => [] as string[]);
    for (const f of sorted) byClass[classIndex.get(rel(f)[0])!].push(f);
    const trainSet = new Set<string>();
    for (const list of byClass) {
      const idx = list.map((_, i) => i);
      shuffleInPlace(idx, rng);
      const nTrain = Math.round(frac * list.length);
      for (let i = 0; i < nTrain; i++) trainSet.add(list[idx[i]]);
    }
    for (const f of sorted) push(trainSet.has(f) ? 'train' : 'test', f);
  }
  if (!members.has('train')) throw new ValidationError(`${source}: no train folder (found ${[...members.keys()].join(', ')})`, source);
  const testKey = ['test', 'valid', 'val', 'validation'].find((k) => members.has(k));
  if (!testKey) throw new ValidationError(`${source}: no test folder (found ${[...members.keys()].join(', ')})`, source);

  // Shape from the first image.
  const firstName = isDir ? sorted[0] : listing.firstBytes!.name;
  const firstData = isDir ? readDataFile(path.join(source, sorted[0])) : listing.firstBytes!.data;
  const first = decodeImage(firstData, isDir ? path.join(source, firstName) : `${source}:${firstName}`);
  const shape: [number, number, number] = [opts.resize?.[0] ?? first.height, opts.resize?.[1] ?? first.width, first.channels];
  const size = shape[0] * shape[1] * shape[2];

  const splits = new Map<string, Split>();
  const slots = new Map<string, Slot>();
  for (const [s, files] of members) {
    splits.set(s, { images: new Uint8Array(files.length * size), labels: new Uint8Array(files.length), count: files.length });
    files.forEach((f, i) => slots.set(f, { split: s, index: i }));
  }
  const total = sorted.length;
  let done = 0;
  const put = (name: string, bytes: Uint8Array) => {
    const slot = slots.get(name)!;
    const sp = splits.get(slot.split)!;
    const label = isDir ? path.join(source, name) : `${source}:${name}`;
    sp.images.set(decodeInto(bytes, label, shape, opts.resize !== undefined), slot.index * size);
    sp.labels[slot.index] = classIndex.get(rel(name)[level - 1])!;
    done++;
    if (opts.onProgress && (done % 1000 === 0 || done === total)) opts.onProgress({ phase: 'decode', done, total });
  };
  if (isDir) {
    for (const f of sorted) put(f, readDataFile(path.join(source, f)));
  } else {
    await walkTar(source, (e) => slots.has(e.name), (e, data) => { if (data) put(e.name, data); });
    if (done !== total) throw new ValidationError(`${source}: archive changed while reading (${done} of ${total} images)`, source);
  }

  const extra: Record<string, Split> = {};
  for (const [k, v] of splits) if (k !== 'train' && k !== testKey) extra[k] = v;
  return {
    name: opts.name ?? source,
    format: splitLayout ? 'image folders (<split>/<class>)' : `image folders (<class>, seeded ${opts.split ?? 0.8} train split)`,
    classes,
    shape,
    train: splits.get('train')!,
    test: splits.get(testKey)!,
    ...(Object.keys(extra).length ? { extra } : {}),
  };
}
