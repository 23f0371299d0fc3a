/**
 * Reliability matrix (docs/reliability.md): fuzzing every reader of run folders. A real run folder
 * (trained once by the CLI: experiment, status, metrics, results, per-sample records, exported
 * model, checkpoint with optimiser state, worker log) plus a queue lock, with one file truncated
 * (anywhere, or at a line end), its bytes flipped, junk appended, replaced by other JSON or
 * deleted, goes to a child process that runs every reader (fuzz-run-files-child.ts) under a time
 * limit. A reader may return or throw the project's ValidationError naming a run file — nothing
 * else; and what it returns must not be a silent misread: changed weights or records are never
 * loaded (sizes and SHA-256), a metrics file cut at a line end is reported, not read as fewer epochs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { ChildRunner } from '../../fixtures/child-runner';
import { killAll, trainTiny } from '../../fixtures/cli';
import type { ReaderOutcome, RunFuzzCase, RunFuzzOutcome } from '../../fixtures/fuzz-run-files-child';
import { FIXTURES, ROOT } from '../../paths';

const CHILD = path.join(FIXTURES, 'fuzz-run-files-child.ts');
const FUZZ_RUNS = Number(process.env.EE_FUZZ_RUNS ?? 120);
const CASE_TIMEOUT_MS = 20_000;
let tmp = '';
const seed: Record<string, Buffer> = {};

before(async () => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/worker.js')), 'dist/worker.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-rel-fuzz-run-'));
  const dir = await trainTiny(tmp, { training: { epochs: 2 } });
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${rel}/${e.name}`);
      else seed[`${rel}/${e.name}`] = fs.readFileSync(path.join(d, e.name));
    }
  };
  walk(dir, 'run-1');
  // a lock of a live process (this one) in the queue folder: its reader is fuzzed too
  const start = fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
  seed['.locks/slot-0.lock'] = Buffer.from(JSON.stringify({ version: 1, owner: { pid: process.pid, start, host: os.hostname() }, label: 'run-1', since: new Date().toISOString(), token: 'x' }));
});
after(() => { runner.stop(); killAll(); fs.rmSync(tmp, { recursive: true, force: true }); });

// ---- the child ---------------------------------------------------------------------------------

const runner = new ChildRunner<RunFuzzCase, RunFuzzOutcome>(CHILD);
let first = true;

async function runCase(files: Record<string, Buffer>, damaged: string): Promise<ReaderOutcome[] | Error> {
  const encoded = Object.fromEntries(Object.entries(files).map(([f, b]) => [f, b.toString('base64')]));
  // the first case also loads tfjs in the child
  const o = await runner.run((id) => ({ id, damaged, files: encoded }), CASE_TIMEOUT_MS * (first ? 3 : 1), 'the readers');
  first = false;
  return o instanceof Error ? o : o.outcomes;
}

// ---- damage -----------------------------------------------------------------------------------

const damage = fc.record({
  file: fc.nat(),
  op: fc.constantFrom('cut', 'cut-at-line', 'flip', 'append', 'replace', 'delete'),
  at: fc.nat(),
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
  junk: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  replacement: fc.oneof(fc.constantFrom('', '{}', '[]', 'null', '0', '"x"', '{"version":1}', '{"state":"finished"}'), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))),
});
type Damage = typeof damage extends fc.Arbitrary<infer T> ? T : never;

function apply(b: Buffer, d: Damage): Buffer | null {
  switch (d.op) {
    case 'cut': return b.subarray(0, d.at % (b.length + 1));
    case 'cut-at-line': {
      const ends = [0, ...[...b.entries()].filter(([, x]) => x === 10).map(([i]) => i + 1)];
      return b.subarray(0, ends[d.at % ends.length]);
    }
    case 'flip': { const c = Buffer.from(b); for (const [p, v] of d.flips) if (c.length) c[p % c.length] = v; return c; }
    case 'append': return Buffer.concat([b, Buffer.from(d.junk)]);
    case 'replace': return Buffer.from(d.replacement);
    case 'delete': return null;
  }
}

// ---- the oracle -------------------------------------------------------------------------------

/** Readers that report problems instead of throwing. */
const NEVER_THROW = new Set(['listRuns', 'readRunData', 'readMetrics', 'savedNetworkProblem', 'inspectLock']);
const NAMES_A_FILE = /(experiment|status|results|samples|samples-validation|model)\.json|metrics\.jsonl|(weights|optimizer)\.bin|checkpoint|model/;

