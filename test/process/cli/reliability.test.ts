/**
 * Reliability matrix (docs/reliability.md), the command line: what a careless or unlucky user
 * meets through the real CLI (bin/early-exit.js → dist/cli.js). Every ordinary mistake — a
 * mistyped file, an unwritable or impossible output path, an experiment "file" that is a device,
 * a pipe or in another encoding, an existing file as -o — is one line on stderr and a non-zero
 * exit code, never a stack trace (that only with --debug) and never a hang; SIGTERM and SIGHUP
 * end a command with one line and 128 + n; `report -o` and `init -o` never replace a file without
 * --force and never write into a run folder. Each case runs under a time limit, so a hang fails
 * the test instead of stalling it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertOneLine, asRoot, killAll, quote, runCli, tinyExperiment } from '../../fixtures/cli';
import { makeRun } from '../../fixtures/make-run';
import { ROOT } from '../../paths';

let tmp = '';
let readOnly = '';
let experiment = '';
// generous: a real hang never ends, while a start under heavy load (seen: 40 s at load 39) does
const HANG_MS = 120_000;

before(() => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/cli.js')), 'dist/cli.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-rel-cli-'));
  fs.chmodSync(tmp, 0o755);
  // read-only to the user the CLI runs as: root-owned 0755 for "nobody", 0555 otherwise
  readOnly = path.join(tmp, 'read-only');
  fs.mkdirSync(readOnly);
  fs.chmodSync(readOnly, asRoot() ? 0o755 : 0o555);
  experiment = tinyExperiment(tmp);
});
after(() => {
  killAll();
  fs.chmodSync(readOnly, 0o755);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('ordinary mistakes are one line and a non-zero exit code, never a stack trace: a mistyped file, an unwritable folder, --out that is a file, a read-only runs folder, a missing run folder', async () => {
  const missing = await runCli(['train', 'nosuch.exits.json'], { cwd: tmp, timeoutMs: HANG_MS });
  assertOneLine(missing, 2, /^early-exit train: nosuch\.exits\.json: no such file$/);

  const aFile = path.join(tmp, 'a-file');
  fs.writeFileSync(aFile, 'x');
  assertOneLine(await runCli(['train', experiment, '--out', aFile], { timeoutMs: HANG_MS }), 2, new RegExp(`^early-exit train: --out: ${quote(aFile)} is a file, not a folder; give a folder$`));

  const denied = asRoot() ? 'permission denied, EACCES' : 'permission denied, EACCES';
  // a runs folder that cannot be created, and one that exists but cannot be written
  const inReadOnly = path.join(readOnly, 'runs');
  assertOneLine(await runCli(['train', experiment, '--out', inReadOnly], { asNobody: true, timeoutMs: HANG_MS }), 2,
    new RegExp(`^early-exit train: --out: cannot create ${quote(inReadOnly)} \\(${denied}\\); check the permissions of the file or folder$`));
  assertOneLine(await runCli(['train', experiment, '--out', readOnly], { asNobody: true, timeoutMs: HANG_MS }), 2,
    new RegExp(`^early-exit train: --out: cannot write in ${quote(readOnly)} \\(${denied}\\); check the permissions of the file or folder$`));
  // an output file in a folder that cannot be written
  assertOneLine(await runCli(['init', '-o', path.join(readOnly, 'x.exits.json')], { asNobody: true, timeoutMs: HANG_MS }), 2,
    new RegExp(`^early-exit init: -o: cannot write in ${quote(readOnly)} \\(${denied}\\); check the permissions of the file or folder$`));
  assert.deepEqual(fs.readdirSync(readOnly), [], 'nothing was written');

  assertOneLine(await runCli(['eval', path.join(tmp, 'no-run')], { timeoutMs: HANG_MS }), 2, new RegExp(`^early-exit eval: ${quote(path.join(tmp, 'no-run'))}: no such run folder$`));
  assertOneLine(await runCli(['report', tmp], { cwd: tmp, timeoutMs: HANG_MS }), 2,
    new RegExp(`^early-exit report: ${quote(tmp)}: not a run folder \\(it has no status\\.json, experiment\\.json or results\\.json; early-exit runs lists the runs of a runs folder\\)$`));
});

test('an option a command does not take is refused before anything runs, naming the nearest one; --help still answers', async () => {
  const runs = path.join(tmp, 'typo-runs');
  assertOneLine(await runCli(['train', experiment, '--out', runs, '--epoch', '3'], { timeoutMs: HANG_MS }), 2,
    /^early-exit train: unknown option --epoch: experiment fields are set with --set path=value; early-exit train --help lists its options$/);
  assert.equal(fs.existsSync(runs), false, 'no run folder was made');
  assertOneLine(await runCli(['init', '--bakcbone', 'vgg13', '-o', path.join(tmp, 'typo.exits.json')], { timeoutMs: HANG_MS }), 2,
    /^early-exit init: unknown option --bakcbone: did you mean --backbone\? early-exit init --help lists its options$/);
  assert.equal(fs.existsSync(path.join(tmp, 'typo.exits.json')), false, 'no experiment file was written');
  // last on the line, where it would otherwise be asked for a value
  assertOneLine(await runCli(['runs', '--jsn'], { cwd: tmp, timeoutMs: HANG_MS }), 2, /^early-exit runs: unknown option --jsn: did you mean --json\? early-exit runs --help lists its options$/);
  assertOneLine(await runCli(['macs', 'vgg13', '-x', '1'], { timeoutMs: HANG_MS }), 2, /^early-exit macs: unknown option -x: early-exit macs --help lists its options$/);
  const help = await runCli(['train', '--epoch', '3', '--help'], { timeoutMs: HANG_MS });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: early-exit train /);
});

test('an internal error is one line naming --debug; with --debug the stack trace follows', async () => {
  // the worker sends a malformed message: the CLI's handler throws inside an event callback
  const env = { EARLY_EXIT_FAULT: 'bad-message:1' };
  const r = await runCli(['train', experiment, '--out', path.join(tmp, 'bad-message')], { env, timeoutMs: 180_000 });
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('early-exit'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^early-exit train: internal error: TypeError: Cannot read properties of null \(reading '[a-zA-Z]+'\) \(this is a bug in Early Exit Studio; run the command again with --debug for the stack trace, and report it\)$/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace without --debug');
  assert.equal(r.code, 1);
  const d = await runCli(['train', experiment, '--out', path.join(tmp, 'bad-message-debug'), '--debug'], { env, timeoutMs: 180_000 });
  assert.equal(d.code, 1);
  assert.match(d.stderr, /^early-exit train: internal error: TypeError: .*\nTypeError: Cannot read properties of null[^\n]*\n\s+at /m, 'the stack follows with --debug');
});

test('an --out path that cannot be created fails at once with one line (it used to spin at 100 % CPU under /proc)', async () => {
  const cases: [string, RegExp][] = [
    ['/proc/early-exit-runs', /^early-exit train: --out: cannot create \/proc\/early-exit-runs \(no such file or folder, ENOENT\)$/],
    [path.join(tmp, 'a-file', 'runs'), new RegExp(`^early-exit train: --out: ${quote(path.join(tmp, 'a-file', 'runs'))}: a part of the path is a file, not a folder$`)],
    ['/dev/null', /^early-exit train: --out: \/dev\/null is a character device, not a folder; give a folder$/],
    ['', /^early-exit train: --out: the path is empty; give the runs folder$/],
  ];
  fs.writeFileSync(path.join(tmp, 'a-file'), 'x');
  for (const [out, pattern] of cases) {
    const r = await runCli(['train', experiment, '--out', out], { timeoutMs: HANG_MS });
    assertOneLine(r, 2, pattern);
  }
  // the check itself takes milliseconds (the process start around it is what the CLI's time is)
  const { makeDirs } = await import('../../../src/runs/files');
  const t0 = performance.now();
  assert.throws(() => makeDirs('/proc/early-exit-runs/sub', '--out'), /cannot create \/proc\/early-exit-runs/);
  assert.ok(performance.now() - t0 < 1000, `makeDirs took ${performance.now() - t0} ms`);
});

test('an experiment "file" that is a device, a pipe or a folder is refused at once, never read forever', async () => {
  const fifo = path.join(tmp, 'pipe.exits.json');
  execFileSync('mkfifo', [fifo]);
  const cases: [string[], RegExp, string | undefined][] = [
    [['train', '/dev/zero'], /^early-exit train: \/dev\/zero: is a character device, not a file$/, undefined],
    [['train', fifo], new RegExp(`^early-exit train: ${quote(fifo)}: is a pipe \\(FIFO\\), not a file$`), undefined],
    // a shell pipe is a FIFO; Node's own stdin pipe a socket: both are refused, not read
    [['train', '/dev/stdin'], /^early-exit train: \/dev\/stdin: is a (pipe \(FIFO\)|socket), not a file$/, '{"backbone": {"name": "resnet18"}}'],
    [['train', tmp], new RegExp(`^early-exit train: ${quote(tmp)}: is a folder, not a file$`), undefined],
  ];
  for (const [args, pattern, input] of cases) assertOneLine(await runCli(args, { timeoutMs: HANG_MS, input }), 2, pattern);
});

test('experiment files with a BOM, in UTF-16 or Latin-1, or with comments get a message that says so', async () => {
  const body = '{"backbone": {"name": "resnet18"}, "exits": [], "name": "bom"}';
  const write = (name: string, b: Buffer) => { const f = path.join(tmp, name); fs.writeFileSync(f, b); return f; };
  // a UTF-8 BOM is dropped and said so; the file is then read (here: refused for having no exits)
  const bom = write('bom.exits.json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]));
  const r = await runCli(['train', bom], { timeoutMs: HANG_MS });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `note: ${bom}: starts with a UTF-8 byte-order mark (BOM); it was ignored\n`
    + `early-exit train: ${bom}: exits: "proposed" needs at least one exit (its gates decide where inputs leave); add exits (early-exit macs resnet18 lists the points), or set method.name to "baseline" to train the backbone alone\n`);
  const utf8 = 'save it as UTF-8 (in VS Code: "Save with Encoding" → UTF-8)';
  const cases: [string, Buffer, string][] = [
    ['utf16.exits.json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(body, 'utf16le')]), `is UTF-16 (little-endian) text, with a byte-order mark; JSON files must be UTF-8: ${utf8}`],
    ['utf16be.exits.json', Buffer.from(body, 'utf16le').swap16(), `is UTF-16 (big-endian) text; JSON files must be UTF-8: ${utf8}`],
    ['latin1.exits.json', Buffer.from('{"name": "café"}', 'latin1'), `is not valid UTF-8 at line 1, column 14 (byte 0xe9; perhaps Latin-1 or Windows-1252): ${utf8}`],
    ['comments.exits.json', Buffer.from('{\n  // the backbone\n  "backbone": {"name": "resnet18"}\n}\n'), 'invalid JSON at line 2, column 3: comments (// … or /* … */) are not allowed in JSON; remove them'],
    // the row that did not hold: V8 gives no position for some errors and quotes the whole file
    ['tru.exits.json', Buffer.from('{\n  "backbone": {"name": "resnet18", "width": tru}\n}'), 'invalid JSON at line 2, column 45: unexpected word tru (strings need double quotes)'],
  ];
  for (const [name, bytes, what] of cases) {
    const f = write(name, bytes);
    assertOneLine(await runCli(['train', f], { timeoutMs: HANG_MS }), 2, new RegExp(`^early-exit train: ${quote(f)}: ${quote(what)}$`));
  }
  // --set takes the same path through the decoder (it used to give a raw SyntaxError for invalid JSON)
  const c = path.join(tmp, 'comments.exits.json');
  assertOneLine(await runCli(['train', c, '--set', 'training.epochs=2'], { timeoutMs: HANG_MS }), 2, new RegExp(`^early-exit train: ${quote(c)}: invalid JSON at line 2, column 3: comments`));
});

