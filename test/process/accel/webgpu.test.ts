/**
 * The webgpu backend through the real CLI (bin/early-exit.js → dist/, built by `npm run build`) on
 * this machine's WebGPU adapter: in CI Mesa's software Vulkan driver (`npm run test:install`).
 * No skipping: where Dawn finds no adapter the run fails and these tests fail with its reason.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readMetrics, readResults, readStatus } from '../../../src/runs/store';
import { readRunData } from '../../../src/runs/view-data';
import { ROOT } from '../../paths';

const cli = path.join(ROOT, 'bin/early-exit.js');
let tmp: string;

before(() => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/cli.js')), 'dist/cli.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ees-webgpu-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function early(args: string[], timeout = 300_000) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

test('early-exit train --set training.backend=webgpu writes a complete run folder that eval, eval --measure, report and the panels read', async () => {
  const file = path.join(tmp, 'tiny.exits.json');
  fs.writeFileSync(file, JSON.stringify({
    name: 'tiny-webgpu',
    backbone: { name: 'resnet18', width: 1 / 32, input: [32, 32, 3], classes: 10 },
    exits: [{ point: 'block2', head: { kind: 'pool' }, gate: { hidden: 0 } }, { point: 'block5', head: { kind: 'pool' }, gate: { hidden: 0 } }],
    dataset: { name: 'synthetic', syntheticTrain: 96, syntheticTest: 32 },
    training: { epochs: 1, batchSize: 32, backend: 'wasm' },
    evaluation: { timingImages: 2 },
  }));
  const runsDir = path.join(tmp, 'runs');
  const t = early(['train', file, '--out', runsDir, '--set', 'training.backend=webgpu']);
  assert.equal(t.code, 0, t.all);
  assert.match(t.stderr, /backend: webgpu \(tfjs's own kernels, Dawn over (Vulkan|Metal|D3D12): /, 'the backend line names the adapter');
  const [id] = fs.readdirSync(runsDir).filter((d) => !d.startsWith('.'));
  const dir = path.join(runsDir, id);
  const status = readStatus(dir);
  assert.equal(status.state, 'finished');
  assert.equal(status.backend, 'webgpu');
  for (const f of ['experiment.json', 'metrics.jsonl', 'results.json', 'samples.json', 'samples-validation.json', 'model/model.json', 'model/weights.bin', 'checkpoint/model.json']) {
    assert.ok(fs.existsSync(path.join(dir, f)), f);
  }
  const [epoch] = readMetrics(dir).metrics;
  assert.ok(Number.isFinite(epoch.loss) && epoch.loss > 0, `epoch loss ${epoch.loss}`);
  const results = readResults(dir);
  assert.equal(results.backend, 'webgpu');
  assert.equal(results.timing?.backend, 'webgpu');
  assert.equal(results.hard.rows.length, 3);

  const e = early(['eval', dir, '--json']);
  assert.equal(e.code, 0, e.all);
  assert.deepEqual(JSON.parse(e.stdout).table.rows.map((r: { position: string }) => r.position), results.hard.rows.map((r) => r.position));
  const m = early(['eval', dir, '--measure']);
  assert.equal(m.code, 0, m.all);
  assert.match(m.stdout, /batch-1 latency: full \d+\.\d+ ms, hard exits \d+\.\d+ ms → ×\d+\.\d+ \(-?\d+ % time saved\) on webgpu/);
  const html = path.join(tmp, 'report.html');
  const r = early(['report', dir, '-o', html]);
  assert.equal(r.code, 0, r.all);
  assert.ok(fs.readFileSync(html, 'utf8').includes(id), 'the report names the run');
  const panel = readRunData(dir);
  assert.deepEqual(panel.problems, []);
  assert.equal(panel.results?.backend, 'webgpu');
  assert.equal(panel.samples?.count, 32);
});

test('early-exit doctor lists every backend with its reason; auto never takes a software WebGPU adapter', () => {
  const d = early(['doctor', '--json']);
  assert.equal(d.code, 0, d.all);
  const report = JSON.parse(d.stdout);
  assert.deepEqual(report.tfjs.backends.map((b: { kind: string }) => b.kind), ['gpu', 'webgpu', 'native-cpu', 'wasm', 'cpu']);
  const webgpu = report.tfjs.backends.find((b: { kind: string }) => b.kind === 'webgpu');
  assert.equal(webgpu.available, true, `webgpu: ${webgpu.detail}`);
  assert.equal(typeof webgpu.adapter.description, 'string');
  if (webgpu.adapter.software) {
    assert.equal(webgpu.auto, false);
    assert.notEqual(report.tfjs.auto.kind, 'webgpu');
    assert.match(report.tfjs.auto.description, /skipped .*webgpu: software adapter/);
  } else {
    assert.equal(webgpu.auto, true);
  }
  const text = early(['doctor']);
  assert.equal(text.code, 0, text.all);
  assert.match(text.stdout, /^ {2}webgpu +(yes|by name only) +webgpu \(tfjs's own kernels/m);
  assert.match(text.stdout, /WebGPU adapter \(Dawn over \w+\): vendor "/);
  if (process.platform === 'linux') assert.match(text.stdout, /Vulkan: loader libvulkan\.so\.1 (yes|no); drivers \(ICD files\): /);
});

test('a kernel the device rejects ends the process with the device\'s message instead of computing zeros', () => {
  // tfjs's webgpu AddN binds every input as a storage buffer: ten inputs exceed the device's 8
  const script = `
    const tf = require('@tensorflow/tfjs');
    const { selectBackend } = require(${JSON.stringify(path.join(ROOT, 'src/accel/backend.ts'))});
    selectBackend('webgpu').then(async () => {
      const s = tf.addN(Array.from({ length: 10 }, (_, i) => tf.fill([100], i)));
      console.log('sum', (await s.data())[0]);
      await new Promise((r) => setTimeout(r, 2000));
      console.log('still running');
    });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.notEqual(r.status, 0, `the process went on: ${r.stdout}`);
  assert.doesNotMatch(r.stdout, /still running/);
  assert.match(r.stderr, /webgpu: the device rejected a kernel: The number of storage buffers \(11\) in the Compute stage exceeds the maximum per-stage limit \(8\)/);
});
