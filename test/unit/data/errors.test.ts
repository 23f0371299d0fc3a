/**
 * Bad input: every error is a ValidationError whose message names the offending file or field.
 * Inputs are tiny files generated in a temporary folder.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { PNG } from 'pngjs';
import { ValidationError } from '../../../src/spec/errors';
import {
  loadDataset, readCifar10, readCifar100, readImageFolders, readMnistDir, validateDatasetSpec, walkTar, listTar, sniffPath,
} from '../../../src/data/index';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-data-err-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const dir = (name = 'd') => { const d = path.join(tmp, `${name}${n++}`); fs.mkdirSync(d, { recursive: true }); return d; };

function cifarRecords(labels: number[], labelBytes = 1): Buffer {
  const rec = 3072 + labelBytes;
  const b = Buffer.alloc(labels.length * rec, 7);
  labels.forEach((l, i) => { for (let k = 0; k < labelBytes; k++) b[i * rec + k] = l; });
  return b;
}
function png(w: number, h: number, v = 100): Buffer {
  const p = new PNG({ width: w, height: h });
  p.data.fill(v);
  for (let i = 3; i < p.data.length; i += 4) p.data[i] = 255;
  return PNG.sync.write(p);
}
function idx(magic: number, dims: number[], data: number[] | Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}
async function rejectsNaming(p: Promise<unknown> | (() => unknown), pattern: RegExp, names: string) {
  const run = typeof p === 'function' ? Promise.resolve().then(p) : p;
  await assert.rejects(run, (err: Error) => {
    assert.ok(err instanceof ValidationError, `not a ValidationError: ${err}`);
    assert.match(err.message, pattern);
    assert.ok(err.message.includes(names), `message "${err.message}" does not name ${names}`);
    return true;
  });
}

test('CIFAR file whose size is not a multiple of the record size', async () => {
  const d = dir();
  fs.writeFileSync(path.join(d, 'data_batch_1.bin'), Buffer.concat([cifarRecords([1, 2]), Buffer.alloc(5)]));
  fs.writeFileSync(path.join(d, 'test_batch.bin'), cifarRecords([3]));
  await rejectsNaming(readCifar10(d), /not a multiple of the 3073-byte CIFAR record/, path.join(d, 'data_batch_1.bin'));
  // CIFAR-100 uses 3074-byte records: a CIFAR-10 file is the wrong size
  const d100 = dir();
  fs.writeFileSync(path.join(d100, 'train.bin'), cifarRecords([1, 2, 3]));
  fs.writeFileSync(path.join(d100, 'test.bin'), cifarRecords([1], 2));
  await rejectsNaming(readCifar100(d100), /3074-byte/, path.join(d100, 'train.bin'));
});

test('CIFAR-10 extracted folder and CIFAR-100 folder read fine when well formed', async () => {
  const d = dir();
  fs.mkdirSync(path.join(d, 'cifar-10-batches-bin'));
  fs.writeFileSync(path.join(d, 'cifar-10-batches-bin', 'data_batch_1.bin'), cifarRecords([0, 9]));
  fs.writeFileSync(path.join(d, 'cifar-10-batches-bin', 'data_batch_2.bin'), cifarRecords([5]));
  fs.writeFileSync(path.join(d, 'cifar-10-batches-bin', 'test_batch.bin'), cifarRecords([3]));
  assert.equal(await sniffPath(d), 'cifar10');
  const ds = await readCifar10(d);
  assert.equal(ds.train.count, 3);
  assert.deepEqual([...ds.train.labels], [0, 9, 5]);
  const d100 = dir();
  const rec = (coarse: number, fine: number) => { const b = cifarRecords([0], 2); b[0] = coarse; b[1] = fine; return b; };
  fs.writeFileSync(path.join(d100, 'train.bin'), Buffer.concat([rec(3, 99), rec(19, 0)]));
  fs.writeFileSync(path.join(d100, 'test.bin'), rec(1, 42));
  const fine = await readCifar100(d100);
  assert.deepEqual([...fine.train.labels], [99, 0]);
  assert.equal(fine.classes.length, 100);
  const coarse = await loadDataset(validateDatasetSpec({ name: 'cifar100', path: d100, label: 'coarse' }));
  assert.deepEqual([...coarse.train.labels], [3, 19]);
  assert.equal(coarse.classes.length, 20);
});

test('label out of range (CIFAR and IDX)', async () => {
  const d = dir();
  fs.writeFileSync(path.join(d, 'data_batch_1.bin'), cifarRecords([1, 10]));
  fs.writeFileSync(path.join(d, 'test_batch.bin'), cifarRecords([3]));
  await rejectsNaming(readCifar10(d), /record 1 has label 10, outside 0\.\.9/, path.join(d, 'data_batch_1.bin'));
  const m = dir();
  fs.writeFileSync(path.join(m, 'train-images-idx3-ubyte'), idx(0x803, [2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
  fs.writeFileSync(path.join(m, 'train-labels-idx1-ubyte.gz'), zlib.gzipSync(idx(0x801, [2], [3, 12])));
  fs.writeFileSync(path.join(m, 't10k-images-idx3-ubyte'), idx(0x803, [1, 2, 2], [1, 2, 3, 4]));
  fs.writeFileSync(path.join(m, 't10k-labels-idx1-ubyte'), idx(0x801, [1], [0]));
  assert.throws(() => readMnistDir(m, false), (e: Error) => e instanceof ValidationError && /item 1 has label 12/.test(e.message) && e.message.includes('train-labels-idx1-ubyte.gz'));
});

test('wrong IDX magic number', () => {
  const m = dir();
  fs.writeFileSync(path.join(m, 'train-images-idx3-ubyte.gz'), zlib.gzipSync(idx(0x801, [2], [1, 2])));
  fs.writeFileSync(path.join(m, 'train-labels-idx1-ubyte'), idx(0x801, [2], [1, 2]));
  fs.writeFileSync(path.join(m, 't10k-images-idx3-ubyte'), idx(0x803, [1, 1, 1], [1]));
  fs.writeFileSync(path.join(m, 't10k-labels-idx1-ubyte'), idx(0x801, [1], [0]));
  assert.throws(() => readMnistDir(m, false), (e: Error) =>
    e instanceof ValidationError && /wrong IDX magic number 0x00000801, expected 0x00000803/.test(e.message) && e.message.includes(path.join(m, 'train-images-idx3-ubyte.gz')));
  // a raw (not gzipped) file with a truncated body
  fs.writeFileSync(path.join(m, 'train-images-idx3-ubyte.gz'), idx(0x803, [2, 2, 2], [1, 2, 3]));
  assert.throws(() => readMnistDir(m, false), /train-images-idx3-ubyte\.gz: 3 data bytes, header says 8/);
});

test('empty class folder', async () => {
  const d = dir();
  for (const p of ['train/cat', 'train/dog', 'test/cat', 'test/dog']) fs.mkdirSync(path.join(d, p), { recursive: true });
  fs.writeFileSync(path.join(d, 'train/cat/a.png'), png(4, 4));
  fs.writeFileSync(path.join(d, 'test/cat/b.png'), png(4, 4));
  fs.writeFileSync(path.join(d, 'test/dog/c.png'), png(4, 4));
  await rejectsNaming(readImageFolders(d), /empty class folder/, path.join(d, 'train/dog'));
  // the same inside a .tar.gz (directory entries are in the archive)
  const tgz = path.join(tmp, `empty${n++}.tar.gz`);
  execFileSync('tar', ['czf', tgz, '-C', d, 'train', 'test']);
  await rejectsNaming(readImageFolders(tgz), /empty class folder/, `${tgz}:train/dog`);
  // filled, it reads; PNG grey images give one channel
  fs.writeFileSync(path.join(d, 'train/dog/d.png'), png(4, 4, 200));
  const ds = await readImageFolders(d);
  assert.deepEqual(ds.classes, ['cat', 'dog']);
  assert.deepEqual(ds.shape, [4, 4, 3]);
  assert.equal(ds.train.count, 2);
  assert.deepEqual([...ds.train.labels], [0, 1]);
  assert.equal(ds.train.images[16 * 3], 200);
});

test('undecodable image, and an image of another size unless resize is set', async () => {
  const d = dir();
  for (const p of ['train/a', 'test/a']) fs.mkdirSync(path.join(d, p), { recursive: true });
  fs.writeFileSync(path.join(d, 'train/a/1.png'), png(4, 4));
  fs.writeFileSync(path.join(d, 'test/a/2.png'), png(4, 4));
  fs.writeFileSync(path.join(d, 'train/a/bad.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0x00, 1, 2, 3]));
  const bad = path.join(d, 'train/a/bad.jpg');
  await rejectsNaming(readImageFolders(d), new RegExp(`^${bad}: cannot decode image \\(damaged JPEG: no valid marker at byte 2\\)$`), bad);
  fs.writeFileSync(bad, Buffer.from('not an image'));
  await rejectsNaming(readImageFolders(d), new RegExp(`^${bad}: cannot decode image \\(not a PNG or JPEG; only PNG and JPEG are read\\)$`), bad);
  fs.rmSync(path.join(d, 'train/a/bad.jpg'));
  fs.writeFileSync(path.join(d, 'train/a/3.png'), png(6, 5));
  // the size is decided from every image, not from the one that sorts first: the message lists each size with an example
  await rejectsNaming(readImageFolders(d), new RegExp(`^${d}: images have 2 different sizes: 4×4 \\(2 images, e\\.g\\. ${path.join(d, 'train/a/1.png')}\\), 6×5 \\(1 image, e\\.g\\. ${path.join(d, 'train/a/3.png')}\\); set dataset\\.resize to \\[height, width\\] to resize them all to one size$`), path.join(d, 'train/a/3.png'));
  const ds = await readImageFolders(d, { resize: [8, 8] });
  assert.deepEqual(ds.shape, [8, 8, 3]);
  assert.equal(ds.train.count, 2);
  assert.ok(ds.train.images.every((v) => v === 100));
});

test('archive missing an expected member, truncated or not a tar', async () => {
  const d = dir();
  fs.mkdirSync(path.join(d, 'cifar-10-batches-bin'));
  fs.writeFileSync(path.join(d, 'cifar-10-batches-bin', 'data_batch_1.bin'), cifarRecords([1]));
  const tgz = path.join(tmp, 'no-test.tar.gz');
  execFileSync('tar', ['czf', tgz, '-C', d, 'cifar-10-batches-bin']);
  await rejectsNaming(readCifar10(tgz), /has no cifar-10-batches-bin\/test_batch\.bin/, tgz);
  const empty = path.join(tmp, 'c100.tar.gz');
  fs.mkdirSync(path.join(d, 'cifar-100-binary'));
  fs.writeFileSync(path.join(d, 'cifar-100-binary', 'train.bin'), cifarRecords([1], 2));
  execFileSync('tar', ['czf', empty, '-C', d, 'cifar-100-binary']);
  await rejectsNaming(readCifar100(empty), /has no cifar-100-binary\/test\.bin/, empty);
  // truncated archive
  const whole = fs.readFileSync(tgz);
  const cut = path.join(tmp, 'cut.tar.gz');
  fs.writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
  await rejectsNaming(readCifar10(cut), new RegExp(`^${cut}: not a readable tar archive \\(unexpected end of file\\)$`), cut);
  // the same cut in an uncompressed tar
  const tar = path.join(tmp, 'whole.tar');
  execFileSync('tar', ['cf', tar, '-C', d, 'cifar-10-batches-bin']);
  const cutTar = path.join(tmp, 'cut.tar');
  fs.writeFileSync(cutTar, fs.readFileSync(tar).subarray(0, 1024));
  await rejectsNaming(readCifar10(cutTar), new RegExp(`^${cutTar}: truncated tar archive \\(member cifar-10-batches-bin/data_batch_1\\.bin\\)$`), cutTar);
  // not a tar at all
  const junk = path.join(tmp, 'junk.tar');
  fs.writeFileSync(junk, Buffer.alloc(2048, 65));
  await rejectsNaming(listTar(junk), new RegExp(`^${junk}: not a tar archive \\(bad header checksum\\)$`), junk);
});

test('tar reader: long names (GNU/pax) and early stop', async () => {
  const d = dir();
  const long = 'a'.repeat(60) + '/' + 'b'.repeat(70) + '/' + 'c'.repeat(40) + '.txt';
  fs.mkdirSync(path.join(d, path.dirname(long)), { recursive: true });
  fs.writeFileSync(path.join(d, long), 'hello');
  fs.writeFileSync(path.join(d, 'z.txt'), 'zz');
  for (const format of ['gnu', 'pax', 'ustar']) {
    const t = path.join(tmp, `long-${format}.tar`);
    execFileSync('tar', ['cf', t, `--format=${format}`, '-C', d, long, 'z.txt']);
    const got: Record<string, string> = {};
    await walkTar(t, () => true, (e, data) => { if (data) got[e.name] = data.toString(); });
    assert.equal(got[long], 'hello', format);
    assert.equal(got['z.txt'], 'zz', format);
  }
  let seen = 0;
  await walkTar(path.join(tmp, 'long-gnu.tar'), () => false, () => { seen++; return 'stop'; });
  assert.equal(seen, 1);
});

test('dataset spec validation names the JSON path and the allowed values', () => {
  const bad: [unknown, RegExp][] = [
    [{ name: 'imagenet' }, /^dataset\.name: must be one of synthetic, fashion-mnist-mini, cifar10, cifar100, mnist, fashion-mnist, cinic10, folder/],
    [{ limt: 5 }, /^dataset\.limt: unknown field; allowed: name, path, download, limit/],
    [{ limit: '100' }, /^dataset\.limit: must be a positive integer/],
    [{ limit: 2.5 }, /^dataset\.limit/],
    [{ validationFraction: 1 }, /^dataset\.validationFraction: must be a number in \[0, 1\)/],
    [{ resize: [32] }, /^dataset\.resize: must be \[height, width\]/],
    [{ split: 0 }, /^dataset\.split/],
    [{ name: 'cifar100', label: 'medium' }, /^dataset\.label: must be one of fine, coarse/],
    [{ augment: 'yes' }, /^dataset\.augment: must be true or false/],
    [{ name: 'folder' }, /^dataset\.path: is required/],
    [{ syntheticTrain: 0 }, /^dataset\.syntheticTrain/],
    [[], /^dataset: must be an object/],
  ];
  for (const [v, re] of bad) {
    assert.throws(() => validateDatasetSpec(v), (e: Error) => e instanceof ValidationError && re.test(e.message), JSON.stringify(v));
  }
  assert.throws(() => validateDatasetSpec({ limit: -1 }, 'experiment.data'), /: experiment\.data\.limit/);
});
