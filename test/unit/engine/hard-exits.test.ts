/**
 * "Hard exits really skip compute", proved from the kernels tfjs ran, not from the evaluator's own
 * bookkeeping: tf.profile records every kernel with its input shapes, so the batch each backbone
 * convolution saw is read from the kernel itself. For each exit rule and a sweep of thresholds,
 *  - where each input leaves equals exitAssignments on the per-sample records of a full pass;
 *  - every convolution of block i ran on exactly the inputs that had not left before block i;
 *  - the convolution MACs the kernels did (N·H'·W'·k²·C_in·C_out, summed) are the catalogue's
 *    block MACs times those rows, so they fall with the share that left, and once every input
 *    leaves at the first exit the later blocks' kernels do not run at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { MultiExitNetwork } from '../../../src/engine/tfjs/network';
import { collectRecords, measureTiming, type BatchSource } from '../../../src/engine/tfjs/evaluate';
import { ExitEvaluator } from '../../../src/engine/tfjs/exit-evaluator';
import { accuracyOf, exitAssignments } from '../../../src/spec/analysis';
import { describeBackbone } from '../../../src/spec/backbones';
import type { ExitRule, SampleRecords } from '../../../src/spec/results';

const N = 40;
const config = {
  backbone: { name: 'resnet18' as const, width: 1 / 32, input: [16, 16, 3] as [number, number, number], classes: 5 }, gated: true, seed: 7,
  exits: [{ point: 'block2', head: { kind: 'pool' as const }, gate: { hidden: 0 } }, { point: 'block5', head: { kind: 'pool' as const }, gate: { hidden: 0 } }],
};

function source(): BatchSource {
  const x = tf.randomNormal([N, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  return { count: N, labels: Array.from({ length: N }, (_, i) => i % 5), batch: (s, k) => tf.slice(x, [s, 0, 0, 0], [k, -1, -1, -1]) };
}

interface ConvKernel { batch: number; macs: number }

/** The convolutions `f` ran, in order, with the batch they saw and the MACs their shapes imply. */
async function convKernels(f: () => void | Promise<void>): Promise<ConvKernel[]> {
  const p = await tf.profile(f);
  return p.kernels.filter((k) => /Conv2D$/.test(k.name)).map((k) => {
    const [x, w] = k.inputShapes as number[][];
    const [n, oh, ow, cout] = k.outputShapes[0] as number[];
    assert.equal(n, x[0]);
    return { batch: x[0], macs: n * oh * ow * w[0] * w[1] * w[2] * cout };
  });
}

/** The value each rule thresholds, per sample, at exit b. */
const valuesOf = (rec: SampleRecords, rule: ExitRule, b: number) =>
  rule === 'gate' ? rec.exits[b].gate! : rule === 'confidence' ? rec.exits[b].conf : rec.exits[b].entropy;

/** A τ between two records' values at which `share` of the inputs fire at exit b (entropy fires at ≤ τ, the others at ≥ τ). */
function tauFor(rec: SampleRecords, rule: ExitRule, b: number, share: number): number {
  const v = [...valuesOf(rec, rule, b)].sort((p, q) => (rule === 'entropy' ? p - q : q - p));
  const k = Math.round(share * v.length);
  if (k === 0) return rule === 'entropy' ? v[0] - 1 : v[0] + 1;
  if (k === v.length) return rule === 'entropy' ? v[k - 1] + 1 : v[k - 1] - 1;
  assert.notEqual(v[k - 1], v[k], 'ties in the records: pick another seed');
  return (v[k - 1] + v[k]) / 2;
}

