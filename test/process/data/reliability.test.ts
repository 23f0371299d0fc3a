/**
 * Reliability matrix (docs/reliability.md), datasets: truncated and oversized record files, empty
 * folders, missing paths, files without read permission — each a ValidationError naming the file —
 * and fuzzed bytes into every reader (CIFAR binary, IDX, tar / image folders, PNG / JPEG decoding).
 * The fuzz cases run in a child process with a per-case timeout: a reader that hangs or crashes
 * the process fails the test with the input that did it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ValidationError } from '../../../src/spec/errors';
import { loadDataset, readCifar10, readMnistDir, validateDatasetSpec } from '../../../src/data/index';
import { ChildRunner } from '../../fixtures/child-runner';
import type { FuzzCase, FuzzOutcome, FuzzReader } from '../../fixtures/fuzz-readers-child';
import { JPEG_VARIANTS, jpegWithOrientation, pngBytes, pngClaiming } from '../../fixtures/images';
import { ROOT, FIXTURES } from '../../paths';

const CHILD = path.join(FIXTURES, 'fuzz-readers-child.ts');
const FUZZ_RUNS = Number(process.env.EE_FUZZ_RUNS ?? 120);
const CASE_TIMEOUT_MS = 10_000;
let tmp = '';
let k = 0;
const dir = () => { const d = path.join(tmp, `d${k++}`); fs.mkdirSync(d, { recursive: true }); return d; };

before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-rel-data-')); });
/** Every fuzz case run, by reader: read fine, or rejected with a ValidationError (anything else fails the test). */
const tally: Record<string, { ok: number; rejected: number }> = {};
after(() => {
  runner.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`# dataset fuzz cases: ${JSON.stringify(tally)}`);
});

// ---- seeds -------------------------------------------------------------------------------------

function cifarRecords(labels: number[], labelBytes = 1): Buffer {
  const rec = 3072 + labelBytes;
  const b = Buffer.alloc(labels.length * rec);
  labels.forEach((l, i) => { for (let j = 0; j < labelBytes; j++) b[i * rec + j] = l; for (let p = 0; p < 3072; p++) b[i * rec + labelBytes + p] = (p * 7 + i) & 255; });
  return b;
}
function idx(magic: number, dims: number[], data: Uint8Array | number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}
function png(w: number, h: number, v = 100): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let i = 0; i < p.data.length; i++) p.data[i] = (i % 4 === 3) ? 255 : (v + i) & 255;
  return PNG.sync.write(p);
}
function jpg(w: number, h: number): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 255;
  return Buffer.from(jpeg.encode({ data, width: w, height: h }, 80).data);
}
function tarOf(files: Record<string, Buffer>, gzip = false): Buffer {
  const d = dir();
  for (const [rel, b] of Object.entries(files)) { fs.mkdirSync(path.join(d, path.dirname(rel)), { recursive: true }); fs.writeFileSync(path.join(d, rel), b); }
  const out = path.join(tmp, `a${k++}.tar`);
  execFileSync('tar', ['cf', out, '--format=ustar', '-C', d, ...Object.keys(files)]);
  const raw = fs.readFileSync(out);
  return gzip ? zlib.gzipSync(raw) : raw;
}

// ---- the child that runs the readers ---------------------------------------------------------

const runner = new ChildRunner<FuzzCase, FuzzOutcome>(CHILD);

/** Runs one case; throws when it hangs past the timeout, crashes the process, or throws a non-ValidationError. */
async function runCase(reader: FuzzReader, files: Record<string, Buffer>): Promise<FuzzOutcome> {
  const encoded = Object.fromEntries(Object.entries(files).map(([f, b]) => [f, b.toString('base64')]));
  const outcome = await runner.run((id) => ({ id, reader, files: encoded }), CASE_TIMEOUT_MS, reader);
  const describe = () => Object.entries(files).map(([f, b]) => `${f}: ${b.length} bytes, head ${b.subarray(0, 48).toString('hex')}`).join('; ');
  if (outcome instanceof Error) throw new Error(`${outcome.message}\ninput: ${describe()}`);
  if (!outcome.ok && !outcome.validation) throw new Error(`${reader} threw ${outcome.error}: ${outcome.message}\ninput: ${describe()}`);
  if (outcome.misread) throw new Error(`${reader}: silent misread: ${outcome.misread}\ninput: ${describe()}`);
  tally[reader] ??= { ok: 0, rejected: 0 };
  tally[reader][outcome.ok ? 'ok' : 'rejected']++;
  return outcome;
}

