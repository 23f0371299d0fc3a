/**
 * CIFAR-10 / CIFAR-100 binary format readers: records of label byte(s) + 1024 R + 1024 G + 1024 B,
 * read from the official .tar.gz or from the extracted folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValidationError } from '../spec/errors';
import { readDataFile, readDir } from './files';
import { walkTar } from './tar';
import type { Dataset, Split } from './types';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

const PIX = 3072;

/**
 * Parses CIFAR binary records. `labelBytes` is 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine);
 * `labelIndex` picks which label byte; `classes` bounds the label range.
 */
export function parseCifarRecords(buffers: { file: string; data: Uint8Array }[], labelBytes: 1 | 2, labelIndex: 0 | 1, classes: number): Split {
  const rec = PIX + labelBytes;
  let count = 0;
  for (const b of buffers) {
    if (b.data.length === 0 || b.data.length % rec !== 0) {
      throw new ValidationError(
        `${b.file}: size ${b.data.length} bytes is not a multiple of the ${rec}-byte CIFAR record`,
        b.file,
      );
    }
    count += b.data.length / rec;
  }
  const images = new Uint8Array(count * PIX);
  const labels = new Uint8Array(count);
  let i = 0;
  for (const b of buffers) {
    const n = b.data.length / rec;
    for (let r = 0; r < n; r++, i++) {
      const o = r * rec;
      const label = b.data[o + labelIndex];
      if (label >= classes) {
        throw new ValidationError(`${b.file}: record ${r} has label ${label}, outside 0..${classes - 1}`, b.file);
      }
      labels[i] = label;
      const p = o + labelBytes;
      const dst = i * PIX;
      for (let k = 0; k < 1024; k++) {
        images[dst + k * 3] = b.data[p + k];
        images[dst + k * 3 + 1] = b.data[p + 1024 + k];
        images[dst + k * 3 + 2] = b.data[p + 2048 + k];
      }
    }
  }
  return { images, labels, count };
}

/** Members of a CIFAR source: file name (basename) → bytes. Reads from a tar(.gz) or a folder. */
async function readMembers(source: string, wanted: (base: string) => boolean): Promise<Map<string, { file: string; data: Uint8Array }>> {
  const out = new Map<string, { file: string; data: Uint8Array }>();
  const st = fs.statSync(source);
  if (st.isFile()) {
    await walkTar(source, (e) => wanted(path.posix.basename(e.name)), (e, data) => {
      if (data) out.set(path.posix.basename(e.name), { file: `${source}:${e.name}`, data });
    });
    return out;
  }
  for (const d of readDir(source)) {
    if (wanted(d.name)) out.set(d.name, { file: path.join(source, d.name), data: readDataFile(path.join(source, d.name)) });
  }
  return out;
}

/** Finds the batch files: `dir` itself, `dir/<sub>` or the archive `dir/<archive>`. */
function batchDir(dir: string, sub: string, archive: string, probe: string): string {
  if (fs.existsSync(path.join(dir, probe))) return dir;
  if (fs.existsSync(path.join(dir, sub, probe))) return path.join(dir, sub);
  if (fs.existsSync(path.join(dir, archive))) return path.join(dir, archive);
  return dir;
}

function missing(source: string, member: string): never {
  throw new ValidationError(`${source}: archive or folder has no ${member}`, source);
}

/** Reads CIFAR-10 binary from `cifar-10-binary.tar.gz`, `cifar-10-batches-bin/` or a folder holding either. */
export async function readCifar10(source: string): Promise<Dataset> {
  if (!fs.existsSync(source)) throw new ValidationError(`${source}: no such file or folder`, source);
  const src = fs.statSync(source).isDirectory() ? batchDir(source, 'cifar-10-batches-bin', 'cifar-10-binary.tar.gz', 'test_batch.bin') : source;
  const m = await readMembers(src, (b) => /^data_batch_\d+\.bin$/.test(b) || b === 'test_batch.bin' || b === 'batches.meta.txt');
  const trainFiles = [...m.keys()].filter((k) => k.startsWith('data_batch_')).sort();
  const where = fs.statSync(src).isFile() ? 'cifar-10-batches-bin/' : '';
  if (trainFiles.length === 0) missing(src, `${where}data_batch_1.bin`);
  if (!m.has('test_batch.bin')) missing(src, `${where}test_batch.bin`);
  const meta = m.get('batches.meta.txt');
  let classes = CIFAR10_CLASSES;
  if (meta) {
    const names = Buffer.from(meta.data).toString('utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
    if (names.length === 10) classes = names;
  }
  const train = parseCifarRecords(trainFiles.map((k) => m.get(k)!), 1, 0, 10);
  const test = parseCifarRecords([m.get('test_batch.bin')!], 1, 0, 10);
  return { name: 'cifar10', format: 'CIFAR-10 binary', classes, shape: [32, 32, 3], train, test };
}

/** Reads CIFAR-100 binary (`cifar-100-binary.tar.gz` or `cifar-100-binary/` with train.bin, test.bin). */
export async function readCifar100(source: string, label: 'fine' | 'coarse' = 'fine'): Promise<Dataset> {
  if (!fs.existsSync(source)) throw new ValidationError(`${source}: no such file or folder`, source);
  const src = fs.statSync(source).isDirectory() ? batchDir(source, 'cifar-100-binary', 'cifar-100-binary.tar.gz', 'test.bin') : source;
  const m = await readMembers(src, (b) => ['train.bin', 'test.bin', 'coarse_label_names.txt', 'fine_label_names.txt'].includes(b));
  const where = fs.statSync(src).isFile() ? 'cifar-100-binary/' : '';
  if (!m.has('train.bin')) missing(src, `${where}train.bin`);
  if (!m.has('test.bin')) missing(src, `${where}test.bin`);
  const n = label === 'fine' ? 100 : 20;
  const namesFile = m.get(`${label}_label_names.txt`);
  let classes = Array.from({ length: n }, (_, i) => `${label}-${i}`);
  if (namesFile) {
    const names = Buffer.from(namesFile.data).toString('utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
    if (names.length === n) classes = names;
  }
  const li = label === 'fine' ? 1 : 0;
  const train = parseCifarRecords([m.get('train.bin')!], 2, li, n);
  const test = parseCifarRecords([m.get('test.bin')!], 2, li, n);
  return { name: 'cifar100', format: `CIFAR-100 binary (${label} labels)`, classes, shape: [32, 32, 3], train, test };
}