for (const gated of [true, false]) {
  // gated: the proposed method's network, every rule; ungated: BranchyNet's, no gates to threshold
  const rules = gated ? (['gate', 'confidence', 'entropy'] as const) : (['confidence', 'entropy'] as const);
  test(`hard exits (${gated ? 'gated' : 'BranchyNet'}): each block's kernels see only the inputs still in the batch, for every rule and share that left`, async () => {
    await tf.setBackend('cpu');
    const net = new MultiExitNetwork({ ...config, gated });
    const data = source();
    const rec = await collectRecords(net, data, 'test', 16);
    const x = data.batch(0, N);
    const blocks = net.ir.blocks.length;
    const blockMacs = describeBackbone(config.backbone).points.map((p, i, all) => p.macs - (i ? all[i - 1].macs : 0));
    // how many convolutions each block runs, from a batch-1 pass of that block alone
    const convsPerBlock: number[] = [];
    let h: tf.Tensor4D = tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1]);
    for (let i = 0; i < blocks; i++) {
      let next!: tf.Tensor4D;
      convsPerBlock.push((await convKernels(() => { next = tf.keep(net.runBlock(i, h)); })).length);
      h = next;
    }
    const exitsBefore = (i: number) => net.exits.filter((e) => e.block < i).length;

    for (const rule of rules) {
      const seen: { share: number; rowsTimesKernels: number; kernels: number; macs: number }[] = [];
      for (const share of [0, 0.25, 0.5, 0.75, 1]) {
        const thresholds = [tauFor(rec, rule, 0, share), tauFor(rec, rule, 1, 0.5)];
        const ev = new ExitEvaluator(net);
        const hookRows: number[] = [];
        ev.onBlock = (block, rows) => { hookRows[block] = rows; };
        let pass!: Awaited<ReturnType<ExitEvaluator['hardExitPass']>>;
        const kernels = await convKernels(async () => { pass = await ev.hardExitPass(x, rule, thresholds); });
        const where = Array.from(pass.exitIndex);
        assert.deepEqual(where, Array.from(exitAssignments(rec, rule, thresholds)), `${rule} τ=${thresholds}: exits differ from the records`);
        const left = where.filter((b) => b === 0).length;
        assert.equal(left, Math.round(share * N), `${rule}: share leaving at exit 1`);
        // the rows entering block i: inputs not gone at an exit attached before it
        const rows = Array.from({ length: blocks }, (_, i) => where.filter((b) => b >= exitsBefore(i)).length);
        const ran = rows.map((r, i) => (r > 0 ? convsPerBlock[i] : 0));
        const expectedBatches = rows.flatMap((r, i) => new Array(ran[i]).fill(r));
        assert.deepEqual(kernels.map((k) => k.batch), expectedBatches, `${rule} share ${share}: batch of each convolution`);
        assert.deepEqual(hookRows, rows.filter((r) => r > 0), `${rule} share ${share}: onBlock reports the tensor's rows`);
        const convMacs = kernels.reduce((s, k) => s + k.macs, 0);
        assert.equal(convMacs, rows.reduce((s, r, i) => s + r * blockMacs[i], 0), `${rule} share ${share}: kernel MACs vs catalogue`);
        // each input's prediction is its exit's argmax (the final classifier's for the rest)
        pass.exitIndex.forEach((b, i) => assert.equal(pass.pred[i], b < 2 ? rec.exits[b].pred[i] : rec.final.pred[i], `${rule} share ${share}: prediction of sample ${i}`));
        // the MACs the pass reports: those leaving at b pay γ_b, the rest the final cost
        assert.equal(pass.macs, where.reduce((s, b) => s + (b < 2 ? net.costs.exits[b] : net.costs.final), 0));
        seen.push({ share, rowsTimesKernels: kernels.reduce((s, k) => s + k.batch, 0), kernels: kernels.length, macs: convMacs });
        ev.dispose();
      }
      for (let j = 1; j < seen.length; j++) {
        assert.ok(seen[j].macs < seen[j - 1].macs, `${rule}: kernel MACs fall as more inputs leave: ${JSON.stringify(seen)}`);
        assert.ok(seen[j].rowsTimesKernels < seen[j - 1].rowsTimesKernels, `${rule}: rows × kernels fall: ${JSON.stringify(seen)}`);
      }
      // every input gone at block2: only blocks 1–2 run (the stem and two residual blocks' convolutions)
      assert.equal(seen[0].kernels, convsPerBlock.reduce((a, b) => a + b, 0));
      assert.equal(seen[seen.length - 1].kernels, convsPerBlock[0] + convsPerBlock[1]);
      assert.equal(seen[seen.length - 1].macs, N * (blockMacs[0] + blockMacs[1]));
    }
    net.dispose();
  });
}

