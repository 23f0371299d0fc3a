/**
 * The torch engine against the tfjs engine, on the CPU (Debian's python3-torch): the same network
 * (parameter count, MACs per exit), the same outputs and Eq. 1 / Eq. 2 loss from the same weights,
 * the same training epoch (seeded order, augmentation, Adam / SGD, weight decay, batch-norm moving
 * statistics), and a torch-trained model that the TypeScript evaluator reads back with the same
 * per-sample predictions and gates. Starts Python engine processes; tiny networks.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MultiExitNetwork } from '../../../src/engine/tfjs/network';
import { loadNetwork, saveNetwork } from '../../../src/engine/tfjs/checkpoint';
import { methodLoss } from '../../../src/engine/tfjs/loss';
import { collectRecords } from '../../../src/engine/tfjs/evaluate';
import { batchSources, TfjsEngine, type TfjsNetwork } from '../../../src/engine/tfjs';
import { TorchEngine, type TorchNetwork } from '../../../src/engine/torch';
import { pythonPackageRoot, TorchProcesses } from '../../../src/engine/torch/process';
import { DataFiles } from '../../../src/engine/torch/data-files';
import { costModel } from '../../../src/spec/exit-costs';
import { epochPhase } from '../../../src/spec/method';
import { describeNetwork, type NetworkConfig } from '../../../src/spec/network';
import { mulberry32, shuffleInPlace } from '../../../src/spec/rng';
import type { Experiment } from '../../../src/spec/experiment';
import { randomEngineData, randomSplit, tinyExperiment } from '../../fixtures/engine-data';
import { torchPython } from '../../fixtures/torch';
import type { EngineData } from '../../../src/engine/engine';

let tmp = '';
before(async () => {
  process.env.EARLY_EXIT_TORCH_THREADS = '1';
  torchPython();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-torch-parity-'));
  await new TfjsEngine().prepare('cpu');
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const torchOptions = () => ({ python: torchPython(), device: 'cpu' as const, devices: 1, log: () => {} });

/** Networks that exercise every layer kind, head, gate and padding case. */
const CONFIGS: { label: string; x: Experiment }[] = [
  {
    label: 'ResNet-18 ×1/16, every head kind, a hidden gate layer',
    x: tinyExperiment({
      backbone: { name: 'resnet18', width: 1 / 16, input: [32, 32, 3], classes: 10 },
      exits: [
        { point: 'block1', head: { kind: 'pool', grid: 1 } },
        { point: 'block3', head: { kind: 'conv-pool' }, gate: { hidden: 4 } },
        { point: 'block6', head: { kind: 'pool-mlp', channels: 6 } },
      ],
      method: { name: 'proposed', lambda: 0.5, exitLossWeight: 0.3 },
    }),
  },
  {
    label: 'VGG-13 ×1/16 on 28×28×1 (asymmetric same padding, padded average pools)',
    x: tinyExperiment({
      backbone: { name: 'vgg13', width: 1 / 16, input: [28, 28, 1], classes: 5 },
      exits: [{ point: 'conv2', head: { kind: 'pool' } }, { point: 'conv5', head: { kind: 'conv-pool', grid: 3 } }, { point: 'conv9', head: { kind: 'pool-mlp' } }],
      method: { name: 'proposed', lambda: 1 },
    }),
  },
  {
    label: 'AlexNet ×1/16 on 28×28×1, BranchyNet (no gates, weighted CE)',
    x: tinyExperiment({
      backbone: { name: 'alexnet', width: 1 / 16, input: [28, 28, 1], classes: 10 },
      exits: [{ point: 'conv1', head: { kind: 'pool' } }, { point: 'conv3', head: { kind: 'pool-mlp' } }],
      method: { name: 'branchynet', exitWeights: [0.5, 1, 2] },
    }),
  },
  {
    label: 'ResNet-18 ×1/8 baseline (no exits)',
    x: tinyExperiment({ backbone: { name: 'resnet18', width: 1 / 8, input: [32, 32, 3], classes: 10 }, exits: [], method: { name: 'baseline' } }),
  },
];

