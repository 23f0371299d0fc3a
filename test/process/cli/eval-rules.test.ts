/**
 * `early-exit eval` on run folders (the built CLI, a real process): the routing line and the
 * collapse warning after every table, Table 2 at several budgets for every rule with τ per exit,
 * the every-rule comparison, and one-line refusals.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { makeRun } from '../../fixtures/make-run';
import { ROOT } from '../../paths';

const CLI = path.join(ROOT, 'bin/early-exit.js');
let tmp = '';

before(() => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/cli.js')), 'run "npm run build" first (npm run test:process does)');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-eval-'));
  makeRun(path.join(tmp, 'routed'), { seed: 1 });
  makeRun(path.join(tmp, 'collapsed'), { seed: 2, thresholds: [0, 0, 0] });
  makeRun(path.join(tmp, 'branchynet'), { method: 'branchynet', seed: 3 });
  // the same two runs in a runs folder, for `early-exit runs`
  for (const [name, seed, thresholds] of [['20261130-100000-routed-aaaa', 1, undefined], ['20261130-110000-collapsed-bbbb', 2, [0, 0, 0]]] as const) {
    makeRun(path.join(tmp, 'runs', name), { seed, thresholds: thresholds ? [...thresholds] : undefined });
  }
});
after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, 'eval', ...args], { encoding: 'utf8', timeout: 60_000 });

test('runs: each finished run\'s routing at its thresholds, COLLAPSED when one exit takes ≥ 95 %, and the same in --json', () => {
  const p = spawnSync(process.execPath, [CLI, 'runs', '--out', path.join(tmp, 'runs')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(p.status, 0, p.stderr);
  const line = (id: string) => p.stdout.split('\n').find((l) => l.startsWith(id)) ?? '';
  assert.match(line('20261130-110000-collapsed-bbbb'), / 1\.0 of 4 COLLAPSED\s*$/);
  assert.match(line('20261130-100000-routed-aaaa'), / [1-4]\.\d of 4\s*$/);
  assert.doesNotMatch(line('20261130-100000-routed-aaaa'), /COLLAPSED/);
  assert.match(p.stdout, /\nrouting: effective exits at each run's thresholds .*COLLAPSED: one exit takes ≥ 95 % of the inputs.* \(1 of 2 runs; /);
  const json = JSON.parse(spawnSync(process.execPath, [CLI, 'runs', '--out', path.join(tmp, 'runs'), '--json'], { encoding: 'utf8', timeout: 60_000 }).stdout) as { id: string; routing: { shares: number[]; collapsed: boolean; dominant: string; maxShare: number; effectiveExits: number } }[];
  const collapsed = json.find((r) => r.id.includes('collapsed'))!.routing;
  assert.deepEqual({ shares: collapsed.shares, collapsed: collapsed.collapsed, dominant: collapsed.dominant, maxShare: collapsed.maxShare, effectiveExits: collapsed.effectiveExits }, { shares: [1, 0, 0, 0], collapsed: true, dominant: '#2 block2', maxShare: 1, effectiveExits: 1 });
  const routed = json.find((r) => r.id.includes('routed'))!.routing;
  assert.equal(routed.collapsed, false);
  assert.ok(Math.abs(routed.shares.reduce((a, b) => a + b, 0) - 1) < 1e-9);
});

test('every table is followed by its routing; a collapsed one by the warning', () => {
  const ok = cli(path.join(tmp, 'routed'));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /\nrouting: split #2 block2 \d+\.\d % · .* effective exits of 4 \(split entropy 0\.\d\d\), [+−]\d+\.\d pt accuracy over input-blind routing with the same split\n/);
  assert.doesNotMatch(ok.stdout, /WARNING/);
  const bad = cli(path.join(tmp, 'collapsed'));
  assert.equal(bad.status, 0, bad.stderr);
  assert.match(bad.stdout, /\nWARNING: routing collapsed: 100\.0 % of the inputs leave at #2 block2, so this is a truncated network, not early exiting\n/);
  // the same run at τ = 0.5 routes
  assert.doesNotMatch(cli(path.join(tmp, 'collapsed'), '--threshold', '0.5').stdout, /WARNING/);
});

test('--rule all --budget 50%,70%,90% --per-exit: every rule at every budget, τ per exit picked on validation within the budget', () => {
  const p = cli(path.join(tmp, 'routed'), '--rule', 'all', '--budget', '50%,70%,90%', '--per-exit', '--json');
  assert.equal(p.status, 0, p.stderr);
  const out = JSON.parse(p.stdout) as { budgets: { share: number; rule: string; calibration: { perExit: boolean; met: boolean; thresholds: number[]; validation: { averageMacs: number } } }[] };
  assert.deepEqual(out.budgets.map((c) => `${c.share}:${c.rule}`), ['0.5:gate', '0.5:entropy', '0.5:confidence', '0.7:gate', '0.7:entropy', '0.7:confidence', '0.9:gate', '0.9:entropy', '0.9:confidence']);
  const full = 40.2e6;
  for (const c of out.budgets) {
    assert.ok(c.calibration.perExit && c.calibration.met, `${c.share} ${c.rule}`);
    assert.ok(c.calibration.validation.averageMacs <= c.share * full + 1e-6);
    assert.equal(c.calibration.thresholds.length, 3);
  }
  const text = cli(path.join(tmp, 'routed'), '--rule', 'all', '--budget', '0.5,0.7', '--compare-rules');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^τ shared by every exit, calibrated on 200 validation samples; test accuracy on 500 test samples\n/);
  assert.match(text.stdout, /\n50 % +learned gates +[\d./]+ +yes /);
  assert.match(text.stdout, /\n70 % +max softmax /);
  assert.match(text.stdout, /\n {2}learned gates vs entropy \(BranchyNet\): [+−]\d+\.\d\d pt on average over \d+–\d+ % MACs/);
  assert.match(text.stdout, /\n {2}learned gates vs max softmax: /);
});

test('one budget, one rule: the Table 2 layout at per-exit τ; refusals are one line', () => {
  const p = cli(path.join(tmp, 'routed'), '--budget', '60%', '--per-exit');
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /^calibrated on the 200 validation samples: τ = [\d./]+ \(per exit\), validation accuracy [\d.]+% at [\d.]+ % MACs, target met\n/);
  assert.match(p.stdout, /exits fire when gate ≥ τ/);
  const gate = cli(path.join(tmp, 'branchynet'), '--rule', 'gate');
  assert.notEqual(gate.status, 0);
  assert.match(gate.stderr.trim(), /^early-exit eval: --rule: "gate" needs gates, and this run's exits have none \(method branchynet\); use entropy, confidence or all$/m);
  assert.ok(!/\n\s+at /.test(gate.stderr), 'no stack trace');
  const bad = cli(path.join(tmp, 'routed'), '--budget', '-5%');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--budget: must be a positive number of MACs \(1500000, 1\.5M, 800k\) or a percentage of the full network \(40%\) or a share of it in \(0, 1\], got "-5%"/);
});
