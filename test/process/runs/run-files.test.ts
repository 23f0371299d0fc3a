/**
 * Reliability matrix (docs/reliability.md), damaged run folders: a real run trained once by the
 * CLI, then copies of it damaged the way disks, kills and careless hands do — results.json `{}`,
 * a 1-byte samples.json, truncated model and checkpoint weights, status.json or checkpoint/
 * missing on resume, a cut last line of metrics.jsonl. Every reader names the file and what to
 * do, in one line; `train --resume` repairs what evaluation wrote and never drops a record.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertOneLine, killAll, quote, runCli, trainTiny } from '../../fixtures/cli';
import { ROOT } from '../../paths';

let tmp = '';
let base = '';
let n = 0;
const LIMIT = 180_000;

before(async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/worker.js')), 'dist/worker.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-rel-files-'));
  base = await trainTiny(tmp, { training: { epochs: 2 }, evaluation: { timingImages: 4 } });
});
after(() => { killAll(); fs.rmSync(tmp, { recursive: true, force: true }); });

/** A fresh copy of the trained run, in its own runs folder. */
function copy(): string {
  const dir = path.join(tmp, `copy${n++}`, path.basename(base));
  fs.cpSync(base, dir, { recursive: true });
  return dir;
}
const json = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));
const edit = (f: string, change: (x: any) => void) => { const x = json(f); change(x); fs.writeFileSync(f, JSON.stringify(x)); };
const again = (dir: string) => `early-exit train --resume ${dir} evaluates the run again from its last checkpoint and rewrites it`;
const cut = (f: string, bytes: number) => { const b = fs.readFileSync(f); fs.writeFileSync(f, b.subarray(0, b.length - bytes)); return b.length; };

test('damaged files of a finished run name the file and the fix in one line (eval, eval --measure), and train --resume repairs them', async () => {
  const a = copy();
  fs.writeFileSync(path.join(a, 'results.json'), '{}');
  assertOneLine(await runCli(['eval', a], { timeoutMs: LIMIT }), 2, new RegExp(`^early-exit eval: ${quote(path.join(a, 'results.json'))}: not a valid results\\.json \\(version: missing\\); ${quote(again(a))}$`));

  const b = copy();
  fs.writeFileSync(path.join(b, 'samples.json'), '{');
  assertOneLine(await runCli(['eval', b], { timeoutMs: LIMIT }), 2,
    new RegExp(`^early-exit eval: ${quote(path.join(b, 'samples.json'))}: invalid JSON at line 1, column 2: unexpected end of file: an object is not closed with \\} \\(1 byte: cut off or overwritten\\); ${quote(again(b))}$`));
  // a records file from another evaluation (valid JSON, right shape) is found by its checksum
  const c = copy();
  edit(path.join(c, 'samples.json'), (s) => { s.labels[0] = (s.labels[0] + 1) % 10; });
  assertOneLine(await runCli(['eval', c], { timeoutMs: LIMIT }), 2,
    new RegExp(`^early-exit eval: ${quote(path.join(c, 'samples.json'))}: its bytes do not match the SHA-256 that results\\.json recorded for it \\(the file was damaged or replaced\\); ${quote(again(c))}$`));

  const d = copy();
  const size = cut(path.join(d, 'model', 'weights.bin'), 18);
  const measured = await runCli(['eval', d, '--measure'], { timeoutMs: LIMIT });
  assertOneLine(measured, 2, new RegExp(`^early-exit eval: ${quote(path.join(d, 'model', 'weights.bin'))}: ${size - 18} bytes, but model\\.json describes ${size} \\(the file is truncated\\); ${quote(again(d))}$`));
  // the fix the message gives works: evaluated again from the checkpoint, model rewritten
  const fixed = await runCli(['train', '--resume', d], { timeoutMs: LIMIT });
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stderr, new RegExp(`^${quote(d)} finished, but model/weights\\.bin: ${size - 18} bytes, but model\\.json describes ${size} \\(the file is truncated\\)\\nevaluating it again from its last checkpoint…$`, 'm'));
  assert.equal(fs.statSync(path.join(d, 'model', 'weights.bin')).size, size);
  const ok = await runCli(['eval', d, '--measure'], { timeoutMs: LIMIT });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /batch-1 latency: full [\d.]+ ms, hard exits [\d.]+ ms/);
  // an intact finished run is left alone
  assert.match((await runCli(['train', '--resume', d], { timeoutMs: LIMIT })).stdout, /already finished/);
});

