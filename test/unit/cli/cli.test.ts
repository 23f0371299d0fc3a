// The CLI as a newcomer meets it (issue 19), in process: help that lists every flag, the `data`
// group, eval's rule, budget and JSON, `--set` shapes, what init leaves out, "1 epoch", and a
// status line that is cleared before the next line is written.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { commands } from '../../../src/cli/commands/index';
import { fieldsNotWritten } from '../../../src/cli/commands/init';
import { printSummary, terminalView } from '../../../src/cli/commands/train';
import { parseMacs, StatusLine } from '../../../src/cli/format';
import { main } from '../../../src/cli/main';
import { documentedFlags, parseArgs, UsageError } from '../../../src/cli/registry';
import { defaultExperiment, parseExperiment, parseOverride, validateExperiment } from '../../../src/spec/experiment';
import { createRunsFor } from '../../../src/runs/manager';
import { ValidationError } from '../../../src/spec/errors';
import { makeRun } from '../../fixtures/make-run';
import { datasetText } from '../../../src/spec/run-label';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ees-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI in process; what it printed on stdout and stderr, and its exit code. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => { out.push(a.join(' ')); };
  console.error = (...a: unknown[]) => { err.push(a.join(' ')); };
  try {
    return { code: await main(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    Object.assign(console, { log, error });
  }
}

test('every command\'s help names every flag of its usage line (eval --help lists --json)', async () => {
  for (const c of commands) {
    const { code, out } = await cli(...c.name.split(' '), '--help');
    assert.equal(code, 0, c.name);
    const flags = [...c.usage.matchAll(/(?:^|[\s[|])(--?[a-z][a-z-]*)/g)].map((m) => m[1]);
    const helpText = out.slice(out.indexOf('\n'));
    for (const f of flags) assert.ok(helpText.includes(f), `${c.name} --help does not explain ${f}`);
  }
  assert.match((await cli('eval', '--help')).out, /--json\s+print/);
});

test('each command takes the options its usage and help name (every option it reads among them), and refuses others', () => {
  const reads: Record<string, string[]> = {
    demo: ['out', 'backend'], train: ['out', 'set', 'resume', 'backend', 'stock'], eval: ['threshold', 'budget', 'target-accuracy', 'rule', 'json', 'measure'],
    runs: ['out', 'json'], init: ['backbone', 'out', 'force'], macs: ['width', 'input', 'classes', 'json'], 'data inspect': ['json', 'download'],
    report: ['out', 'force'], doctor: ['json'],
    'deploy plan': ['preset', 'tiers', 'cut', 'int8', 'quantization', 'rule', 'threshold', 'sweep', 'stat', 'latency-budget', 'bytes-budget', 'json'],
    'deploy run': ['preset', 'tiers', 'cut', 'int8', 'quantization', 'rule', 'threshold', 'images', 'warmup', 'no-shape', 'backend', 'remeasure', 'json'],
    'deploy measure': ['backend', 'images', 'json'], 'deploy presets': ['json'],
  };
  for (const [name, flags] of Object.entries(reads)) {
    const cmd = commands.find((c) => c.name === name);
    assert.ok(cmd, name);
    const known = documentedFlags(cmd);
    for (const f of [...flags, 'help']) assert.ok(known.has(f), `${name} --${f}`);
  }
  const train = commands.find((c) => c.name === 'train')!;
  assert.deepEqual(parseArgs(['x.exits.json', '--set', 'training.epochs=2', '-h'], train).flags, { set: 'training.epochs=2', help: true });
  assert.throws(() => parseArgs(['x.exits.json', '--outt', 'r'], train), (e: Error) => e instanceof UsageError && e.message === 'unknown option --outt: did you mean --out? early-exit train --help lists its options');
  assert.deepEqual(parseArgs(['x', '--outt', 'r']).flags, { outt: 'r' }, 'without a command nothing is refused');
});

test('"data", "data --help" and "help data" list the data subcommands instead of "unknown command"', async () => {
  for (const argv of [['data', '--help'], ['help', 'data']]) {
    const r = await cli(...argv);
    assert.equal(r.code, 0, argv.join(' '));
    assert.match(r.out, /^Usage: early-exit data <subcommand>/);
    assert.match(r.out, /data inspect <name-or-path>/);
  }
  const bare = await cli('data');
  assert.equal(bare.code, 2);
  assert.match(bare.err, /^early-exit data: missing the subcommand\n\nUsage: early-exit data <subcommand>/);
  assert.doesNotMatch(bare.err, /unknown command/);
  assert.match((await cli('dta')).err, /unknown command "dta"/, 'a word that is no command or group is still unknown');
});

test('eval: --rule alone recomputes the table under that rule; --budget takes 1.5M / 800k / 40%; --rule gate on a gateless run says why', async () => {
  const dir = path.join(tmp, 'run');
  const r = makeRun(dir)!;
  const own = await cli('eval', dir, '--json');
  const entropy = await cli('eval', dir, '--rule', 'entropy', '--json');
  assert.equal(entropy.code, 0, entropy.err);
  const t = JSON.parse(entropy.out);
  assert.equal(t.table.rule, 'entropy');
  assert.notDeepEqual(t.table.rows.map((x: { count: number }) => x.count), JSON.parse(own.out).table.rows.map((x: { count: number }) => x.count), 'the rule changes who leaves where');
  assert.match(t.note, /^rule entropy at the run's τ \(0\.5\); the run was evaluated with rule gate$/);
  assert.equal(t.table.rows.at(-1).position, 9, 'the final classifier keeps its position');

  const macs = r.costs.full * 0.6;
  const byCount = JSON.parse((await cli('eval', dir, '--budget', String(macs), '--json')).out);
  for (const b of [`${macs / 1e6}M`, `${macs / 1e6} M`, `${macs / 1e3}k`, '60%']) {
    const x = await cli('eval', dir, '--budget', b, '--json');
    assert.equal(x.code, 0, `${b}: ${x.err}`);
    assert.deepEqual(JSON.parse(x.out).table.thresholds, byCount.table.thresholds, b);
  }
  const bad = await cli('eval', dir, '--budget', '1.5 furlongs');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--budget: must be a positive number of MACs \(1500000, 1\.5M, 800k\) or a percentage/);
  assert.deepEqual([parseMacs('1.5M'), parseMacs('800k'), parseMacs('2G'), parseMacs('12 MACs'), parseMacs('x')], [1.5e6, 8e5, 2e9, 12, undefined]);

  const gateless = path.join(tmp, 'branchy');
  makeRun(gateless, { method: 'branchynet' });
  const g = await cli('eval', gateless, '--rule', 'gate');
  assert.equal(g.code, 2);
  assert.match(g.err, /--rule: "gate" needs gates, and this run's exits have none \(method branchynet\)/);
  // deploy reads --rule and --threshold as eval does (rule-flags.ts): the same refusals, in one line each
  const refused = async (argv: string[], why: RegExp) => {
    const r = await cli(...argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.out}${r.err}`);
    assert.match(r.err.trim(), why);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  };
  await refused(['deploy', 'plan', gateless, '--rule', 'gate'], /^early-exit deploy plan: --rule: "gate" needs gates, and this run's exits have none \(method branchynet\); use entropy or confidence$/);
  await refused(['deploy', 'plan', gateless, '--rule', 'all'], /^early-exit deploy plan: --rule: "all" is not allowed; allowed: gate, confidence, entropy$/);
  await refused(['eval', gateless, '--rule', 'margin'], /^early-exit eval: --rule: "margin" is not allowed; allowed: gate, confidence, entropy, all$/);
  const exits = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')).points.length;
  const tooMany = Array(exits + 1).fill('0.5').join(',');
  for (const command of [['eval'], ['deploy', 'plan']]) {
    // one τ too many used to reach the analysis as an internal error in eval
    await refused([...command, dir, '--threshold', tooMany], new RegExp(`: --threshold: one τ, or one per exit \\(${exits}\\), got ${exits + 1}$`));
    // a trailing comma is not a τ of 0
    await refused([...command, dir, '--threshold', '0.5,'], /: --threshold: every τ must be in \[0, 1\], got "0\.5,"$/);
  }
});

test('--set backbone.input=28x28x1 is a shape, as macs --input takes it; other fields keep their text', () => {
  assert.deepEqual(parseOverride('backbone.input=28x28x1'), { path: 'backbone.input', value: [28, 28, 1] });
  assert.deepEqual(parseOverride('dataset.resize=28×28'), { path: 'dataset.resize', value: [28, 28] });
  assert.deepEqual(parseOverride('backbone.input=[32,32,3]'), { path: 'backbone.input', value: [32, 32, 3] });
  assert.deepEqual(parseOverride('name=28x28'), { path: 'name', value: '28x28' });
});

test('a backbone that does not fit the dataset is an error of the experiment file (and of creating runs), naming the fix', () => {
  const x: any = defaultExperiment('resnet18', 'x');
  x.backbone.input = [32, 32, 3];
  assert.throws(() => parseExperiment(JSON.stringify(x), 'x.exits.json'), (e: unknown) => e instanceof ValidationError
    && e.message === 'x.exits.json: backbone.input: [32, 32, 3], but dataset "fashion-mnist-mini" has 28×28×1 images; set backbone.input to [28, 28, 1]');
  const runs = path.join(tmp, 'mismatch-runs');
  assert.throws(() => createRunsFor(runs, validateExperiment(x)), /backbone\.input: \[32, 32, 3\], but dataset "fashion-mnist-mini"/);
  assert.ok(!fs.existsSync(runs), 'no run folder');
  const y: any = defaultExperiment('resnet18', 'y', 'synthetic');
  y.backbone.classes = 100;
  assert.throws(() => parseExperiment(JSON.stringify(y), 'y.exits.json'), /backbone\.classes: 100, but dataset "synthetic" has 10 classes; set backbone\.classes to 10/);
  // a sweep that moves a run onto another dataset is checked run by run
  const w: any = defaultExperiment('resnet18', 'w', 'synthetic');
  w.sweep = { 'dataset.name': ['synthetic', 'mnist'] };
  assert.throws(() => parseExperiment(JSON.stringify(w), 'w.exits.json'), /dataset "mnist" has 28×28×1 images/);
  const z: any = defaultExperiment('resnet18', 'z', 'synthetic');
  z.dataset = { name: 'cifar100', label: 'coarse' };
  z.backbone.classes = 20;
  assert.doesNotThrow(() => parseExperiment(JSON.stringify(z), 'z.exits.json'), 'CIFAR-100 coarse has 20 classes');
  // an experiment built in memory with its data given directly (the engine's tests) is not held to its dataset
  assert.doesNotThrow(() => validateExperiment({ ...defaultExperiment('resnet18', 'm', 'synthetic'), backbone: { name: 'resnet18', width: 0.0625, input: [16, 16, 3], classes: 10 } }));
});

test('init writes every field it does not name as left out, and names exactly those', async () => {
  const file = path.join(tmp, 'i.exits.json');
  assert.equal((await cli('init', '-o', file)).code, 0);
  const written = JSON.parse(fs.readFileSync(file, 'utf8'));
  const missing = fieldsNotWritten();
  assert.ok(missing.includes('dataset.path') && missing.includes('exits[].head.channels') && missing.includes('sweep'));
  assert.ok(!missing.includes('training.epochs') && !missing.includes('method.lambda') && !missing.includes('dataset.name'));
  assert.deepEqual(fieldsNotWritten(undefined, written), missing, 'what is written is what the help says');
  assert.match((await cli('init', '--help')).out, new RegExp(`Not written .*${missing.map((m) => m.replace(/[.[\]]/g, '\\$&')).join(', ')}`));
  assert.match((await cli('init', '--help')).out, /^Write a valid default experiment file: every field that has a default/m);
});

test('"1 epoch", not "1 epochs"; the synthetic set is not called "synthetic (synthetic)"', () => {
  const dir = path.join(tmp, 'one');
  makeRun(dir, { epochs: 1, dataset: 'synthetic' });
  const lines: string[] = [];
  const { log } = console;
  console.log = (...a: unknown[]) => { lines.push(a.join(' ')); };
  try { printSummary(dir); } finally { console.log = log; }
  assert.match(lines.join('\n'), /, synthetic, 1 epoch on cpu in /);
  // the same words wherever a run's dataset is shown (the results panel, the worker's log)
  assert.deepEqual([datasetText({ name: 'synthetic', synthetic: true }), datasetText({ name: 'cifar10', synthetic: true }), datasetText({ name: 'cifar10', synthetic: false })],
    ['synthetic', 'cifar10 (synthetic)', 'cifar10']);
});

test('the dataset status line is cleared before the backend line is written (no "done 600backend: …")', () => {
  let screen = '';
  const tty = { isTTY: true, columns: 120, write: (s: string) => { screen += s; return true; } } as unknown as NodeJS.WriteStream;
  const view = terminalView('r', tmp, '', new StatusLine(tty));
  view({ type: 'datasetProgress', phase: 'done', done: 600 });
  view({ type: 'started', runId: 'r', backend: 'wasm', backendReason: 'wasm (XNNPACK)', resumedFromEpoch: 0, trainCount: 540, validationCount: 60, testCount: 100, parameters: 1234 });
  // What a terminal shows: a carriage return goes back to the line start, \x1b[2K erases it.
  const ERASE = '\u001b[2K';
  const shown: string[] = [''];
  for (const part of screen.split(new RegExp(`(\r|${ERASE.replace('[', '\\[')}|\n)`))) {
    if (part === '\r') continue;
    if (part === ERASE) shown[shown.length - 1] = '';
    else if (part === '\n') shown.push('');
    else shown[shown.length - 1] += part;
  }
  assert.deepEqual(shown.filter(Boolean), ['backend: wasm (XNNPACK)', '540 train / 60 validation / 100 test images, 1,234 parameters']);
});

test('data inspect reads a dataset folder that holds its data as one archive, whatever the archive is called', async () => {
  const { SHARED_DATASETS } = await import('../../paths');
  // cinic10-2k/ holds cinic10-samples.tar.gz and a LICENSE (cifar10-5k/ holds cifar-10-binary.tar.gz: found before too)
  for (const [folder, name, count] of [['cinic10-2k', 'folder', 1600], ['cifar10-5k', 'cifar10', 4000]] as const) {
    const r = await cli('data', 'inspect', path.join(SHARED_DATASETS, folder), '--json');
    assert.equal(r.code, 0, `${folder}: ${r.err}`);
    const s = JSON.parse(r.out);
    assert.equal(s.splits[0].count, count, folder);
    assert.deepEqual(s.shape, [32, 32, 3]);
    assert.equal(s.classes.length, 10);
    if (name === 'folder') assert.match(s.name, /cinic10-samples\.tar\.gz$/);
  }
});