const configOf = (x: Experiment): NetworkConfig => ({ backbone: x.backbone, exits: x.exits, gated: x.method.name === 'proposed', seed: x.training.seed });

function closeArrays(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  let worst = 0, at = -1;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); if (!(d <= worst)) { worst = d; at = i; } }
  assert.ok(worst <= tol, `${what}: |Δ| = ${worst} at ${at} (${a[at]} vs ${b[at]}), tolerance ${tol}`);
}

test('the torch engine builds the same network: parameter count and MACs of every exit equal the tfjs engine\'s', async () => {
  const { procs } = await TorchProcesses.start(torchPython(), { log: () => {} });
  try {
    for (const { label, x } of CONFIGS) {
      const data = randomEngineData(4, x.backbone.input, x.backbone.classes, 1);
      const files = new DataFiles(data, tmp);
      try {
        const opened = await procs.request({
          type: 'open', network: describeNetwork(configOf(x)), training: x.training, method: x.method, device: 'cpu',
          data: { shape: data.shape, splits: files.splits, mean: data.mean, std: data.std, augment: false }, resumeFrom: null, init: null,
        }, 'opened');
        const net = new MultiExitNetwork(configOf(x));
        const c = costModel(configOf(x));
        assert.equal(opened.parameters, net.parameterCount(), `${label}: parameters`);
        assert.deepEqual(opened.macs, { exits: c.exits, final: c.final, full: c.full }, `${label}: MACs`);
        net.dispose();
      } finally {
        files.dispose();
      }
    }
  } finally {
    await procs.close();
  }
});

test('from the same weights and batch, every exit\'s outputs, the gates and the loss (Eq. 1 + λ·Eq. 2, BranchyNet, baseline) agree with tfjs', async () => {
  for (const { label, x } of CONFIGS) {
    const cfg = configOf(x);
    const net = new MultiExitNetwork(cfg);
    // moving statistics away from 0 / 1, so that eval mode is tested too
    tf.tidy(() => {
      for (const [name, v] of net.vars) {
        if (name.endsWith('/moving_mean')) v.assign(tf.randomUniform(v.shape, -0.2, 0.2, 'float32', 7));
        if (name.endsWith('/moving_variance')) v.assign(tf.randomUniform(v.shape, 0.5, 2, 'float32', 8));
      }
    });
    const dir = path.join(tmp, `init-${x.backbone.name}`);
    await saveNetwork(dir, net);
    const data = randomEngineData(12, x.backbone.input, x.backbone.classes, 2);
    const engine = new TorchEngine(torchOptions());
    await engine.prepare('torch');
    const { net: tnet } = await engine.openFromWeights(x, data, dir);
    try {
      const idx = [3, 0, 7, 11, 5, 1];
      const src = batchSources(data).train;
      const xb = src.batch(idx, false, mulberry32(0));
      const yb = tf.oneHot(tf.tensor1d(idx.map((i) => data.train.labels[i]), 'int32'), x.backbone.classes).toFloat() as tf.Tensor2D;
      // AlexNet's dropout makes training-mode outputs random: eval mode only there
      for (const training of x.backbone.name === 'alexnet' ? [false] : [true, false]) {
        const mode = `${label}, ${training ? 'training (batch statistics)' : 'eval (moving statistics)'}`;
        const t = await tnet.outputs('train', idx, training);
        const o = net.forward(xb, training, training ? [] : undefined);
        for (let b = 0; b < o.exitLogits.length; b++) {
          closeArrays(t.exitProbs[b].flat(), await tf.softmax(o.exitLogits[b]).data(), 2e-5, `${mode}: exit ${b} probabilities`);
          if (cfg.gated) closeArrays(t.gates[b], await o.gates[b].data(), 2e-5, `${mode}: gate ${b}`);
        }
        closeArrays(t.finalProbs.flat(), await tf.softmax(o.finalLogits).data(), 2e-5, `${mode}: final probabilities`);
        if (training) {
          const l = methodLoss(net, x.method, xb, yb, 0, []);
          closeArrays([t.loss, t.ce, t.cost], [(await l.loss.data())[0], (await l.ce.data())[0], l.cost ? (await l.cost.data())[0] : 0], 2e-5, `${mode}: loss, CE, C`);
        }
      }
    } finally {
      await tnet.dispose();
      net.dispose();
    }
  }
});

