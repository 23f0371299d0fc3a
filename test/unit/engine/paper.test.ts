import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { crossEntropyOfProbs, expectedCost, softConditionalOutput } from '../../../src/engine/tfjs/paper';
import { MultiExitNetwork } from '../../../src/engine/tfjs/network';
import { methodLoss } from '../../../src/engine/tfjs/loss';
import { methodConfig } from '../../../src/spec/method';

const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < tol, `index ${i}: ${a[i]} vs ${b[i]}`);
};

test('Eq. 1 soft-conditional output on a hand-computed two-exit example', async () => {
  await tf.setBackend('cpu');
  // sample 1: f1=[.9,.1] g1=.8, f2=[.6,.4] g2=.5, f=[.2,.8]
  //   f̃2 = .5·[.6,.4] + .5·[.2,.8] = [.4,.6];  f̃1 = .8·[.9,.1] + .2·[.4,.6] = [.8,.2]
  // sample 2: g1=.1, g2=.9, same f's
  //   f̃2 = .9·[.6,.4] + .1·[.2,.8] = [.56,.44];  f̃1 = .1·[.9,.1] + .9·[.56,.44] = [.594,.406]
  const f1 = tf.tensor2d([[0.9, 0.1], [0.9, 0.1]]);
  const f2 = tf.tensor2d([[0.6, 0.4], [0.6, 0.4]]);
  const f = tf.tensor2d([[0.2, 0.8], [0.2, 0.8]]);
  const g1 = tf.tensor2d([[0.8], [0.1]]);
  const g2 = tf.tensor2d([[0.5], [0.9]]);
  const out = softConditionalOutput([f1, f2], [g1, g2], f);
  close(await out.data(), [0.8, 0.2, 0.594, 0.406]);
  // CE on f̃1 with labels [0, 1]: −(ln .8 + ln .406)/2
  const ce = crossEntropyOfProbs(out, tf.tensor2d([[1, 0], [0, 1]]), 0);
  close(await ce.data(), [-(Math.log(0.8) + Math.log(0.406)) / 2]);
});

test('Eq. 2 expected cost on the same example', async () => {
  await tf.setBackend('cpu');
  // γ1 = .2, γ2 = .5, γ3 = 1
  // sample 1: γ̃2 = .5·.5 + .5·1 = .75;  γ̃1 = .8·.2 + .2·.75 = .31
  // sample 2: γ̃2 = .9·.5 + .1·1 = .55;  γ̃1 = .1·.2 + .9·.55 = .515
  // C = (.31 + .515) / 2 = .4125
  const C = expectedCost([tf.tensor2d([[0.8], [0.1]]), tf.tensor2d([[0.5], [0.9]])], [0.2, 0.5], 1);
  close(await C.data(), [0.4125]);
  // no exits: every input pays the full cost
  close(await expectedCost([], [], 1).data(), [1]);
});

test('gradients of the proposed loss reach every gate and every exit head', async () => {
  await tf.setBackend('cpu');
  const net = new MultiExitNetwork({
    backbone: { name: 'resnet18', width: 1 / 32, input: [16, 16, 3], classes: 4 }, gated: true, seed: 3,
    exits: [
      { point: 'block1', head: { kind: 'pool' }, gate: { hidden: 0 } },
      { point: 'block3', head: { kind: 'conv-pool' }, gate: { hidden: 4 } },
      { point: 'block6', head: { kind: 'pool-mlp', channels: 6 }, gate: { hidden: 0 } },
    ],
  });
  const x = tf.randomNormal([6, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1], 'int32'), 4).toFloat() as tf.Tensor2D;
  const { grads } = tf.variableGrads(() => methodLoss(net, methodConfig({ name: 'proposed', lambda: 0.5 }), x, y, 0).loss, net.trainableVariables());
  const byName = new Map([...net.vars.entries()].map(([n, v]) => [v.name, n]));
  const gateNames: string[] = [];
  for (const [vname, g] of Object.entries(grads)) {
    const name = byName.get(vname)!;
    if (/exit_.*\/(gate|gate_hidden|fc|conv)\//.test(name + '/') || /exit_.*\/(gate|fc)\/kernel/.test(name)) {
      const norm = (await tf.norm(g).data())[0];
      assert.ok(norm > 0, `no gradient reaches ${name}`);
      if (name.includes('/gate/kernel')) gateNames.push(name);
    }
  }
  assert.deepEqual(gateNames.sort(), ['exit_block1/gate/kernel', 'exit_block3/gate/kernel', 'exit_block6/gate/kernel']);
  net.dispose();
});

test('λ trades accuracy for cost: the cost term pushes gates of the first exit up', async () => {
  await tf.setBackend('cpu');
  const make = () => new MultiExitNetwork({
    backbone: { name: 'vgg13', width: 1 / 32, input: [16, 16, 3], classes: 3 }, gated: true, seed: 5,
    exits: [{ point: 'conv2', head: { kind: 'pool' }, gate: { hidden: 0 } }],
  });
  const x = tf.randomNormal([8, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3).toFloat() as tf.Tensor2D;
  const net = make();
  const gateBias = [...net.vars.entries()].find(([n]) => n === 'exit_conv2/gate/bias')![1];
  const { grads } = tf.variableGrads(() => methodLoss(net, methodConfig({ name: 'proposed', lambda: 100 }), x, y, 0).loss, [gateBias]);
  // d(λC)/d(bias) < 0: raising g_1 lowers the expected cost, so gradient descent raises the gate
  assert.ok((await grads[gateBias.name].data())[0] < 0);
  net.dispose();
});
