/**
 * `early-exit deploy plan | presets` as a user runs them (bin/early-exit.js, built): the plan of a
 * fixture run over a preset's tiers, its numbers the estimate's, the run's own plan from its
 * experiment.json, the fronts and the best placement for a budget, and one clear line for a mistake
 * or a damaged deploy file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { readSamples } from '../../../src/runs/store';
import { readRunData } from '../../../src/runs/view-data';
import { validateHostMessage } from '../../../webview/results/host-messages';
import { estimateDeployment, resolvePlan } from '../../../src/spec/tier-estimate';
import type { RunResults } from '../../../src/spec/results';
import { makeRun } from '../../fixtures/make-run';
import { ROOT } from '../../paths';

const CLI = path.join(ROOT, 'bin/early-exit.js');
let tmp = '';
let run = '';
let results: RunResults;

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

before(() => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/cli.js')), 'dist/cli.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-deploy-cli-'));
  run = path.join(tmp, 'runs', 'r1');
  results = makeRun(run, { seed: 3 })!;
});
after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

test('deploy plan: the tiers, where inputs leave, latency, bytes and accuracy of the split, as the estimate computes them', () => {
  const r = cli('deploy', 'plan', run, '--preset', 'phone-wifi-cloud', '--cut', 'block2,block6', '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const plan = resolvePlan(results, { preset: 'phone-wifi-cloud', cuts: ['block2', 'block6'], quantization: 'float32' });
  const e = estimateDeployment(readSamples(run, 'test'), results.rule, results.thresholds, plan.net, plan.tiers, plan.times, plan.cuts, 'float32');
  assert.deepEqual(out.cuts, [2, 6]);
  assert.equal(out.estimate.latency.mean, e.latency.mean);
  assert.equal(out.estimate.bytesPerInput.float32, e.bytesPerInput.float32);
  assert.equal(out.estimate.accuracy, results.hard.accuracy, 'the same Option 2 accuracy as the run\'s exit table');
  assert.deepEqual(out.estimate.tierStops, e.tierStops);
  assert.equal(out.sweep, null);

  const text = cli('deploy', 'plan', run, '--preset', 'phone-wifi-cloud', '--cut', 'block2,block6');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /profile: phone \+ Wi-Fi edge \+ WAN cloud \(preset "phone-wifi-cloud": figures from its sources, not your hardware/);
  assert.match(text.stdout, /device · phone CPU \(one thread\)\s+block1–block2, exit block2/);
  assert.match(text.stdout, /cloud · cloud accelerator\s+block7–block8, final classifier/);
  assert.match(text.stdout, /answered {4}device \d+\.\d% · edge \d+\.\d% · cloud \d+\.\d%/);
  assert.match(text.stdout, new RegExp(`accuracy {4}${(100 * results.hard.accuracy).toFixed(2)}%`));
});

test('deploy plan uses the run\'s own plan; --sweep gives the fronts, a budget the best placement; mistakes name the flag', () => {
  const x = { name: 'fixture', backbone: { name: 'resnet18', width: 1, input: [32, 32, 3], classes: 10 }, deployment: { preset: 'mcu-lora-cloud', cuts: ['input', 'block8'], quantization: 'int8' } };
  fs.writeFileSync(path.join(run, 'experiment.json'), JSON.stringify(x));
  try {
    const own = JSON.parse(cli('deploy', 'plan', run, '--json').stdout);
    assert.deepEqual(own.deployment, x.deployment);
    assert.equal(own.estimate.deviceShare, 0, 'the microcontroller sends every raw image');
    assert.equal(own.estimate.bytesPerInput.chosen, 32 * 32 * 3);

    const s = cli('deploy', 'plan', run, '--preset', 'phone-wifi-cloud', '--sweep', '--latency-budget', '2ms');
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /best placement per latency budget \(mean latency; front of 45 placements × 21 τ, int8\)/);
    assert.match(s.stdout, /best placement per bytes budget/);
    assert.match(s.stdout, /within mean latency ≤ 2\.00 ms: (cuts after .* at τ = \d\.\d\d → accuracy|no placement fits)/);
    const j = JSON.parse(cli('deploy', 'plan', run, '--latency-budget', '10s', '--bytes-budget', '0', '--json').stdout);
    assert.equal(j.sweep.best.bytesPerInput, 0);
    assert.deepEqual(j.sweep.best.cuts, ['block8', 'block8'], 'nothing sent: everything on the device');
  } finally {
    fs.rmSync(path.join(run, 'experiment.json'));
  }
  const bad = (args: string[], pattern: RegExp) => {
    const r = cli('deploy', 'plan', run, ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stdout}`);
    assert.match(r.stderr.trim(), pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack');
  };
  bad(['--cut', 'block2,conv4'], /^early-exit deploy plan: deployment\.cuts\[1\]: "conv4" is not a block; allowed: input, block1, .* \(--cut\)$/);
  bad(['--cut', 'block6,block2'], /comes before the previous cut/);
  bad(['--preset', 'laptop'], /--preset: unknown preset "laptop"; allowed: phone-wifi-cloud, mcu-lora-cloud/);
  bad(['--latency-budget', 'soon'], /--latency-budget: a positive time such as 50ms or 1\.5s, got "soon"/);
  bad(['--threshold', '2'], /--threshold: every τ must be in \[0, 1\]/);
  const missing = cli('deploy', 'plan', path.join(tmp, 'nope'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no results\.json \(the run has not finished\)/);
});

test('deploy presets lists every figure with its source; measure and run refuse an unknown backend or a run without its model in one line', () => {
  const r = cli('deploy', 'presets');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /phone-wifi-cloud — phone \+ Wi-Fi edge \+ WAN cloud/);
  assert.match(r.stdout, /→ Wi-Fi: 18\.9 Mbit\/s, RTT 5\.00 ms, 2\.27 µJ\/byte\n\s+source: .*Neurosurgeon/);
  assert.match(r.stdout, /→ LoRa: 5\.5 kbit\/s, RTT 1\.00 s\n\s+source: LoRaWAN Regional Parameters/);
  assert.match(r.stdout, /not measurements of your hardware/);
  const m = cli('deploy', 'measure', run, '--backend', 'tpu');
  assert.equal(m.status, 2);
  assert.match(m.stderr.trim(), /^early-exit deploy measure: --backend: "tpu" is not allowed; allowed: wasm, cpu, native-cpu, gpu$/);
  // the fixture run has records but no model/: it can be planned, not run
  const noModel = cli('deploy', 'run', run);
  assert.equal(noModel.status, 2);
  assert.match(noModel.stderr.trim(), /^early-exit deploy run: .*: no model\/model\.json; running the network needs the trained model \(deploy plan estimates without it\)$/);
});

test('damaged deploy files: the panel\'s run data names the file and the fix and keeps the rest; deploy plan and run stop in one line before measuring', () => {
  const speeds = path.join(run, 'tier-speed.json'), split = path.join(run, 'split-measured.json');
  const tiers = path.join(tmp, 'here.json');
  fs.writeFileSync(tiers, JSON.stringify([{ name: 'device', compute: { measure: 'wasm' }, link: { name: 'loopback', bitsPerSecond: 1e9, rttMs: 1 } }, { name: 'cloud', compute: { macsPerSecond: 1e12 } }]));
  try {
    // a measurement cut off while written, and one that parses but is not a split execution
    fs.writeFileSync(speeds, '{"wasm": {"backend": "wasm", "blockMs": [0.1, 0.2');
    fs.writeFileSync(split, JSON.stringify([{ version: 1, profile: 'phone-wifi-cloud', cuts: [2, 4] }]));
    const data = readRunData(run);
    const said = (name: string) => data.problems.find((p) => p.startsWith(`${name}: `)) ?? '';
    assert.match(said('tier-speed.json'), /^tier-speed\.json: .*cut off or overwritten.*; delete it and run early-exit deploy measure .* to time the model again$/);
    assert.match(said('split-measured.json'), /^split-measured\.json: not a valid split-measured\.json \(\[0\]\.tiers: missing\); delete it \(the estimates do not need it\)/);
    assert.deepEqual([data.deploy?.speeds, data.deploy?.measured], [null, []], 'read as absent');
    assert.ok(data.results && data.samples, 'the rest of the run is still shown');
    assert.deepEqual(validateHostMessage({ type: 'didLoadRun', run: data }), { ok: true, message: { type: 'didLoadRun', run: data } }, 'the webview accepts what the host sends');
    // the webview checks them as the store does: a wrong split execution sent to it is rejected
    const forged = { ...data, deploy: { ...data.deploy!, measured: [{ version: 1 }] } };
    assert.match((validateHostMessage({ type: 'didLoadRun', run: forged }) as { reason: string }).reason, /run\.deploy\.measured: \[0\]\.tiers: missing/);

    const one = (r: ReturnType<typeof cli>, pattern: RegExp) => {
      assert.equal(r.status, 2, r.stdout);
      assert.match(r.stderr.trim(), pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack');
    };
    one(cli('deploy', 'plan', run, '--tiers', tiers, '--cut', 'block4'), /^early-exit deploy plan: .*tier-speed\.json: .*; delete it and run early-exit deploy measure/);
    fs.rmSync(speeds);
    // deploy run checks the file it will add to before it runs anything (the model is faked: the check comes first)
    fs.mkdirSync(path.join(run, 'model'));
    fs.writeFileSync(path.join(run, 'model', 'model.json'), '{}');
    one(cli('deploy', 'run', run), /^early-exit deploy run: .*split-measured\.json: not a valid split-measured\.json \(\[0\]\.tiers: missing\); delete it/);
  } finally {
    for (const f of [speeds, split, tiers, path.join(run, 'model')]) fs.rmSync(f, { recursive: true, force: true });
  }
});
