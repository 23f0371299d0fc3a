// What the Branches view and the results panel say and decide about a plan over tiers
// (src/extension/tierPresentation.ts, no vscode), and both sides' checks of a plan in a message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateWebviewMessage } from '../../../src/extension/panels/messages';
import { validateHostMessage } from '../../../webview/results/host-messages';
import {
  experimentMatchesRun, tierLayout, tiersDescription, tiersTooltip, withCutAt, withCutMoved, withDeployment, withPreset,
} from '../../../src/extension/tierPresentation';
import { describeBackbone } from '../../../src/spec/backbones';
import { defaultExperiment, validateExperiment } from '../../../src/spec/experiment';
import { presetById, type DeploymentSpec } from '../../../src/spec/tiers';

const backbone = { name: 'resnet18' as const, width: 0.25, input: [32, 32, 3] as [number, number, number], classes: 10 };
const desc = describeBackbone(backbone);
const ids = desc.points.map((p) => p.id);
const plan: DeploymentSpec = { preset: 'phone-wifi-cloud', cuts: ['block2', 'block6'], quantization: 'float32' };

test('each block\'s tier and the cut rows: what runs where, the link, the bytes of the map that crosses it', () => {
  const l = tierLayout(plan, desc);
  assert.deepEqual(l.tierOfBlock, ['device', 'device', 'edge', 'edge', 'edge', 'edge', 'cloud', 'cloud']);
  assert.equal(l.cuts.length, 2);
  // block2's output at width 1/4: 32×32×16 = 16 384 values
  assert.equal(l.cuts[0].description, 'after block2 · Wi-Fi 18.9 Mbit/s, RTT 5.00 ms · 65.5 KB f32 / 16.4 KB int8');
  assert.equal(l.cuts[1].description, 'after block6 · WAN 100.0 Mbit/s, RTT 30.0 ms · 16.4 KB f32 / 4.1 KB int8');
  assert.deepEqual([l.cuts[0].from.name, l.cuts[0].to.name], ['device', 'edge']);
  assert.deepEqual([l.cuts[0].canMoveUp, l.cuts[0].canMoveDown, l.cuts[1].canMoveDown], [true, true, true]);
  const raw = tierLayout({ ...plan, cuts: ['input', 'block8'] }, desc);
  assert.equal(raw.cuts[0].description, 'after the input · Wi-Fi 18.9 Mbit/s, RTT 5.00 ms · 3.1 KB raw image');
  assert.deepEqual([raw.cuts[0].canMoveUp, raw.cuts[1].canMoveDown], [false, false], 'at the ends a cut cannot move further');
  assert.deepEqual(raw.tierOfBlock, new Array(8).fill('edge'));
  assert.equal(tiersDescription(plan), 'phone + Wi-Fi edge + WAN cloud · float32 maps');
  assert.match(tiersTooltip(plan), /Figures from the sources below, not measurements of your hardware/);
});

test('moving a cut: one block at a time, or right after a block with its neighbours moving along', () => {
  assert.deepEqual(withCutMoved(plan, ids, 0, +1)?.cuts, ['block3', 'block6']);
  assert.deepEqual(withCutMoved(plan, ids, 1, -1)?.cuts, ['block2', 'block5']);
  assert.equal(withCutMoved({ ...plan, cuts: ['block6', 'block6'] }, ids, 0, +1), null, 'cannot pass the next cut');
  assert.deepEqual(withCutMoved({ ...plan, cuts: ['block1', 'block6'] }, ids, 0, -1)?.cuts, ['input', 'block6']);
  assert.deepEqual(withCutAt(plan, ids, 0, 6).cuts, ['block7', 'block7'], 'the device\'s cut past the edge\'s pushes it along');
  assert.deepEqual(withCutAt(plan, ids, 1, 0).cuts, ['block1', 'block1']);
  assert.deepEqual(withCutAt(plan, ids, 1, 7).cuts, ['block2', 'block8']);
});

test('choosing a preset keeps the cuts when the tier count allows, else places it as Figure 2', () => {
  const x = validateExperiment({ ...defaultExperiment('resnet18', 'e'), backbone }); // exits at block2, block4, block6
  assert.deepEqual(withPreset(x, presetById('mcu-lora-cloud')!), { preset: 'mcu-lora-cloud', cuts: ['block2', 'block4'], quantization: 'float32' });
  const planned = { ...x, deployment: { ...plan, quantization: 'int8' as const } };
  assert.deepEqual(withPreset(planned, presetById('mcu-lora-cloud')!), { preset: 'mcu-lora-cloud', cuts: ['block2', 'block6'], quantization: 'int8' });
  const json = { name: 'e', backbone, exits: [], deployment: { preset: 'x' } };
  assert.deepEqual(withDeployment(json, plan), { name: 'e', backbone, exits: [], deployment: plan });
  assert.deepEqual(withDeployment(json, null), { name: 'e', backbone, exits: [] });
});

test('the experiment file a run came from: same name, backbone and exits', () => {
  const x = validateExperiment({ ...defaultExperiment('resnet18', 'e'), backbone, exits: [{ point: 'block6' }, { point: 'block2' }] });
  const results = { backbone: { ...backbone, label: 'ResNet-18' }, points: ['block2', 'block6'] };
  assert.equal(experimentMatchesRun(x, 'e', results), true, 'exits in any order in the file');
  assert.equal(experimentMatchesRun(x, 'other', results), false);
  assert.equal(experimentMatchesRun(x, 'e', { ...results, points: ['block2'] }), false);
  assert.equal(experimentMatchesRun(x, 'e', { ...results, backbone: { ...results.backbone, width: 0.5 } }), false);
});

test('a plan posted by the panel is checked field by field and rebuilt from the known fields', () => {
  const ok = validateWebviewMessage({ type: 'setDeployment', runId: 'r', deployment: { ...plan, extra: 'dropped' } });
  assert.ok(ok.ok);
  if (ok.ok) assert.deepEqual(ok.message, { type: 'setDeployment', runId: 'r', deployment: plan });
  for (const deployment of [null, { preset: 'p', cuts: 'block2', quantization: 'float32' }, { preset: 'p', cuts: [], quantization: 'fp16' }, { preset: 3, cuts: [], quantization: 'int8' }]) {
    const v = validateWebviewMessage({ type: 'setDeployment', runId: 'r', deployment });
    assert.ok(!v.ok && /setDeployment: deployment must be/.test(v.reason), JSON.stringify(deployment));
  }
});

test('the panel takes a plan from the host only when it is well formed (webview side of the protocol)', () => {
  const ok = validateHostMessage({ type: 'didUpdateDeployment', runId: 'r', state: { deployment: plan, source: 'workspace', file: 'a.exits.json' } });
  assert.ok(ok.ok);
  assert.ok(validateHostMessage({ type: 'didUpdateDeployment', runId: 'r', state: { deployment: null, source: 'none' } }).ok);
  for (const state of [null, { deployment: plan, source: 'disk' }, { deployment: { cuts: 'block2' }, source: 'run' }, { deployment: plan, source: 'run', file: 3 }]) {
    const v = validateHostMessage({ type: 'didUpdateDeployment', runId: 'r', state });
    assert.ok(!v.ok && /^didUpdateDeployment: state /.test(v.reason), JSON.stringify(state));
  }
});