/** Random damage to a valid file: byte flips (biased to the header), a cut, appended bytes, tar checksums fixed up or not. */
const damage = fc.record({
  flips: fc.array(fc.tuple(fc.oneof(fc.nat({ max: 600 }), fc.nat()), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  append: fc.uint8Array({ maxLength: 600 }),
  fixTarChecksums: fc.boolean(),
});
type Damage = typeof damage extends fc.Arbitrary<infer T> ? T : never;

function applyDamage(seed: Buffer, d: Damage): Buffer {
  let b = Buffer.from(seed);
  for (const [pos, v] of d.flips) if (b.length) b[pos % b.length] = v;
  if (d.cut !== undefined && b.length) b = b.subarray(0, d.cut % (b.length + 1));
  b = Buffer.concat([b, Buffer.from(d.append)]);
  if (d.fixTarChecksums) {
    for (let o = 0; o + 512 <= b.length; o += 512) {
      if (b.toString('latin1', o + 257, o + 262) !== 'ustar') continue;
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[o + i];
      b.write(sum.toString(8).padStart(6, '0') + '\0 ', o + 148, 'latin1');
    }
  }
  return b;
}

async function fuzz(reader: FuzzReader, seeds: Record<string, Buffer>[], which: string[]): Promise<{ ok: number; rejected: number }> {
  const seen = { ok: 0, rejected: 0 };
  await fc.assert(fc.asyncProperty(fc.nat({ max: seeds.length - 1 }), fc.constantFrom(...which), damage, async (s, target, d) => {
    const files = { ...seeds[s] };
    if (target in files) files[target] = applyDamage(files[target], d);
    const o = await runCase(reader, files);
    if (o.ok) seen.ok++; else seen.rejected++;
  }), { numRuns: FUZZ_RUNS, includeErrorInReport: true });
  return seen;
}

// ---- rows --------------------------------------------------------------------------------------

async function rejects(p: Promise<unknown> | (() => unknown), pattern: RegExp, names: string): Promise<void> {
  await assert.rejects(Promise.resolve().then(typeof p === 'function' ? p : () => p), (e: Error) => {
    assert.ok(e instanceof ValidationError, `not a ValidationError: ${e?.stack}`);
    assert.match(e.message, pattern);
    assert.ok(e.message.includes(names), `"${e.message}" does not name ${names}`);
    return true;
  });
}

test('truncated record files: a partial CIFAR record, an IDX body shorter than its header', async () => {
  const d = dir();
  fs.writeFileSync(path.join(d, 'data_batch_1.bin'), cifarRecords([1, 2]).subarray(0, 2 * 3073 - 100));
  fs.writeFileSync(path.join(d, 'test_batch.bin'), cifarRecords([3]));
  await rejects(loadDataset(validateDatasetSpec({ name: 'cifar10', path: d })), /size 6046 bytes is not a multiple of the 3073-byte CIFAR record/, path.join(d, 'data_batch_1.bin'));
  const m = dir();
  fs.writeFileSync(path.join(m, 'train-images-idx3-ubyte'), idx(0x803, [3, 2, 2], [1, 2, 3, 4, 5]));
  fs.writeFileSync(path.join(m, 'train-labels-idx1-ubyte'), idx(0x801, [3], [0, 1, 2]));
  await rejects(() => readMnistDir(m, false), /5 data bytes, header says 12 \(3×2×2\)/, path.join(m, 'train-images-idx3-ubyte'));
  // cut inside its header (it used to be a RangeError)
  fs.writeFileSync(path.join(m, 'train-images-idx3-ubyte'), idx(0x803, [3, 2, 2], []).subarray(0, 10));
  await rejects(() => readMnistDir(m, false), new RegExp(`^${path.join(m, 'train-images-idx3-ubyte')}: 10 bytes, too short for an IDX header$`), path.join(m, 'train-images-idx3-ubyte'));
});

test('oversized record files: trailing bytes, an IDX body longer than its header, a file over 2 GiB', async () => {
  const d = dir();
  fs.writeFileSync(path.join(d, 'data_batch_1.bin'), Buffer.concat([cifarRecords([1, 2]), Buffer.alloc(17)]));
  fs.writeFileSync(path.join(d, 'test_batch.bin'), cifarRecords([3]));
  await rejects(readCifar10(d), /size 6163 bytes is not a multiple of the 3073-byte CIFAR record/, path.join(d, 'data_batch_1.bin'));
  const m = dir();
  fs.writeFileSync(path.join(m, 'train-images-idx3-ubyte'), idx(0x803, [1, 2, 2], [1, 2, 3, 4, 5, 6]));
  fs.writeFileSync(path.join(m, 'train-labels-idx1-ubyte'), idx(0x801, [1], [0]));
  await rejects(() => readMnistDir(m, false), /6 data bytes, header says 4/, path.join(m, 'train-images-idx3-ubyte'));
  // a sparse file larger than one Buffer: refused before allocating anything
  const big = dir();
  fs.writeFileSync(path.join(big, 'test_batch.bin'), cifarRecords([3]));
  const fd = fs.openSync(path.join(big, 'data_batch_1.bin'), 'w');
  fs.ftruncateSync(fd, 2 ** 31 + 3073);
  fs.closeSync(fd);
  await rejects(loadDataset(validateDatasetSpec({ name: 'cifar10', path: big })), /2147486721 bytes is too large for one data file/, path.join(big, 'data_batch_1.bin'));
});

test('empty folders: every reader says what it expected to find', async () => {
  const empty = dir();
  await rejects(loadDataset(validateDatasetSpec({ name: 'folder', path: empty })), /no \.png or \.jpg images found/, empty);
  await rejects(loadDataset(validateDatasetSpec({ name: 'cifar10', path: empty })), /archive or folder has no data_batch_1\.bin/, empty);
  await rejects(loadDataset(validateDatasetSpec({ name: 'cifar100', path: empty })), /archive or folder has no train\.bin/, empty);
  await rejects(loadDataset(validateDatasetSpec({ name: 'mnist', path: empty })), /no train-images-idx3-ubyte\.gz or train-images-idx3-ubyte/, empty);
  const classes = dir();
  fs.mkdirSync(path.join(classes, 'cat'));
  fs.mkdirSync(path.join(classes, 'dog'));
  await rejects(loadDataset(validateDatasetSpec({ name: 'folder', path: classes })), /no \.png or \.jpg images found/, classes);
});

test('a dataset path that does not exist names the path', async () => {
  const missing = path.join(tmp, 'no', 'such', 'data');
  for (const name of ['folder', 'cifar10', 'cifar100', 'mnist', 'cinic10']) {
    await rejects(loadDataset(validateDatasetSpec({ name, path: missing })), /dataset\.path: .* does not exist/, missing);
  }
});

test('a dataset file or folder without read permission is a ValidationError naming it', () => {
  // root reads everything: run the check as "nobody" then
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-perm-'));
  fs.chmodSync(d, 0o755);
  fs.mkdirSync(path.join(d, 'home'), { mode: 0o777 });
  fs.chmodSync(path.join(d, 'home'), 0o777);
  fs.mkdirSync(path.join(d, 'cifar'));
  fs.writeFileSync(path.join(d, 'cifar', 'data_batch_1.bin'), cifarRecords([1]));
  fs.writeFileSync(path.join(d, 'cifar', 'test_batch.bin'), cifarRecords([2]));
  fs.chmodSync(path.join(d, 'cifar', 'data_batch_1.bin'), 0o000);
  fs.mkdirSync(path.join(d, 'images', 'train', 'a'), { recursive: true });
  fs.writeFileSync(path.join(d, 'images', 'train', 'a', 'x.png'), png(4, 4));
  fs.chmodSync(path.join(d, 'images', 'train'), 0o000);
  fs.writeFileSync(path.join(d, 'archive.tar'), tarOf({ 'cifar-10-batches-bin/test_batch.bin': cifarRecords([1]) }));
  fs.chmodSync(path.join(d, 'archive.tar'), 0o000);
  const script = `
    const { loadDataset, validateDatasetSpec } = require(${JSON.stringify(path.join(ROOT, 'src/data/index.ts'))});
    const { ValidationError } = require(${JSON.stringify(path.join(ROOT, 'src/spec/errors.ts'))});
    (async () => {
      const out = [];
      for (const [name, p] of [['cifar10', ${JSON.stringify(path.join(d, 'cifar'))}], ['folder', ${JSON.stringify(path.join(d, 'images'))}], ['cifar10', ${JSON.stringify(path.join(d, 'archive.tar'))}]]) {
        try { await loadDataset(validateDatasetSpec({ name, path: p })); out.push({ ok: true }); }
        catch (e) { out.push({ validation: e instanceof ValidationError, message: e.message }); }
      }
      console.log(JSON.stringify(out));
    })();`;
  const asRoot = process.getuid?.() === 0;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    encoding: 'utf8', timeout: 60_000, cwd: ROOT,
    ...(asRoot ? { uid: 65534, gid: 65534, env: { ...process.env, HOME: path.join(d, 'home'), TMPDIR: path.join(d, 'home') } } : {}),
  });
  fs.chmodSync(path.join(d, 'images', 'train'), 0o755);
  fs.rmSync(d, { recursive: true, force: true });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { validation: boolean; message: string }[];
  assert.equal(out.length, 3);
  assert.ok(out.every((o) => o.validation), JSON.stringify(out));
  assert.match(out[0].message, /data_batch_1\.bin: cannot read \(permission denied, EACCES\)/);
  assert.match(out[1].message, /images\/train: cannot read \(permission denied, EACCES\)/);
  assert.match(out[2].message, /archive\.tar: cannot read \(permission denied, EACCES\)/);
});

