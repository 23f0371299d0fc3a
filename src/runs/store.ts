/**
 * The run store: one folder per run under the runs directory (layout in spec/run-types.ts).
 * Plain fs, no tfjs and no vscode, so the CLI, the worker and the extension all read it.
 * Every file is written atomically: a temp file in the same folder, fsync, rename. Every file is
 * read through readRunJson (runs/files.ts): a missing or damaged one names the file and the fix.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateExperiment, type Experiment } from '../spec/experiment';
import { ValidationError } from '../spec/errors';
import type { RunResults, SampleRecords } from '../spec/results';
import { metricsLineProblem, recordsMismatch, resultsProblem, RunFileError, runFileFix, RUN_FILES, samplesProblem, statusProblem, weightsProblem } from '../spec/run-files';
import type { EpochMetrics, RunState, RunStatus } from '../spec/run-types';
import { makeDirs, MAX_RUN_FILE_BYTES, readOrdinaryFile, readRunJson } from './files';
import { goneReason, pidAlive, processState, thisProcess } from './lock';

export { RUN_FILES } from '../spec/run-files';
export { acquireSlot, pidAlive } from './lock';

/** Writes `data` to `file` so that readers see the old or the new content, never a mix; returns its SHA-256. */
export function writeFileAtomic(file: string, data: string | Uint8Array): string {
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
  return createHash('sha256').update(data).digest('hex');
}

export function writeJsonAtomic(file: string, value: unknown, indent = 2): string {
  return writeFileAtomic(file, JSON.stringify(value, null, indent) + '\n');
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
  makeDirs(runsDir, 'runs folder');
  const id = opts.id ?? newRunId(experiment.name);
  const dir = runDirOf(runsDir, id);
  fs.mkdirSync(dir);
  writeJsonAtomic(path.join(dir, RUN_FILES.experiment), experiment);
  const status: RunStatus = {
    id, experiment: experiment.name, group: opts.group ?? null, sweep: opts.sweep ?? null, state: 'queued',
    backend: null, backendReason: null, createdAt: new Date().toISOString(), startedAt: null, endedAt: null,
    epoch: 0, epochs: experiment.training.epochs, error: null, pid: null, owner: thisProcess(),
  };
  writeJsonAtomic(path.join(dir, RUN_FILES.status), status);
  return { id, dir };
}

export function readStatus(dir: string): RunStatus {
  return readRunJson<RunStatus>(dir, RUN_FILES.status, statusProblem);
}

export function updateStatus(dir: string, patch: Partial<RunStatus>): RunStatus {
  const s = { ...readStatus(dir), ...patch };
  writeJsonAtomic(path.join(dir, RUN_FILES.status), s);
  return s;
}

/**
 * A status.json for a run folder that lost its own (resume): queued, with the experiment's epoch
 * count and the last epoch metrics.jsonl records.
 */
export function rebuildStatus(dir: string): RunStatus {
  const x = readExperimentOf(dir);
  const { metrics } = readMetrics(dir);
  const status: RunStatus = {
    id: path.basename(dir), experiment: x.name, group: null, sweep: null, state: 'queued', backend: null, backendReason: null,
    createdAt: new Date().toISOString(), startedAt: null, endedAt: null, epoch: metrics.length ? Math.max(...metrics.map((m) => m.epoch)) : 0,
    epochs: x.training.epochs, error: null, pid: null, owner: thisProcess(),
  };
  writeJsonAtomic(path.join(dir, RUN_FILES.status), status);
  return status;
}

export function readExperimentOf(dir: string): Experiment {
  let x: Experiment | undefined;
  readRunJson(dir, RUN_FILES.experiment, (v) => {
    try {
      x = validateExperiment(v, path.basename(dir));
      return null;
    } catch (e) {
      if (e instanceof ValidationError) return e.message;
      throw e;
    }
  });
  return x!;
}

/**
 * metrics.jsonl: the readable epoch records, what could not be read (line number + reason), and
 * the raw text of each line (so a rewrite keeps what it cannot read).
 */
