// Runs side by side, one per GPU (src/runs/gpus.ts): which GPUs are visible, how many each run
// takes, and which queue slot gets which.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gpusForSlot, gpusPerRun, runsSideBySide, visibleGpus } from '../../../src/runs/gpus';
import { tinyExperiment } from '../../fixtures/engine-data';

test('visible GPUs: CUDA_VISIBLE_DEVICES as CUDA reads it, else the driver\'s list, else none', () => {
  const none = () => { throw new Error('ENOENT'); };
  assert.deepEqual(visibleGpus({ CUDA_VISIBLE_DEVICES: '2,3' }, none), ['2', '3']);
  assert.deepEqual(visibleGpus({ CUDA_VISIBLE_DEVICES: '0,-1,1' }, none), ['0'], 'CUDA stops at the first invalid id');
  assert.deepEqual(visibleGpus({ CUDA_VISIBLE_DEVICES: '' }, none), []);
  assert.deepEqual(visibleGpus({}, () => ['0000:18:00.0', '0000:3b:00.0', '0000:86:00.0']), ['0', '1', '2']);
  assert.deepEqual(visibleGpus({}, none), []);
});

test('a run takes training.devices GPUs when it may train on CUDA with the torch engine; slots take consecutive groups', () => {
  const x = (training: Record<string, unknown>) => tinyExperiment({ backbone: { name: 'resnet18', width: 0.25 }, exits: [], method: { name: 'baseline' }, training });
  assert.equal(gpusPerRun(x({ backend: 'torch', devices: 2 })), 2);
  assert.equal(gpusPerRun(x({ backend: 'auto' })), 1);
  assert.equal(gpusPerRun(x({ backend: 'torch', device: 'cpu' })), 0);
  assert.equal(gpusPerRun(x({ backend: 'wasm' })), 0);
  assert.equal(gpusPerRun(x({ backend: 'wasm' }), 'torch'), 1, 'the --backend / setting override counts');
  const gpus = ['0', '1', '2', '3', '4'];
  assert.deepEqual(gpusForSlot(gpus, 0, 1), ['0']);
  assert.deepEqual(gpusForSlot(gpus, 3, 1), ['3']);
  assert.deepEqual(gpusForSlot(gpus, 1, 2), ['2', '3']);
  assert.equal(gpusForSlot(gpus, 2, 2), null, 'the fifth GPU alone does not make a group of two');
  assert.equal(gpusForSlot(gpus, 0, 0), null);
  assert.equal(runsSideBySide(gpus, 2), 2);
  assert.equal(runsSideBySide([], 1), 1);
});
