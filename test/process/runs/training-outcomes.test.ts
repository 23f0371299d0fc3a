/**
 * Reliability matrix (docs/reliability.md), how a training ends, through the real CLI and worker:
 * a run is "finished" only if it trained every epoch and was evaluated — a validation split that
 * leaves no training image is refused before training (it used to crash the CLI with a TypeError
 * while the worker recorded the run as finished with loss null); a loss that explodes ends with a
 * warning, not a quiet "finished"; without a validation split every validation figure is "—", and
 * calibration is refused instead of "calibrated on 0 validation samples … target met"; `proposed`
 * without exits is refused; a closed terminal (SIGHUP to the process group) stops the run
 * cooperatively, keeping its checkpoint, and Ctrl-C stops a sweep trained side by side the same way.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertOneLine, killAll, quote, runCli, tinyExperiment } from '../../fixtures/cli';
import { ROOT } from '../../paths';

let tmp = '';
let file = '';
const LIMIT = 180_000;

before(() => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/worker.js')), 'dist/worker.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-rel-outcomes-'));
  file = tinyExperiment(tmp);
});
after(() => { killAll(); fs.rmSync(tmp, { recursive: true, force: true }); });

const runIn = (runs: string) => path.join(runs, fs.readdirSync(runs).find((d) => !d.startsWith('.'))!);
const json = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));

test('a validation split that leaves no training image is refused before training: the run is failed, not finished, and the CLI does not crash', async () => {
  const runs = path.join(tmp, 'no-train');
  const r = await runCli(['train', file, '--out', runs, '--set', 'dataset.syntheticTrain=10', '--set', 'dataset.validationFraction=0.9'], { timeoutMs: LIMIT });
  const why = 'dataset.validationFraction: 0.9 of the 10 training images of "synthetic" leaves none to train on (each class keeps round(fraction × its images) for validation); lower dataset.validationFraction or give more images';
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^run \\S+ failed: ${quote(why)}$`, 'm'));
  assert.doesNotMatch(r.stderr, /TypeError|^\s+at /m);
  const dir = runIn(runs);
  const s = json(path.join(dir, 'status.json'));
  assert.equal(s.state, 'failed');
  assert.equal(s.error, why);
  assert.ok(!fs.existsSync(path.join(dir, 'results.json')) && !fs.existsSync(path.join(dir, 'metrics.jsonl')), 'nothing was trained or evaluated');
});

test('a loss that explodes (lr 1e6) ends with a warning in the terminal, status.json, results.json and the runs listing', async () => {
  const runs = path.join(tmp, 'diverged');
  const r = await runCli(['train', file, '--out', runs, '--set', 'training.lr=1e6'], { timeoutMs: LIMIT });
  assert.equal(r.code, 0, r.stderr);
  const pattern = /^training diverged: the cross-entropy of epoch 1 is [\d.e+]+, far above the 2\.303 of guessing uniformly among 10 classes \(loss [\d.e+]+\); try a lower training\.lr$/;
  const warning = /^warning: (.*)$/m.exec(r.stderr)?.[1] ?? '';
  assert.match(warning, pattern, r.stderr);
  assert.match(r.stdout, new RegExp(`^warning: ${quote(warning)}$`, 'm'), 'the summary repeats it');
  assert.match(r.stdout, /^results: .* \(finished with the warning above\)$/m);
  const dir = runIn(runs);
  assert.deepEqual(json(path.join(dir, 'status.json')).warnings, [warning]);
  assert.deepEqual(json(path.join(dir, 'results.json')).warnings, [warning]);
  const listed = JSON.parse((await runCli(['runs', '--out', runs, '--json'], { timeoutMs: LIMIT })).stdout);
  assert.deepEqual(listed[0].warnings, [warning]);
});

test('without a validation split every validation figure is "—" (not 0.00 %), eval --budget is refused, and calibration in the experiment is refused before training', async () => {
  const runs = path.join(tmp, 'no-val');
  const r = await runCli(['train', file, '--out', runs, '--set', 'dataset.validationFraction=0'], { timeoutMs: LIMIT });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^epoch 1: loss [\d.]+ \(CE [\d.]+, cost C [\d.]+\), val soft — hard — final —, exits \[—\], [\d]+ img\/s, \d+s$/m);
  const dir = runIn(runs);
  const m = json(path.join(dir, 'metrics.jsonl'));
  assert.deepEqual([m.softAccuracy, m.hardAccuracy, m.finalAccuracy, m.exitAccuracy, m.meanGates, m.exitShares], [null, null, null, [null], null, []]);
  for (const flag of [['--budget', '70%'], ['--target-accuracy', '0.5']]) {
    assertOneLine(await runCli(['eval', dir, ...flag], { timeoutMs: LIMIT }), 2,
      new RegExp(`^early-exit eval: ${flag[0]}: run ${quote(path.basename(dir))} has no validation split \\(it was trained with dataset\\.validationFraction 0\\), and calibrating τ on the test split would overstate its accuracy; give --threshold instead, or train again with dataset\\.validationFraction > 0$`));
  }
  const cal = await runCli(['train', file, '--out', path.join(tmp, 'no-val-cal'), '--set', 'dataset.validationFraction=0', '--set', 'evaluation.calibration.budget=100000'], { timeoutMs: LIMIT });
  assert.equal(cal.code, 1);
  assert.match(cal.stderr, /failed: evaluation\.calibration: needs a validation split to pick τ on, but dataset\.validationFraction 0 of 96 images gives none; raise dataset\.validationFraction, or remove evaluation\.calibration \(early-exit eval --threshold still works\)$/m);
});

test('proposed or BranchyNet with zero exits is refused before any run folder is made', async () => {
  for (const method of ['proposed', 'branchynet']) {
    const runs = path.join(tmp, `no-exits-${method}`);
    const decides = method === 'proposed' ? 'gates decide' : "exits' entropy decides";
    assertOneLine(await runCli(['train', file, '--out', runs, '--set', 'exits=[]', '--set', `method.name=${method}`], { timeoutMs: LIMIT }), 2,
      new RegExp(`^early-exit train: ${quote(file)}: exits: "${method}" needs at least one exit \\(its ${quote(decides)} where inputs leave\\); add exits \\(early-exit macs resnet18 lists the points\\), or set method\\.name to "baseline" to train the backbone alone$`));
    assert.ok(!fs.existsSync(runs));
  }
});

test('a closed terminal (SIGHUP to the process group) stops the run after the current step: cancelled, checkpoint kept, exit code 129', async () => {
  const runs = path.join(tmp, 'hangup');
  const r = await runCli(['train', file, '--out', runs, '--set', 'dataset.syntheticTrain=640', '--set', 'training.epochs=3'], {
    timeoutMs: LIMIT, group: true, signal: { signal: 'SIGHUP', when: /^epoch 1: /m },
  });
  assert.equal(r.code, 129, r.stderr);
  assert.match(r.stderr, /^SIGHUP: stopping after the current step \(send it again to kill\)…$/m);
  const s = json(path.join(runIn(runs), 'status.json'));
  assert.equal(s.state, 'cancelled');
  assert.ok(s.epoch >= 1);
  assert.equal(json(path.join(runIn(runs), 'checkpoint', 'model.json')).epoch, s.epoch);
});

test('--parallel 2: a λ sweep trains side by side; Ctrl-C stops both after their current step, each saying where and how to resume; exit code 130', async () => {
  const runs = path.join(tmp, 'parallel');
  const r = await runCli(['train', file, '--out', runs, '--parallel', '2', '--set', 'sweep={"method.lambda":[0.1,1]}', '--set', 'dataset.syntheticTrain=640', '--set', 'training.epochs=10'], {
    // both have finished an epoch: each has a checkpoint to resume from (10 epochs: neither ends first
    // on a loaded machine where the second worker starts late; the stop comes long before)
    timeoutMs: LIMIT, signal: { signal: 'SIGINT', when: /^\[\S+\] epoch 1: [^]*^\[\S+\] epoch 1: /m },
  });
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /^2 runs, up to 2 at once$/m);
  assert.match(r.stderr, /^Ctrl-C: stopping after each run's current step \(Ctrl-C again to kill\)…$/m);
  const dirs = fs.readdirSync(runs).filter((d) => !d.startsWith('.')).map((d) => path.join(runs, d));
  assert.equal(dirs.length, 2);
  for (const dir of dirs) {
    const s = json(path.join(dir, 'status.json'));
    assert.equal(s.state, 'cancelled', dir);
    assert.ok(s.epoch >= 1 && s.epoch < 10, `${dir}: epoch ${s.epoch}`);
    assert.equal(json(path.join(dir, 'checkpoint', 'model.json')).epoch, s.epoch);
    const id = path.basename(dir);
    assert.match(r.stderr, new RegExp(`^\\[${quote(id)}\\] cancelled at epoch \\d+, step \\d+; .*$\\n^\\[${quote(id)}\\]   resume with: early-exit train --resume ${quote(dir)}$`, 'm'));
  }
});
