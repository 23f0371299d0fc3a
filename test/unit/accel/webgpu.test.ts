/**
 * The webgpu backend (tfjs-backend-webgpu on Dawn) on whatever adapter this machine has: in CI
 * that is Mesa's software Vulkan driver (llvmpipe; `npm run test:install`). These tests do not
 * skip: where Dawn finds no adapter they fail with the reason selectBackend gives.
 *
 * Tiny networks and batches: a software adapter runs every kernel on the CPU through Vulkan.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice } from '../../../src/accel/backend';
import { BN_TRAIN } from '../../../src/accel/fused-bn';
import { ACCEL_PARTS } from '../../../src/spec/accel-parts';
import { explainNoAdapter, missingLimits, softwareAdapterReason, type AdapterLike, type DawnModule } from '../../../src/accel/webgpu';
import { collectRecords, measureTiming, type BatchSource } from '../../../src/engine/tfjs/evaluate';
import { ExitEvaluator } from '../../../src/engine/tfjs/exit-evaluator';
import { methodLoss } from '../../../src/engine/tfjs/loss';
import { MultiExitNetwork, type NetworkConfig } from '../../../src/engine/tfjs/network';
import { createOptimizer } from '../../../src/engine/tfjs/optimizer';
import { exitAssignments } from '../../../src/spec/analysis';
import { methodConfig, type MethodConfig } from '../../../src/spec/method';

const realRequire = createRequire(__filename);

/** A require that answers `webgpu` with a fake Dawn whose only adapter is `adapter`. */
function fakeDawn(adapter: AdapterLike | null): NodeRequire {
  const dawn: DawnModule = { create: () => ({ requestAdapter: async () => adapter }), globals: {} };
  return Object.assign((id: string) => (id === 'webgpu' ? dawn : realRequire(id)), realRequire);
}

const CORE_LIMITS = { maxStorageBuffersPerShaderStage: 8, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 16384 };
const adapter = (info: Partial<AdapterLike['info']>, limits: Record<string, number> = CORE_LIMITS): AdapterLike => ({
  info: { vendor: '', architecture: '', device: '', description: '', isFallbackAdapter: false, ...info }, features: { has: () => true }, limits,
});