// ---- fuzzing -----------------------------------------------------------------------------------

test('fuzz: damaged CIFAR binary files (folder) only give ValidationErrors, never a crash or hang', async () => {
  const seeds: Record<string, Buffer>[] = [
    { 'data_batch_1.bin': cifarRecords([0, 9, 3]), 'test_batch.bin': cifarRecords([1]) },
    { 'cifar-10-batches-bin/data_batch_1.bin': cifarRecords([5]), 'cifar-10-batches-bin/test_batch.bin': cifarRecords([2, 4]), 'cifar-10-batches-bin/batches.meta.txt': Buffer.from('a\nb\n') },
  ];
  const r = await fuzz('cifar10-dir', seeds, ['data_batch_1.bin', 'test_batch.bin', 'cifar-10-batches-bin/data_batch_1.bin', 'cifar-10-batches-bin/batches.meta.txt']);
  assert.ok(r.ok > 0 && r.rejected > 0, JSON.stringify(r));
  await fuzz('cifar100-dir', [{ 'train.bin': cifarRecords([3, 99], 2), 'test.bin': cifarRecords([1], 2) }], ['train.bin', 'test.bin']);
});

test('fuzz: damaged CIFAR archives (.tar and .tar.gz) only give ValidationErrors, never a crash or hang', async () => {
  const members = { 'cifar-10-batches-bin/data_batch_1.bin': cifarRecords([1, 2]), 'cifar-10-batches-bin/test_batch.bin': cifarRecords([3]) };
  const seeds: Record<string, Buffer>[] = [{ 'c.tar': tarOf(members) }, { 'c.tar.gz': tarOf(members, true) }];
  const r = await fuzz('cifar10-archive', seeds, ['c.tar', 'c.tar.gz']);
  assert.ok(r.rejected > 0, JSON.stringify(r));
  await fuzz('sniff', seeds, ['c.tar', 'c.tar.gz']);
});

