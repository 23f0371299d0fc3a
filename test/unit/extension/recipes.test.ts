/** The training recipes as the Branches view shows and edits them (src/extension/recipes.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { methodDescription, parseRecipeValue, recipeItems, withRecipe } from '../../../src/extension/recipes';
import { validateExperiment } from '../../../src/spec/experiment';
import { methodConfig } from '../../../src/spec/method';

test('recipe rows: every recipe off for the paper\'s method, each described when on; none without gates', () => {
  const paper = methodConfig({ name: 'proposed', lambda: 0.5 });
  assert.deepEqual(recipeItems(paper).map((i) => [i.field, i.description, i.on]), [
    ['warmup', 'off (the paper)', false],
    ['gateInputs', 'head features (the paper)', false],
    ['targetBudget', 'off: fixed λ = 0.5', false],
    ['gateTemperature', 'off: T = 1', false],
    ['hardGatesFrom', 'off (soft gates)', false],
  ]);
  assert.equal(methodDescription(paper), 'the paper\'s loss, λ 0.5');
  const on = methodConfig({
    name: 'proposed', warmup: { epochs: 8, distillation: 0.5, temperature: 4, freeze: true }, gateInputs: 'features+softmax',
    targetBudget: 0.6, gateTemperature: 0.1, hardGatesFrom: 18,
  });
  assert.deepEqual(recipeItems(on).map((i) => i.description), [
    '8 epochs, distilled 0.5 at T 4, then gates only', 'features + max p, entropy, margin', '60 % of the MACs (λ adapted, rate 0.05)', 'T 1 → 0.1', 'from epoch 18',
  ]);
  assert.ok(recipeItems(on).every((i) => i.on && i.tooltip.startsWith(`method.${i.field}`)));
  assert.deepEqual(recipeItems(methodConfig({ name: 'branchynet' })), []);
  assert.match(methodDescription(methodConfig({ name: 'branchynet' })), /no gates: no recipes/);
});

test('input boxes: empty = off, ranges checked with a one-line reason', () => {
  assert.deepEqual(parseRecipeValue('targetBudget', '60', 20), { ok: true, value: 0.6 });
  assert.deepEqual(parseRecipeValue('targetBudget', '62.5%', 20), { ok: true, value: 0.625 });
  assert.deepEqual(parseRecipeValue('targetBudget', '', 20), { ok: true, value: null });
  assert.equal(parseRecipeValue('targetBudget', '150', 20).ok, false);
  assert.deepEqual(parseRecipeValue('gateTemperature', '', 20), { ok: true, value: 1 });
  assert.equal(parseRecipeValue('gateTemperature', '2', 20).ok, false);
  assert.deepEqual(parseRecipeValue('hardGatesFrom', '18', 20), { ok: true, value: 18 });
  const late = parseRecipeValue('hardGatesFrom', '21', 20);
  assert.ok(!late.ok && /from 1 to 20/.test(late.error));
  assert.deepEqual(parseRecipeValue('warmupEpochs', '', 20), { ok: true, value: 0 });
  assert.equal(parseRecipeValue('warmupEpochs', '20', 20).ok, false, 'a warm-up as long as training leaves the gates no epoch');
  assert.equal(parseRecipeValue('distillation', '1.5', 20).ok, false);
});

test('withRecipe: sets one field of method, keeps the rest as written, removes what is back at the default; the result parses', () => {
  const json = { backbone: { name: 'resnet18' }, exits: [{ point: 'block2' }], method: { lambda: 0.3 }, training: { epochs: 12 } };
  let j = withRecipe(json, { field: 'targetBudget', value: 0.6 });
  j = withRecipe(j, { field: 'warmup', value: { epochs: 4, distillation: 0, temperature: 3, freeze: true } });
  j = withRecipe(j, { field: 'gateInputs', value: 'features+softmax' });
  assert.deepEqual(j.method, { lambda: 0.3, targetBudget: 0.6, warmup: { epochs: 4, freeze: true }, gateInputs: 'features+softmax' });
  assert.deepEqual(json.method, { lambda: 0.3 }, 'the input is not changed');
  const x = validateExperiment(j);
  assert.equal(x.method.warmup.epochs, 4);
  assert.equal(x.method.targetBudget, 0.6);
  j = withRecipe(j, { field: 'targetBudget', value: null });
  j = withRecipe(j, { field: 'warmup', value: { epochs: 0, distillation: 0, temperature: 3, freeze: false } });
  j = withRecipe(j, { field: 'gateInputs', value: 'features' });
  assert.deepEqual(j.method, { lambda: 0.3 });
});
