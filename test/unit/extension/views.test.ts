// What the Runs and Branches views say and decide (src/extension/presentation.ts, no vscode), and
// the run store's deleteRun that the Runs view's Delete action goes through.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { describeBackbone, formatMacs } from '../../../src/spec/backbones';
import { costModel } from '../../../src/spec/exit-costs';
import { defaultExperiment } from '../../../src/spec/experiment';
import {
  costDescription, deleteRefusal, gateDescription, groupRuns, headDescription, liveDescription, nameAfterBackbone, outcomeText, parseChannels,
  resumeRefusal, runDescription, runLabel, runPickItem, sweepDescription, sweepState, trainingRefusal, withGate, withHead, type RunLike,
} from '../../../src/extension/presentation';
import { progressFraction } from '../../../src/runs/messages';
import { createRun, deleteRun, updateStatus } from '../../../src/runs/store';

test('live progress: "epoch 2/5 · 43% · loss 1.234" from the worker\'s progress message', () => {
  // epoch 2 of 5, step 15 of 20: (1·20 + 15) / (5·20) = 35 %
  const p = { epoch: 2, epochs: 5, step: 15, steps: 20, loss: 1.23456 };
  assert.equal(progressFraction(p), 0.35);
  assert.equal(liveDescription(p), 'epoch 2/5 · 35% · loss 1.235');
  assert.equal(liveDescription({ ...p, epoch: 5, step: 20 }), 'epoch 5/5 · 100% · loss 1.235');
  assert.equal(liveDescription({ ...p, loss: NaN }), 'epoch 2/5 · 35% · loss NaN');
  assert.equal(progressFraction({ ...p, steps: 0 }), 0);
});

test('a run item: live progress while this window trains it, else its status.json', () => {
  const running = { id: 'r', state: 'running' as const, epoch: 1, epochs: 5, backend: 'wasm' };
  assert.equal(runDescription(running), 'running · epoch 1/5 · wasm');
  // while it trains here the progress is the label (first in the row), its name the description
  assert.equal(runLabel(running, { epoch: 2, epochs: 5, step: 1, steps: 4, loss: 0.5 }), 'epoch 2/5 · 25% · loss 0.500');
  assert.equal(runDescription(running, { epoch: 2, epochs: 5, step: 1, steps: 4, loss: 0.5 }), 'r');
  // Live progress of a run that has ended is not shown.
  assert.equal(runDescription({ ...running, state: 'finished', epoch: 5 }, { epoch: 5, epochs: 5, step: 4, steps: 4, loss: 0.5 }), 'finished · epoch 5/5 · wasm');
  // a sweep run's values are its label (runLabel), not repeated here
  assert.equal(runDescription({ id: 's', state: 'failed', epoch: 1, epochs: 3, sweep: { 'method.lambda': 0.1, 'training.seed': 2 } }), 'failed · epoch 1/3');
  assert.equal(runDescription({ id: 'q' }), 'queued');
});

test('a run item\'s label is short (its time, or its sweep values), and its live progress while it trains, so that the progress is never cut off', () => {
  const now = new Date(2026, 10, 30, 18, 0, 0);
  assert.equal(runLabel({ id: '20261130-132145-demo-wfqw' }, undefined, now), '13:21:45');
  assert.equal(runLabel({ id: '20261129-090501-demo-k3x9' }, undefined, now), 'Nov 29 09:05');
  assert.equal(runLabel({ id: '20261130-132145-demo-wfqw', sweep: { 'method.lambda': 0.1 } }, undefined, now), 'λ=0.1');
  assert.equal(runLabel({ id: 'hand-made' }, undefined, now), 'hand-made');
  const live = { epoch: 12, epochs: 20, step: 30, steps: 57, loss: 0.5 };
  assert.equal(runLabel({ id: '20261130-132145-demo-wfqw', state: 'running' }, live, now), 'epoch 12/20 · 57% · loss 0.500');
  assert.equal(runDescription({ id: '20261130-132145-demo-wfqw', state: 'running' }, live, now), '13:21:45');
});

test('the Compare / Export / Open Results pickers say which run is which: λ, epochs, accuracy', () => {
  const now = new Date(2026, 10, 30, 18, 0, 0);
  const status = { id: '20261130-132145-demo-wfqw', experiment: 'demo', state: 'finished' as const, epochs: 3, backend: 'wasm' };
  assert.deepEqual(runPickItem(status, { lambda: 1, epochs: 3, accuracy: 0.7634 }, now), {
    label: 'demo · 13:21:45', description: 'λ = 1 · 3 epochs · 76.3 %', detail: '20261130-132145-demo-wfqw · finished · wasm',
  });
  assert.equal(runPickItem({ ...status, epochs: 1 }, null, now).description, '1 epoch', 'no results: what status.json says, singular for one');
  assert.equal(runPickItem({ ...status, sweep: { 'method.lambda': 0.5 } }, null, now).label, 'demo · λ=0.5');
});

