/**
 * The CLI as a new user first runs it: `early-exit demo` trains on the real Fashion-MNIST subset
 * shipped with the package and keeps everything under `--out`; an unbuilt checkout says to build;
 * a backbone that does not fit the data is refused before any run folder exists.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { readResults } from '../../../src/runs/store';
import { ROOT } from '../../paths';

const bin = path.join(ROOT, 'bin/early-exit.js');
let tmp = '';
before(() => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/cli.js')), 'dist/cli.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ees-first-run-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const run = (args: string[], cwd: string, timeout = 60_000) => spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout });

test('npm run demo: real images shipped with the package, a meaningful table, report.html, everything under --out', { timeout: 300_000 }, () => {
  const cwd = path.join(tmp, 'demo-cwd');
  fs.mkdirSync(cwd);
  const out = path.join(cwd, 'nested', 'demo-runs');
  const r = run(['demo', '--out', out], cwd, 280_000);
  assert.equal(r.status, 0, r.stderr);
  // everything the demo writes is under --out (its experiment file used to land in --out's parent)
  assert.deepEqual(fs.readdirSync(path.join(cwd, 'nested')), ['demo-runs']);
  assert.ok(fs.existsSync(path.join(out, 'demo.exits.json')));
  const [runId] = fs.readdirSync(out).filter((f) => !f.startsWith('.') && fs.statSync(path.join(out, f)).isDirectory());
  const dir = path.join(out, runId);
  assert.ok(fs.existsSync(path.join(dir, 'report.html')));
  const res = readResults(dir);
  assert.equal(res.dataset.name, 'fashion-mnist-mini');
  assert.equal(res.dataset.synthetic, false);
  assert.deepEqual([res.dataset.train, res.dataset.validation, res.dataset.test], [3600, 400, 1000]);
  assert.equal(res.epochs, 3);
  // real images, three epochs: well above chance (10 %) — the first table a user sees means something
  assert.ok(res.softAccuracy! > 0.6, `soft accuracy ${res.softAccuracy}`);
  assert.match(r.stdout, /ResNet-18 ×0\.0625, proposed λ=1, fashion-mnist-mini, 3 epochs on wasm/);
  assert.match(r.stdout, /final \(#9\)/);
  assert.match(r.stdout, /batch-1 latency: full network \d+\.\d\d ms, hard exits \d+\.\d\d ms/);
  assert.doesNotMatch(r.stderr, /Hi, looks like you are running TensorFlow\.js/, 'no tfjs Node banner');
});

test('an unbuilt checkout says to run npm run build instead of "Cannot find module"', () => {
  const checkout = path.join(tmp, 'unbuilt');
  fs.mkdirSync(path.join(checkout, 'bin'), { recursive: true });
  fs.copyFileSync(bin, path.join(checkout, 'bin/early-exit.js'));
  const r = spawnSync(process.execPath, [path.join(checkout, 'bin/early-exit.js'), 'demo'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `early-exit: this checkout is not built (dist/cli.js is missing); run "npm run build" in ${checkout} first\n`);
});

test('a backbone that does not fit the dataset is refused before a run folder is made', () => {
  const cwd = path.join(tmp, 'mismatch');
  fs.mkdirSync(cwd);
  assert.equal(run(['init', '-o', 'x.exits.json'], cwd).status, 0);
  const r = run(['train', 'x.exits.json', '--set', 'backbone.input=32x32x3'], cwd);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), 'early-exit train: x.exits.json: backbone.input: [32, 32, 3], but dataset "fashion-mnist-mini" has 28×28×1 images; set backbone.input to [28, 28, 1]');
  assert.ok(!fs.existsSync(path.join(cwd, '.early-exit')), 'no runs folder, no run folder');
  // the shape syntax macs --input uses is accepted by --set, and the right one trains
  const ok = run(['train', 'x.exits.json', '--set', 'backbone.input=28x28x1', '--set', 'training.epochs=1', '--set', 'dataset.limit=200', '--set', 'evaluation.timingImages=0'], cwd, 120_000);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /1 epoch on /);
});
