import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { selectBackend } from '../../../src/accel/backend';
import { CONV_INTERLEAVE } from '../../../src/accel/conv2d-grad';
import { ADAM_UPDATE } from '../../../src/accel/fused-adam';
import { POOL_SPIN_LOOPS, bundleRequires, nodeWorkerScript, shortenPoolSpin, standaloneFactory, wantedWasmThreads } from '../../../src/accel/wasm-threads';
import { FIXTURES } from '../../paths';

const CHILD = path.join(FIXTURES, 'wasm-threads-child.ts');

interface ChildResult { description: string; threads: number; simdThreads: number; losses: number[]; weights: number[][]; large: Record<'adam' | 'dx', { sha256: string; absSum: number }>; largeKernels: string[] }

/** Runs the child; it must print its line and exit by itself (pool threads do not hold it). */
function child(env: Record<string, string>): ChildResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.error, undefined, `child did not exit on its own: ${r.error?.message}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

test('EARLY_EXIT_WASM_THREADS picks the thread count; a bad value names the variable', async () => {
  assert.equal(wantedWasmThreads({ EARLY_EXIT_WASM_THREADS: '1' }), 1);
  assert.equal(wantedWasmThreads({ EARLY_EXIT_WASM_THREADS: '3' }), 3);
  assert.equal(wantedWasmThreads({ EARLY_EXIT_WASM_THREADS: '64' }), 8, 'capped at the 8 workers tfjs pre-creates');
  assert.ok(wantedWasmThreads({}) >= 1);
  assert.throws(() => wantedWasmThreads({ EARLY_EXIT_WASM_THREADS: 'two' }), /EARLY_EXIT_WASM_THREADS: expected a whole number ≥ 1, got "two"/);
  assert.throws(() => wantedWasmThreads({ EARLY_EXIT_WASM_THREADS: '0' }), /EARLY_EXIT_WASM_THREADS/);
  // a bad value stops backend selection instead of making `auto` skip wasm for the slow cpu backend
  const saved = process.env.EARLY_EXIT_WASM_THREADS;
  process.env.EARLY_EXIT_WASM_THREADS = 'two';
  try {
    await assert.rejects(selectBackend('auto'), /EARLY_EXIT_WASM_THREADS: expected a whole number/);
  } finally {
    if (saved === undefined) delete process.env.EARLY_EXIT_WASM_THREADS; else process.env.EARLY_EXIT_WASM_THREADS = saved;
  }
});

test('the installed tfjs bundle has what the threaded-wasm workaround rewrites', () => {
  const bundle = fs.readFileSync(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js'), 'utf8');
  const requires = bundleRequires(bundle);
  assert.equal(requires.get('require$$0'), 'fs');
  assert.equal(requires.get('require$$4'), 'os');
  const factory = standaloneFactory('var WasmBackendModuleThreadedSimd = function(){ return [require$$0.existsSync, require$$4.cpus]; }', requires);
  assert.match(factory, /^var require\$\$0=require\("fs"\),require\$\$4=require\("os"\),commonjsGlobal=globalThis;\n/);
  assert.throws(() => standaloneFactory('require$$9.x', requires), /uses require\$\$9, which the tfjs bundle does not define/);
  // the worker script is a JSON-escaped string in the bundle: decode it and rewrite it
  const m = /var wasmWorkerContents = ("(?:[^"\\]|\\.)*");/.exec(bundle);
  assert.ok(m, 'wasmWorkerContents not found in the bundle');
  const worker = nodeWorkerScript(JSON.parse(m[1]) as string, '/tmp/factory.js');
  assert.match(worker, /importScripts\("\/tmp\/factory\.js"\);WasmBackendModuleThreadedSimd\(Module\)/);
  assert.throws(() => nodeWorkerScript('self.onmessage=()=>{}', '/x'), /not the one this workaround knows/);
  // the threaded binary's pthreadpool spin counters: 1 000 000 → 1 000, nothing else changed
  const binary = fs.readFileSync(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm'));
  const short = shortenPoolSpin(binary);
  assert.equal(short.length, binary.length);
  const changed = [...short].reduce((n, b, i) => n + (b !== binary[i] ? 1 : 0), 0);
  assert.equal(changed, POOL_SPIN_LOOPS * 3, 'three LEB128 bytes per counter');
  assert.ok(new (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }).WebAssembly.Module(short), 'still valid WebAssembly');
  assert.throws(() => shortenPoolSpin(short), /expected 3 pthreadpool spin loops .* found 0/);
});

test('wasm on two threads trains like one thread, reports its threads, and the process exits by itself', () => {
  const two = child({ EARLY_EXIT_WASM_THREADS: '2' });
  const one = child({ EARLY_EXIT_WASM_THREADS: '1' });
  assert.match(two.description, /^wasm \(XNNPACK, SIMD, 2 threads\)$/);
  assert.equal(two.threads, 2);
  assert.equal(two.simdThreads, 2, 'our SIMD kernels split their work with one helper thread');
  assert.equal(one.simdThreads, 1);
  assert.match(one.description, /^wasm \(XNNPACK, SIMD, single thread\)$/);
  assert.equal(one.threads, 1);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(two.losses[i] - one.losses[i]) < 1e-4 * Math.abs(one.losses[i]), `loss ${i}: ${two.losses[i]} vs ${one.losses[i]}`);
  assert.ok(two.losses[2] < two.losses[0], `training lowers the loss: ${two.losses}`);
  let worst = 0;
  two.weights.forEach((w, i) => w.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - one.weights[i][j])); }));
  assert.ok(worst < 1e-4, `weights after 3 steps differ by ${worst}`);
  // element-wise kernels split by range: the same numbers, whichever thread computed them
  for (const c of [one, two]) for (const k of [ADAM_UPDATE, CONV_INTERLEAVE]) assert.ok(c.largeKernels.includes(k), `${k} ran (kernels: ${c.largeKernels})`);
  for (const k of ['adam', 'dx'] as const) {
    assert.ok(one.large[k].absSum > 1000, `${k}: non-trivial output (Σ|·| = ${one.large[k].absSum})`);
    assert.deepEqual(two.large[k], one.large[k], `${k}: split between two threads, bit for bit the same as one thread`);
  }
});

test('every SIMD kernel that splits its work, on a shape that splits between two threads, matches its float64 reference', () => {
  const run = (threads: string) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'simd-split-child.ts')], { env: { ...process.env, EARLY_EXIT_WASM_THREADS: threads }, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { description: string; threads: number; errors: Record<string, number>; pieces: Record<string, number> };
  };
  const two = run('2');
  assert.equal(two.threads, 2, two.description);
  // filter gradient, strided input gradient, Adam, batch norm forward (moments, affine) and backward, max-pool gradient
  assert.deepEqual(two.pieces, { convFilterGrad: 2, interleave: 2, adam: 2, moments: 2, affine: 2, gradSums: 2, gradApply: 2, maxPoolGrad: 2 }, 'each call split in two');
  for (const [kernel, e] of Object.entries(two.errors)) assert.ok(e < (kernel === 'maxPoolGrad' ? 1e-7 : 2e-4), `${kernel}: relative error ${e} against float64 on two threads`);
  assert.deepEqual(Object.keys(two.errors).sort(), ['adam', 'batchNorm', 'batchNormGrad', 'convFilterGrad', 'interleave', 'maxPoolGrad']);
  // the same kernels on one thread: the reference check does not depend on the split
  const one = run('1');
  assert.ok(Object.values(one.pieces).every((p) => p === 1), JSON.stringify(one.pieces));
  for (const [kernel, e] of Object.entries(one.errors)) assert.ok(e < (kernel === 'maxPoolGrad' ? 1e-7 : 2e-4), `${kernel}: relative error ${e} on one thread`);
});

test('a failing helper thread of our SIMD kernels is dropped and its share redone: same training, no hang', () => {
  const broken = child({ EARLY_EXIT_WASM_THREADS: '2', EARLY_EXIT_FAULT: 'simd-helper-throws' });
  const one = child({ EARLY_EXIT_WASM_THREADS: '1' });
  assert.equal(broken.threads, 2, 'XNNPACK keeps its threads');
  assert.equal(broken.simdThreads, 1, 'the helper was dropped after its first failed job');
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(broken.losses[i] - one.losses[i]) < 1e-4 * Math.abs(one.losses[i]), `loss ${i}: ${broken.losses[i]} vs ${one.losses[i]}`);
});

test('when the threaded binary cannot be used, wasm falls back to one thread and says why', () => {
  const noBundle = child({ EARLY_EXIT_WASM_THREADS: '2', WASM_CHILD_FAULT: 'bundle' });
  assert.match(noBundle.description, /single thread \(threads unavailable: ENOENT.*tf-backend-wasm\.node\.js/);
  assert.equal(noBundle.threads, 1);
  const oneThread = child({ EARLY_EXIT_WASM_THREADS: '2', WASM_CHILD_FAULT: 'count' });
  assert.match(oneThread.description, /single thread \(the threaded binary came up with 1 thread\(s\)\)/);
  assert.equal(oneThread.threads, 1);
  assert.ok(oneThread.losses.every(Number.isFinite) && oneThread.losses[2] < oneThread.losses[0], `the re-initialised backend trains: ${oneThread.losses}`);
});

test('an uncaught error after the wasm backend starts is reported as itself, not with the wasm glue source', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, EARLY_EXIT_WASM_THREADS: '2', WASM_CHILD_FAULT: 'throw' }, encoding: 'utf8', timeout: 120_000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /deliberate failure after backend selection/);
  assert.ok(r.stderr.length < 4000, `stderr is ${r.stderr.length} characters: ${r.stderr.slice(0, 300)}`);
  assert.doesNotMatch(r.stderr, /GROWABLE_HEAP/);
});