test('webgpu: why an adapter is refused — none, software (auto only), below the core limits — and the tfjs state is left as it was', async () => {
  await tf.setBackend('cpu');
  const gpuGlobals = () => Object.keys(globalThis).filter((k) => k.startsWith('GPU'));
  await assert.rejects(selectBackend('webgpu', fakeDawn(null)), /backend "webgpu" is not available: no WebGPU adapter/);
  const llvmpipe = adapter({ vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)', isFallbackAdapter: true });
  const auto = await selectBackend('auto', Object.assign((id: string) => {
    if (id.startsWith('@tensorflow/tfjs-node')) { const e = new Error(`Cannot find module '${id}'`) as NodeJS.ErrnoException; e.code = 'MODULE_NOT_FOUND'; throw e; }
    return fakeDawn(llvmpipe)(id);
  }, realRequire));
  assert.equal(auto.kind, 'wasm');
  const skip = auto.skipped.find((s) => s.kind === 'webgpu');
  assert.match(skip?.reason ?? '', /^software adapter \(llvmpipe\): mesa software, llvmpipe: Mesa 25\.0\.7 \(LLVM 15\.0\.6\) — auto never picks one/);
  const compat = adapter({ vendor: 'qualcomm', description: 'Adreno (OpenGL ES)' }, { ...CORE_LIMITS, maxStorageBuffersPerShaderStage: 4 });
  await assert.rejects(selectBackend('webgpu', fakeDawn(compat)), /missing feature: qualcomm, Adreno \(OpenGL ES\) is below WebGPU's core limits \(maxStorageBuffersPerShaderStage 4 < 8;/);
  assert.equal((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu, undefined, 'no navigator.gpu left behind');
  assert.deepEqual(gpuGlobals(), [], 'no WebGPU globals left behind');
  assert.equal(tf.findBackendFactory('webgpu'), null, 'tfjs-backend-webgpu was not imported for a refused adapter');
});

test('webgpu: software adapters are recognised by name, fallback flag or architecture; a hardware one is not', () => {
  assert.match(softwareAdapterReason({ vendor: 'google', architecture: '', device: '', description: 'SwiftShader Device (Subzero)' })!, /software adapter \(SwiftShader\)/);
  assert.match(softwareAdapterReason({ vendor: 'microsoft', architecture: '', device: '', description: 'Microsoft Basic Render Driver' })!, /software/);
  assert.match(softwareAdapterReason({ vendor: 'x', architecture: 'y', device: '', description: '', isFallbackAdapter: true })!, /fallback adapter/);
  assert.match(softwareAdapterReason({ vendor: 'mesa', architecture: 'cpu', device: '', description: '' })!, /architecture "cpu"/);
  assert.equal(softwareAdapterReason({ vendor: 'nvidia', architecture: 'hopper', device: '0x2335', description: 'NVIDIA H200' }), null);
  assert.equal(softwareAdapterReason({ vendor: 'amd', architecture: 'rdna-3', device: '', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' }), null);
  assert.deepEqual(missingLimits({ limits: CORE_LIMITS }), []);
  assert.deepEqual(missingLimits({ limits: { ...CORE_LIMITS, maxComputeWorkgroupStorageSize: 8192 } }), ['maxComputeWorkgroupStorageSize 8192 < 16384']);
});

test('webgpu: no adapter is explained from the Vulkan loader and drivers the machine has', () => {
  const vk = (loader: boolean, icds: string[]) => () => ({ loader, icds, nvidiaIcd: false, libGLXNvidia: false });
  assert.match(explainNoAdapter('linux', vk(false, [])), /Vulkan loader libvulkan\.so\.1 is not installed \(Debian\/Ubuntu: libvulkan1\)/);
  assert.match(explainNoAdapter('linux', vk(true, [])), /no Vulkan driver is installed \(no ICD file in \/usr\/share\/vulkan\/icd\.d/);
  assert.match(explainNoAdapter('linux', vk(true, ['/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'])), /accepted none of the Vulkan drivers installed \(lvp_icd\.x86_64\.json\).*shaderUniform\*ArrayDynamicIndexing/);
  assert.match(explainNoAdapter('darwin'), /no Metal device/);
  assert.match(explainNoAdapter('win32'), /no D3D12 adapter/);
});

/** The webgpu backend on this machine's adapter; fails (not skips) with selectBackend's reason where there is none. */
async function useWebgpu(): Promise<BackendChoice> {
  const c = await selectBackend('webgpu');
  assert.equal(tf.getBackend(), 'webgpu');
  return c;
}

const NET: NetworkConfig = {
  backbone: { name: 'resnet18', width: 1 / 32, input: [16, 16, 3], classes: 4 }, gated: true, seed: 5,
  exits: [{ point: 'block2', head: { kind: 'pool' }, gate: { hidden: 0 } }, { point: 'block5', head: { kind: 'pool' }, gate: { hidden: 0 } }],
};
const METHOD: MethodConfig = methodConfig({ name: 'proposed', lambda: 0.1, exitLossWeight: 0.5 });

/** Everything one training step of the product computes, read back: outputs, loss, gradients, weights after one Adam step. */
async function oneStep(x0: Float32Array, labels: number[]): Promise<Record<string, Float32Array>> {
  const net = new MultiExitNetwork(NET);
  const n = labels.length;
  const x = tf.tensor4d(x0, [n, ...NET.backbone.input]);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), NET.backbone.classes).toFloat() as tf.Tensor2D;
  const out: Record<string, Float32Array> = {};
  const vars = net.trainableVariables();
  const nameOf = new Map([...net.vars].map(([name, v]) => [v, name])); // tfjs makes variable names unique per process
  for (const v of vars) out[`init ${nameOf.get(v)}`] = await v.data() as Float32Array;
  const o = net.forward(x, false);
  out.exit0 = await o.exitLogits[0].data() as Float32Array;
  out.exit1 = await o.exitLogits[1].data() as Float32Array;
  out.gates = Float32Array.from([...await o.gates[0].data(), ...await o.gates[1].data()]);
  out.final = await o.finalLogits.data() as Float32Array;
  tf.dispose([o.exitLogits, o.gates, o.finalLogits]);
  const { value, grads } = tf.variableGrads(() => methodLoss(net, METHOD, x, y, 5e-4).loss, vars);
  out.loss = await value.data() as Float32Array;
  for (const v of vars) out[`grad ${nameOf.get(v)}`] = await grads[v.name].data() as Float32Array;
  tf.dispose([value, Object.values(grads)]);
  const optimizer = createOptimizer({ optimizer: 'adam', lr: 0.01, momentum: 0.9 });
  const bn: Parameters<MultiExitNetwork['forward']>[2] = [];
  tf.dispose(optimizer.minimize(() => methodLoss(net, METHOD, x, y, 5e-4, bn).loss, true, vars) ?? []);
  net.applyBatchNormUpdates(bn);
  for (const [name, v] of net.vars) out[`after ${name}`] = await v.data() as Float32Array;
  optimizer.dispose();
  tf.dispose([x, y]);
  net.dispose();
  return out;
}

const maxAbs = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const norm = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));

test('webgpu: from the same weights and batch, outputs, loss, gradients and one Adam step agree with wasm (with our kernels)', async () => {
  const n = 6;
  const x0 = tf.tidy(() => tf.randomNormal([n, ...NET.backbone.input], 0, 1, 'float32', 17).dataSync() as Float32Array);
  const labels = [0, 1, 2, 3, 1, 2];
  const wasm = await selectBackend('wasm');
  assert.equal(wasm.stock.has('conv-grad'), false, 'the reference runs our replaced gradients and kernels');
  const ref = await oneStep(x0, labels);
  await useWebgpu();
  const got = await oneStep(x0, labels);
  assert.deepEqual(Object.keys(got), Object.keys(ref));
  for (const k of Object.keys(ref).filter((k) => k.startsWith('init '))) assert.deepEqual(got[k], ref[k], `${k}: the same seed gives the same initial weights`);
  for (const k of ['exit0', 'exit1', 'gates', 'final']) assert.ok(maxAbs(got[k], ref[k]) < 1e-4, `${k}: ${maxAbs(got[k], ref[k])}`);
  assert.ok(Math.abs(got.loss[0] - ref.loss[0]) < 1e-5 * Math.abs(ref.loss[0]) + 1e-6, `loss ${got.loss[0]} vs ${ref.loss[0]}`);
  for (const k of Object.keys(ref).filter((k) => k.startsWith('grad '))) {
    const rel = norm(got[k].map((v, i) => v - ref[k][i])) / (norm(ref[k]) + 1e-12);
    assert.ok(rel < 1e-4, `${k}: relative difference ${rel}`);
  }
  // Adam's first step is ±lr wherever |g| ≫ ε: a weight moves by 0.01, so 5e-5 means the same step
  for (const k of Object.keys(ref).filter((k) => k.startsWith('after '))) assert.ok(maxAbs(got[k], ref[k]) < 5e-5, `${k}: ${maxAbs(got[k], ref[k])}`);
});

test("webgpu gets tfjs's own gradients and kernels, also after wasm installed ours in the same process", async () => {
  const x = tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 4, 8], 0, 0.3, 'float32', 4) as tf.Tensor4D;
  const kernelsOfGradient = async () => {
    const info = await tf.profile(() => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, w]);
      return g;
    });
    return new Set(info.kernelNames);
  };
  await selectBackend('wasm');
  const onWasm = await kernelsOfGradient();
  assert.ok(!onWasm.has('Conv2DBackpropFilter'), `wasm runs our Conv2D gradient, not tfjs's: ${[...onWasm]}`);
  assert.ok(tf.getKernel(BN_TRAIN, 'wasm'), 'our fused batch-norm kernel is registered on wasm');
  const c = await useWebgpu();
  const onWebgpu = await kernelsOfGradient();
  assert.ok(onWebgpu.has('Conv2DBackpropFilter') && onWebgpu.has('Conv2DBackpropInput'), `webgpu runs tfjs's Conv2D gradient: ${[...onWebgpu]}`);
  assert.equal(tf.getKernel(BN_TRAIN, 'webgpu'), undefined, 'none of our kernels is registered on webgpu');
  assert.deepEqual([...c.stock.keys()].sort(), [...ACCEL_PARTS].sort());
  for (const why of c.stock.values()) assert.equal(why, 'not used on this backend');
  assert.match(c.description, /^webgpu \(tfjs's own kernels, Dawn over (Vulkan|Metal|D3D12): /);
  assert.ok(c.adapter, 'the adapter is reported');
  tf.dispose([x, w]);
});