/** Every tensor of two saved networks, by name. */
async function weightsOf(dir: string): Promise<Map<string, Float32Array>> {
  const { net } = await loadNetwork(dir);
  const out = new Map<string, Float32Array>();
  for (const [name, v] of net.vars) out.set(name, (await v.data()) as Float32Array);
  net.dispose();
  return out;
}

const trainX = (optimizer: 'adam' | 'sgd', extra: Record<string, unknown> = {}) => tinyExperiment({
  backbone: { name: 'resnet18', width: 1 / 16, input: [32, 32, 3], classes: 10 },
  exits: [{ point: 'block2' }, { point: 'block4', gate: { hidden: 3 } }],
  method: { name: 'proposed', lambda: 0.3, exitLossWeight: 0.5 },
  training: { optimizer, lr: optimizer === 'adam' ? 2e-3 : 0.01, batchSize: 16, weightDecay: 5e-3, seed: 5, epochs: 2 },
  ...extra,
});

/** 56 images, augmented: 4 steps an epoch, the last one short. */
function trainData(): EngineData {
  const d = randomEngineData(56, [32, 32, 3], 10, 3);
  return { ...d, test: randomSplit(40, [32, 32, 3], 10, 4), augment: true };
}

async function bothEngines(x: Experiment, data: EngineData) {
  const tfjs = new TfjsEngine();
  await tfjs.prepare('cpu');
  const { net: jnet } = await tfjs.open(x, data, null);
  const init = path.join(tmp, `train-init-${x.training.optimizer}`);
  await saveNetwork(init, jnet.net);
  const torch = new TorchEngine(torchOptions());
  await torch.prepare('torch');
  const { net: tnet } = await torch.openFromWeights(x, data, init);
  return { jnet: jnet as TfjsNetwork, tnet: tnet as TorchNetwork };
}

for (const optimizer of ['adam', 'sgd'] as const) {
  test(`two epochs with ${optimizer === 'adam' ? 'Adam' : 'SGD with momentum'}: the same step losses, epoch losses and weights as tfjs (same order, augmentation, weight decay, moving statistics)`, async () => {
    const x = trainX(optimizer);
    const data = trainData();
    const { jnet, tnet } = await bothEngines(x, data);
    try {
      for (const [epoch, lr] of [[1, x.training.lr], [2, x.training.lr / 2]]) {
        const jSteps: number[] = [], tSteps: number[] = [];
        const phase = epochPhase(x.method, x.training.epochs, epoch);
        const j = await jnet.trainEpoch(epoch, lr, { onStep: (s) => jSteps.push(s.loss) }, phase);
        const t = await tnet.trainEpoch(epoch, lr, { onStep: (s) => tSteps.push(s.loss) }, phase);
        assert.equal(tSteps.length, 4);
        closeArrays(tSteps, jSteps, 2e-4, `epoch ${epoch}: step losses`);
        closeArrays([t.loss, t.ce, t.cost], [j.loss, j.ce, j.cost], 1e-4, `epoch ${epoch}: loss, CE, C`);
      }
      const jd = path.join(tmp, `j-${optimizer}`), td = path.join(tmp, `t-${optimizer}`);
      await jnet.exportModel(jd);
      await tnet.exportModel(td);
      const jw = await weightsOf(jd), tw = await weightsOf(td);
      assert.deepEqual([...tw.keys()], [...jw.keys()], 'the same variables, in the same order');
      for (const [name, a] of jw) closeArrays(tw.get(name)!, a, name.endsWith('moving_variance') || name.endsWith('moving_mean') ? 2e-4 : 5e-4, name);
    } finally {
      jnet.dispose();
      await tnet.dispose();
    }
  });
}

