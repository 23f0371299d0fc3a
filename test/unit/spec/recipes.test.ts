/** The recipe fields of `method` in the experiment file: defaults, one-line refusals, the engine table. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrationOf, engineOfBackend, parseExperiment, validateExperiment } from '../../../src/spec/experiment';
import { ENGINE_RECIPES, methodConfig, nextMultiplier, phaseLearningRate, recipeRefusal, recipesOf, recipeSummary, RECIPES } from '../../../src/spec/method';

const base = (method: Record<string, unknown>, training: Record<string, unknown> = {}) => ({
  backbone: { name: 'resnet18', width: 0.0625 }, exits: [{ point: 'block2' }, { point: 'block4' }], method, training: { epochs: 10, ...training },
});
const fails = (raw: unknown, re: RegExp) => assert.throws(() => parseExperiment(JSON.stringify(raw), 'x.exits.json'), (e: Error) => {
  assert.match(e.message, re);
  assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
  return true;
});

test('the defaults are the paper\'s method: no recipe on, and the parsed file says so', () => {
  const x = validateExperiment(base({ name: 'proposed' }));
  assert.deepEqual(recipesOf(x.method), []);
  assert.deepEqual(x.method.warmup, { epochs: 0, distillation: 0, temperature: 3, freeze: false });
  assert.equal(x.method.gateInputs, 'features');
  assert.equal(x.method.targetBudget, null);
  assert.equal(x.method.gateTemperature, 1);
  assert.equal(x.method.hardGatesFrom, null);
  assert.equal(recipeSummary(x.method), '');
  assert.equal(calibrationOf(x, 1000), null);
});

test('recipes parse, and a target budget is what the run calibrates to (τ per exit) unless calibration says otherwise', () => {
  const x = validateExperiment(base({ name: 'proposed', warmup: { epochs: 4, distillation: 0.5, freeze: true }, gateInputs: 'features+softmax', targetBudget: 0.6, gateTemperature: 0.1, hardGatesFrom: 9 }));
  assert.deepEqual(recipesOf(x.method), ['warmup', 'distillation', 'freeze', 'gateInputs', 'targetBudget', 'gateTemperature', 'hardGatesFrom']);
  assert.equal(recipeSummary(x.method), 'exits first 4 ep. (distilled 0.5), then gates only, gates see softmax, budget 60 % MACs, gate T → 0.1, hard gates from ep. 9');
  assert.deepEqual(calibrationOf(x, 1000), { target: { budget: 600 }, perExit: true });
  const y = validateExperiment({ ...base({ name: 'proposed', targetBudget: 0.6 }), evaluation: { calibration: { accuracy: 0.8 } } });
  assert.deepEqual(calibrationOf(y, 1000), { target: { accuracy: 0.8 }, perExit: false });
  const z = validateExperiment({ ...base({ name: 'branchynet' }), evaluation: { calibration: { budgetShare: 0.5, perExit: true } } });
  assert.deepEqual(calibrationOf(z, 1000), { target: { budget: 500 }, perExit: true });
});

test('bad recipes are refused in one line naming the field', () => {
  fails(base({ name: 'branchynet', warmup: { epochs: 2 } }), /method\.warmup: training recipes shape how gates learn, and only "proposed" has gates/);
  fails(base({ name: 'branchynet', gateInputs: 'features+softmax' }), /method\.gateInputs: training recipes/);
  fails(base({ name: 'proposed', warmup: { epochs: 10, freeze: true } }), /method\.warmup\.epochs: 10 warm-up epochs leave none of the 10 for the gates/);
  fails(base({ name: 'proposed', hardGatesFrom: 11 }), /method\.hardGatesFrom: epoch 11 is after the last \(10\)/);
  fails(base({ name: 'proposed', targetBudget: 1.5 }), /method\.targetBudget: must be ≤ 1, got 1\.5/);
  fails(base({ name: 'proposed', targetBudget: 0 }), /method\.targetBudget: must be > 0/);
  fails(base({ name: 'proposed', gateInputs: 'logits' }), /method\.gateInputs: "logits" is not allowed; allowed: features, features\+softmax, softmax/);
  fails(base({ name: 'proposed', gateTemperature: 2 }), /method\.gateTemperature: must be ≤ 1/);
  fails(base({ name: 'proposed', warmup: { epochs: 2, distillation: 2 } }), /method\.warmup\.distillation: must be ≤ 1/);
  fails(base({ name: 'proposed', warmup: { epoch: 2 } }), /method\.warmup\.epoch: unknown field; allowed: epochs, distillation, temperature, freeze/);
  fails(base({ name: 'proposed', hardGatesFrom: 2.5 }), /method\.hardGatesFrom: must be integer or null/);
  fails({ ...base({ name: 'proposed' }), evaluation: { calibration: { budget: 5, budgetShare: 0.5 } } }, /evaluation\.calibration: give one of budget, budgetShare and accuracy/);
});

test('an engine that lacks a recipe is refused in one line naming the fields; the tfjs engine has them all', () => {
  assert.deepEqual(ENGINE_RECIPES.tfjs, RECIPES);
  const m = methodConfig({ name: 'proposed', gateInputs: 'features+softmax', targetBudget: 0.5 });
  assert.equal(recipeRefusal(m, 'tfjs'), null);
  assert.equal(recipeRefusal(methodConfig({ name: 'proposed' }), 'torch'), null, 'the paper\'s method runs anywhere');
  assert.equal(recipeRefusal(m, 'torch'), 'method.gateInputs, method.targetBudget: the torch engine does not implement these recipes yet; train with a TF.js backend (training.backend "wasm", "cpu", …) or remove them');
  assert.equal(engineOfBackend('auto'), null);
  assert.equal(engineOfBackend('wasm'), 'tfjs');
  assert.equal(engineOfBackend('torch'), 'torch');
});

test('the budget multiplier: up while C is above the target, down (never below 0) while under it', () => {
  assert.ok(Math.abs(nextMultiplier(0.1, 0.8, 0.6, 0.5) - 0.2) < 1e-12);
  assert.equal(nextMultiplier(0.05, 0.4, 0.6, 0.5), 0);
  assert.ok(Math.abs(nextMultiplier(0.3, 0.5, 0.6, 1) - 0.2) < 1e-12);
});

test('gates only from the first epoch needs trained exits (initFrom); with a warm-up each phase runs its own schedule', () => {
  fails(base({ name: 'proposed', warmup: { freeze: true } }), /method\.warmup\.freeze: with no warm-up epochs the gates alone would learn on untrained exits; set method\.warmup\.epochs, or start from a trained run with training\.initFrom/);
  const x = validateExperiment(base({ name: 'proposed', warmup: { freeze: true } }, { initFrom: '/runs/bn' }));
  assert.deepEqual(recipesOf(x.method, x.training), ['freeze', 'initFrom']);
  assert.equal(recipeSummary(x.method), 'gates only');
  assert.match(recipeRefusal(x.method, 'torch', x.training)!, /^method\.warmup\.freeze, training\.initFrom: the torch engine/);
  // 10 epochs, 4 of them warm-up, cosine: 4 epochs of cosine, then 6 from the full rate again
  const y = validateExperiment(base({ name: 'proposed', warmup: { epochs: 4, freeze: true } }, { lr: 0.01, schedule: 'cosine' }));
  const lrs = Array.from({ length: 10 }, (_, i) => phaseLearningRate(y, i + 1));
  assert.equal(lrs[0], 0.01);
  assert.ok(Math.abs(lrs[2] - 0.005) < 1e-12, 'epoch 3 of a 4-epoch cosine: half the rate');
  assert.equal(lrs[4], 0.01, 'the gates phase starts from the full rate');
  assert.ok(lrs[9] < lrs[5]);
  // without freeze one schedule over every epoch
  const z = validateExperiment(base({ name: 'proposed', warmup: { epochs: 4 } }, { lr: 0.01, schedule: 'cosine' }));
  assert.ok(Math.abs(phaseLearningRate(z, 6) - 0.005) < 1e-12);
});