test('fuzz: damaged IDX files (raw and gzip) only give ValidationErrors, never a crash or hang', async () => {
  const img = idx(0x803, [3, 4, 4], Array.from({ length: 48 }, (_, i) => i));
  const lab = idx(0x801, [3], [0, 7, 9]);
  const t10 = idx(0x803, [1, 4, 4], Array.from({ length: 16 }, (_, i) => i));
  const t10l = idx(0x801, [1], [4]);
  const seeds: Record<string, Buffer>[] = [
    { 'train-images-idx3-ubyte': img, 'train-labels-idx1-ubyte': lab, 't10k-images-idx3-ubyte': t10, 't10k-labels-idx1-ubyte': t10l },
    { 'train-images-idx3-ubyte.gz': zlib.gzipSync(img), 'train-labels-idx1-ubyte.gz': zlib.gzipSync(lab), 't10k-images-idx3-ubyte': t10, 't10k-labels-idx1-ubyte': t10l },
  ];
  const r = await fuzz('idx-dir', seeds, ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 'train-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte']);
  assert.ok(r.ok > 0 && r.rejected > 0, JSON.stringify(r));
});

test('fuzz: damaged image-folder archives and folders only give ValidationErrors, never a crash or hang', async () => {
  const files = { 'train/cat/a.png': png(6, 6), 'train/dog/b.jpg': jpg(6, 6), 'test/cat/c.png': png(6, 6, 30), 'test/dog/d.jpg': jpg(6, 6) };
  await fuzz('folder-archive', [{ 'f.tar': tarOf(files) }, { 'f.tar.gz': tarOf(files, true) }] as Record<string, Buffer>[], ['f.tar', 'f.tar.gz']);
  await fuzz('folder-dir', [files], Object.keys(files));
});

