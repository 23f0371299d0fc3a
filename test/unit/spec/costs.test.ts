/**
 * The cost model by hand counts (backbones.ts, exit-costs.ts): every layer kind's output shape, MACs
 * and parameters, every head kind and gate, and γ_b as Eq. 2 uses it. MACs of a 'same' k×k conv:
 * H'·W'·k²·C_in·C_out; dense: n_in·n_out; pooling, batch norm, ReLU and additions count 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { avgPoolWindow, describeBackbone, formatMacs, layerCost, pointIds, samePadding } from '../../../src/spec/backbones';
import { costModel, gateInputWidth, headChannels, headLayersOf, resolveExits } from '../../../src/spec/exit-costs';

test('ResNet-18 ×1/32 on 8×8×3: per block MACs and parameters by hand', () => {
  // channels 2, 4, 8, 16. stem 3→2: 8·8·9·3·2 = 3456 MACs, 9·3·2 + 4·2 (batch norm) = 62 parameters.
  // a block keeping its shape (C→C): 2·H·W·9·C² MACs, 2·9·C² + 8·C parameters;
  // a stride-2 block C→2C: H'·W'·9·(C·2C + 2C·2C) + a 1×1 shortcut H'·W'·C·2C MACs, + C·2C + 4·2C parameters
  //   block1, 2 (8×8, C 2): 4608 each;  block3 (→4×4, 2→4): 1152 + 2304 + 128 = 3584;  block4: 4608
  //   block5 (→2×2, 4→8): 3584;  block6: 4608;  block7 (→1×1, 8→16): 3584;  block8: 4608
  //   classifier: global pool, dense 16→2 = 32 MACs, 34 parameters
  const d = describeBackbone({ name: 'resnet18', width: 1 / 32, input: [8, 8, 3], classes: 2 });
  assert.deepEqual(d.points.map((p) => p.id), ['block1', 'block2', 'block3', 'block4', 'block5', 'block6', 'block7', 'block8']);
  assert.deepEqual(d.points.map((p) => p.index), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(d.points.map((p) => p.macs), [8064, 12672, 16256, 20864, 24448, 29056, 32640, 37248]);
  assert.deepEqual(d.points.map((p) => p.shape), [[8, 8, 2], [8, 8, 2], [4, 4, 4], [4, 4, 4], [2, 2, 8], [2, 2, 8], [1, 1, 16], [1, 1, 16]]);
  assert.equal(d.total, 37280);
  // 62 + 88 + 88 + 272 + 320 + 992 + 1216 + 3776 + 4736 + 34
  assert.equal(d.parameters, 11584);
  assert.equal(d.label, 'ResNet-18');
  assert.deepEqual(pointIds(d.config), d.points.map((p) => p.id));
});

test('AlexNet ×1/64 on 8×8×1: 5×5 and 3×3 convolutions with biases, max pools, a two-layer classifier with dropout', () => {
  // channels 1, 3, 6, 4, 4; fc1 8 units. conv1 8·8·25·1·1 = 1600 (26 parameters) → pool 4×4;
  // conv2 4·4·25·1·3 = 1200 (78) → pool 2×2; conv3 2·2·9·3·6 = 648 (168); conv4 2·2·9·6·4 = 864 (220);
  // conv5 2·2·9·4·4 = 576 (148) → pool 1×1; flatten 4, dropout, fc1 4·8 = 32 (40), fc2 8·2 = 16 (18)
  const d = describeBackbone({ name: 'alexnet', width: 1 / 64, input: [8, 8, 1], classes: 2 });
  assert.deepEqual(d.points.map((p) => p.macs), [1600, 2800, 3448, 4312, 4888]);
  assert.deepEqual(d.points.map((p) => p.shape), [[4, 4, 1], [2, 2, 3], [2, 2, 6], [2, 2, 4], [1, 1, 4]]);
  assert.equal(d.total, 4936);
  assert.equal(d.parameters, 698);
});

test('layer costs: strides, pooling grids, flatten, dropout; TF\'s \'same\' padding', () => {
  assert.deepEqual(layerCost({ kind: 'conv', name: 'c', filters: 4, kernel: 3, stride: 2, bn: false, relu: true }, [7, 5, 2]), { shape: [4, 3, 4], macs: 4 * 3 * 9 * 2 * 4, params: 9 * 2 * 4 + 4 });
  assert.deepEqual(layerCost({ kind: 'maxpool', size: 2, stride: 2 }, [7, 5, 3]), { shape: [4, 3, 3], macs: 0, params: 0 });
  assert.deepEqual(layerCost({ kind: 'avgpool', grid: 3 }, [16, 12, 5]), { shape: [3, 2, 5], macs: 0, params: 0 });
  assert.deepEqual(layerCost({ kind: 'gap' }, [4, 4, 6]), { shape: [1, 1, 6], macs: 0, params: 0 });
  assert.deepEqual(layerCost({ kind: 'flatten' }, [2, 3, 4]), { shape: [1, 1, 24], macs: 0, params: 0 });
  assert.deepEqual(layerCost({ kind: 'dropout', rate: 0.5 }, [1, 1, 24]), { shape: [1, 1, 24], macs: 0, params: 0 });
  assert.deepEqual(layerCost({ kind: 'dense', name: 'd', units: 5, relu: false }, [2, 2, 3]), { shape: [1, 1, 5], macs: 60, params: 65 });
  // a residual block that keeps its shape has no shortcut convolution
  assert.deepEqual(layerCost({ kind: 'residual', name: 'r', filters: 3, stride: 1 }, [4, 4, 3]), { shape: [4, 4, 3], macs: 2 * 16 * 9 * 9, params: 2 * 81 + 24 });
  // one that changes channels at stride 1 has one
  assert.deepEqual(layerCost({ kind: 'residual', name: 'r', filters: 4, stride: 1 }, [4, 4, 3]), { shape: [4, 4, 4], macs: 16 * 9 * 12 + 16 * 9 * 16 + 16 * 12, params: 108 + 144 + 32 + 12 + 16 });
  assert.deepEqual([avgPoolWindow(16, 12, 3), avgPoolWindow(2, 2, 4), avgPoolWindow(8, 8, 4), avgPoolWindow(9, 3, 4)], [6, 1, 2, 3]);
  assert.deepEqual([samePadding(5, 3, 2), samePadding(8, 3, 2), samePadding(8, 1, 2), samePadding(7, 4, 1), samePadding(8, 3, 1)], [[1, 1], [0, 1], [0, 0], [1, 2], [1, 1]]);
});

test('formatMacs: G, M, k and plain, at the unit boundaries', () => {
  assert.deepEqual([1.5e9, 1e9, 2_345_678, 1e6, 4_560, 1e3, 999, 0].map(formatMacs), ['1.50 G', '1.00 G', '2.35 M', '1.00 M', '4.6 k', '1.0 k', '999', '0']);
});

test('exit heads and gates by hand, γ_b summing every head and gate before the exit, exits put in backbone order', () => {
  // on the ResNet-18 ×1/32 above (points: block1 8·8·2, block3 4·4·4, block8 1·1·16; full network 37280):
  //   block1 pool-mlp, 5 channels, grid 2: pool to 2·2·2 = 8 → dense 8·5 = 40 → dense 5·2 = 10: head 50; gate 5·3 + 3 = 18
  //   block3 conv-pool (channels: 4 clamped up to 8), grid 4 keeps 4×4: conv 4·4·9·4·8 = 4608, dense 128·2 = 256: head 4864; gate 128
  //   block8 pool on a 1×1 map: global pool, dense 16·2 = 32; gate 16
  const backbone = { name: 'resnet18' as const, width: 1 / 32, input: [8, 8, 3] as [number, number, number], classes: 2 };
  const exits = [
    { point: 'block8', head: { kind: 'pool' as const }, gate: { hidden: 0 } },
    { point: 'block3', head: { kind: 'conv-pool' as const }, gate: { hidden: 0 } },
    { point: 'block1', head: { kind: 'pool-mlp' as const, channels: 5, grid: 2 }, gate: { hidden: 3 } },
  ];
  const r = resolveExits({ backbone, exits, gated: true });
  assert.deepEqual(r.map((e) => [e.point, e.block, e.headMacs, e.gateMacs]), [['block1', 0, 50, 18], ['block3', 2, 4864, 128], ['block8', 7, 32, 16]]);
  assert.deepEqual(r.map((e) => e.featureShape), [[1, 1, 5], [1, 1, 128], [1, 1, 16]]);
  assert.deepEqual(r[2].headLayers.map((l) => l.kind), ['gap', 'dense']);
  assert.deepEqual(r[1].headLayers.map((l) => l.kind), ['conv', 'avgpool', 'flatten', 'dense']);
  const c = costModel({ backbone, exits, gated: true });
  assert.deepEqual(c.exits, [8064 + 68, 16256 + 68 + 4992, 37248 + 68 + 4992 + 48]);
  assert.equal(c.final, 37280 + 68 + 4992 + 48);
  assert.equal(c.full, 37280);
  assert.deepEqual([c.headMacs, c.gateMacs], [[50, 4864, 32], [18, 128, 16]]);
  // BranchyNet and the baseline have no gates: no gate MACs
  const ungated = costModel({ backbone, exits, gated: false });
  assert.deepEqual(ungated.exits, [8064 + 50, 16256 + 50 + 4864, 37248 + 50 + 4864 + 32]);
  assert.deepEqual(ungated.gateMacs, [0, 0, 0]);
  assert.deepEqual(costModel({ backbone, exits: [], gated: true }), { exits: [], final: 37280, full: 37280, headMacs: [], gateMacs: [] });
  // a head's channels: as written, else the point's clamped to [8, 128]
  const e = (channels?: number) => ({ point: 'x', head: { kind: 'conv-pool' as const, channels }, gate: { hidden: 0 } });
  assert.deepEqual([headChannels(e(), 3), headChannels(e(), 64), headChannels(e(), 200), headChannels(e(5), 200)], [8, 64, 128, 5]);
});

test('each head kind\'s layers exactly (the weight names checkpoints and the torch engine share), and what a gate reads', () => {
  const exit = (kind: 'pool' | 'conv-pool' | 'pool-mlp', grid?: number) => ({ point: 'block3', head: { kind, channels: 6, grid }, gate: { hidden: 0 } });
  assert.deepEqual(headLayersOf(exit('pool', 1), [4, 4, 8], 10), [{ kind: 'gap' }, { kind: 'dense', name: 'exit_block3/fc', units: 10, relu: false }]);
  assert.deepEqual(headLayersOf(exit('conv-pool', 2), [4, 4, 8], 10), [
    { kind: 'conv', name: 'exit_block3/conv', filters: 6, kernel: 3, stride: 1, bn: true, relu: true },
    { kind: 'avgpool', grid: 2 }, { kind: 'flatten' },
    { kind: 'dense', name: 'exit_block3/fc', units: 10, relu: false },
  ]);
  assert.deepEqual(headLayersOf(exit('pool-mlp', 2), [4, 4, 8], 10), [
    { kind: 'avgpool', grid: 2 }, { kind: 'flatten' },
    { kind: 'dense', name: 'exit_block3/hidden', units: 6, relu: true },
    { kind: 'dense', name: 'exit_block3/fc', units: 10, relu: false },
  ]);
  // a 1×1 map is pooled globally whatever the grid
  assert.deepEqual(headLayersOf(exit('pool', 4), [1, 1, 8], 10)[0], { kind: 'gap' });
  // g_b reads the head's features, f_b's softmax statistics (max probability, entropy, margin), or both
  assert.deepEqual([gateInputWidth(40, undefined), gateInputWidth(40, 'features'), gateInputWidth(40, 'softmax'), gateInputWidth(40, 'features+softmax')], [40, 40, 3, 43]);
});
