import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { MultiExitNetwork } from '../../../src/engine/tfjs/network';
import { ExitEvaluator, FoldedBatchNorm } from '../../../src/engine/tfjs/exit-evaluator';

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
      const run = (f?: FoldedBatchNorm) => tf.tidy(() => { const o = n.forward(x, false, undefined, f); return { ...o, backbone: n.forwardBackboneOnly(x, f) }; });
      const plain = run();
      const plainBackbone = plain.backbone;
      const before = tf.memory().numTensors;
      const fold = new FoldedBatchNorm(n);
      const folded = run(fold);
      const foldedBackbone = folded.backbone;
      const scale = tf.tidy(() => tf.max(tf.abs(plain.finalLogits)).dataSync()[0]);
      const tol = 1e-4 * Math.max(1, scale);
      assert.ok(maxAbsDiff(plain.finalLogits, folded.finalLogits) < tol, `${spec.backbone} final logits`);
      assert.ok(maxAbsDiff(plainBackbone, foldedBackbone) < tol, `${spec.backbone} backbone-only logits`);
      plain.exitLogits.forEach((l, b) => assert.ok(maxAbsDiff(l, folded.exitLogits[b]) < tol, `${spec.backbone} exit ${b} logits`));
      plain.gates.forEach((g, b) => assert.ok(maxAbsDiff(g, folded.gates[b]) < 1e-5, `${spec.backbone} gate ${b}`));
      // training mode ignores the folded weights (batch statistics, not the moving ones)
      const t1 = tf.tidy(() => n.forward(x, true, undefined, fold).finalLogits);
      fold.dispose();
      const t2 = tf.tidy(() => n.forward(x, true).finalLogits);
      if (spec.backbone !== 'alexnet') assert.equal(maxAbsDiff(t1, t2), 0, `${spec.backbone} training mode`); // AlexNet: dropout draws differ per call
      tf.dispose([plain.finalLogits, ...plain.exitLogits, ...plain.gates, folded.finalLogits, ...folded.exitLogits, ...folded.gates, plainBackbone, foldedBackbone, t1, t2]);
      assert.ok(tf.memory().numTensors <= before, 'dispose() frees the folded weights');
      x.dispose();
      n.dispose();
    }
  });
}

test('folded weights follow the weights they are built from; a fast hard-exit pass leaks no tensors', async () => {
  await tf.setBackend('wasm');
  const a = net('resnet18', ['block2', 'block5']);
  const b = new MultiExitNetwork({ ...a.config, seed: 6 });
  const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const f1 = new FoldedBatchNorm(a);
  const y1 = a.forwardBackboneOnly(x, f1);
  f1.dispose();
  a.loadWeights(b.namedWeights());
  const f2 = new FoldedBatchNorm(a);
  const y2 = a.forwardBackboneOnly(x, f2);
  f2.dispose();
  const y3 = a.forwardBackboneOnly(x);
  assert.ok(maxAbsDiff(y1, y2) > 1e-3, 'new weights give new outputs');
  assert.ok(maxAbsDiff(y2, y3) < 1e-4, 'folded from the loaded weights');
  const before = tf.memory().numTensors;
  const ev = new ExitEvaluator(a, { fast: true });
  await ev.hardExitPass(x, 'gate', [0.5, 0.5]);
  await ev.backboneOnlyLogits(x);
  ev.dispose();
  assert.equal(tf.memory().numTensors, before, 'the evaluator disposes every intermediate and its folded weights');
  tf.dispose([x, y1, y2, y3]);
  a.dispose(); b.dispose();
});