test('a torch-trained model exported to model/ gives the same per-sample predictions and gates in the TypeScript evaluator', async () => {
  const x = trainX('adam');
  const data = trainData();
  const torch = new TorchEngine(torchOptions());
  await torch.prepare('torch');
  const { net } = await torch.open(x, data, null);
  try {
    await net.trainEpoch(1, 2e-3);
    const dir = path.join(tmp, 'exported');
    await net.exportModel(dir);
    const ours = await net.records('test');
    const { net: loaded } = await loadNetwork(dir);
    const theirs = await collectRecords(loaded, batchSources(data).test, 'test');
    loaded.dispose();
    assert.equal(ours.count, 40);
    assert.deepEqual(ours.labels, theirs.labels);
    assert.deepEqual(ours.final.pred, theirs.final.pred, 'final predictions');
    assert.deepEqual(ours.softPred, theirs.softPred, 'soft-conditional predictions');
    for (let b = 0; b < 2; b++) {
      assert.deepEqual(ours.exits[b].pred, theirs.exits[b].pred, `exit ${b} predictions`);
      closeArrays(ours.exits[b].gate!, theirs.exits[b].gate!, 2e-6, `exit ${b} gates`);
      closeArrays(ours.exits[b].conf, theirs.exits[b].conf, 2e-6, `exit ${b} confidence`);
      closeArrays(ours.exits[b].entropy, theirs.exits[b].entropy, 2e-6, `exit ${b} entropy`);
    }
    closeArrays(ours.final.conf, theirs.final.conf, 2e-6, 'final confidence');
  } finally {
    await net.dispose();
  }
});

test('the Python port of the seeded shuffle and augmentation draws equals src/spec/rng.ts', () => {
  const seed = 12345 * 7919 + 3, n = 37;
  const rng = mulberry32(seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(order, rng);
  const aug = Array.from({ length: 5 }, () => [Math.floor(rng() * 9) - 4, Math.floor(rng() * 9) - 4, rng() < 0.5 ? 1 : 0]);
  const py = spawnSync(torchPython().command, ['-c', [
    'import json; from early_exit_torch import rng',
    `o = rng.shuffled(${n}, ${seed}).tolist(); ox, oy, f = rng.augmentation(${seed}, ${n - 1}, 5)`,
    'print(json.dumps([o, [list(t) for t in zip(ox.tolist(), oy.tolist(), f.tolist())]]))',
  ].join('\n')], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: pythonPackageRoot(), PYTHONDONTWRITEBYTECODE: '1' } });
  assert.equal(py.status, 0, py.stderr);
  assert.deepEqual(JSON.parse(py.stdout), [Array.from(order), aug]);
});

test('training.devices 2 (two gloo processes, DistributedDataParallel): the same step losses, epoch losses and weights as one process on the same global batch', async () => {
  const x = trainX('adam', { training: { optimizer: 'adam', lr: 2e-3, batchSize: 16, weightDecay: 5e-3, seed: 5, epochs: 2, devices: 2 } });
  const data = trainData();
  const run = async (devices: number) => {
    const engine = new TorchEngine({ ...torchOptions(), devices });
    const device = await engine.prepare('torch');
    const { net } = await engine.open(x, data, null);
    const steps: number[] = [];
    const epochs = [];
    try {
      for (const epoch of [1, 2]) epochs.push(await net.trainEpoch(epoch, 2e-3 / epoch, { onStep: (s) => steps.push(s.loss) }));
      const dir = path.join(tmp, `ddp-${devices}`);
      await net.exportModel(dir);
      return { device, description: net.description, steps, epochs, weights: await weightsOf(dir), records: await net.records('test') };
    } finally {
      await net.dispose();
    }
  };
  const one = await run(1), two = await run(2);
  assert.match(two.device.description, /2 processes \(DistributedDataParallel\)/);
  assert.match(two.description, /2 processes \(DistributedDataParallel, gloo\)/);
  assert.equal(two.steps.length, 8);
  closeArrays(two.steps, one.steps, 2e-4, 'step losses');
  for (const e of [0, 1]) closeArrays([two.epochs[e].loss, two.epochs[e].ce, two.epochs[e].cost], [one.epochs[e].loss, one.epochs[e].ce, one.epochs[e].cost], 1e-4, `epoch ${e + 1}`);
  for (const [name, a] of one.weights) closeArrays(two.weights.get(name)!, a, 5e-4, name);
  assert.deepEqual(two.records.final.pred, one.records.final.pred);
});

