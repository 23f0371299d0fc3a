/**
 * Starts training runs in worker processes and queues them. Shared by the CLI and the extension
 * (no vscode, no tfjs here). A TrainingRun is disposable: `stop()` asks the worker to stop after
 * its current step and resolves when the process has exited (killing it after a timeout).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkBackboneFitsData, expandSweep, experimentNameFromFile, parseExperiment, parseOverride, setPath, validateExperiment, type Experiment } from '../spec/experiment';
import type { FromWorker, ToWorker } from '../protocol/worker';
import { ValidationError } from '../spec/errors';
import { decodeJsonBytes, parseJsonText } from '../spec/json-text';
import { RUN_FILES } from '../spec/run-files';
import { readOrdinaryFile } from './files';
import { acquireSlot, thisProcess } from './lock';
import { gpusForSlot, gpusPerRun } from './gpus';
import { workerDeathMessage } from './messages';
import { createRun, newRunId, readExperimentOf, readStatus, rebuildStatus, updateStatus, FINAL_STATES } from './store';
import type { RunState } from '../spec/run-types';

export interface ManagerOptions {
  runsDir: string;
  /** dist/worker.js */
  workerPath: string;
  /** Node executable for the worker (default: this process's). */
  nodePath?: string;
  backend?: string;
  cacheDir?: string;
  /** Runs allowed at once across every process using this runs folder (default 1). */
  maxParallel?: number;
  /** ms between a cooperative stop and SIGKILL (default 30 000). */
  killAfterMs?: number;
  /** Extra Node options for the worker (e.g. `--max-old-space-size=4096`). */
  execArgv?: string[];
  /** Extra environment variables for the worker. */
  env?: Record<string, string>;
  /** The torch engine's Python as the extension knows it (earlyExit.pythonPath, the Python extension). */
  python?: { setting?: string; pythonExtension?: string };
  /**
   * CUDA devices to spread runs over (visibleGpus()): queue slot k gives its run's worker
   * CUDA_VISIBLE_DEVICES = the k-th group of training.devices GPUs, so runs side by side
   * (maxParallel > 1) each train on GPUs of their own.
   */
  gpus?: string[];
}

/** An experiment file is small; anything larger is not one (and is not read whole). */
export const MAX_EXPERIMENT_BYTES = 4 << 20;

/**
 * Reads an experiment file, applies `--set` overrides, validates it. The file must be an ordinary
 * UTF-8 file (never read from a device or a pipe); `onNote` hears what was tolerated (a BOM).
 */
export function loadExperimentFile(file: string, overrides: string[] = [], onNote: (text: string) => void = () => {}): Experiment {
  const { text, notes } = decodeJsonBytes(readOrdinaryFile(file, MAX_EXPERIMENT_BYTES), file);
  notes.forEach(onNote);
  if (!overrides.length) return withPathsFrom(parseExperiment(text, file), file);
  const raw = parseJsonText(text, file) as Record<string, any>;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError(`${file}: experiment: must be a JSON object`, file);
  for (const o of overrides) {
    const { path: p, value } = parseOverride(o);
    setPath(raw as Record<string, unknown>, p, value);
  }
  try {
    const x = validateExperiment(raw, experimentNameFromFile(file));
    for (const r of expandSweep(x)) checkBackboneFitsData(r.experiment);
    return withPathsFrom(x, file);
  } catch (e) {
    // name the file, as without overrides
    if (e instanceof ValidationError) throw new ValidationError(`${file}: ${e.message}`, e.field);
    throw e;
  }
}

/** The experiment with `training.initFrom` resolved against the experiment file's folder (the worker runs elsewhere). */
export function withPathsFrom(x: Experiment, file: string): Experiment {
  if (x.training.initFrom && !path.isAbsolute(x.training.initFrom)) x.training.initFrom = path.resolve(path.dirname(file), x.training.initFrom);
  return x;
}

/** Creates queued run folders for an experiment (one per sweep combination, sharing a group). */
export function createRunsFor(runsDir: string, x: Experiment): { id: string; dir: string }[] {
  const expanded = expandSweep(x);
  // every run's backbone must fit its data before any folder is made
  for (const r of expanded) checkBackboneFitsData(r.experiment);
  const group = expanded.length > 1 || x.sweep ? newRunId(`${x.name}-sweep`) : null;
  return expanded.map((r) => createRun(runsDir, r.experiment, { group, sweep: r.sweep }));
}

export interface TrainingRunEvents {
  message: [FromWorker];
  /** While queued: what the run waits for (a queue slot held by another run), in one line. */
  waiting: [string];
  /** A chunk of the worker's stderr (also appended to the run's worker.log). */
  stderr: [string];
  exit: [{ state: RunState; code: number | null; signal: NodeJS.Signals | null }];
}

export class TrainingRun extends EventEmitter<TrainingRunEvents> {
  private child: ChildProcess | null = null;
  private cancelledWhileQueued = { cancelled: false };
  private exited: Promise<RunState>;
  private resolveExit!: (s: RunState) => void;
  state: RunState = 'queued';

  constructor(readonly dir: string, private readonly opts: ManagerOptions, private readonly resume: boolean) {
    super();
    this.exited = new Promise((r) => { this.resolveExit = r; });
  }

  get id(): string {
    return path.basename(this.dir);
  }