test('the deployed pass (folded batch norm, heads on the host) leaves where the records say and skips the same kernels', async () => {
  await tf.setBackend('cpu');
  const net = new MultiExitNetwork(config);
  const data = source();
  const rec = await collectRecords(net, data, 'test', 16);
  const fast = new ExitEvaluator(net, { fast: true });
  const plain = new ExitEvaluator(net);
  const thresholds = [tauFor(rec, 'confidence', 0, 0.5), tauFor(rec, 'confidence', 1, 0.5)];
  const want = Array.from(exitAssignments(rec, 'confidence', thresholds));
  let fastBatches: number[] = [];
  for (let i = 0; i < N; i++) {
    // batch 1, as timing runs it: an input that leaves at exit 1 runs two blocks' convolutions
    const x1 = data.batch(i, 1);
    let r!: Awaited<ReturnType<ExitEvaluator['hardExitPass']>>;
    fastBatches = (await convKernels(async () => { r = await fast.hardExitPass(x1, 'confidence', thresholds); })).map((k) => k.batch);
    assert.equal(r.exitIndex[0], want[i], `sample ${i}`);
    assert.equal(r.exitIndex[0], (await plain.hardExitPass(x1, 'confidence', thresholds)).exitIndex[0]);
    const pred = r.exitIndex[0] < 2 ? rec.exits[r.exitIndex[0]].pred[i] : rec.final.pred[i];
    assert.equal(r.pred[0], pred, `sample ${i}: prediction of the exit it left at`);
    x1.dispose();
  }
  assert.ok(fastBatches.every((b) => b === 1));
  fast.dispose(); plain.dispose();

  // timing: the accuracy it reports is that of the hard pass's predictions; its ratios are consistent
  const timing = await measureTiming(net, data, 'gate', [0, 0], 8);
  assert.equal(timing.images, 8);
  assert.equal(timing.backend, 'cpu');
  assert.equal(timing.hardAccuracy, accuracyOf(rec.exits[0].pred.slice(0, 8), rec.labels.slice(0, 8)), 'τ = 0: every input leaves at exit 1');
  assert.equal(timing.speedup, timing.fullMs / timing.hardMs);
  assert.ok(Math.abs(timing.timeSavedPct - 100 * (1 - timing.hardMs / timing.fullMs)) < 1e-9);
  net.dispose();
});

test('the plain backbone pass gives the final classifier\'s logits; no pass leaves tensors behind, and dispose frees the folded weights', async () => {
  await tf.setBackend('cpu');
  const net = new MultiExitNetwork(config);
  const data = source();
  const x = data.batch(0, 8);
  const final = net.forward(x).finalLogits;
  const want = Array.from(final.dataSync());
  final.dispose();
  for (const opts of [{}, { fast: true }, { fast: true, hostHeads: false }]) {
    const before = tf.memory().numTensors;
    const ev = new ExitEvaluator(net, opts);
    const logits = Array.from(await ev.backboneOnlyLogits(x));
    assert.equal(logits.length, 8 * 5);
    // folded batch norm is the same function up to float rounding
    logits.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4 * Math.max(1, Math.abs(want[i])), `${JSON.stringify(opts)} logit ${i}: ${v} vs ${want[i]}`));
    await ev.hardExitPass(x, 'gate', [0.5, 0.5]);
    await ev.hardExitPass(x, 'entropy', [0, 0]);
    await ev.hardExitPass(x, 'confidence', [0, 0]);
    for (let i = 0; i < 4; i++) { const x1 = data.batch(i, 1); await ev.hardExitPass(x1, 'gate', [0.5, 0.5]); x1.dispose(); }
    ev.dispose();
    assert.equal(tf.memory().numTensors, before, `${JSON.stringify(opts)}: tensors left after the passes and dispose()`);
    assert.ok(!x.isDisposed, 'the caller\'s input is never disposed');
  }
  net.dispose();
});
