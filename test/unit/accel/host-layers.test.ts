import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { collectRecords } from '../../../src/engine/tfjs/evaluate';
import { ExitEvaluator, HOST_HEAD_MAX_VALUES, hostHeads } from '../../../src/engine/tfjs/exit-evaluator';
import { MultiExitNetwork } from '../../../src/engine/tfjs/network';

function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let scale = 0, worst = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3 * scale));
  return worst;
}

/** h after each block, for x. */
function blockOutputs(net: MultiExitNetwork, x: tf.Tensor4D): tf.Tensor4D[] {
  const out: tf.Tensor4D[] = [];
  let h = x;
  for (let i = 0; i < net.ir.blocks.length; i++) out.push(h = net.runBlock(i, h));
  return out;
}

// every head kind; a 3×3 grid on 16×16 and 8×8 maps pools windows of 6 and 3 with 'same' padding
// (border windows average fewer cells), grid 1 is a global average; a gate with a hidden layer
const NETS = [
  {
    backbone: { name: 'resnet18' as const, width: 1 / 16, input: [16, 16, 3] as [number, number, number], classes: 5 }, gated: true, seed: 5,
    exits: [
      { point: 'block2', head: { kind: 'pool' as const, grid: 3 }, gate: { hidden: 0 } },
      { point: 'block4', head: { kind: 'pool-mlp' as const }, gate: { hidden: 4 } },
      { point: 'block5', head: { kind: 'conv-pool' as const }, gate: { hidden: 0 } },
      { point: 'block6', head: { kind: 'pool' as const, grid: 1 }, gate: { hidden: 0 } },
    ],
  },
  {
    backbone: { name: 'alexnet' as const, width: 1 / 16, input: [32, 32, 3] as [number, number, number], classes: 10 }, gated: true, seed: 6,
    exits: [{ point: 'conv1', head: { kind: 'pool' as const }, gate: { hidden: 0 } }, { point: 'conv3', head: { kind: 'pool-mlp' as const, grid: 3 }, gate: { hidden: 2 } }],
  },
];

// heads that stay on tfjs: a convolution, and dense layers over HOST_MAX_DENSE_MACS (AlexNet ×1/16's
// classifier: 256×32; its pool-mlp exit on a 3×3×24 grid: 216×24), where JavaScript is slower
const ON_TFJS = new Set(['resnet18 block5', 'alexnet conv3', 'alexnet classifier']);

for (const backend of ['cpu', 'wasm']) {
  test(`heads on the host equal the tfjs heads: gates, exit logits, final classifier (${backend})`, async () => {
    await tf.setBackend(backend);
    for (const cfg of NETS) {
      const net = new MultiExitNetwork(cfg);
      const x = tf.randomNormal([3, ...cfg.backbone.input], 0, 1, 'float32', 8) as tf.Tensor4D;
      const hs = tf.tidy(() => blockOutputs(net, x));
      const at = net.exits.map((_, e) => hs.findIndex((_h, i) => net.exitAtBlock(i) === e)); // exit e's block
      const heads = hostHeads(net);
      for (const [e, exit] of net.exits.entries()) {
        const h = hs[at[e]];
        const host = await heads.exit(e, h);
        if (ON_TFJS.has(`${cfg.backbone.name} ${exit.point}`)) { assert.equal(host, null, `${cfg.backbone.name} ${exit.point} stays on tfjs`); continue; }
        assert.ok(host, `${cfg.backbone.name} ${exit.point}: runs on the host`);
        const [gate, logits] = tf.tidy(() => { const f = net.exitFeatures(e, h); return [net.exitGate(e, f), net.exitLogits(e, f)]; });
        const what = `${cfg.backbone.name} ${exit.point} (${exit.headLayers.map((l) => l.kind).join(' ')})`;
        assert.ok(maxRelError(host.gates!, gate.dataSync()) < 1e-5, `${what}: gates ${Array.from(host.gates!)} vs ${Array.from(gate.dataSync())}`);
        assert.ok(maxRelError(await host.logits(), logits.dataSync()) < 1e-5, `${what}: logits`);
        tf.dispose([gate, logits]);
      }
      const last = hs[hs.length - 1];
      const device = tf.tidy(() => net.runClassifier(last));
      if (ON_TFJS.has(`${cfg.backbone.name} classifier`)) assert.equal(await heads.classifier(last), null, `${cfg.backbone.name}: its classifier stays on tfjs`);
      else assert.ok(maxRelError((await heads.classifier(last))!, device.dataSync()) < 1e-5, `${cfg.backbone.name}: final classifier`);
      const ev = new ExitEvaluator(net, { fast: true });
      assert.ok(maxRelError(await ev.backboneOnlyLogits(x), device.dataSync()) < 1e-5, `${cfg.backbone.name}: the full pass of the latency measurement`);
      ev.dispose();
      // a map too large for the host heads takes the tfjs path
      const [, H, W, C] = last.shape;
      const big = tf.zeros([Math.ceil((HOST_HEAD_MAX_VALUES + 1) / (H * W * C)), H, W, C]) as tf.Tensor4D;
      assert.equal(await heads.classifier(big), null);
      tf.dispose([x, ...hs, device, big]);
      net.dispose();
    }
  });
}

for (const rule of ['gate', 'entropy', 'confidence'] as const) {
  test(`the hard-exit pass with heads on the host makes the decisions of the tfjs heads (rule ${rule})`, async () => {
    await tf.setBackend('wasm');
    const net = new MultiExitNetwork(NETS[0]);
    const x = tf.randomNormal([12, 16, 16, 3], 0, 1, 'float32', 9) as tf.Tensor4D; // 12 × 16×16×4 at the first exit: within HOST_HEAD_MAX_VALUES
    // τ per exit at the median of its rule's values: about half the inputs leave at each exit
    const rec = await collectRecords(net, { count: 12, labels: new Array(12).fill(0), batch: (s0, k) => tf.slice(x, [s0, 0, 0, 0], [k, -1, -1, -1]) }, 'test', 12);
    const tau = rec.exits.map((r) => {
      const v = (rule === 'gate' ? r.gate! : rule === 'entropy' ? r.entropy : r.conf).slice().sort((a, b) => a - b);
      return (v[5] + v[6]) / 2;
    });
    const device = await new ExitEvaluator(net).hardExitPass(x, rule, tau);
    const fast = new ExitEvaluator(net, { fast: true });
    const host = await fast.hardExitPass(x, rule, tau);
    fast.dispose();
    const h1 = tf.tidy(() => net.runBlock(1, net.runBlock(0, x)));
    const hostUsed = (await hostHeads(net).exit(0, h1)) !== null;
    h1.dispose();
    assert.ok(hostUsed, 'the folded pass ran its first exit on the host');
    const left = Array.from(host.exitIndex).filter((b) => b < net.exits.length).length;
    assert.ok(left > 0 && left < 12, `some but not all inputs leave early (${left})`);
    assert.deepEqual(Array.from(host.exitIndex), Array.from(device.exitIndex));
    assert.deepEqual(Array.from(host.pred), Array.from(device.pred));
    assert.equal(host.macs, device.macs);
    tf.dispose(x);
    net.dispose();
  });
}