test('SIGTERM and SIGHUP end a command with one line and exit code 128 + n', async () => {
  // a download from a mirror that never answers: the command waits on the network until signalled
  let requests = 0;
  const server = http.createServer(() => { requests++; /* never answers */ });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    for (const [signal, code, why] of [['SIGTERM', 143, ''], ['SIGHUP', 129, ' (the terminal was closed)']] as const) {
      const seen = requests;
      const cache = fs.mkdtempSync(path.join(tmp, 'cache-'));
      const r = runCli(['data', 'inspect', 'mnist', '--download'], { env: { EARLY_EXIT_MIRROR: mirror, EARLY_EXIT_CACHE: cache }, timeoutMs: HANG_MS });
      while (requests === seen) await new Promise((res) => setTimeout(res, 20));
      // the request arrived: the CLI is inside the command; now the signal
      process.kill(cliPid(cache), signal);
      assertOneLine(await r, code, new RegExp(`^early-exit data inspect: stopped by ${signal}${quote(why)}$`));
    }
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

/** The pid of the CLI child whose environment names `marker` (found in /proc, so the test needs no handle on it). */
function cliPid(marker: string): number {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, 'latin1').includes(marker) && fs.readFileSync(`/proc/${d}/cmdline`, 'latin1').includes('early-exit.js')) return Number(d);
    } catch { /* gone or not ours */ }
  }
  throw new Error(`no CLI process with ${marker}`);
}