test('Select Backbone: a name that was the old backbone\'s follows the new one; the user\'s own name stays', () => {
  assert.equal(nameAfterBackbone('vgg13', 'vgg13', 'alexnet'), 'alexnet');
  assert.equal(nameAfterBackbone('vgg13-2', 'vgg13', 'alexnet'), 'alexnet-2');
  assert.equal(nameAfterBackbone('my-cifar-study', 'vgg13', 'alexnet'), 'my-cifar-study');
  assert.equal(nameAfterBackbone('vgg13net', 'vgg13', 'alexnet'), 'vgg13net');
});

test('a stopped or failed run\'s notification: what is kept, and "Resume" only with a checkpoint', () => {
  assert.deepEqual(outcomeText({ id: 'r', state: 'cancelled', epoch: 0, epochs: 3 }), {
    message: 'training of r was cancelled; no epoch had finished, so there is no checkpoint to resume from.', actions: [],
  });
  assert.deepEqual(outcomeText({ id: 'r', state: 'cancelled', epoch: 2, epochs: 3 }), {
    message: 'training of r was cancelled; the checkpoint of epoch 2 of 3 is kept.', actions: ['Resume'],
  });
  const failed = outcomeText({ id: 'r', state: 'failed', epoch: 1, epochs: 3, error: 'loss became NaN at epoch 2, step 5\n    at trainEpoch (worker.js:1:1)' });
  assert.equal(failed.message, 'run r failed: loss became NaN at epoch 2, step 5; the checkpoint of epoch 1 of 3 is kept.', 'first line only, no stack');
  assert.deepEqual(failed.actions, ['Resume']);
  for (const o of [outcomeText({ id: 'r', state: 'failed', epoch: 2, epochs: 3, error: 'x' }), outcomeText({ id: 'r', state: 'cancelled', epoch: 1, epochs: 3 })]) {
    assert.doesNotMatch(o.message, /--resume|early-exit /, 'VS Code messages name no CLI flag');
  }
  assert.match(resumeRefusal({ id: 'r', state: 'cancelled', epoch: 0 }, false, false)!, /no checkpoint to resume from/);
  assert.match(resumeRefusal({ id: 'r', state: 'finished', epoch: 3 }, false, false)!, /already finished/);
  assert.match(resumeRefusal({ id: 'r', state: 'running', epoch: 1, pid: 9 }, false, true)!, /still training/);
  assert.equal(resumeRefusal({ id: 'r', state: 'failed', epoch: 1 }, false, false), undefined);
});

test('runs are grouped by experiment, and a sweep\'s runs under one sweep node, newest first', () => {
  const run = (id: string, experiment: string, state: RunLike['status']['state'], group: string | null = null, lambda?: number): RunLike => ({
    status: { id, experiment, state, group, sweep: lambda === undefined ? null : { 'method.lambda': lambda } },
  });
  const runs = [run('5', 'a', 'running', 'g1', 1), run('4', 'b', 'finished'), run('3', 'a', 'finished', 'g1', 0.1), run('2', 'a', 'failed'), run('1', 'a', 'finished', 'g0', 0.5)];
  const groups = groupRuns(runs);
  assert.deepEqual(groups.map((g) => [g.name, g.count]), [['a', 4], ['b', 1]]);
  const a = groups[0].children;
  assert.deepEqual(a.map((c) => (c.kind === 'run' ? c.run.status.id : `sweep ${c.group}: ${c.runs.map((r) => r.status.id).join(',')}`)), ['sweep g1: 5,3', '2', 'sweep g0: 1']);
  const g1 = a[0].kind === 'sweep' ? a[0].runs : [];
  assert.equal(sweepDescription(g1), 'λ ×2 · 1 running, 1 finished');
  assert.equal(sweepState(g1), 'running');
  assert.equal(sweepState([run('x', 'a', 'finished'), run('y', 'a', 'failed')]), 'failed');
  assert.equal(sweepState([run('x', 'a', 'finished')]), 'finished');
});

test('training is refused in an untrusted workspace, with the reason and the way out', () => {
  assert.equal(trainingRefusal(true), undefined);
  const why = trainingRefusal(false);
  assert.match(why!, /^training is disabled in an untrusted workspace \(Restricted Mode\), because it starts a worker process/);
  assert.match(why!, /views and the results still work/);
  assert.match(why!, /Manage Workspace Trust/);
});

