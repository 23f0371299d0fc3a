import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { describeBackbone, validateBackboneConfig } from '../../../src/spec/backbones';
import { costModel, validateExits } from '../../../src/engine/tfjs/network';
import { selectBackend, explainLoadError } from '../../../src/accel/backend';
import { ValidationError } from '../../../src/spec/errors';
import { createRequire } from 'node:module';
import { TfjsEngine } from '../../../src/engine/tfjs';
import { trainEpochs } from '../../../src/engine/loop';
import { randomEngineData, tinyExperiment } from '../../fixtures/engine-data';

const realRequire = createRequire(__filename);

test('MACs of a tiny VGG-13 match a hand count', () => {
  // width 1/64 → channels 1,1 | 2,2 | 4,4 | 8,8 | 8,8 on an 8×8×1 input, 2 classes.
  // 3×3 'same' conv MACs = outH·outW·9·cin·cout; pools halve (ceil) after conv2, 4, 6, 8, 10.
  //   conv1 8·8·9·1·1 = 576   conv2 576        → pool 4×4
  //   conv3 4·4·9·1·2 = 288   conv4 4·4·9·2·2 = 576 → pool 2×2
  //   conv5 2·2·9·2·4 = 288   conv6 2·2·9·4·4 = 576 → pool 1×1
  //   conv7 1·1·9·4·8 = 288   conv8 576, conv9 576, conv10 576 (1×1 maps stay 1×1)
  //   fc 8·2 = 16                                   total 4912
  const d = describeBackbone({ name: 'vgg13', width: 1 / 64, input: [8, 8, 1], classes: 2 });
  assert.equal(d.total, 4912);
  assert.deepEqual(d.points.map((p) => p.macs), [576, 1152, 1440, 2016, 2304, 2880, 3168, 3744, 4320, 4896]);
  assert.deepEqual(d.points[3].shape, [2, 2, 2]);
  // an exit with a global-pool head (grid 1) at conv4: head = 2·2 (dense 2→2) = 4, gate = 2 (dense 2→1)
  // γ_1 = 2016 + 4 + 2 = 2022; passing it costs the full network plus that exit: 4912 + 6
  const c = costModel({ backbone: d.config, gated: true, exits: [{ point: 'conv4', head: { kind: 'pool', grid: 1 }, gate: { hidden: 0 } }] });
  assert.deepEqual(c.exits, [2022]);
  assert.equal(c.final, 4918);
  assert.equal(c.full, 4912);
  // the default grid (4×4) keeps the 2×2 map: features 2·2·2 = 8, head = 8·2 = 16, gate = 8 → γ_1 = 2040
  const g = costModel({ backbone: d.config, gated: true, exits: [{ point: 'conv4', head: { kind: 'pool' }, gate: { hidden: 0 } }] });
  assert.deepEqual(g.exits, [2040]);
  assert.equal(g.final, 4936);
  // at conv2 (8×8×1) a 4×4 grid pools 2×2 windows: 16 features → head 32, gate 16 → γ_1 = 1152 + 48
  const h = costModel({ backbone: d.config, gated: true, exits: [{ point: 'conv2', head: { kind: 'pool', grid: 4 }, gate: { hidden: 0 } }] });
  assert.deepEqual(h.exits, [1200]);
});