/** Odd but valid PNG and JPEG variants: bit depths, palettes, interlacing, transparency; grey, progressive, arithmetic and EXIF JPEGs. */
function variants(): Record<string, Buffer> {
  const px = (x: number, y: number) => [x * 20, y * 20, 99];
  return {
    'rgb16.png': pngBytes({ width: 8, height: 8, colourType: 2, bitDepth: 16, pixel: (x, y) => px(x, y).map((v) => v * 257) }),
    'grey1.png': pngBytes({ width: 8, height: 8, colourType: 0, bitDepth: 1, pixel: (x) => [x & 1] }),
    'grey16.png': pngBytes({ width: 8, height: 8, colourType: 0, bitDepth: 16, pixel: (x) => [x * 4000] }),
    'palette.png': pngBytes({ width: 8, height: 8, colourType: 3, bitDepth: 2, palette: [[1, 2, 3], [9, 9, 9], [200, 0, 0]], pixel: (x) => [x % 3] }),
    'interlaced.png': pngBytes({ width: 8, height: 8, colourType: 6, interlace: true, pixel: (x, y) => [...px(x, y), 128] }),
    'key.png': pngBytes({ width: 8, height: 8, colourType: 0, pixel: (x) => [x * 30], trns: Buffer.from([0, 30]) }),
    'greya.png': pngBytes({ width: 8, height: 8, colourType: 4, pixel: (x) => [x * 30, 255 - x] }),
    'grey.jpg': JPEG_VARIANTS.grey, 'progressive.jpg': JPEG_VARIANTS.progressive, 'arithmetic.jpg': JPEG_VARIANTS.arithmetic,
    'exif.jpg': jpegWithOrientation(3), 'huge.png': pngClaiming(40000, 40000),
  };
}

test('fuzz: damaged and random PNG / JPEG bytes, of every variant, only give ValidationErrors, never a crash or hang', async () => {
  const seeds: Record<string, Buffer>[] = [{ 'x.png': png(8, 8) }, { 'x.jpg': jpg(8, 8) }, { 'x.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) }, { 'x.jpg': Buffer.from([0xff, 0xd8, 0xff, 0xe0]) },
    ...Object.values(variants()).map((b) => ({ [b[0] === 0xff ? 'x.jpg' : 'x.png']: b }))];
  const r = await fuzz('decode', seeds, ['x.png', 'x.jpg']);
  assert.ok(r.ok > 0 && r.rejected > 0, JSON.stringify(r));
  // JPEG headers claiming huge sizes: refused by the decoder's memory cap, not allocated
  const huge = jpg(8, 8);
  const sof = huge.indexOf(Buffer.from([0xff, 0xc0]));
  huge.writeUInt16BE(60000, sof + 5);
  huge.writeUInt16BE(60000, sof + 7);
  const o = await runCase('decode', { 'x.jpg': huge });
  assert.equal(o.ok, false);
  assert.match(o.message!, /x\.jpg: cannot decode image \(JPEG image is 60000×60000 \(3600 Mpx\), more than the 64 Mpx an image may have; it is refused before decoding\)$/);
});

test('fuzz: image folders of odd PNG / JPEG variants, damaged or not, read the same in any file order — or fail naming a file — never a crash, hang or silent misread', async () => {
  const v = variants();
  const unreadable = ['arithmetic.jpg', 'huge.png'];
  const names = Object.keys(v).filter((n) => !unreadable.includes(n));
  // folders of 2 classes × train/test, each image a readable variant; now and then (1 in 5 each) an
  // unreadable one, a colour image, an image of another size or a damaged file
  const folderArb = fc.record({
    picks: fc.array(fc.nat({ max: names.length - 1 }), { minLength: 4, maxLength: 8 }),
    extra: fc.integer({ min: 0, max: 9 }),
    hurt: fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: fc.tuple(fc.nat(), damage), weight: 1 }),
  });
  let ok = 0, rejected = 0;
  await fc.assert(fc.asyncProperty(folderArb, async ({ picks, extra, hurt }) => {
    const files: Record<string, Buffer> = {};
    picks.forEach((p, i) => {
      const split = i % 2 ? 'test' : 'train', cls = i % 4 < 2 ? 'a' : 'b';
      files[`${split}/${cls}/${String(i).padStart(2, '0')}-${names[p]}`] = v[names[p]];
    });
    if (extra === 0) files['train/a/97-bad.jpg'] = v[unreadable[0]];
    if (extra === 1) files['test/b/97-bad.png'] = v[unreadable[1]];
    if (extra >= 2 && extra <= 3) files['train/a/99-rgb.png'] = png(8, 8);
    if (extra === 4) files['test/b/98-small.png'] = png(4, 6);
    if (hurt) { const keys = Object.keys(files); const t = keys[hurt[0] % keys.length]; files[t] = applyDamage(files[t], hurt[1]); }
    const o = await runCase('folder-permuted', files);
    if (o.ok) ok++; else rejected++;
  }), { numRuns: FUZZ_RUNS, includeErrorInReport: true });
  assert.ok(ok > 0 && rejected > 0, JSON.stringify({ ok, rejected }));
});
