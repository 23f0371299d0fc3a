/**
 * The run store: one folder per run under the runs directory (layout in core/run-types.ts).
 * Plain fs, no tfjs and no vscode, so the CLI, the worker and the extension all read it.
 * Every file is written atomically: a temp file in the same folder, fsync, rename.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Experiment } from '../spec/experiment';
import type { RunResults, SampleRecords } from '../spec/results';
import type { EpochMetrics, RunState, RunStatus } from '../spec/run-types';
import { resultsProblem } from '../spec/results-check';

export const RUN_FILES = {
  experiment: 'experiment.json',
  status: 'status.json',
  metrics: 'metrics.jsonl',
  results: 'results.json',
  samples: 'samples.json',
  validationSamples: 'samples-validation.json',
  model: 'model',
  checkpoint: 'checkpoint',
  log: 'worker.log',
  /** measured per-part speeds by backend ("measure here" tiers) */
  tierSpeed: 'tier-speed.json',
  /** split executions over tiers, newest per placement */
  splitMeasured: 'split-measured.json',
} as const;

/** Writes `data` to `file` so that readers see the old or the new content, never a mix. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

export function writeJsonAtomic(file: string, value: unknown, indent = 2): void {
  writeFileAtomic(file, JSON.stringify(value, null, indent) + '\n');
}

/** Makes a run id that sorts by time: 20261127-061502-demo-k3x9. */
export function newRunId(name: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  const safe = name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'run';
  return `${stamp}-${safe}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Resolves a run id or folder inside `runsDir`; ids with path separators or `..` are refused so a
 * crafted name can never reach outside the runs folder.
 */
export function runDirOf(runsDir: string, id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id) || id.includes('..')) throw new Error(`invalid run id "${id}"`);
  return path.join(runsDir, id);
}

export function createRun(runsDir: string, experiment: Experiment, opts: { group?: string | null; sweep?: Record<string, unknown> | null; id?: string } = {}): { id: string; dir: string } {
  fs.mkdirSync(runsDir, { recursive: true });
  const id = opts.id ?? newRunId(experiment.name);
  const dir = runDirOf(runsDir, id);
  fs.mkdirSync(dir);
  writeJsonAtomic(path.join(dir, RUN_FILES.experiment), experiment);
  const status: RunStatus = {
    id, experiment: experiment.name, group: opts.group ?? null, sweep: opts.sweep ?? null, state: 'queued',
    backend: null, backendReason: null, createdAt: new Date().toISOString(), startedAt: null, endedAt: null,
    epoch: 0, epochs: experiment.training.epochs, error: null, pid: null,
  };
  writeJsonAtomic(path.join(dir, RUN_FILES.status), status);
  return { id, dir };
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function readStatus(dir: string): RunStatus {
  return readJson<RunStatus>(path.join(dir, RUN_FILES.status));
}

export function updateStatus(dir: string, patch: Partial<RunStatus>): RunStatus {
  const s = { ...readStatus(dir), ...patch };
  writeJsonAtomic(path.join(dir, RUN_FILES.status), s);
  return s;
}

export function readExperimentOf(dir: string): Experiment {
  return readJson<Experiment>(path.join(dir, RUN_FILES.experiment));
}

/** metrics.jsonl: the readable lines, and what could not be read (line number + reason). */
export function readMetrics(dir: string): { metrics: EpochMetrics[]; errors: string[] } {
  const file = path.join(dir, RUN_FILES.metrics);
  if (!fs.existsSync(file)) return { metrics: [], errors: [] };
  const metrics: EpochMetrics[] = [];
  const errors: string[] = [];
  fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      const m = JSON.parse(line);
      if (typeof m?.epoch !== 'number') throw new Error('no epoch');
      metrics.push(m);
    } catch (e) {
      errors.push(`${RUN_FILES.metrics} line ${i + 1}: unreadable (${(e as Error).message})`);
    }
  });
  return { metrics, errors };
}

/** Rewrites metrics.jsonl with one more epoch (atomic; lines of later epochs are dropped on resume). */
export function appendMetrics(dir: string, m: EpochMetrics): void {
  const kept = readMetrics(dir).metrics.filter((x) => x.epoch < m.epoch);
  writeFileAtomic(path.join(dir, RUN_FILES.metrics), [...kept, m].map((x) => JSON.stringify(x)).join('\n') + '\n');
}

export function readResults(dir: string): RunResults {
  return readJson<RunResults>(path.join(dir, RUN_FILES.results));
}

export function readSamples(dir: string, which: 'test' | 'validation' = 'test'): SampleRecords {
  return readJson<SampleRecords>(path.join(dir, which === 'test' ? RUN_FILES.samples : RUN_FILES.validationSamples));
}

export interface RunListing {
  id: string;
  dir: string;
  status: RunStatus | null;
  /** Why status.json could not be read. */
  error: string | null;
  results: Pick<RunResults, 'softAccuracy' | 'finalAccuracy' | 'hard' | 'method' | 'lambda'> | null;
}

/**
 * Every run folder under `runsDir`, newest first; unreadable folders are listed with the reason.
 * A runs folder (or run folder) deleted while it is being listed just drops out of the list.
 */
export function listRuns(runsDir: string): RunListing[] {
  let ids: string[];
  try {
    ids = fs.readdirSync(runsDir);
  } catch {
    return [];
  }
  const out: RunListing[] = [];
  for (const id of ids.sort().reverse()) {
    const dir = path.join(runsDir, id);
    if (id.startsWith('.')) continue;
    try {
      if (!fs.statSync(dir).isDirectory()) continue;
    } catch {
      continue; // deleted since readdir
    }
    let status: RunStatus | null = null, error: string | null = null, results: RunListing['results'] = null;
    try {
      status = readStatus(dir);
      if (status.state === 'running' && status.pid && !pidAlive(status.pid)) {
        status = { ...status, state: 'failed', error: status.error ?? `worker process ${status.pid} is gone (killed or crashed)` };
      }
    } catch (e) {
      error = `${RUN_FILES.status}: ${(e as Error).message}`;
    }
    try {
      if (fs.existsSync(path.join(dir, RUN_FILES.results))) results = checkResults(readResults(dir));
    } catch (e) {
      error = (error ? error + '; ' : '') + `${RUN_FILES.results}: ${(e as Error).message}`;
    }
    if (!fs.existsSync(dir)) continue; // deleted while being read
    out.push({ id, dir, status, error, results });
  }
  return out;
}

/**
 * Checks that a parsed results.json has what the views read (exit table, costs, points), so a
 * file that is valid JSON but not a results file is reported instead of breaking a view.
 */
export function checkResults(x: RunResults): RunResults {
  const problem = resultsProblem(x);
  if (problem) throw new Error(problem);
  return x;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes a run folder. Refuses a folder that is not a run (no status.json or experiment.json,
 * so a wrong path never removes anything else) and a run whose worker is still alive.
 */
export function deleteRun(dir: string): void {
  const status = readStatus(dir);
  if (!fs.existsSync(path.join(dir, RUN_FILES.experiment))) throw new Error(`${dir} is not a run folder (no ${RUN_FILES.experiment})`);
  if (status.state === 'running' && status.pid && pidAlive(status.pid)) {
    throw new Error(`run ${status.id} is running (worker process ${status.pid}); stop it first`);
  }
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

export const FINAL_STATES: readonly RunState[] = ['finished', 'failed', 'cancelled'];

/**
 * A cross-process queue slot: an exclusive lock file under `<runsDir>/.locks`. Two CLIs or two
 * VS Code windows on one workspace share it, so runs execute one after the other (or up to
 * `slots` at once). A lock whose process is gone is taken over.
 */
export async function acquireSlot(runsDir: string, slots: number, owner: string, signal?: { cancelled: boolean }, pollMs = 300): Promise<() => void> {
  const lockDir = path.join(runsDir, '.locks');
  fs.mkdirSync(lockDir, { recursive: true });
  for (;;) {
    for (let k = 0; k < slots; k++) {
      const file = path.join(lockDir, `slot-${k}.lock`);
      try {
        const fd = fs.openSync(file, 'wx');
        fs.writeSync(fd, JSON.stringify({ pid: process.pid, owner }));
        fs.closeSync(fd);
        return () => { try { if (readJson<{ owner: string }>(file).owner === owner) fs.rmSync(file); } catch { /* already gone */ } };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        try {
          const held = readJson<{ pid: number }>(file);
          if (!pidAlive(held.pid)) fs.rmSync(file, { force: true });
        } catch { /* half-written lock: retry */ }
      }
    }
    if (signal?.cancelled) throw new Error('cancelled while queued');
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