test('resume: damaged checkpoint weights fail naming the file and the fix; a missing status.json is rebuilt; a missing checkpoint/ says training starts again; a cut metrics line is kept, not dropped', async () => {
  const failed = (dir: string, epochs?: number) => {
    edit(path.join(dir, 'status.json'), (s) => { s.state = 'failed'; if (epochs) s.epochs = epochs; });
    if (epochs) edit(path.join(dir, 'experiment.json'), (x) => { x.training.epochs = epochs; });
  };
  const a = copy();
  failed(a);
  const size = cut(path.join(a, 'checkpoint', 'weights.bin'), 18);
  const r = await runCli(['train', '--resume', a], { timeoutMs: LIMIT });
  assert.equal(r.code, 1);
  const why = `${path.join(a, 'checkpoint', 'weights.bin')}: ${size - 18} bytes, but model.json describes ${size} (the file is truncated); the run cannot continue from it; delete ${path.join(a, 'checkpoint')} and run early-exit train --resume ${a} to train it again from epoch 1`;
  assert.equal(json(path.join(a, 'status.json')).error, why);
  assert.match(r.stderr, new RegExp(`^run \\S+ failed: ${quote(why)}$`, 'm'));
  assert.doesNotMatch(r.stderr, /should have \d+ values|^\s+at /m);

  const b = copy();
  failed(b);
  fs.rmSync(path.join(b, 'status.json'));
  const rb = await runCli(['train', '--resume', b], { timeoutMs: LIMIT });
  assert.equal(rb.code, 0, rb.stderr);
  assert.match(rb.stderr, /^warning: status\.json was missing; rebuilt it from experiment\.json and metrics\.jsonl$/m);
  assert.equal(json(path.join(b, 'status.json')).state, 'finished');

  const c = copy();
  failed(c);
  fs.rmSync(path.join(c, 'checkpoint'), { recursive: true });
  const rc = await runCli(['train', '--resume', c], { timeoutMs: LIMIT });
  assert.equal(rc.code, 0, rc.stderr);
  assert.match(rc.stderr, new RegExp(`^warning: --resume: no checkpoint in ${quote(path.join(c, 'checkpoint'))}, so training starts again from epoch 1 \\(the 2 epoch record\\(s\\) in metrics\\.jsonl are replaced as the epochs are trained again\\)$`, 'm'));
  assert.deepEqual(fs.readFileSync(path.join(c, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).epoch), [1, 2]);

  // a checkpoint of another network than the run's experiment is refused, not loaded into it
  const e = copy();
  failed(e);
  edit(path.join(e, 'experiment.json'), (x) => { x.exits[0].point = 'block3'; });
  const re = await runCli(['train', '--resume', e], { timeoutMs: LIMIT });
  assert.equal(re.code, 1);
  assert.match(json(path.join(e, 'status.json')).error, new RegExp(`^${quote(path.join(e, 'checkpoint', 'model.json'))}: its network is not the one of this run's experiment\\.json \\(exits .*"point":"block2".* vs .*"point":"block3".*\\); the run cannot continue from it; delete ${quote(path.join(e, 'checkpoint'))} and run early-exit train --resume ${quote(e)} to train it again from epoch 1$`));

  // a run of 3 epochs stopped after 2, whose record of epoch 2 was cut: resume trains epoch 3 and keeps the damaged line
  const d = copy();
  failed(d, 3);
  const metrics = path.join(d, 'metrics.jsonl');
  const lines = fs.readFileSync(metrics, 'utf8').trim().split('\n');
  const damaged = lines[1].slice(0, 40);
  fs.writeFileSync(metrics, `${lines[0]}\n${damaged}`);
  const rd = await runCli(['train', '--resume', d], { timeoutMs: LIMIT });
  assert.equal(rd.code, 0, rd.stderr);
  assert.match(rd.stderr, /^warning: metrics\.jsonl: no readable record of epoch 2 \(metrics\.jsonl line 2: unreadable \(not JSON \(cut off or overwritten\)\)\); damaged lines are kept as they are, and the training curves skip that epoch$/m);
  const after = fs.readFileSync(metrics, 'utf8').trim().split('\n');
  assert.equal(after.length, 3);
  assert.equal(after[0], lines[0]);
  assert.equal(after[1], damaged, 'the damaged record of epoch 2 is still there');
  assert.equal(JSON.parse(after[2]).epoch, 3);
});
