/**
 * Makes datasets/fashion-mnist-mini: the small real-image set the default experiment and
 * `npm run demo` train on, shipped with the package (every file under the repository's 2 MiB
 * limit). From the official Fashion-MNIST IDX files (../shared/datasets/fashion-mnist, or the
 * folder given), it keeps the first TRAIN_PER_CLASS images of each class of the training set and
 * the first TEST_PER_CLASS of each class of the test set, in their original order, and writes them
 * as the same four IDX files, gzipped byte-for-byte reproducibly. PROVENANCE.md records the source
 * files' SHA-256 and the selection; re-running on the same source gives the same bytes.
 *
 *   node --import tsx scripts/make-fashion-mnist-mini.ts [SOURCE_DIR]
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { FASHION_MNIST_CLASSES, readIdxPair } from '../src/data/idx';

export const TRAIN_PER_CLASS = 400;
export const TEST_PER_CLASS = 100;

const ROOT = path.resolve(__dirname, '..');
const source = path.resolve(process.argv[2] ?? path.join(ROOT, '../shared/datasets/fashion-mnist'));
const out = path.join(ROOT, 'datasets/fashion-mnist-mini');

/** Indices of the first `perClass` samples of every class, in the order they appear. */
function firstPerClass(labels: Uint8Array, perClass: number): number[] {
  const taken = new Array(10).fill(0);
  const keep: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (taken[labels[i]] < perClass) {
      taken[labels[i]]++;
      keep.push(i);
    }
  }
  if (taken.some((n) => n < perClass)) throw new Error(`a class has fewer than ${perClass} samples`);
  return keep;
}

function idx(magic: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  // Node writes a gzip header with mtime 0: the same input gives the same bytes.
  return zlib.gzipSync(Buffer.concat([head, data]), { level: 9 });
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function write(prefix: 'train' | 't10k', perClass: number): { count: number; sources: string[] } {
  const images = path.join(source, `${prefix}-images-idx3-ubyte.gz`);
  const labels = path.join(source, `${prefix}-labels-idx1-ubyte.gz`);
  const { split, shape } = readIdxPair(images, labels, 10);
  const keep = firstPerClass(split.labels, perClass);
  const size = shape[0] * shape[1];
  const img = new Uint8Array(keep.length * size);
  const lab = new Uint8Array(keep.length);
  keep.forEach((i, k) => {
    img.set(split.images.subarray(i * size, (i + 1) * size), k * size);
    lab[k] = split.labels[i];
  });
  fs.writeFileSync(path.join(out, `${prefix}-images-idx3-ubyte.gz`), idx(0x803, [keep.length, shape[0], shape[1]], img));
  fs.writeFileSync(path.join(out, `${prefix}-labels-idx1-ubyte.gz`), idx(0x801, [keep.length], lab));
  return { count: keep.length, sources: [images, labels] };
}

fs.mkdirSync(out, { recursive: true });
const train = write('train', TRAIN_PER_CLASS);
const test = write('t10k', TEST_PER_CLASS);
const files = fs.readdirSync(out).filter((f) => f.endsWith('.gz')).sort();
const provenance = [
  '# Fashion-MNIST mini: provenance',
  '',
  `A class-balanced subset of Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017; © 2017 Zalando SE, MIT licence: see LICENSE here), shipped so that the default experiment and \`npm run demo\` train on real images offline. ${train.count.toLocaleString('en-US')} training images (the first ${TRAIN_PER_CLASS} of each class of the official training set, in their original order) and ${test.count.toLocaleString('en-US')} test images (the first ${TEST_PER_CLASS} of each class of the official test set), 28×28 grey, in the four official IDX files, gzipped.`,
  '',
  `Classes (label order): ${FASHION_MNIST_CLASSES.join(', ')}.`,
  '',
  'Made by `node --import tsx scripts/make-fashion-mnist-mini.ts` from the official IDX files as Debian\'s `dataset-fashion-mnist` package ships them (upstream: https://github.com/zalandoresearch/fashion-mnist); re-running it on the same files gives the same bytes.',
  '',
  '| source file | SHA-256 |',
  '|---|---|',
  ...[...train.sources, ...test.sources].map((f) => `| ${path.basename(f)} | \`${sha256(f)}\` |`),
  '',
  '| file here | SHA-256 | bytes |',
  '|---|---|---|',
  ...files.map((f) => `| ${f} | \`${sha256(path.join(out, f))}\` | ${fs.statSync(path.join(out, f)).size.toLocaleString('en-US')} |`),
  '',
];
fs.writeFileSync(path.join(out, 'PROVENANCE.md'), provenance.join('\n'));
fs.writeFileSync(path.join(out, 'LICENSE'), fs.readFileSync(path.join(source, 'COPYRIGHT')));
console.log(`${out}: ${train.count} train + ${test.count} test images; ${files.map((f) => `${f} ${fs.statSync(path.join(out, f)).size} B`).join(', ')}`);
