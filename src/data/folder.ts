/**
 * Image-folder datasets: `<split>/<class>/*.png|jpg` (CINIC-10 layout: train / valid / test) or one
 * folder of class folders split by a seeded fraction. Reads a folder or a tar(.gz) of one.
 * Two passes: list names and read every image's header first, then decode every image straight
 * into its final slot, so memory holds only the pixel bytes of the result. What is read never
 * depends on which file sorts first — the size and channel count are decided from every header
 * (any colour image makes the set RGB; mixed sizes need dataset.resize) — and nothing in the
 * folder is left out or changed without a note (Dataset.notes): files that are not images, hidden
 * files, links, grey images made RGB, transparency dropped, splits and classes not used.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValidationError } from '../spec/errors';
import { fileError, readDataFile, readDir } from './files';
import { decodeInto, IMAGE_EXT, imageInfo, type ImageInfo } from './images';
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
  /** Header of each image (archives: read from its bytes in the listing pass). */
  info: Map<string, ImageInfo>;
  /** What is in the folder but not read: hidden entries, files that are not PNG/JPEG, links and other special entries. */
  skipped: { hidden: string[]; other: string[]; special: string[] };
}

const isHidden = (name: string) => name.startsWith('.');

/** The first bytes of a file: enough for any PNG or JPEG header in practice. */
function readHead(file: string, bytes = 1 << 16): Buffer {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const b = Buffer.alloc(bytes);
    const n = fs.readSync(fd, b, 0, bytes, 0);
    return b.subarray(0, n);
  } catch (e) {
    throw fileError(e, file);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function walkDir(root: string): Listing {
  const listing: Listing = { files: [], dirs: new Set(), info: new Map(), skipped: { hidden: [], other: [], special: [] } };
  const seen = new Set<string>();
  const rec = (rel: string) => {
    const abs = rel ? path.join(root, rel) : root;
    // a symbolic link back up the tree is followed once, not forever
    let real: string;
    try { real = fs.realpathSync(abs); } catch (e) { throw fileError(e, abs); }
    if (seen.has(real)) { listing.skipped.special.push(`${rel} (a link to a folder already read)`); return; }
    seen.add(real);
    for (const d of readDir(abs)) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (isHidden(d.name)) { listing.skipped.hidden.push(r); continue; }
      let isDir = d.isDirectory(), isFile = d.isFile();
      if (d.isSymbolicLink()) {
        try {
          const st = fs.statSync(path.join(abs, d.name));
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          listing.skipped.special.push(`${r} (a broken link)`);
          continue;
        }
      }
      if (isDir) { listing.dirs.add(r); rec(r); } else if (isFile && IMAGE_EXT.test(d.name)) listing.files.push(r);
      else if (isFile) listing.skipped.other.push(r);
      else listing.skipped.special.push(r);
    }
  };
  rec('');
  return listing;
}

async function listTarImages(file: string): Promise<Listing> {
  const listing: Listing = { files: [], dirs: new Set(), info: new Map(), skipped: { hidden: [], other: [], special: [] } };
  const hidden = (name: string) => name.split('/').some(isHidden);
  await walkTar(
    file,
    (e) => IMAGE_EXT.test(e.name) && !hidden(e.name),
    (e, data) => {
      if (hidden(e.name)) { if (e.type !== 'dir') listing.skipped.hidden.push(e.name); return; }
      if (e.type === 'dir') listing.dirs.add(e.name);
      else if (e.type === 'file' && IMAGE_EXT.test(e.name) && data) {
        listing.files.push(e.name);
        listing.info.set(e.name, imageInfo(data, `${file}:${e.name}`));
      } else if (e.type === 'file') listing.skipped.other.push(e.name);
      else listing.skipped.special.push(`${e.name} (a link or special entry)`);
    },
  );
  for (const f of listing.files) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) listing.dirs.add(parts.slice(0, i).join('/'));
  }
  return listing;
}

interface Slot { split: string; index: number }

/** "1 file (a)", "3 files (a, b, c)", "12 entries (a, b, c, …)" */
function some(items: string[], what: string): string {
  const plural = what.endsWith('y') ? `${what.slice(0, -1)}ies` : what.endsWith('s') ? `${what}es` : `${what}s`;
  return `${items.length} ${items.length === 1 ? what : plural} (${items.slice(0, 3).join(', ')}${items.length > 3 ? ', …' : ''})`;
}
const are = (n: number) => (n === 1 ? 'is' : 'are');

/** The most classes a Split's labels (one byte each) can hold. */
export const MAX_FOLDER_CLASSES = 256;

