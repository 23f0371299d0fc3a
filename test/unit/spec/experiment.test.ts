import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultExperiment, expandSweep, parseExperiment, validateExperiment } from '../../../src/spec/experiment';
import { ValidationError } from '../../../src/spec/errors';
import { ROOT } from '../../paths';

const base = () => JSON.parse(JSON.stringify(defaultExperiment('resnet18', 't', 'synthetic')));
const bad = (mutate: (x: any) => void, pattern: RegExp) => {
  const x = base();
  mutate(x);
  assert.throws(() => validateExperiment(x), (e: unknown) => e instanceof ValidationError && pattern.test((e as Error).message), `expected ${pattern}`);
};

test('the default experiment is complete and valid, every field present, on the shipped Fashion-MNIST subset', () => {
  const x = defaultExperiment('vgg13', 'v');
  assert.equal(x.backbone.name, 'vgg13');
  assert.deepEqual(x.backbone.input, [28, 28, 1]);
  assert.deepEqual([x.method.lambda, x.method.exitLossWeight], [1, 0.5]);
  assert.equal(x.exits.length, 3);
  assert.deepEqual(Object.keys(x.training).sort(), ['backend', 'batchSize', 'device', 'devices', 'epochs', 'initFrom', 'lr', 'momentum', 'optimizer', 'schedule', 'seed', 'stepEpochs', 'stepGamma', 'weightDecay']);
  assert.equal(x.method.name, 'proposed');
  assert.equal(x.dataset.name, 'fashion-mnist-mini');
  assert.deepEqual(defaultExperiment('vgg13', 'v', 'synthetic').backbone.input, [32, 32, 3], 'the synthetic set stays selectable');
  assert.deepEqual(x.exits[0], { point: 'conv2', head: { kind: 'pool' }, gate: { hidden: 0 } });
  // round trip: the written file parses to the same experiment
  assert.deepEqual(parseExperiment(JSON.stringify(x), 'v.exits.json'), x);
});

test('invalid JSON names line and column', () => {
  assert.throws(() => parseExperiment('{\n  "backbone": {\n    "name": "resnet18",\n  }\n}', 'a.exits.json'), /a\.exits\.json: invalid JSON at line 4, column 3/);
});

test('wrong types, unknown fields, missing fields and out-of-range values name the JSON path', () => {
  bad((x) => { x.training.epochs = 'ten'; }, /training\.epochs: must be integer, got string/);
  bad((x) => { x.training.epochs = 0; }, /training\.epochs: must be ≥ 1/);
  bad((x) => { x.training.batchSize = 0; }, /training\.batchSize: must be ≥ 1/);
  bad((x) => { x.training.learningRate = 0.1; }, /training\.learningRate: unknown field; allowed: epochs, batchSize/);
  bad((x) => { delete x.backbone.name; }, /backbone\.name: missing required field/);
  bad((x) => { delete x.backbone; }, /^backbone: missing required field/);
  bad((x) => { x.method.lambda = -1; }, /method\.lambda: must be ≥ 0, got -1/);
  bad((x) => { x.backbone.width = 0; }, /backbone\.width: must be > 0/);
  bad((x) => { x.evaluation.threshold = 1.5; }, /evaluation\.threshold: must be ≤ 1/);
  bad((x) => { x.evaluation.threshold = [0.5, -0.1, 0.5]; }, /evaluation\.threshold\[1\]: must be ≥ 0/);
  bad((x) => { x.evaluation.threshold = [0.5]; }, /evaluation\.threshold: needs one τ per exit \(3\), got 1/);
  bad((x) => { x.exits[1].point = 'conv4'; }, /exits\[1\]\.point: "conv4" is not a point of resnet18; allowed: block1/);
  bad((x) => { x.exits[2].point = 'block2'; }, /exits\[2\]\.point: duplicate exit at "block2"/);
  bad((x) => { x.method.name = 'mystery'; }, /method\.name: "mystery" is not allowed; allowed: proposed, branchynet, baseline/);
  bad((x) => { x.method.name = 'baseline'; }, /method\.name: "baseline" trains the backbone alone/);
  bad((x) => { x.sweep = { 'method.lambda': [] }; }, /sweep\.method\.lambda: (expands to zero runs|needs at least 1 item)/);
  bad((x) => { x.sweep = {}; }, /sweep: empty/);
  bad((x) => { x.sweep = { 'method.lambda': [0.1, -2] }; }, /sweep \{"method\.lambda":-2\}: method\.lambda: must be ≥ 0/);
});

test('a sweep expands to the cartesian product, each run validated', () => {
  const x = base();
  x.sweep = { 'method.lambda': [0.01, 0.1, 1], 'training.seed': [1, 2] };
  const runs = expandSweep(validateExperiment(x));
  assert.equal(runs.length, 6);
  assert.deepEqual(runs.map((r) => r.experiment.method.lambda), [0.01, 0.01, 0.1, 0.1, 1, 1]);
  assert.deepEqual(runs[3].sweep, { 'method.lambda': 0.1, 'training.seed': 2 });
  assert.equal(runs[3].experiment.sweep, undefined);
});

test('the published JSON Schema is generated from the parser\'s definition', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { experimentSchema } = await import('../../../src/spec/experiment');
  const published = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/experiment.schema.json'), 'utf8'));
  assert.deepEqual(published, JSON.parse(JSON.stringify(experimentSchema)), 'run `npm run schema` to regenerate schema/experiment.schema.json');
});