test('webgpu: hard exits skip the rows that left (rows per block, MACs) and agree with the records', async () => {
  await useWebgpu();
  const net = new MultiExitNetwork(NET);
  const x = tf.randomNormal([16, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const data: BatchSource = { count: 16, labels: Array.from({ length: 16 }, (_, i) => i % 4), batch: (s, k) => tf.slice(x, [s, 0, 0, 0], [k, -1, -1, -1]) };
  const rec = await collectRecords(net, data, 'test', 16);
  const gates = rec.exits[0].gate!.slice().sort((a, b) => a - b);
  const tau = (gates[7] + gates[8]) / 2; // half the inputs leave at exit 1
  const ev = new ExitEvaluator(net);
  const rows: number[] = [];
  ev.onBlock = (block, n) => { rows[block] = n; };
  const hard = await ev.hardExitPass(x, 'gate', [tau, tau]);
  assert.deepEqual(Array.from(hard.exitIndex), Array.from(exitAssignments(rec, 'gate', [tau, tau])));
  const at = (b: number) => Array.from(hard.exitIndex).filter((e) => e === b).length;
  assert.ok(at(0) > 0 && at(0) < 16, `some but not all inputs leave at exit 1 (${at(0)})`);
  assert.deepEqual(rows, [16, 16, 16 - at(0), 16 - at(0), 16 - at(0), 16 - at(0) - at(1), 16 - at(0) - at(1), 16 - at(0) - at(1)].slice(0, rows.length));
  assert.equal(hard.macs, Array.from(hard.exitIndex).reduce((s, b) => s + (b < 2 ? net.costs.exits[b] : net.costs.final), 0));
  assert.ok(hard.macs < 16 * net.costs.final);
  ev.dispose();
  const timing = await measureTiming(net, data, 'gate', [tau, tau], 2, 'webgpu', false);
  assert.equal(timing.backend, 'webgpu');
  assert.ok(timing.fullMs > 0 && timing.hardMs > 0);
  tf.dispose(x);
  net.dispose();
});
