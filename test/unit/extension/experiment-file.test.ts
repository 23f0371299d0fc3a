// The extension's side of experiment files (src/extension/experimentFile.ts): the core parser, tree edits, error locations; no vscode.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { pointIds } from '../../../src/spec/backbones';
import { defaultExperiment } from '../../../src/spec/experiment';
import { formatExperiment, locateField, newExperimentJson, readExperiment, withExit } from '../../../src/extension/experimentFile';

const fixture = readFileSync(new URL('../../fixtures/workspace/resnet18.exits.json', `file://${__filename}`), 'utf8');

test('reads the fixture: ResNet-18 with exits at block2 and block4', () => {
  const r = readExperiment(fixture);
  assert.ok(r.ok);
  assert.deepEqual(r.value.backbone, { name: 'resnet18', width: 1, input: [32, 32, 3], classes: 10 });
  assert.deepEqual(r.value.exits.map((e) => e.point), ['block2', 'block4']);
  // The core parser fills every default; the raw JSON stays as written.
  assert.deepEqual(r.value.exits[0], { point: 'block2', head: { kind: 'pool' }, gate: { hidden: 0 } });
  assert.deepEqual(r.json.exits, [{ point: 'block2' }, { point: 'block4' }]);
});

test('errors name the JSON path and the allowed values, and carry the path as field', () => {
  const error = (text: string) => {
    const r = readExperiment(text, 'x.exits.json');
    assert.ok(!r.ok, `expected an error for ${text}`);
    return r;
  };
  assert.match(error('{').error, /^invalid JSON at line 1, column 2/);
  assert.match(error('[]').error, /JSON object/);
  assert.deepEqual(error('{}'), { ok: false, error: 'backbone: missing required field', field: 'backbone' });
  assert.match(error('{"backbone":{"name":"lenet"}}').error, /^backbone\.name: "lenet" is not allowed; allowed: alexnet, vgg13, resnet18/);
  assert.equal(error('{"backbone":{"name":"vgg13"},"exits":[{"head":"x"}]}').field, 'exits[0].point');
  assert.match(error('{"backbone":{"name":"resnet18"},"training":{"batchSize":0}}').error, /^training\.batchSize: must be ≥ 1/);
});

test('locateField finds the key or element a JSON path names', () => {
  const text = '{\n  "backbone": { "name": "resnet18" },\n  "exits": [{ "point": "block2" }, { "point": "zz" }],\n  "training": { "batchSize": 0 }\n}';
  const at = (field: string) => {
    const r = locateField(text, field);
    return r && text.slice(r.start, r.end);
  };
  assert.equal(at('backbone.name'), '"name"');
  assert.equal(at('exits[1].point'), '"point"');
  assert.equal(text.indexOf('"point": "zz"'), locateField(text, 'exits[1].point')!.start);
  assert.equal(at('exits[1]'), '{ "point": "zz" }');
  assert.equal(at('training.batchSize'), '"batchSize"');
  assert.equal(at('training.missing'), '"training"');
  assert.equal(at('nothing'), undefined);
});

test('placing and removing exits keeps backbone order and leaves other fields alone', () => {
  const json = { ...JSON.parse(fixture), training: { epochs: 3 } };
  const order = pointIds({ name: 'resnet18', width: 1, input: [32, 32, 3], classes: 10 });
  const placed = withExit(json, 'block1', true, order);
  assert.deepEqual((placed.exits as { point: string }[]).map((e) => e.point), ['block1', 'block2', 'block4']);
  // A ticked point becomes a complete exit: default head and gate written out.
  assert.deepEqual((placed.exits as object[])[0], { point: 'block1', head: { kind: 'pool' }, gate: { hidden: 0 } });
  assert.deepEqual(placed.training, { epochs: 3 });
  const removed = withExit(placed, 'block2', false, order);
  assert.deepEqual((removed.exits as { point: string }[]).map((e) => e.point), ['block1', 'block4']);
  // Re-placing an existing exit keeps its settings.
  const kept = withExit({ ...json, exits: [{ point: 'block2', head: 'conv' }] }, 'block2', true, order);
  assert.deepEqual(kept.exits, [{ point: 'block2', head: 'conv' }]);
});

test('a new experiment is the default experiment of `early-exit init`, formatted with two spaces', () => {
  const text = formatExperiment(newExperimentJson('alexnet', 'mine'));
  assert.ok(text.endsWith('}\n') && text.includes('\n  "backbone": {'));
  assert.equal(text, JSON.stringify(defaultExperiment('alexnet', 'mine'), null, 2) + '\n');
  const r = readExperiment(text);
  assert.ok(r.ok && r.value.backbone.name === 'alexnet' && r.value.name === 'mine');
  assert.deepEqual(r.value, defaultExperiment('alexnet', 'mine'));
});