test('catalogue: published full-width sizes and one point per conv layer / residual block', () => {
  const r = describeBackbone({ name: 'resnet18', width: 1, input: [32, 32, 3], classes: 10 });
  assert.equal(r.points.length, 8);
  assert.equal(r.parameters, 11_173_962 + 9_600); // torchvision CIFAR ResNet-18 weights + BN running stats
  assert.ok(Math.abs(r.total - 555.42e6) < 0.01e6);
  assert.equal(describeBackbone({ name: 'vgg13', width: 1, input: [32, 32, 3], classes: 10 }).points.length, 10);
  const a = describeBackbone({ name: 'alexnet', width: 1, input: [28, 28, 1], classes: 10 });
  assert.deepEqual(a.points.map((p) => p.id), ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']);
  assert.deepEqual(a.points[4].shape, [4, 4, 256]);
});

test('bad backbone input is rejected naming the field and the allowed values', () => {
  const base = { name: 'resnet18' as const, width: 0.25, input: [32, 32, 3] as [number, number, number], classes: 10 };
  assert.throws(() => validateBackboneConfig({ ...base, name: 'lenet' as never }), (e: Error) => e instanceof ValidationError && /backbone\.name.*lenet.*alexnet, vgg13, resnet18/.test(e.message));
  assert.throws(() => validateBackboneConfig({ ...base, width: 0 }), /backbone\.width: must be a number > 0/);
  assert.throws(() => validateBackboneConfig({ ...base, width: -1 }), /backbone\.width/);
  assert.throws(() => validateBackboneConfig({ ...base, input: [32, 32, 2] }), /backbone\.input: ResNet-18 takes .*1 or 3 channels/);
  assert.throws(() => validateBackboneConfig({ ...base, input: [4, 4, 3] }), /backbone\.input/);
  assert.throws(() => validateExits(base, [{ point: 'conv3', head: { kind: 'pool' }, gate: { hidden: 0 } }]), /exits\[0\]\.point: "conv3" is not a point of resnet18; allowed: block1, block2/);
  assert.throws(() => validateExits(base, [{ point: 'block2', head: { kind: 'pool', grid: 0 }, gate: { hidden: 0 } }]), /exits\[0\]\.head\.grid: must be an integer from 1/);
  assert.throws(() => validateExits(base, [
    { point: 'block2', head: { kind: 'pool' }, gate: { hidden: 0 } }, { point: 'block2', head: { kind: 'pool' }, gate: { hidden: 0 } },
  ]), /exits\[1\]\.point: duplicate exit/);
  assert.throws(() => validateExits(base, [{ point: 'block2', head: { kind: 'mlp' as never }, gate: { hidden: 0 } }]), /head\.kind.*allowed: pool, conv-pool, pool-mlp/);
});

test('backend selection skips missing and broken native installs and says why', async () => {
  const broken: NodeRequire = Object.assign((id: string) => {
    if (id === '@tensorflow/tfjs-node-gpu') { const e = new Error(`Cannot find module '${id}'`) as NodeJS.ErrnoException; e.code = 'MODULE_NOT_FOUND'; throw e; }
    if (id === '@tensorflow/tfjs-node') throw new Error('The Node.js native addon module (tfjs_binding.node) can not be found at path: /x/lib/napi-v8/tfjs_binding.node');
    if (id === 'webgpu') { const e = new Error(`Cannot find module '${id}'\nRequire stack:\n- /x/dist/cli.js`) as NodeJS.ErrnoException; e.code = 'MODULE_NOT_FOUND'; throw e; }
    return realRequire(id);
  }, realRequire);
  const c = await selectBackend('auto', broken);
  assert.equal(c.kind, 'wasm');
  assert.equal(c.tfBackend, 'wasm');
  assert.equal(c.stock.has('conv-grad'), false, 'our Conv2D gradient is on');
  assert.deepEqual(c.skipped.map((s) => s.kind), ['gpu', 'webgpu', 'native-cpu']);
  assert.match(c.skipped[0].reason, /tfjs-node-gpu is not installed/);
  assert.match(c.skipped[1].reason, /^webgpu \(Dawn's Node binding\) is not installed: it is an optional dependency/);
  assert.match(c.skipped[2].reason, /native addon is missing/);
  assert.match(explainLoadError('@tensorflow/tfjs-node-gpu', Object.assign(new Error('libcudart.so.11.0: cannot open shared object file'), { code: 'ERR_DLOPEN_FAILED' })), /CUDA 11\.2 and cuDNN 8\.1/);
  await assert.rejects(selectBackend('gpu', broken), /backend "gpu" is not available: .*not installed/);
  await assert.rejects(selectBackend('tpu' as never), /backend: unknown backend "tpu"; allowed: auto, gpu, native-cpu, wasm, cpu, webgpu/);
});

test('training with the same seed and backend gives the same numbers; another seed does not', async () => {
  await tf.setBackend('cpu');
  const data = randomEngineData(24, [16, 16, 3], 3, 11);
  const run = async (seed: number) => {
    const x = tinyExperiment({
      backbone: { name: 'alexnet', width: 1 / 32, input: [16, 16, 3], classes: 3 },
      exits: [{ point: 'conv2', head: { kind: 'pool' } }],
      method: { name: 'proposed', lambda: 0.5 },
      training: { epochs: 2, batchSize: 8, optimizer: 'adam', lr: 1e-2, weightDecay: 1e-4, schedule: 'cosine', seed },
    });
    const { net } = await new TfjsEngine().open(x, data, null);
    const metrics = await trainEpochs(net, x, { startEpoch: 0, rule: 'gate', thresholds: [0.5] });
    const weights = Array.from(await net.net.vars.get('exit_conv2/gate/kernel')!.data());
    net.dispose();
    return { losses: metrics.map((m) => m.loss), weights };
  };
  const a = await run(3), b = await run(3), c = await run(4);
  assert.deepEqual(a.losses, b.losses);
  assert.deepEqual(a.weights, b.weights);
  assert.notDeepEqual(a.losses, c.losses);
});