export function readMetrics(dir: string): { metrics: EpochMetrics[]; errors: string[]; lines: { text: string; metrics: EpochMetrics | null }[] } {
  const file = path.join(dir, RUN_FILES.metrics);
  if (!fs.existsSync(file)) return { metrics: [], errors: [], lines: [] };
  const metrics: EpochMetrics[] = [];
  const errors: string[] = [];
  const lines: { text: string; metrics: EpochMetrics | null }[] = [];
  let text: string;
  try {
    text = readOrdinaryFile(file, MAX_RUN_FILE_BYTES).toString('utf8');
  } catch (e) {
    return { metrics, errors: [`${RUN_FILES.metrics}: ${(e as Error).message.slice(file.length + 2)}`], lines };
  }
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let m: EpochMetrics | null = null;
    try {
      const v = JSON.parse(line);
      const p = metricsLineProblem(v);
      if (p) throw new Error(p);
      m = v as EpochMetrics;
      metrics.push(m);
    } catch (e) {
      const what = e instanceof SyntaxError ? 'not JSON (cut off or overwritten)' : (e as Error).message;
      errors.push(`${RUN_FILES.metrics} line ${i + 1}: unreadable (${what})`);
    }
    lines.push({ text: line, metrics: m });
  });
  return { metrics, errors, lines };
}

/**
 * Rewrites metrics.jsonl with one more epoch (atomic). Records of this and later epochs are
 * replaced (a resumed run trains them again); lines that cannot be read are kept as they are,
 * so a damaged record is still there to be seen instead of silently gone.
 */
export function appendMetrics(dir: string, m: EpochMetrics): void {
  const kept = readMetrics(dir).lines.filter((l) => l.metrics === null || l.metrics.epoch < m.epoch).map((l) => l.text);
  writeFileAtomic(path.join(dir, RUN_FILES.metrics), [...kept, JSON.stringify(m)].join('\n') + '\n');
}

export function readResults(dir: string): RunResults {
  return readRunJson<RunResults>(dir, RUN_FILES.results, resultsProblem);
}

/**
 * The per-sample records of a split. With `results`, the file it names (results.files) is read,
 * its SHA-256 checked against the one results.json recorded, and the records checked to be that
 * evaluation's (same exits and sample count); a mismatch is a RunFileError naming the file.
 */
export function readSamples(dir: string, which: 'test' | 'validation' = 'test', results?: RunResults): SampleRecords {
  const name = results ? (which === 'test' ? results.files.samples : results.files.validationSamples) : which === 'test' ? RUN_FILES.samples : RUN_FILES.validationSamples;
  if (!name) throw runFileError(dir, RUN_FILES.validationSamples, 'results.json names no validation records (the run had no validation split)');
  const hash = results?.files.sha256?.[name];
  const rec = readRunJson<SampleRecords>(dir, name, (v) => samplesProblem(v, which), hash ? { value: hash, from: RUN_FILES.results } : undefined);
  const mismatch = results && recordsMismatch(rec, results);
  if (mismatch) throw runFileError(dir, name, mismatch);
  return rec;
}

/** A RunFileError for `name` of `dir` (for checks made outside the readers, e.g. records that do not match results.json). */
export function runFileError(dir: string, name: string, problem: string): RunFileError {
  return new RunFileError(path.join(dir, name), problem, runFileFix(dir, name));
}

export interface RunListing {
  id: string;
  dir: string;
  status: RunStatus | null;
  /** Why status.json could not be read. */
  error: string | null;
  results: Pick<RunResults, 'softAccuracy' | 'finalAccuracy' | 'hard' | 'method' | 'lambda' | 'points' | 'routing'> | null;
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
      status = markOrphan(dir, readStatus(dir));
    } catch (e) {
      error = briefError(e, dir);
    }
    try {
      if (fs.existsSync(path.join(dir, RUN_FILES.results))) results = readResults(dir);
    } catch (e) {
      error = (error ? error + '; ' : '') + briefError(e, dir);
    }
    if (!fs.existsSync(dir)) continue; // deleted while being read
    out.push({ id, dir, status, error, results });
  }
  return out;
}

/**
 * A reader's error without the run folder's path (the listing and the views show the run already);
 * an error about something else gets `prefix` to say what it is about.
 */
export function briefError(e: unknown, dir: string, prefix = ''): string {
  const m = (e as Error).message;
  return m.startsWith(dir + path.sep) ? m.slice(dir.length + 1) : `${prefix}${m}`;
}

/**
 * A queued or running run whose process is verifiably gone (the CLI or window that queued it,
 * or its worker) will never change state by itself: it is marked — failed if it was running,
 * cancelled if it never started — in status.json when the folder is writable, and in what is
 * returned in any case.
 */
