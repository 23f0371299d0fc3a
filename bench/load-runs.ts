/**
 * `npx tsx bench/load-runs.ts [--runs 200]` — the "200 runs stay responsive" row of
 * docs/reliability.md. Writes N synthetic run folders (test/fixtures/make-run.ts: 500 test + 200
 * validation records each, a mix of states and methods), then times what the Runs view and the
 * Compare Runs panel do with them: listRuns, readRunData of every run (as the comparison panel
 * reads them), the Table 1 layout and Pareto front, and serialising the panel's message.
 * Prints one line per step in ms (median of 5) and a JSON summary. Timings only here; the unit
 * test (test/process/runs/reliability.test.ts) checks the listing's content.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { comparisonTable, paretoFront, tableOneAccuracy, type ComparisonEntry } from '../src/spec/analysis';
import type { RunData } from '../src/protocol/webview';
import { listRuns } from '../src/runs/store';
import { readRunData } from '../src/runs/view-data';
import { makeRun } from '../test/fixtures/make-run';

const i = process.argv.indexOf('--runs');
const N = i >= 0 ? Number(process.argv[i + 1]) : 200;
const REPEAT = 5;

function time<T>(label: string, f: () => T): { value: T; ms: number } {
  const ms: number[] = [];
  let value!: T;
  for (let k = 0; k < REPEAT; k++) {
    const t0 = performance.now();
    value = f();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const median = ms[Math.floor(REPEAT / 2)];
  console.log(`${label.padEnd(44)} ${median.toFixed(1).padStart(8)} ms   (min ${ms[0].toFixed(1)}, max ${ms[REPEAT - 1].toFixed(1)})`);
  return { value, ms: median };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ee-bench-runs-'));
try {
  const runsDir = path.join(tmp, 'runs');
  const t0 = performance.now();
  const methods = ['proposed', 'branchynet', 'baseline'] as const;
  for (let r = 0; r < N; r++) {
    const method = methods[r % 3];
    makeRun(path.join(runsDir, `run-${String(r).padStart(4, '0')}`), {
      seed: r + 1, method, lambda: method === 'proposed' ? [0.1, 0.5, 1, 2][r % 4] : null,
      group: method === 'proposed' ? `sweep-${r % 10}` : null, state: r % 17 === 0 ? 'running' : 'finished',
      dataset: r % 2 ? 'cifar10' : 'cifar100', backbone: ['resnet18', 'vgg13', 'alexnet'][r % 3],
    });
  }
  console.log(`wrote ${N} run folders in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const list = time(`listRuns (${N} runs, Runs view / early-exit runs)`, () => listRuns(runsDir));
  const dirs = list.value.map((r) => r.dir);
  const read = time(`readRunData × ${N} (comparison panel load)`, () => dirs.map((d) => readRunData(d, false, false)));
  const one = time('readRunData of one run with related points', () => readRunData(dirs[0]));
  const table = time('Table 1 layout + Pareto front', () => {
    const runs = read.value.filter((r): r is RunData & { results: NonNullable<RunData['results']> } => r.results !== null);
    const entries: ComparisonEntry[] = runs.map((r) => ({
      id: r.id, dataset: r.results.dataset.name, backbone: r.results.backbone.label, method: r.results.method, lambda: r.results.lambda,
      accuracy: tableOneAccuracy(r.results),
    }));
    const front = paretoFront(runs.flatMap((r) => r.results.sweep.map((p) => ({ averageMacs: p.averageMacsPct, accuracy: p.accuracy }))));
    return { table: comparisonTable(entries), front };
  });
  const message = time('serialise didLoadComparison (postMessage)', () => JSON.stringify({ type: 'didLoadComparison', runs: read.value }));
  // what the comparison view itself reads: results and status (the per-sample records serve the results view)
  const lean = time('serialise it without per-sample records', () => JSON.stringify({ type: 'didLoadComparison', runs: read.value.map((r) => ({ ...r, samples: null, validation: null })) }));
  const summary = {
    runs: N, listMs: list.ms, readAllMs: read.ms, readOneMs: one.ms, tableMs: table.ms, serialiseMs: message.ms,
    messageMiB: message.value.length / 2 ** 20, leanSerialiseMs: lean.ms, leanMessageMiB: lean.value.length / 2 ** 20, evaluated: read.value.filter((r) => r.results).length,
    totalMs: list.ms + read.ms + table.ms + message.ms,
  };
  console.log(JSON.stringify(summary));
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
