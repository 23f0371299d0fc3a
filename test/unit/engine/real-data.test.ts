/**
 * The proposed method on real data (MNIST from ../shared/datasets, official IDX files): a tiny
 * ResNet-18 with two exits trained by the paper's loss alone (CE on f̃_1 + λ·C, no per-exit CE)
 * for one epoch on 2,700 images must beat chance by a wide margin, on the soft output and with hard
 * exits at τ = 0.5, and the gates must split the inputs between the exits.
 *
 * Measured (wasm, this seed): soft 86.4 %, hard 84.0 %, 82 % leave at block2 and 18 % at block4,
 * 30 % of the MACs. With heads that global-average-pool the shallow features (head.grid = 1) the
 * early classifiers stayed near chance (block2 12 %, block4 27 % standalone even under BranchyNet)
 * and the gates collapsed; pooling to a 4×4 grid (the default) keeps where the strokes are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { channelStats, loadDataset, splitValidation, validateDatasetSpec } from '../../../src/data';
import { TfjsEngine } from '../../../src/engine/tfjs';
import { trainEpochs } from '../../../src/engine/loop';
import { evaluationReport } from '../../../src/spec/analysis';
import { tinyExperiment } from '../../fixtures/engine-data';
import { SHARED_DATASETS } from '../../paths';

const shared = SHARED_DATASETS;

test('proposed on real MNIST: well above chance, and the gates send inputs to more than one exit at τ = 0.5', async () => {
  const engine = new TfjsEngine();
  await engine.prepare('wasm');
  const ds = await loadDataset(validateDatasetSpec({ name: 'mnist', path: path.join(shared, 'mnist'), limit: 3000, augment: false }));
  assert.deepEqual(ds.shape, [28, 28, 1]);
  const { train, validation } = splitValidation(ds.train, 0.1, 1);
  const test = { ...ds.test, count: 2000, images: ds.test.images.subarray(0, 2000 * 784), labels: ds.test.labels.subarray(0, 2000) };
  const { mean, std } = channelStats(train, ds.shape);
  const x = tinyExperiment({
    backbone: { name: 'resnet18', width: 1 / 8, input: [28, 28, 1], classes: 10 },
    exits: [{ point: 'block2', head: { kind: 'pool' } }, { point: 'block4', head: { kind: 'pool' } }],
    method: { name: 'proposed', lambda: 1, exitLossWeight: 0 },
    training: { epochs: 1, batchSize: 32, optimizer: 'adam', lr: 3e-3, weightDecay: 0, schedule: 'constant', seed: 1 },
  });
  const { net } = await engine.open(x, { shape: ds.shape, train, validation, test, mean, std, augment: false }, null);
  await trainEpochs(net, x, { startEpoch: 0, rule: 'gate', thresholds: [0.5, 0.5] });
  const rec = await net.records('test');
  const r = evaluationReport(net.costs, rec, null, 'gate', 0.5, null);
  console.log(`soft ${r.softAccuracy}, hard ${r.hard.accuracy}, shares ${r.hard.rows.map((x) => x.share.toFixed(3)).join(' ')}, avg MACs ${r.hard.averageMacsPct.toFixed(1)}%`);
  assert.ok(r.softAccuracy! > 0.6, `soft accuracy ${r.softAccuracy} (chance 0.1)`);
  assert.ok(r.hard.accuracy > 0.6, `hard accuracy ${r.hard.accuracy}`);
  const used = r.hard.rows.filter((x) => x.share >= 0.05);
  assert.ok(used.length >= 2, `inputs must leave at more than one exit (≥ 5 % each); shares ${r.hard.rows.map((x) => x.share.toFixed(3)).join(' ')}`);
  assert.ok(r.hard.averageMacsPct < 90, `hard exits must save compute: ${r.hard.averageMacsPct.toFixed(1)} % of the MACs`);
  net.dispose();
});