test('fuzz: every reader of a run folder, on any file truncated, mutated, replaced or deleted, only reports problems naming the file — no crash, hang or silent misread', async () => {
  const names = Object.keys(seed).filter((f) => !f.endsWith('worker.log'));
  const baseline = await runCase(seed, '');
  assert.ok(!(baseline instanceof Error), String(baseline));
  const base = Object.fromEntries((baseline as ReaderOutcome[]).map((o) => [o.reader, o]));
  for (const o of baseline as ReaderOutcome[]) assert.equal(o.result, 'ok', `${o.reader} on the intact run: ${o.message}`);
  // rejected: some reader named a problem; lock: a damaged lock, judged by its reader (taken over once stale);
  // valueEdits: a change that still parses and type-checks (e.g. a digit of a number) and is read as written
  const stats = { cases: 0, rejected: 0, unchanged: 0, lock: 0, valueEdits: 0, hangs: 0, crashes: 0, misreads: 0 };
  const failures: string[] = [];
  await fc.assert(fc.asyncProperty(damage, async (d) => {
    const target = names[d.file % names.length];
    const files = { ...seed };
    const changed = apply(seed[target], d);
    if (changed === null) delete files[target]; else files[target] = changed;
    // the same bytes, or JSON with the same content (e.g. only the last newline cut)
    const parsed = (b: Buffer) => { try { return JSON.stringify(b.toString('utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))); } catch { try { return JSON.stringify(JSON.parse(b.toString('utf8'))); } catch { return null; } } };
    const same = changed !== null && (changed.equals(seed[target]) || (/\.jsonl?$/.test(target) && parsed(changed) !== null && parsed(changed) === parsed(seed[target])));
    stats.cases++;
    const out = await runCase(files, target);
    const where = `${target} ${d.op}${changed ? ` → ${changed.length} bytes` : ''}`;
    if (out instanceof Error) {
      if (/hung/.test(out.message)) stats.hangs++; else stats.crashes++;
      failures.push(`${where}: ${out.message}`);
      return;
    }
    const by = Object.fromEntries(out.map((o) => [o.reader, o]));
    for (const o of out) {
      if (o.result === 'other' || (o.result === 'validation' && NEVER_THROW.has(o.reader))) { stats.crashes++; failures.push(`${where}: ${o.reader} threw ${o.message}`); }
      else if (o.result === 'validation' && !NAMES_A_FILE.test(o.message!)) failures.push(`${where}: ${o.reader} does not name a file: ${o.message}`);
    }
    const misread = (why: string) => { stats.misreads++; failures.push(`${where}: silent misread: ${why}`); };
    if (!same) {
      const data = by.readRunData.value as { problems: string[]; samples: unknown; validation: unknown; metrics: unknown[] } | undefined;
      const problems = data?.problems.length ?? 0;
      // weights and records are checked by size and SHA-256: a change is never loaded
      if (/(weights|optimizer)\.bin$/.test(target)) {
        const folder = target.split('/')[1];
        const reported = (by.savedNetworkProblem.value as (string | null)[] | undefined)?.[folder === 'model' ? 0 : 1];
        if (!reported) misread(`savedNetworkProblem passed a changed ${target}`);
        if (target.endsWith('weights.bin') && by[`loadNetwork ${folder}`].result === 'ok') misread(`loadNetwork loaded a changed ${target}`);
      }
      if (/samples(-validation)?\.json$/.test(target)) {
        if (by.eval.result === 'ok' && target.endsWith('/samples.json')) misread('eval read changed test records');
        const key = target.endsWith('-validation.json') ? 'validation' : 'samples';
        if (data && (data as Record<string, unknown>)[key] !== null) misread(`readRunData returned changed ${key}`);
      }
      // a metrics file cut at a line end reads as valid JSON lines: the missing epochs must be reported
      if (target.endsWith('metrics.jsonl') && data && data.metrics.length < (base.readRunData.value as { metrics: unknown[] }).metrics.length && problems === 0) {
        misread(`readRunData returned ${data.metrics.length} epochs without a problem`);
      }
      const rejected = out.some((o) => o.result === 'validation') || problems > 0 || (by.savedNetworkProblem.value as unknown[] | undefined)?.some((p) => p) || by.listRuns.value !== undefined && JSON.stringify(by.listRuns.value) !== JSON.stringify(base.listRuns.value);
      if (rejected) stats.rejected++;
      else if (target.endsWith('.lock')) stats.lock++;
      else { stats.valueEdits++; if (process.env.EE_FUZZ_SHOW) console.log(`# accepted: ${where}`); }
    } else stats.unchanged++;
  }), { numRuns: FUZZ_RUNS, includeErrorInReport: true });
  console.log(`# run-folder fuzz: ${JSON.stringify(stats)}`);
  assert.deepEqual(failures, []);
  assert.equal(stats.hangs + stats.crashes + stats.misreads, 0);
  assert.ok(stats.rejected > FUZZ_RUNS / 3, JSON.stringify(stats));
});
