import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { MultiExitNetwork } from '../../src/engine/tfjs/network';
import { hardExitPass } from '../../src/engine/tfjs/evaluate';

const NETS = [
  { backbone: 'resnet18', exits: ['block2', 'block5'] },
  { backbone: 'vgg13', exits: ['conv2', 'conv7'] },
  { backbone: 'alexnet', exits: ['conv2', 'conv4'] },
] as const;

function net(backbone: string, exits: readonly string[]): MultiExitNetwork {
  const n = new MultiExitNetwork({
    backbone: { name: backbone as 'resnet18', width: 1 / 16, input: [16, 16, 3], classes: 4 }, gated: true, seed: 5,
    exits: exits.map((point) => ({ point, head: { kind: 'pool' as const }, gate: { hidden: 0 } })),
  });
  // non-trivial moving statistics and batch-norm parameters, as after training
  tf.tidy(() => {
    for (const [name, v] of n.vars) {
      if (name.endsWith('/moving_mean') || name.endsWith('/beta')) v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', name.length));
      if (name.endsWith('/moving_variance') || name.endsWith('/gamma')) v.assign(tf.randomUniform(v.shape, 0.5, 2, 'float32', name.length));
    }
  });
  return n;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

for (const backend of ['cpu', 'wasm']) {
  test(`folding batch norm into the convolutions gives the same inference outputs (${backend})`, async () => {
    await tf.setBackend(backend);
    for (const spec of NETS) {
      const n = net(spec.backbone, spec.exits);
      const x = tf.randomNormal([3, 16, 16, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
      const run = () => tf.tidy(() => { const o = n.forward(x); return { ...o, backbone: n.forwardBackboneOnly(x) }; });
      const plain = run();
      const plainBackbone = plain.backbone;
      const before = tf.memory().numTensors;
      n.foldBatchNorm();
      const folded = run();
      const foldedBackbone = folded.backbone;
      const scale = tf.tidy(() => tf.max(tf.abs(plain.finalLogits)).dataSync()[0]);
      const tol = 1e-4 * Math.max(1, scale);
      assert.ok(maxAbsDiff(plain.finalLogits, folded.finalLogits) < tol, `${spec.backbone} final logits`);
      assert.ok(maxAbsDiff(plainBackbone, foldedBackbone) < tol, `${spec.backbone} backbone-only logits`);
      plain.exitLogits.forEach((l, b) => assert.ok(maxAbsDiff(l, folded.exitLogits[b]) < tol, `${spec.backbone} exit ${b} logits`));
      plain.gates.forEach((g, b) => assert.ok(maxAbsDiff(g, folded.gates[b]) < 1e-5, `${spec.backbone} gate ${b}`));
      // training mode ignores the folded weights (batch statistics, not the moving ones)
      const t1 = tf.tidy(() => n.forward(x, true).finalLogits);
      n.unfoldBatchNorm();
      const t2 = tf.tidy(() => n.forward(x, true).finalLogits);
      if (spec.backbone !== 'alexnet') assert.equal(maxAbsDiff(t1, t2), 0, `${spec.backbone} training mode`); // AlexNet: dropout draws differ per call
      tf.dispose([plain.finalLogits, ...plain.exitLogits, ...plain.gates, folded.finalLogits, ...folded.exitLogits, ...folded.gates, plainBackbone, foldedBackbone, t1, t2]);
      assert.ok(tf.memory().numTensors <= before, 'unfoldBatchNorm frees the folded weights');
      x.dispose();
      n.dispose();
    }
  });
}

test('loading other weights drops the folded ones; a hard-exit pass leaks no tensors', async () => {
  await tf.setBackend('wasm');
  const a = net('resnet18', ['block2', 'block5']);
  const b = new MultiExitNetwork({ ...a.config, seed: 6 });
  const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  a.foldBatchNorm();
  const y1 = a.forwardBackboneOnly(x);
  a.loadWeights(b.namedWeights());
  const y2 = a.forwardBackboneOnly(x);
  a.unfoldBatchNorm();
  const y3 = a.forwardBackboneOnly(x);
  assert.ok(maxAbsDiff(y1, y2) > 1e-3, 'new weights give new outputs');
  assert.ok(maxAbsDiff(y2, y3) < 1e-4, 'folded from the loaded weights');
  const before = tf.memory().numTensors;
  await hardExitPass(a, x, 'gate', [0.5, 0.5]);
  assert.equal(tf.memory().numTensors, before, 'hardExitPass disposes every intermediate');
  tf.dispose([x, y1, y2, y3]);
  a.dispose(); b.dispose();
});
