// The extension's reader of experiment files (src/extension/experimentFile.ts): pure, no vscode.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { pointIds } from '../../src/core/backbones';
import { formatExperiment, newExperimentJson, readExperiment, withExit } from '../../src/extension/experimentFile';

const fixture = readFileSync(new URL('../fixtures/workspace/resnet18.exits.json', `file://${__filename}`), 'utf8');

test('reads the fixture: ResNet-18 with exits at block2 and block4', () => {
  const r = readExperiment(fixture);
  assert.ok(r.ok);
  assert.deepEqual(r.value.backbone, { name: 'resnet18', width: 1, input: [32, 32, 3], classes: 10 });
  assert.deepEqual(r.value.exits.map((e) => e.point), ['block2', 'block4']);
});

test('errors name the JSON path and the allowed values', () => {
  const error = (text: string) => {
    const r = readExperiment(text);
    assert.ok(!r.ok, `expected an error for ${text}`);
    return r.error;
  };
  assert.match(error('{'), /^not valid JSON/);
  assert.match(error('[]'), /JSON object/);
  assert.match(error('{}'), /^backbone: missing/);
  assert.match(error('{"backbone":{"name":"lenet"}}'), /^backbone\.name: unknown backbone "lenet"; allowed: alexnet, vgg13, resnet18/);
  assert.match(error('{"backbone":{"name":"vgg13"},"exits":[{"head":"x"}]}'), /^exits\[0\]\.point/);
});

test('placing and removing exits keeps backbone order and leaves other fields alone', () => {
  const json = { ...JSON.parse(fixture), training: { epochs: 3 } };
  const order = pointIds({ name: 'resnet18', width: 1, input: [32, 32, 3], classes: 10 });
  const placed = withExit(json, 'block1', true, order);
  assert.deepEqual((placed.exits as { point: string }[]).map((e) => e.point), ['block1', 'block2', 'block4']);
  assert.deepEqual(placed.training, { epochs: 3 });
  const removed = withExit(placed, 'block2', false, order);
  assert.deepEqual((removed.exits as { point: string }[]).map((e) => e.point), ['block1', 'block4']);
  // Re-placing an existing exit keeps its settings.
  const kept = withExit({ ...json, exits: [{ point: 'block2', head: 'conv' }] }, 'block2', true, order);
  assert.deepEqual(kept.exits, [{ point: 'block2', head: 'conv' }]);
});

test('a new experiment round-trips through the reader, formatted with two spaces', () => {
  const text = formatExperiment(newExperimentJson('alexnet'));
  assert.ok(text.endsWith('}\n') && text.includes('\n  "backbone": {'));
  const r = readExperiment(text);
  assert.ok(r.ok && r.value.backbone.name === 'alexnet' && r.value.exits.length === 0);
});
