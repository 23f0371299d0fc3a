/**
 * `npm run package`: the VSIX holds what runs and nothing else, stays within its budget, and its
 * worker trains on the dataset shipped inside it when the VSIX is unpacked far from this checkout
 * (so nothing resolves from the repository's node_modules). The VS Code suite installs the same
 * VSIX into code-server and trains from the extension (test/vscode-host/run.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { defaultExperiment } from '../../../src/spec/experiment';
import { createRunsFor, TrainingRun } from '../../../src/runs/manager';
import { readResults, readStatus } from '../../../src/runs/store';
import { ROOT } from '../../paths';

let vsix = '';
let entries: string[] = [];
let tmp = '';

before(async () => {
  const { packageVsix } = await import(path.join(ROOT, 'scripts/package.mjs'));
  vsix = await packageVsix();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ees-vsix-'));
  // a VSIX is a zip: unpack it with Python's zipfile (always there where the tests run)
  execFileSync('python3', ['-m', 'zipfile', '-e', vsix, tmp]);
  const walk = (d: string): string[] => fs.readdirSync(d).flatMap((f) => (fs.statSync(path.join(d, f)).isDirectory() ? walk(path.join(d, f)) : [path.relative(tmp, path.join(d, f))]));
  entries = walk(tmp);
});
after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

test('the VSIX is within its size budget and holds the bundles, the wasm binaries, the dataset, schema, media and licences', async () => {
  const { VSIX_BUDGET_BYTES } = await import(path.join(ROOT, 'scripts/package.mjs'));
  const size = fs.statSync(vsix).size;
  assert.ok(size <= VSIX_BUDGET_BYTES, `${size} bytes > budget ${VSIX_BUDGET_BYTES}`);
  for (const f of [
    'extension/package.json', 'extension/readme.md', 'extension/LICENSE.txt', 'extension/THIRD-PARTY-NOTICES.md',
    'extension/dist/extension.js', 'extension/dist/worker.js', 'extension/dist/webview/results.js', 'extension/dist/webview/results.css',
    'extension/dist/node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js',
    'extension/dist/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
    'extension/dist/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm',
    'extension/dist/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm',
    'extension/schema/experiment.schema.json', 'extension/media/early-exit.svg',
    'extension/datasets/fashion-mnist-mini/train-images-idx3-ubyte.gz', 'extension/datasets/fashion-mnist-mini/LICENSE', 'extension/datasets/fashion-mnist-mini/PROVENANCE.md',
  ]) assert.ok(entries.includes(f), `${f} is not in the VSIX`);
  const manifest = JSON.parse(fs.readFileSync(path.join(tmp, 'extension/package.json'), 'utf8'));
  assert.equal(manifest.main, './dist/extension.js');
  assert.equal(manifest.scripts, undefined, 'the shipped manifest carries no npm scripts');
});

test('the VSIX ships no source maps, sources, tests, WebGL backend or development tooling', () => {
  const unwanted = entries.filter((f) => /\.map$|\.ts$|tfjs-backend-webgl|tfjs-layers|tfjs-converter|(^|\/)(src|test|tests|coverage|bench|scripts)\/|__pycache__|\.vscode-test/.test(f));
  assert.deepEqual(unwanted, []);
  // The worker requires only what is shipped beside it (the native backends are optional and tried at run time).
  const worker = fs.readFileSync(path.join(tmp, 'extension/dist/worker.js'), 'utf8');
  assert.doesNotMatch(worker, /require\("@tensorflow\/tfjs"\)/, 'the worker must not load the whole @tensorflow/tfjs (it brings WebGL)');
});

test('the unpacked VSIX trains the default experiment on its own Fashion-MNIST subset, resolving nothing from this checkout', { timeout: 180_000 }, async () => {
  const workerPath = path.join(tmp, 'extension/dist/worker.js');
  assert.ok(!workerPath.startsWith(ROOT));
  const runsDir = path.join(tmp, 'runs');
  const x = defaultExperiment('resnet18', 'vsix');
  x.dataset.limit = 1000;
  x.training.epochs = 1;
  x.evaluation.timingImages = 0;
  const [run] = createRunsFor(runsDir, x);
  const messages: string[] = [];
  const training = new TrainingRun(run.dir, { runsDir, workerPath, killAfterMs: 10_000, env: { NODE_PATH: '' } }, false);
  training.on('message', (m) => messages.push(m.type === 'failed' ? `failed: ${m.error}` : m.type));
  const state = await training.run();
  assert.equal(state, 'finished', `${messages.join(' | ')}\n${readStatus(run.dir).error ?? ''}`);
  const r = readResults(run.dir);
  assert.equal(r.dataset.name, 'fashion-mnist-mini');
  assert.equal(r.dataset.synthetic, false);
  assert.equal(r.dataset.train + r.dataset.validation, 1000);
  assert.equal(r.dataset.test, 1000);
  assert.equal(r.backend, 'wasm');
  // Twice chance (10 %) or more after one epoch on 900 real images (1,000 test images): the network learnt from the shipped data.
  const best = Math.max(r.finalAccuracy, ...r.hard.rows.map((row) => row.standalone));
  assert.ok(best > 0.2, `best classifier ${best}`);
});