test('delete is refused for a run training here or whose worker is alive', () => {
  const s = { id: 'r1', state: 'running' as const, pid: 4242 };
  assert.match(deleteRefusal(s, true, false)!, /training in this window/);
  assert.match(deleteRefusal(s, false, true)!, /running \(worker process 4242\)/);
  assert.equal(deleteRefusal(s, false, false), undefined, 'a "running" run whose worker is gone was killed: it may go');
  assert.equal(deleteRefusal({ id: 'r2', state: 'finished' }, false, false), undefined);
});

test('exit children: head, gate and cost texts match the cost model', () => {
  const x = defaultExperiment('resnet18', 'v');
  const desc = describeBackbone(x.backbone);
  const [first] = x.exits;
  const point = desc.points.find((p) => p.id === first.point)!;
  assert.equal(headDescription(first, point.shape[2]), 'pool');
  assert.equal(headDescription({ ...first, head: { kind: 'conv-pool' } }, 4), 'conv-pool · 8 channels (default)');
  assert.equal(headDescription({ ...first, head: { kind: 'pool-mlp', channels: 300 } }, 64), 'pool-mlp · 300 channels');
  assert.equal(headDescription({ ...first, head: { kind: 'pool', grid: 1 } }, 64), 'pool · global pool');
  assert.equal(gateDescription(first, true, 'proposed'), 'dense → sigmoid');
  assert.equal(gateDescription({ ...first, gate: { hidden: 16 } }, false, 'branchynet'), 'dense 16-ReLU → dense → sigmoid (unused: branchynet has no gates)');
  const c = costModel({ backbone: x.backbone, exits: x.exits, gated: true });
  // γ_1 = backbone to the point + its head and gate
  assert.equal(c.exits[0], point.macs + c.headMacs[0] + c.gateMacs[0]);
  assert.equal(costDescription(c.exits[0], c.full), `${formatMacs(c.exits[0])} MACs · ${((100 * c.exits[0]) / c.full).toFixed(1)}%`);
  assert.equal(costDescription(152_780_000, 555_420_000), '152.78 M MACs · 27.5%');
});

test('head and gate edits keep the other fields of the exit as written', () => {
  const exit = { point: 'block2', head: { kind: 'pool', grid: 2 }, gate: { hidden: 0 }, note: 'kept' };
  assert.deepEqual(withHead(exit, 'conv-pool', 24), { point: 'block2', head: { kind: 'conv-pool', grid: 2, channels: 24 }, gate: { hidden: 0 }, note: 'kept' });
  // back to pool: its channels would be unused, so they go
  assert.deepEqual(withHead({ ...exit, head: { kind: 'conv-pool', channels: 24 } }, 'pool', 24).head, { kind: 'pool' });
  assert.deepEqual(withHead({ point: 'block2' }, 'pool-mlp', undefined), { point: 'block2', head: { kind: 'pool-mlp' } });
  assert.deepEqual(withGate(exit, 16).gate, { hidden: 16 });
  assert.deepEqual(parseChannels(''), { ok: true, channels: undefined });
  assert.deepEqual(parseChannels(' 32 '), { ok: true, channels: 32 });
  for (const bad of ['0', '-3', '2.5', 'x', '5000']) assert.equal(parseChannels(bad).ok, false, bad);
});

test('deleteRun removes a run folder, and refuses a live worker or a folder that is not a run', async () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'ees-delete-'));
  try {
    const { dir } = createRun(runs, defaultExperiment('resnet18', 'del'));
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '{}\n');
    const worker = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      updateStatus(dir, { state: 'running', pid: worker.pid! });
      assert.throws(() => deleteRun(dir), /is running \(worker process \d+\); stop it first/);
      assert.ok(fs.existsSync(dir));
    } finally {
      worker.kill();
      await new Promise((r) => worker.once('exit', r));
    }
    // The worker is gone: a "running" status left by a kill no longer protects the folder.
    deleteRun(dir);
    assert.ok(!fs.existsSync(dir));

    const notARun = path.join(runs, 'notes');
    fs.mkdirSync(notARun);
    fs.writeFileSync(path.join(notARun, 'status.json'), JSON.stringify({ id: 'notes', state: 'finished' }));
    assert.throws(() => deleteRun(notARun), /is not a run folder/);
    assert.throws(() => deleteRun(path.join(runs, 'missing')), /missing: no such run folder/);
    assert.ok(fs.existsSync(notARun));
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});