  /** Waits for a queue slot, then forks the worker. Resolves with the final state. */
  async run(): Promise<RunState> {
    let release: ((() => void) & { slot: number }) | null = null;
    try {
      if (this.resume && !fs.existsSync(path.join(this.dir, RUN_FILES.status))) {
        rebuildStatus(this.dir);
        this.emit('message', { type: 'log', level: 'warn', message: `${RUN_FILES.status} was missing; rebuilt it from experiment.json and metrics.jsonl` });
      }
      // this process answers for the run until its worker starts (a queued run whose owner is gone is marked)
      updateStatus(this.dir, { state: 'queued', owner: thisProcess(), endedAt: null });
      release = await acquireSlot(this.opts.runsDir, this.opts.maxParallel ?? 1, `${this.id} (${this.dir})`, {
        signal: this.cancelledWhileQueued, onWait: (text) => this.emit('waiting', text),
      });
    } catch (e) {
      const cancelled = this.cancelledWhileQueued.cancelled;
      const error = cancelled ? 'cancelled while queued' : (e as Error).message;
      const state: RunState = cancelled ? 'cancelled' : 'failed';
      try { updateStatus(this.dir, { state, endedAt: new Date().toISOString(), error }); } catch { /* the folder itself is unusable */ }
      if (!cancelled) this.emit('message', { type: 'failed', runId: this.id, error });
      this.finish(state, null, null);
      return this.exited;
    }
    const child = fork(this.opts.workerPath, [], {
      execPath: this.opts.nodePath || process.execPath,
      ...(this.opts.execArgv ? { execArgv: this.opts.execArgv } : {}),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...this.opts.env, ...this.deviceEnv(release.slot), ELECTRON_RUN_AS_NODE: '1' },
    });
    this.child = child;
    this.state = 'running';
    let stderr = '';
    let ended = false;
    // a worker that cannot be started (no such Node executable) may never emit 'exit'
    child.on('error', (e) => {
      stderr += `\n${(e as Error).message}`;
      if (child.pid === undefined) onExit(null, null);
    });
    // What the worker prints on stderr (a crash at start-up, a native library's complaint) goes to
    // the run's worker.log and to whoever listens ('stderr': the extension's output channel).
    const log = path.join(this.dir, RUN_FILES.log);
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      stderr = (stderr + text).slice(-8000);
      try { fs.appendFileSync(log, text); } catch { /* folder gone */ }
      this.emit('stderr', text);
    });
    child.stdout?.on('data', () => { /* worker prints nothing we need */ });
    let last: FromWorker | null = null;
    let started = false;
    child.on('message', (m: FromWorker) => {
      last = m;
      if (m.type === 'started') started = true;
      this.emit('message', m);
    });
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (ended) return;
      ended = true;
      release?.();
      let state: RunState;
      let status;
      try { status = readStatus(this.dir); } catch { status = null; }
      if (status && FINAL_STATES.includes(status.state) && status.state !== 'queued') state = status.state;
      else {
        // the worker died without recording an outcome (kill -9, crash, out of memory, a failed start)
        state = 'failed';
        const error = workerDeathMessage({ code, signal, stderr, started, epoch: status?.epoch ?? 0 });
        try { updateStatus(this.dir, { state, error, endedAt: new Date().toISOString(), pid: null }); } catch { /* folder gone */ }
        if ((last as FromWorker | null)?.type !== 'failed') this.emit('message', { type: 'failed', runId: this.id, error });
      }
      this.finish(state, code, signal);
    };
    child.on('exit', onExit);
    const start: ToWorker = { type: 'start', runDir: this.dir, resume: this.resume, backend: this.opts.backend, cacheDir: this.opts.cacheDir, python: this.opts.python };
    try { child.send(start); } catch { /* the worker died at once: its exit reports it */ }
    return this.exited;
  }

  /** CUDA_VISIBLE_DEVICES for the run in queue slot `slot` when runs are spread over GPUs. */
  private deviceEnv(slot: number): Record<string, string> {
    if (!this.opts.gpus?.length || (this.opts.maxParallel ?? 1) < 2) return {};
    let perRun = 0;
    try { perRun = gpusPerRun(readExperimentOf(this.dir), this.opts.backend); } catch { /* the worker reports a bad experiment */ }
    const ids = gpusForSlot(this.opts.gpus, slot, perRun);
    return ids ? { CUDA_VISIBLE_DEVICES: ids.join(',') } : {};
  }

  private finish(state: RunState, code: number | null, signal: NodeJS.Signals | null): void {
    this.state = state;
    this.emit('exit', { state, code, signal });
    this.resolveExit(state);
  }

  /** Stops cooperatively (the worker ends the current step and keeps its checkpoint); kills after a timeout. */
  async stop(): Promise<RunState> {
    if (!this.child) {
      this.cancelledWhileQueued.cancelled = true;
      return this.exited;
    }
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try { this.child.send({ type: 'stop' } satisfies ToWorker); } catch { /* channel closed */ }
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), this.opts.killAfterMs ?? 30_000);
      this.exited.finally(() => clearTimeout(timer));
    }
    return this.exited;
  }

  /** Kills the worker at once (a second Ctrl-C), if it is still running; its exit then ends the run as failed. */
  kill(): void {
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  /** The worker's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  dispose(): void {
    void this.stop();
  }
}