test('errors stay one line: a checkpoint of the other engine, a Python exception (traceback to the log), a mixed installation', async () => {
  const x = trainX('adam');
  const data = trainData();
  // the tfjs engine's checkpoint is refused by the torch engine, and the reverse
  const jdir = path.join(tmp, 'tfjs-ckpt');
  const tfjs = new TfjsEngine();
  await tfjs.prepare('cpu');
  const { net: jnet } = await tfjs.open(x, data, null);
  await jnet.saveCheckpoint(jdir, 1);
  const logged: string[] = [];
  const torch = new TorchEngine({ ...torchOptions(), log: (l) => logged.push(l) });
  await torch.prepare('torch');
  await assert.rejects(torch.open(x, data, jdir), /^EngineError: .*tfjs-ckpt: this checkpoint was written by the tfjs engine \(TensorFlow\.js v[\d.]+\); resume it with that backend/);
  // a damaged file is found before Python reads it, with the same checks (size, SHA-256) and words as the tfjs engine's
  const cut = path.join(tmp, 'cut-weights');
  fs.cpSync(jdir, cut, { recursive: true });
  fs.truncateSync(path.join(cut, 'weights.bin'), 100);
  await assert.rejects(torch.openFromWeights(x, data, cut), /^RunFileError: .*cut-weights\/weights\.bin: 100 bytes, but model\.json describes \d+ \(the file is truncated\)/);
  const { net } = await torch.open(x, data, null);
  const tdir = path.join(tmp, 'torch-ckpt');
  await net.saveCheckpoint(tdir, 1);
  await net.dispose();
  await assert.rejects(tfjs.open(x, data, tdir), /torch-ckpt\/model\.json: this checkpoint was written by the torch engine; resume it with training.backend "torch"/);
  const flipped = path.join(tmp, 'flipped');
  fs.cpSync(tdir, flipped, { recursive: true });
  const opt = fs.readFileSync(path.join(flipped, 'optimizer.pt'));
  opt[opt.length >> 1] ^= 0xff;
  fs.writeFileSync(path.join(flipped, 'optimizer.pt'), opt);
  await assert.rejects(torch.open(x, data, flipped), /flipped\/optimizer\.pt: its bytes do not match the SHA-256 recorded in model\.json/);
  jnet.dispose();
  await torch.dispose();
  // a Python exception: one line for the user, the traceback in the log (a weight renamed in the
  // manifest: sizes and checksums still fit, only Python finds the name missing)
  const broken = path.join(tmp, 'broken-weights');
  fs.cpSync(tdir, broken, { recursive: true });
  const mj = JSON.parse(fs.readFileSync(path.join(broken, 'model.json'), 'utf8'));
  mj.weightsManifest[0].weights[0].name = 'renamed/kernel';
  fs.writeFileSync(path.join(broken, 'model.json'), JSON.stringify(mj));
  const t2 = new TorchEngine({ ...torchOptions(), log: (l) => logged.push(l) });
  await t2.prepare('torch');
  await assert.rejects(t2.openFromWeights(x, data, broken), (e: Error) => {
    assert.equal(e.name, 'EngineError');
    assert.match(e.message, /^the torch engine failed during "open": ValueError: .*broken-weights: weights: missing "[^"]+" \(the traceback is in worker\.log\)$/);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
  assert.ok(logged.some((l) => /^torch: Traceback \(most recent call last\)/.test(l)), 'the traceback was logged');
  await t2.dispose();
  // an engine that speaks another protocol version
  const fake = path.join(tmp, 'fake-python');
  fs.writeFileSync(fake, '#!/bin/sh\necho \'{"type":"hello","protocol":99,"python":"3.99","executable":"/x","pid":1,"torch":"9.9"}\'\nsleep 30\n', { mode: 0o755 });
  await assert.rejects(new TorchEngine({ ...torchOptions(), python: { command: fake, source: 'test' } }).prepare('torch'), /speaks protocol 99, this worker 1 \(a mixed installation/);
});