export function markOrphan(dir: string, status: RunStatus): RunStatus {
  const patch = orphanPatch(status, dir);
  if (!patch) return status;
  const marked = { ...status, ...patch };
  try { writeJsonAtomic(path.join(dir, RUN_FILES.status), marked); } catch { /* a read-only folder: shown marked all the same */ }
  return marked;
}

/** What markOrphan changes in `status` (null: its process may still run), without writing anything. */
export function orphanPatch(status: RunStatus, dir: string): Partial<RunStatus> | null {
  if (status.state !== 'queued' && status.state !== 'running') return null;
  if (status.state === 'running' && !status.pid) return null; // no worker recorded: nothing to check
  const why = status.state === 'running'
    ? (workerAlive(status) ? null : status.owner && status.owner.pid === status.pid ? goneReason(status.owner) : `process ${status.pid} is gone`)
    : status.owner ? goneReason(status.owner) : null;
  if (!why) return null;
  const endedAt = status.endedAt ?? new Date().toISOString();
  return status.state === 'running'
    ? { state: 'failed', endedAt, pid: null, error: status.error ?? `its worker stopped without recording an outcome (${why}: killed or crashed); finished epochs and the last checkpoint are kept (resume with: early-exit train --resume ${dir})` }
    : { state: 'cancelled', endedAt, error: `queued, but the program that queued it ended before starting it (${why}); start it with: early-exit train --resume ${dir}` };
}

/**
 * Deletes a run folder. Refuses a folder that is not a run (no status.json or experiment.json,
 * so a wrong path never removes anything else) and a run whose worker is still alive.
 */
export function deleteRun(dir: string): void {
  if (!fs.existsSync(dir)) throw new Error(`${dir}: no such run folder`);
  if (!fs.existsSync(path.join(dir, RUN_FILES.experiment))) throw new Error(`${dir} is not a run folder (no ${RUN_FILES.experiment})`);
  let status: RunStatus | null = null;
  try { status = readStatus(dir); } catch { /* a damaged status.json does not keep a run folder from being deleted */ }
  if (status?.state === 'running' && workerAlive(status)) {
    throw new Error(`run ${status.id} is running (worker process ${status.pid}); stop it first`);
  }
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Whether the worker a running status names still runs (pid + start time where recorded). */
export function workerAlive(status: RunStatus): boolean {
  if (status.owner && status.owner.pid === status.pid) return processState(status.owner) !== 'gone';
  return !!status.pid && pidAlive(status.pid);
}

export const FINAL_STATES: readonly RunState[] = ['finished', 'failed', 'cancelled'];

/**
 * Why the saved network in `<dir>/<folder>` (model/ or checkpoint/) cannot be loaded — model.json
 * missing or damaged, a weights file of the wrong size or whose SHA-256 differs — or null. The
 * same checks the engine makes when it loads the network, without loading it.
 */
export function savedNetworkProblem(dir: string, folder: string = RUN_FILES.model): string | null {
  try {
    const json = readRunJson<{ weightsManifest: { paths: string[]; weights: unknown }[]; optimizer?: { paths: string[]; weights: unknown }; sha256?: Record<string, string> }>(
      dir, `${folder}/model.json`, (v) => {
        const m = (v as { weightsManifest?: unknown } | null)?.weightsManifest;
        return Array.isArray(m) && m.length === 1 && Array.isArray(m[0]?.paths) && m[0].paths.length === 1 && typeof m[0].paths[0] === 'string' ? null : 'weightsManifest: expected one weights file';
      });
    for (const entry of [json.weightsManifest[0], ...(json.optimizer ? [json.optimizer] : [])]) {
      const name = String(entry.paths?.[0]);
      if (name.includes('/') || name.includes('\\') || name.startsWith('.')) return `${folder}/model.json: weights path "${name}" is not a file name in the folder`;
      const file = path.join(dir, folder, name);
      let bytes: Buffer;
      try {
        bytes = readOrdinaryFile(file, MAX_RUN_FILE_BYTES);
      } catch (e) {
        return `${folder}/${name}: ${(e as Error).message.slice(file.length + 2)}`;
      }
      const p = weightsProblem(entry.weights, bytes.length);
      if (p) return `${folder}/${name}: ${p}`;
      const want = json.sha256?.[name];
      if (want && want !== createHash('sha256').update(bytes).digest('hex')) return `${folder}/${name}: its bytes do not match the SHA-256 recorded in model.json (the file is damaged)`;
    }
    return null;
  } catch (e) {
    return briefError(e, dir);
  }
}
