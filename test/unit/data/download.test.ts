/**
 * Downloads against a local HTTP server on 127.0.0.1 that serves ../shared/datasets.
 * URL layout: /<mode>/<path under shared/datasets>, where mode is
 *   ok            – normal, honours Range
 *   drop          – first request for a URL sends half the body then destroys the socket; honours Range
 *   norange-drop  – like drop, but ignores Range (a retry gets the whole file with 200)
 *   always-drop   – every request drops halfway
 *   e500          – HTTP 500
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ValidationError } from '../../../src/spec/errors';
import { DOWNLOADS, DownloadError, downloadFile, loadDataset, md5File, resolveUrl, validateDatasetSpec } from '../../../src/data/index';
import { dataInspectCommand, progressBar } from '../../../src/cli/commands/data';
import { parseArgs } from '../../../src/cli/registry';
import { SHARED_DATASETS } from '../../paths';

const DATA = SHARED_DATASETS;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-dl-'));
const requests: { url: string; range?: string; status: number }[] = [];
const seen = new Map<string, number>();
let server: http.Server;
let base = '';

before(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const [, mode, ...rest] = url.split('/');
    const n = (seen.get(url) ?? 0) + 1;
    seen.set(url, n);
    const log = (status: number) => requests.push({ url, range: req.headers.range, status });
    if (mode === 'e500') { log(500); res.writeHead(500); res.end('boom'); return; }
    const file = path.join(DATA, ...rest.map(decodeURIComponent));
    if (!file.startsWith(DATA) || !fs.existsSync(file) || !fs.statSync(file).isFile()) { log(404); res.writeHead(404); res.end(); return; }
    const buf = fs.readFileSync(file);
    const rangeOk = mode === 'ok' || mode === 'drop' || mode === 'always-drop';
    const m = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    let start = 0;
    if (rangeOk && m) {
      start = Number(m[1]);
      log(206);
      res.writeHead(206, { 'content-length': buf.length - start, 'content-range': `bytes ${start}-${buf.length - 1}/${buf.length}` });
    } else {
      log(200);
      res.writeHead(200, { 'content-length': buf.length, 'accept-ranges': rangeOk ? 'bytes' : 'none' });
    }
    const body = buf.subarray(start);
    const drop = mode === 'always-drop' || ((mode === 'drop' || mode === 'norange-drop') && n === 1);
    if (drop) {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const T10K = DOWNLOADS.mnist.find((f) => f.file === 't10k-images-idx3-ubyte.gz')!;
const T10K_SIZE = fs.statSync(path.join(DATA, 'mnist', T10K.file)).size;
const sameAsShared = (file: string, shared: string) => assert.ok(fs.readFileSync(file).equals(fs.readFileSync(path.join(DATA, shared))));
const reqsFor = (prefix: string) => requests.filter((r) => r.url.startsWith(prefix));

test('published checksums: MNIST and Fashion-MNIST contents match the shared copies', async () => {
  for (const [name, folder] of [['mnist', 'mnist'], ['fashion-mnist', 'fashion-mnist']] as const) {
    for (const rf of DOWNLOADS[name]) {
      assert.equal(await md5File(path.join(DATA, folder, rf.file), true), rf.contentMd5, rf.file);
    }
  }
  assert.equal(DOWNLOADS.cifar10[0].md5, 'c32a1d4ab5d03f1284b67883e8d87530');
  assert.equal(DOWNLOADS.cifar100[0].md5, '03b5dce01913d631647c71ecec9e9cb8');
  assert.equal(DOWNLOADS.cinic10[0].md5, undefined); // not confirmed: reported as unverified
});

test('download with progress events, then a cache hit makes no request', async () => {
  const dest = path.join(tmp, 'ok', T10K.file);
  const events: { phase: string; done: number; total?: number }[] = [];
  const r = await downloadFile(T10K, dest, { mirror: `${base}/ok/mnist`, onProgress: (p) => events.push(p) });
  assert.equal(r, 'downloaded');
  sameAsShared(dest, `mnist/${T10K.file}`);
  assert.ok(!fs.existsSync(`${dest}.part`));
  const dl = events.filter((e) => e.phase === 'download');
  assert.ok(dl.length > 2, `${dl.length} progress events`);
  assert.ok(dl.every((e) => e.total === T10K_SIZE));
  for (let i = 1; i < dl.length; i++) assert.ok(dl[i].done >= dl[i - 1].done);
  assert.equal(dl[dl.length - 1].done, T10K_SIZE);
  assert.ok(events.some((e) => e.phase === 'verify'));
  const before = requests.length;
  assert.equal(await downloadFile(T10K, dest, { mirror: `${base}/ok/mnist` }), 'cached');
  assert.equal(requests.length, before);
});

test('checksum mismatch deletes the file and names both checksums', async () => {
  const dest = path.join(tmp, 'mismatch', 'cifar-10-binary.tar.gz');
  await assert.rejects(downloadFile(DOWNLOADS.cifar10[0], dest, { mirror: `${base}/ok/cifar10-5k` }), (e: Error) => {
    assert.ok(e instanceof DownloadError && e instanceof ValidationError);
    assert.ok(e.message.includes(dest));
    assert.ok(e.message.includes('c32a1d4ab5d03f1284b67883e8d87530'), e.message);
    assert.ok(e.message.includes('eece87b38cde5be329054c9039050b63'), e.message);
    return true;
  });
  assert.ok(!fs.existsSync(dest));
  assert.ok(!fs.existsSync(`${dest}.part`));
});

test('server error or a connection drop mid-file leaves no final file', async () => {
  const dest = path.join(tmp, 'e500', T10K.file);
  await assert.rejects(downloadFile(T10K, dest, { mirror: `${base}/e500/mnist`, retries: 1 }), /HTTP 500/);
  assert.ok(!fs.existsSync(dest));
  assert.equal(reqsFor('/e500/').length, 2);
  const dest2 = path.join(tmp, 'drop-always', T10K.file);
  await assert.rejects(downloadFile(T10K, dest2, { mirror: `${base}/always-drop/mnist`, retries: 2 }), (e: Error) => {
    assert.ok(e instanceof DownloadError);
    assert.ok(e.message.includes(dest2));
    assert.match(e.message, /interrupted|closed/);
    return true;
  });
  assert.ok(!fs.existsSync(dest2), 'no final file');
  assert.ok(fs.statSync(`${dest2}.part`).size < T10K_SIZE, 'only a .part with partial data');
  const tries = reqsFor('/always-drop/');
  assert.equal(tries.length, 3);
  assert.ok(tries[1].range?.startsWith('bytes='), 'retries resume with Range');
});

test('an interrupted download resumes with Range', async () => {
  const dest = path.join(tmp, 'resume', T10K.file);
  const events: { done: number; total?: number }[] = [];
  assert.equal(await downloadFile(T10K, dest, { mirror: `${base}/drop/mnist`, onProgress: (p) => { if (p.phase === 'download') events.push(p); } }), 'downloaded');
  sameAsShared(dest, `mnist/${T10K.file}`);
  const tries = reqsFor('/drop/');
  assert.equal(tries.length, 2);
  assert.equal(tries[0].status, 200);
  assert.equal(tries[1].status, 206);
  const m = /^bytes=(\d+)-$/.exec(tries[1].range ?? '');
  assert.ok(m && Number(m[1]) > 0 && Number(m[1]) < T10K_SIZE, `resumed from ${tries[1].range}`);
  assert.equal(events[events.length - 1].done, T10K_SIZE);
  assert.ok(!fs.existsSync(`${dest}.part`));
});

test('a server without Range support gets a clean restart', async () => {
  const dest = path.join(tmp, 'restart', T10K.file);
  assert.equal(await downloadFile(T10K, dest, { mirror: `${base}/norange-drop/mnist` }), 'downloaded');
  sameAsShared(dest, `mnist/${T10K.file}`);
  const tries = reqsFor('/norange-drop/');
  assert.equal(tries.length, 2);
  assert.ok(tries[1].range, 'asked for a range');
  assert.equal(tries[1].status, 200, 'got the whole file again');
});

test('loadDataset downloads a named set into the cache, then reads it without a request', async () => {
  const cacheDir = path.join(tmp, 'cache');
  const spec = validateDatasetSpec({ name: 'fashion-mnist', download: true, limit: 1000 });
  const files = new Set<string>();
  const ds = await loadDataset(spec, { cacheDir, mirror: `${base}/ok/fashion-mnist`, onProgress: (p) => { if (p.phase === 'download' && p.file) files.add(path.basename(p.file)); } });
  assert.equal(files.size, 4);
  assert.equal(ds.train.count, 1000);
  assert.deepEqual([...new Set(ds.train.labels)].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(ds.test.count, 10000);
  const before = requests.length;
  const again = await loadDataset(spec, { cacheDir, mirror: `${base}/e500/fashion-mnist` });
  assert.equal(requests.length, before);
  assert.deepEqual(again.train.labels, ds.train.labels);
  // not cached and no download: a clear error
  await assert.rejects(loadDataset(validateDatasetSpec({ name: 'cifar100' }), { cacheDir }), (e: Error) =>
    e instanceof ValidationError && e.message.includes(path.join(cacheDir, 'cifar100', 'cifar-100-binary.tar.gz')) && /dataset\.download/.test(e.message));
});

test('mirror from $EARLY_EXIT_MIRROR; CLI data inspect --download with a progress bar on stderr', async () => {
  const saved = { m: process.env.EARLY_EXIT_MIRROR, c: process.env.EARLY_EXIT_CACHE };
  process.env.EARLY_EXIT_MIRROR = `${base}/ok/mnist/`;
  process.env.EARLY_EXIT_CACHE = path.join(tmp, 'cli-cache');
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const write = process.stderr.write;
  try {
    assert.equal(resolveUrl(T10K), `${base}/ok/mnist/${T10K.file}`);
    console.log = (s: string) => { out.push(s); };
    process.stderr.write = ((s: string) => { err.push(String(s)); return true; }) as typeof process.stderr.write;
    assert.equal(await dataInspectCommand.run(parseArgs(['mnist', '--download', '--json'])), 0);
  } finally {
    console.log = log;
    process.stderr.write = write;
    process.env.EARLY_EXIT_MIRROR = saved.m;
    process.env.EARLY_EXIT_CACHE = saved.c;
    if (saved.m === undefined) delete process.env.EARLY_EXIT_MIRROR;
    if (saved.c === undefined) delete process.env.EARLY_EXIT_CACHE;
  }
  const s = JSON.parse(out.join('\n'));
  assert.equal(s.format, 'IDX');
  assert.deepEqual(s.shape, [28, 28, 1]);
  assert.deepEqual(s.splits.map((x: { name: string; count: number }) => [x.name, x.count]), [['train', 60000], ['test', 10000]]);
  assert.equal(s.splits[0].perClass[1], 6742);
  assert.ok(err.some((l) => /train-images-idx3-ubyte\.gz \[#+\.*\] +\d+%/.test(l)), err.join(''));
  assert.ok(err.some((l) => l.includes('100%')));
  assert.equal(progressBar(50, 100, 10), '[#####.....]  50%  0.0/0.0 MB');
});
