import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ADAM_UPDATE, EarlyExitAdam, installFusedAdam } from '../../../src/accel/fused-adam';
import { simdKernelReady } from '../../../src/accel/wasm-simd';

// sizes: whole vectors, a 1–3 element tail, a scalar-sized one, and one large enough to be split
const SHAPES: number[][] = [[3, 3, 8, 8], [7], [1], [5, 3], [300, 250]];

/** Variables `prefix/i` with fixed random values. */
function variables(prefix: string): tf.Variable[] {
  return SHAPES.map((s, i) => tf.tidy(() => tf.variable(tf.randomNormal(s, 0, 1, 'float32', 100 + i), true, `${prefix}/${i}`)));
}

/** Gradients of step `step` for those variables, by name (the same numbers whatever the prefix). */
function gradients(vars: tf.Variable[], step: number): tf.NamedTensorMap {
  // a wide spread of magnitudes (incl. exact zeros) exercises the division and the square root;
  // seeds start at 1 (tfjs draws a random seed for 0)
  return Object.fromEntries(vars.map((v, i) => [v.name, tf.tidy(() => tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 10 * step + i + 1), tf.pow(10, tf.randomUniform(v.shape, -4, 2, 'float32', 7 * step + i + 1)).round().mul(0.01)))]));
}

async function values(vars: tf.Variable[]): Promise<Float32Array[]> {
  return Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
}

function assertBitwiseEqual(got: Float32Array[], want: Float32Array[], what: string): void {
  got.forEach((g, i) => {
    for (let j = 0; j < g.length; j++) {
      if (!Object.is(g[j], want[i][j])) assert.fail(`${what}: variable ${i} element ${j}: ${g[j]} vs tfjs ${want[i][j]}`);
    }
  });
}

/** Runs `steps` Adam steps with `opt` on fresh variables; returns their values after each step. */
async function train(opt: tf.Optimizer, prefix: string, steps: number, lrs: number[]): Promise<{ vars: tf.Variable[]; after: Float32Array[][] }> {
  const vars = variables(prefix);
  const after: Float32Array[][] = [];
  for (let s = 0; s < steps; s++) {
    (opt as unknown as { learningRate: number }).learningRate = lrs[s % lrs.length];
    const g = gradients(vars, s);
    // both forms tfjs passes: a map (minimize without a variable list) and an array (with one)
    opt.applyGradients(s % 2 ? vars.map((v) => ({ name: v.name, tensor: g[v.name] })) : g);
    tf.dispose(Object.values(g));
    after.push(await values(vars));
  }
  return { vars, after };
}

test('wasm: the one-kernel Adam update is bit for bit tfjs\'s AdamOptimizer, step after step', async () => {
  await tf.setBackend('wasm');
  installFusedAdam();
  assert.ok(simdKernelReady(ADAM_UPDATE), 'the Adam kernel runs on wasm here');
  const lrs = [1e-3, 3e-2, 1e-4]; // the schedule changes the rate between steps
  const ref = await train(tf.train.adam(1e-3), 'ref', 4, lrs);
  const init = await values(variables('init'));
  const before = tf.memory().numTensors;
  const opt = new EarlyExitAdam(1e-3);
  const ours = await train(opt, 'ours', 4, lrs);
  ours.after.forEach((a, s) => assertBitwiseEqual(a, ref.after[s], `step ${s + 1}`));
  // the variables moved (a test that compared two untouched copies would pass too)
  assert.ok(ours.after[3][0].some((x, j) => x !== init[0][j]));
  // the one kernel ran, for both forms (a fall-back to tfjs's update would pass the comparison above too)
  for (const form of ['map', 'array']) {
    const g = gradients(ours.vars, 9);
    const info = await tf.profile(() => opt.applyGradients(form === 'map' ? g : ours.vars.map((v) => ({ name: v.name, tensor: g[v.name] }))));
    assert.deepEqual(info.kernelNames.filter((n) => n !== 'Identity'), [ADAM_UPDATE], `${form}: one kernel per variable, not tfjs's ~14`);
    assert.equal(info.kernels.length, SHAPES.length, form);
    tf.dispose(Object.values(g));
  }
  // only the variables, their two moments and β1^t, β2^t stay: nothing leaks per step
  assert.equal(tf.memory().numTensors - before, 3 * SHAPES.length + 2);
  tf.dispose([...ref.vars, ...ours.vars]);
  tf.disposeVariables();
});

test('wasm: a checkpointed EarlyExitAdam resumes as tfjs\'s Adam does', async () => {
  await tf.setBackend('wasm');
  installFusedAdam();
  const step = (opt: tf.Optimizer, vars: tf.Variable[], s: number) => {
    const g = gradients(vars, s);
    opt.applyGradients(g);
    tf.dispose(Object.values(g));
  };
  /** Two steps, then save and resume in a fresh optimiser as the worker does (getWeights / setWeights), then two more. */
  const run = async (make: () => tf.AdamOptimizer, prefix: string) => {
    const vars = variables(prefix);
    const first = make();
    for (let s = 0; s < 2; s++) step(first, vars, s);
    const saved = await first.getWeights();
    const resumed = make();
    await resumed.setWeights(saved.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) })));
    assert.equal(resumed.iterations, 2);
    for (let s = 2; s < 4; s++) step(resumed, vars, s);
    return values(vars);
  };
  // tfjs recomputes β^t as a power on resume (not the running product): the same for both
  assertBitwiseEqual(await run(() => new EarlyExitAdam(1e-3), 'o'), await run(() => tf.train.adam(1e-3), 'r'), 'after resuming');
  tf.disposeVariables();
});

test('cpu: EarlyExitAdam is tfjs\'s AdamOptimizer (no kernel there)', async () => {
  await tf.setBackend('cpu');
  assert.equal(simdKernelReady(ADAM_UPDATE), false);
  const ref = await train(tf.train.adam(1e-2), 'cref', 2, [1e-2]);
  const ours = await train(new EarlyExitAdam(1e-2), 'cours', 2, [1e-2]);
  assertBitwiseEqual(ours.after[1], ref.after[1], 'cpu');
  tf.disposeVariables();
});