/** Reads an image-folder dataset from a folder or a tar(.gz) archive of one. */
export async function readImageFolders(source: string, opts: FolderOptions = {}): Promise<Dataset> {
  if (!fs.existsSync(source)) throw new ValidationError(`${source}: no such file or folder`, source);
  const isDir = fs.statSync(source).isDirectory();
  const listing = isDir ? walkDir(source) : await listTarImages(source);
  const label = (name: string) => (isDir ? path.join(source, name) : `${source}:${name}`);
  const notes: string[] = [];
  const [hidden, other, special] = [listing.skipped.hidden, listing.skipped.other, listing.skipped.special].map((l) => [...l].sort());
  if (listing.files.length === 0) {
    throw new ValidationError(`${source}: no .png or .jpg images found${other.length ? ` (it has ${some(other, 'other file')}; only PNG and JPEG images are read)` : ''}`, source);
  }
  if (other.length) notes.push(`skipped ${some(other, 'file')} that ${are(other.length)} not .png, .jpg or .jpeg images`);
  if (hidden.length) notes.push(`skipped ${some(hidden, 'hidden entry')} (names starting with ".")`);
  if (special.length) notes.push(`skipped ${some(special, 'entry')} that ${special.length === 1 ? 'is not an ordinary file or folder' : 'are not ordinary files or folders'}`);

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
  // Empty class folders are an error (saying what they hold instead of images).
  const classDirs = new Set(listing.files.map((f) => f.split('/').slice(0, -1).join('/')));
  for (const d of listing.dirs) {
    const parts = d.split('/');
    if (parts.length !== depth || prefix.some((p, i) => parts[i] !== p)) continue;
    if (splitLayout && !SPLIT_NAMES.includes(parts[common])) continue;
    if (!classDirs.has(d)) {
      const inside = other.filter((f) => f.startsWith(`${d}/`));
      throw new ValidationError(`${label(d)}: empty class folder (no .png or .jpg images${inside.length ? `; it has ${some(inside, 'other file')}` : ''})`, d);
    }
  }

  const classes = [...new Set(listing.files.map((f) => rel(f)[level - 1]))].sort();
  if (classes.length > MAX_FOLDER_CLASSES) {
    throw new ValidationError(`${source}: ${classes.length} class folders; an image-folder dataset can have at most ${MAX_FOLDER_CLASSES} classes`, source);
  }
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
  if (splitLayout) {
    if (testKey !== 'test') notes.push(`there is no test folder: the "${testKey}" folder is the test split`);
    const unused = [...members.keys()].filter((k) => k !== 'train' && k !== testKey);
    for (const k of unused) notes.push(`the "${k}" folder (${members.get(k)!.length} image${members.get(k)!.length === 1 ? '' : 's'}) is not used for training or testing (the validation split is dataset.validationFraction of train)`);
    const inSplit = (k: string) => new Set(members.get(k)!.map((f) => rel(f)[1]));
    const trainClasses = inSplit('train'), testClasses = inSplit(testKey);
    const noTrain = classes.filter((c) => !trainClasses.has(c));
    const noTest = classes.filter((c) => !testClasses.has(c));
    if (noTrain.length) notes.push(`${some(noTrain, 'class')} ${noTrain.length === 1 ? 'has' : 'have'} ${testKey} images but no training images: the network cannot learn ${noTrain.length === 1 ? 'it' : 'them'}`);
    if (noTest.length) notes.push(`${some(noTest, 'class')} ${noTest.length === 1 ? 'has' : 'have'} training images but no ${testKey} images: ${noTest.length === 1 ? 'it is' : 'they are'} not tested`);
  }

  // Shape from every header: one size (or dataset.resize), RGB if any image is in colour.
  const info = (f: string) => {
    let i = listing.info.get(f);
    if (!i) { i = imageInfo(readHead(path.join(source, f)), label(f), false); listing.info.set(f, i); }
    return i;
  };
  const sizes = new Map<string, string[]>();
  let colour = 0, alpha: string[] = [], rotated: string[] = [];
  for (const f of sorted) {
    const i = info(f);
    const k = `${i.width}×${i.height}`;
    if (!sizes.has(k)) sizes.set(k, []);
    sizes.get(k)!.push(f);
    if (i.channels === 3) colour++;
    if (i.alpha) alpha.push(f);
    if (i.orientation !== 1) rotated.push(f);
  }
  if (sizes.size > 1 && !opts.resize) {
    const list = [...sizes.entries()].sort((a, b) => b[1].length - a[1].length)
      .map(([k, fs]) => `${k} (${fs.length} image${fs.length === 1 ? '' : 's'}, e.g. ${label(fs[0])})`);
    throw new ValidationError(`${source}: images have ${sizes.size} different sizes: ${list.join(', ')}; set dataset.resize to [height, width] to resize them all to one size`, source);
  }
  const [h0, w0] = [...sizes.keys()][0].split('×').map(Number).reverse();
  const channels: 1 | 3 = colour > 0 ? 3 : 1;
  const grey = sorted.length - colour;
  if (channels === 3 && grey > 0) {
    notes.push(`${some(sorted.filter((f) => info(f).channels === 1).map(label), 'grey image')} ${grey === 1 ? 'is' : 'are'} converted to RGB (the other ${colour} are in colour)`);
  }
  alpha = alpha.map(label);
  rotated = rotated.map(label);
  if (alpha.length) notes.push(`${some(alpha, 'image')} ${alpha.length === 1 ? 'has' : 'have'} transparency; the alpha channel is dropped (the colour under it is used as stored)`);
  if (rotated.length) notes.push(`${some(rotated, 'JPEG')} ${rotated.length === 1 ? 'has' : 'have'} an EXIF orientation tag; the pixels are used as stored, not rotated`);
  const shape: [number, number, number] = [opts.resize?.[0] ?? h0, opts.resize?.[1] ?? w0, channels];
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
    sp.images.set(decodeInto(bytes, label(name), shape, opts.resize !== undefined), slot.index * size);
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
    ...(notes.length ? { notes } : {}),
  };
}
