import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkBackboneFitsData, defaultExperiment, exitPositions, expandSweep, experimentNameFromFile, parseExperiment, parseDims, parseOverride, resolveRule, setPath, validateExperiment,
} from '../../../src/spec/experiment';
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

test('cross-field rules: BranchyNet weights per classifier, the gate rule needs gates, one calibration target', () => {
  bad((x) => { x.method.exitWeights = [1, 1]; }, /^method\.exitWeights: needs 4 weights \(one per exit, then the final classifier\), got 2$/);
  assert.deepEqual(validateExperiment({ ...base(), method: { name: 'branchynet', exitWeights: [1, 2, 3, 4] }, evaluation: { rule: 'entropy' } }).method.exitWeights, [1, 2, 3, 4]);
  bad((x) => { x.method.name = 'branchynet'; x.evaluation.rule = 'gate'; }, /^evaluation\.rule: "gate" needs gates, which only the "proposed" method trains; use "entropy" or "confidence"$/);
  bad((x) => { x.evaluation.calibration = { budget: 1e6, accuracy: 0.8 }; }, /^evaluation\.calibration: give one of budget, budgetShare and accuracy, not several$/);
  bad((x) => { x.sweep = { 'sweep.x': [1] }; }, /^sweep\.sweep\.x: a sweep cannot change the sweep$/);
  // exits: the two methods that route need some; the backbone alone needs none
  bad((x) => { x.exits = []; }, /^exits: "proposed" needs at least one exit \(its gates decide where inputs leave\); add exits \(early-exit macs resnet18 lists the points\), or set method\.name to "baseline" to train the backbone alone$/);
  bad((x) => { x.exits = []; x.method.name = 'branchynet'; x.evaluation.rule = 'entropy'; }, /^exits: "branchynet" needs at least one exit \(its exits' entropy decides where inputs leave\); add exits/);
  assert.deepEqual(validateExperiment({ ...base(), exits: [], method: { name: 'baseline' }, evaluation: { rule: 'entropy' } }).exits, []);
  bad((x) => { x.sweep = { 'training.seed': Array.from({ length: 40 }, (_, i) => i), 'method.lambda': Array.from({ length: 26 }, (_, i) => i) }; }, /^sweep: expands to 1040 runs \(at most 1000\)$/);
  // the boundary itself: 1000 runs
  assert.equal(expandSweep(validateExperiment({ ...base(), sweep: { 'training.seed': Array.from({ length: 1000 }, (_, i) => i) } })).length, 1000);
});

test('numbers: finite only, array lengths, integer vs number; defaults are fresh copies', () => {
  bad((x) => { x.training.lr = Infinity; }, /^training\.lr: must be a finite number$/);
  bad((x) => { x.training.lr = 0; }, /^training\.lr: must be > 0, got 0$/);
  bad((x) => { x.backbone.input = [32, 32, 3, 1]; }, /^backbone\.input: takes at most 3 items$/);
  bad((x) => { x.backbone.input = [32, 32]; }, /^backbone\.input: needs at least 3 item\(s\)$/);
  bad((x) => { x.backbone.classes = 10.5; }, /^backbone\.classes: must be integer, got number \(10\.5\)$/);
  bad((x) => { x.name = 3; }, /^name: must be string, got number \(3\)$/);
  bad((x) => { x.exits = 'block2'; }, /^exits: must be array, got string \("block2"\)$/);
  assert.equal(validateExperiment({ ...base(), training: { ...base().training, lr: 2 } }).training.lr, 2, 'an integer is a number');
  const a = validateExperiment({ backbone: { name: 'resnet18' }, exits: [{ point: 'block2' }] });
  const b = validateExperiment({ backbone: { name: 'resnet18' }, exits: [{ point: 'block2' }] });
  a.exits[0].head.kind = 'conv-pool';
  assert.equal(b.exits[0].head.kind, 'pool', 'filling a default does not share it between experiments');
  assert.deepEqual(a.backbone, { name: 'resnet18', width: 1, input: [32, 32, 3], classes: 10 });
  assert.deepEqual(a.evaluation, { rule: 'auto', threshold: 0.5, calibration: { budget: null, accuracy: null, budgetShare: null, perExit: false }, timingImages: 100 });
});

test('names: from the file, the fallback or the field; $schema is dropped', () => {
  assert.equal(experimentNameFromFile('runs/dir/a.exits.json'), 'a');
  assert.equal(experimentNameFromFile('C:\\work\\b.json'), 'b');
  assert.equal(experimentNameFromFile('plain'), 'plain');
  // baseline: a proposed experiment needs exits, and these have none
  const text = JSON.stringify({ $schema: './schema.json', backbone: { name: 'vgg13' }, method: { name: 'baseline' } });
  const x = parseExperiment(text, 'dir/mine.exits.json');
  assert.equal(x.name, 'mine');
  assert.equal('$schema' in x, false);
  assert.equal(parseExperiment(text, 'dir/mine.exits.json', 'other').name, 'other');
  assert.equal(parseExperiment(JSON.stringify({ name: 'named', backbone: { name: 'vgg13' }, method: { name: 'baseline' } }), 'f.exits.json').name, 'named');
  // an error in the file names it once
  assert.throws(() => parseExperiment('{"backbone":{}}', 'f.exits.json'), (e: Error) => e.message === 'f.exits.json: backbone.name: missing required field');
});

test('--set overrides and paths: JSON values or strings, arrays made for indices, clear errors', () => {
  assert.deepEqual(parseOverride('training.lr=0.01'), { path: 'training.lr', value: 0.01 });
  assert.deepEqual(parseOverride('name=a=b'), { path: 'name', value: 'a=b' });
  assert.deepEqual(parseOverride('exits=[{"point":"block2"}]'), { path: 'exits', value: [{ point: 'block2' }] });
  assert.throws(() => parseOverride('=1'), /--set: expected path=value, got "=1"/);
  assert.throws(() => parseOverride('lr'), /--set: expected path=value, got "lr"/);
  const o: Record<string, any> = {};
  setPath(o, 'exits[1].head.kind', 'pool');
  assert.ok(Array.isArray(o.exits), 'an index makes an array');
  assert.deepEqual(o.exits[1], { head: { kind: 'pool' } });
  assert.equal(o.exits.length, 2);
  setPath(o, 'training.lr', 1);
  assert.deepEqual(o.training, { lr: 1 });
  assert.throws(() => setPath({ training: 3 }, 'training.lr', 1), /training\.lr: "training" is not an object/);
  assert.throws(() => setPath({}, '', 1), /--set: empty path/);
});

test('defaults per backbone, the rule "auto" and the exit positions of the table', () => {
  const a = defaultExperiment('alexnet', 'a');
  assert.deepEqual([a.backbone.width, a.exits.map((e) => e.point)], [0.125, ['conv1', 'conv2', 'conv4']]);
  assert.deepEqual([defaultExperiment('resnet18').backbone.width, defaultExperiment('resnet18').exits.map((e) => e.point)], [0.0625, ['block2', 'block4', 'block6']]);
  assert.equal(defaultExperiment('vgg13').backbone.width, 0.125);
  assert.equal(defaultExperiment().name, 'experiment');
  assert.equal(defaultExperiment().training.epochs, 3);
  assert.throws(() => defaultExperiment('lenet' as never), /backbone\.name: unknown backbone "lenet"/);
  const x = validateExperiment(base());
  assert.equal(resolveRule(x), 'gate');
  assert.equal(resolveRule({ ...x, method: { ...x.method, name: 'branchynet' } }), 'entropy');
  assert.equal(resolveRule({ ...x, evaluation: { ...x.evaluation, rule: 'confidence' } }), 'confidence');
  // the default ResNet-18 exits at block2, block4, block6 of 8 points; the final classifier is #9, in any order in the file
  assert.deepEqual(exitPositions(x), [2, 4, 6, 9]);
  assert.deepEqual(exitPositions({ ...x, exits: [x.exits[2], x.exits[0]] }), [2, 6, 9]);
});

test('the backbone must fit a known dataset (input shape, with the resize hint when the channels match; classes); parseDims reads 28x28x1 and 28×28', () => {
  const x = validateExperiment(base());
  assert.doesNotThrow(() => checkBackboneFitsData(x), 'the synthetic set\'s default fits');
  const fit = (edit: (y: any) => void) => { const y: any = JSON.parse(JSON.stringify(x)); edit(y); return () => checkBackboneFitsData(y); };
  assert.throws(fit((y) => { y.dataset = { name: 'mnist' }; }), /^ValidationError: backbone\.input: \[32, 32, 3\], but dataset "mnist" has 28×28×1 images; set backbone\.input to \[28, 28, 1\]$/);
  assert.throws(fit((y) => { y.dataset = { name: 'mnist' }; y.backbone.input = [32, 32, 1]; }), /set backbone\.input to \[28, 28, 1\] or dataset\.resize$/);
  assert.throws(fit((y) => { y.backbone.classes = 100; }), /^ValidationError: backbone\.classes: 100, but dataset "synthetic" has 10 classes; set backbone\.classes to 10$/);
  assert.doesNotThrow(fit((y) => { y.dataset = { name: 'folder', path: '/somewhere' }; y.backbone.classes = 7; }), 'a folder of images: its shape is not known before it is read');
  assert.deepEqual([parseDims('28x28x1'), parseDims(' 28×28 '), parseDims('28X28'), parseDims('28'), parseDims('28x'), parseDims('a×b')], [[28, 28, 1], [28, 28], [28, 28], null, null, null]);
});
