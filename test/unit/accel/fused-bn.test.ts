import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { BN_TRAIN, BN_TRAIN_GRAD, batchNormActivation, fusedBatchNormAvailable, installFusedBatchNorm } from '../../../src/accel/fused-bn';
import { installZeroCopyIdentity } from '../../../src/accel/identity-kernel';
import { wasmSimd, wasmSimdUnavailable } from '../../../src/accel/wasm-simd';
import { wasmBackend, type WasmBackendLike } from '../../../src/accel/tfjs-internals';
import { generated, outputFile, watFiles } from '../../../scripts/build-wasm';
import { readFileSync } from 'node:fs';
import { batchNormReference, maxRelError } from '../../fixtures/float64-references';

const EPS = 1e-5;

// C % 4 = 0 runs the SIMD passes on wasm, the others the JavaScript loops; [9, 1, 1, 8]: one row per image
const SHAPES: [number, number, number, number][] = [[4, 6, 5, 3], [2, 8, 8, 16], [9, 1, 1, 8], [3, 5, 7, 12], [2, 130, 1, 4]];

async function check(backend: string, fused: boolean): Promise<void> {
  await tf.setBackend(backend);
  installFusedBatchNorm();
  if (!fused) tf.unregisterKernel(BN_TRAIN, backend);
  try {
    assert.equal(fusedBatchNormAvailable(), fused);
    for (const [si, s] of SHAPES.entries()) {
      for (const [relu, residual, offset] of [[false, false, 0], [true, false, 0], [true, true, 0], [false, true, 0], [true, false, 1000]] as const) {
        const C = s[3], what = `${backend}${fused ? '' : ' (tfjs ops)'} [${s}] relu=${relu} residual=${residual} mean≈${offset}`;
        const seed = 100 * si + (relu ? 10 : 0) + (residual ? 5 : 0);
        const x = tf.randomNormal(s, offset + 0.3, 2, 'float32', seed) as tf.Tensor4D;
        const z = residual ? tf.randomNormal(s, 0, 1, 'float32', seed + 1) as tf.Tensor4D : null;
        const gamma = tf.randomNormal([C], 1, 0.5, 'float32', seed + 2) as tf.Tensor1D;
        const beta = tf.randomNormal([C], 0, 1, 'float32', seed + 3) as tf.Tensor1D;
        const r = tf.randomNormal(s, 0, 1, 'float32', seed + 4) as tf.Tensor4D;
        const ref = batchNormReference(await x.data() as Float32Array, z ? await z.data() as Float32Array : null, await r.data() as Float32Array,
          await gamma.data() as Float32Array, await beta.data() as Float32Array, C, relu, EPS);
        const before = tf.memory().numTensors;
        let moments: tf.Tensor1D[] = [];
        const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, zz?: tf.Tensor) => batchNormActivation(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, EPS, {
          relu, residual: zz as tf.Tensor4D | undefined, onMoments: (m, v) => { tf.dispose(moments); moments = [m, v]; },
        });
        const y = f(x, gamma, beta, z ?? undefined);
        const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, zz?: tf.Tensor) => tf.sum(tf.mul(f(a, g, b, zz), r)))(z ? [x, gamma, beta, z] : [x, gamma, beta]);
        const pairs: [tf.Tensor, ArrayLike<number>, string][] = [[y, ref.y, 'y'], [moments[0], ref.mean, 'mean'], [moments[1], ref.variance, 'variance'],
          [grads[0], ref.dx, 'dx'], [grads[1], ref.dgamma, 'dγ'], [grads[2], ref.dbeta, 'dβ']];
        if (z) pairs.push([grads[3], ref.dz, 'dz']);
        for (const [t, want, name] of pairs) {
          const e = maxRelError(await t.data() as Float32Array, want);
          // float32 data around a mean of 1000 keep ~4 significant digits of x − μ
          assert.ok(e < (offset ? 5e-3 : 2e-4), `${what} ${name}: max relative error ${e}`);
        }
        tf.dispose([y, ...grads, ...moments]);
        assert.equal(tf.memory().numTensors, before, `${what}: no tensors left behind`);
        tf.dispose([x, gamma, beta, r, ...(z ? [z] : [])]);
      }
    }
  } finally {
    if (!fused) tf.registerKernel({ ...tf.getKernel(BN_TRAIN, backend === 'cpu' ? 'wasm' : 'cpu')!, backendName: backend });
  }
}

for (const backend of ['cpu', 'wasm']) {
  test(`fused batch norm (+ residual, + ReLU): output, moments and gradients match a float64 reference (${backend})`, () => check(backend, true));
  test(`tfjs-op fallback of the fused batch norm matches the same reference (${backend})`, () => check(backend, false));
}

test('fused batch norm on wasm: one kernel forward, one backward (SIMD passes for C % 4 = 0)', async () => {
  await tf.setBackend('wasm');
  installFusedBatchNorm();
  assert.ok(wasmSimd(wasmBackend(tf.backend())), 'simd.wat instantiates on the backend memory');
  const x = tf.randomNormal([8, 4, 4, 16]) as tf.Tensor4D, z = tf.randomNormal([8, 4, 4, 16]) as tf.Tensor4D;
  const g = tf.ones([16]) as tf.Tensor1D, b = tf.zeros([16]) as tf.Tensor1D;
  const info = await tf.profile(() => tf.grads((a: tf.Tensor, zz: tf.Tensor) => tf.sum(batchNormActivation(a as tf.Tensor4D, g, b, EPS, { relu: true, residual: zz as tf.Tensor4D })))([x, z]));
  const names = info.kernelNames.filter((k) => k.startsWith('EarlyExit'));
  assert.deepEqual(names.sort(), [BN_TRAIN, BN_TRAIN_GRAD].sort());
  assert.ok(!info.kernelNames.includes('Relu') && !info.kernelNames.includes('Add'), `no separate ReLU or add: ${info.kernelNames.join(',')}`);
  tf.dispose([x, z, g, b, ...info.result as tf.Tensor[]]);
});

test('zero-copy Identity on wasm: a clone shares the data and outlives its source; memory is freed with the last reference', async () => {
  await tf.setBackend('wasm');
  installZeroCopyIdentity();
  const bytes0 = tf.memory().numBytes;
  const x = tf.tensor1d([1, 2, 3, 4]);
  const c = tf.clone(x);
  assert.equal(c.dataId, x.dataId, 'shares the data id');
  x.dispose();
  assert.deepEqual(Array.from(await c.data()), [1, 2, 3, 4]);
  const y = tf.add(c, 1); // a new tensor never writes into the shared data
  assert.deepEqual(Array.from(await c.data()), [1, 2, 3, 4]);
  tf.dispose([c, y]);
  assert.equal(tf.memory().numBytes, bytes0);
  const s = tf.clone(tf.tensor1d(['a', 'b'], 'string'));
  assert.deepEqual(await s.data(), ['a', 'b']);
  s.dispose();
});

test('the committed kernel bytes are simd.wat compiled (else: npm run build:wasm)', async () => {
  const files = watFiles();
  assert.ok(files.length > 0);
  for (const f of files) assert.equal(readFileSync(outputFile(f), 'utf8'), await generated(f), `${outputFile(f)} is stale`);
});

test('without a reachable wasm memory our SIMD kernels stand down and say why (the tfjs-op versions run)', () => {
  const backend = { wasm: { _malloc: () => 0, _free: () => undefined } } as unknown as WasmBackendLike;
  assert.equal(wasmSimd(backend), null);
  assert.equal(wasmSimdUnavailable(backend), "tfjs's wasm memory is not reachable");
});