test('report -o and init -o never replace a file without --force and never write into a run folder; a damaged run is said on stderr and in the exit code', async () => {
  const runs = path.join(tmp, 'report-runs');
  const run = path.join(runs, 'r1');
  makeRun(run, { seed: 4 });
  const results = fs.readFileSync(path.join(run, 'results.json'), 'utf8');
  const mine = path.join(tmp, 'mine.exits.json');
  fs.writeFileSync(mine, '{"backbone": {"name": "vgg13"}}');
  // an existing file: refused without --force, untouched
  assertOneLine(await runCli(['report', run, '-o', mine], { timeoutMs: HANG_MS }), 2, new RegExp(`^early-exit report: -o ${quote(mine)}: exists; add --force to overwrite it$`));
  assert.equal(fs.readFileSync(mine, 'utf8'), '{"backbone": {"name": "vgg13"}}');
  assertOneLine(await runCli(['init', '-o', mine], { timeoutMs: HANG_MS }), 2, new RegExp(`^early-exit init: -o ${quote(mine)}: exists; add --force to overwrite it$`));
  // inside a run folder: refused even with --force, the run's own files untouched
  for (const target of [path.join(run, 'results.json'), path.join(run, 'sub', 'report.html')]) {
    assertOneLine(await runCli(['report', run, '-o', target, '--force'], { timeoutMs: HANG_MS }), 2,
      new RegExp(`^early-exit report: -o ${quote(target)}: is inside the run folder ${quote(run)}, which holds only what its training wrote; write it somewhere else$`));
  }
  assertOneLine(await runCli(['report', run, '-o', run], { timeoutMs: HANG_MS }), 2, new RegExp(`^early-exit report: -o ${quote(run)}: is a run folder, which holds only what its training wrote; write it somewhere else$`));
  assertOneLine(await runCli(['init', '-o', path.join(run, 'x.exits.json'), '--force'], { timeoutMs: HANG_MS }), 2, /is inside the run folder/);
  assert.equal(fs.readFileSync(path.join(run, 'results.json'), 'utf8'), results);
  assert.ok(!fs.existsSync(path.join(run, 'sub')) && !fs.existsSync(path.join(run, 'x.exits.json')));
  // a new file is written; again only with --force
  const out = path.join(tmp, 'reports', 'r.html');
  const ok = await runCli(['report', run, '-o', out], { timeoutMs: HANG_MS });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stderr, '');
  assert.equal((await runCli(['report', run, '-o', out], { timeoutMs: HANG_MS })).code, 2);
  assert.equal((await runCli(['report', run, '-o', out, '--force'], { timeoutMs: HANG_MS })).code, 0);
  // a damaged run: the report is written with what could be read, the problem goes to stderr, exit code 1
  const damaged = path.join(runs, 'r2');
  makeRun(damaged, { seed: 5 });
  fs.writeFileSync(path.join(damaged, 'results.json'), '{}');
  const d = await runCli(['report', run, damaged, '-o', path.join(tmp, 'both.html')], { timeoutMs: HANG_MS });
  assert.equal(d.code, 1, d.stdout + d.stderr);
  assert.equal(d.stderr, `early-exit report: run r2: results.json: not a valid results.json (version: missing); early-exit train --resume ${damaged} evaluates the run again from its last checkpoint and rewrites it\n`
    + 'early-exit report: 1 of 2 run(s) could only be partly read; the report shows what could be read and lists the problems\n');
  assert.ok(fs.existsSync(path.join(tmp, 'both.html')));
});
