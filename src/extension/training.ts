/**
 * "Train multi-exit model" in the extension: run folders from the run store, one worker process
 * per run (TrainingRun, shared with the CLI), shown as a cancellable progress notification, a
 * status-bar item (epoch, loss, ETA), the "Early Exit" output channel and the Runs view. The
 * extension host only spawns and listens; tfjs runs in the worker.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Experiment } from '../spec/experiment';
import type { RunState } from '../spec/run-types';
import type { FromWorker } from '../protocol/worker';
import { createRunsFor, TrainingRun, type ManagerOptions } from '../runs/manager';
import { visibleGpus } from '../runs/gpus';
import { duration, progressFraction, workerMessageText } from '../runs/messages';
import { readExperimentOf, readStatus } from '../runs/store';
import { plural } from '../spec/run-label';
import { outcomeText } from './presentation';
import { Commands, Settings } from './constants';
import { interpreterFromPythonExtension, PYTHON_EXTENSION_ID } from './python-interpreter';
import type { RunsProvider } from './runsTree';

/** How one run of a training request ended. */
export interface RunOutcome {
  id: string;
  dir: string;
  state: RunState;
  /** Last finished epoch (0: none, nothing to resume) and the epochs asked for. */
  epoch: number;
  epochs: number;
  error?: string;
  /** Warnings of a finished run (e.g. the loss diverged). */
  warnings?: string[];
}

/** One message of one run, as `onDidReceive` reports it. */
export interface RunMessage {
  run: TrainingRun;
  message: FromWorker;
}

function readStatusOrNull(dir: string) {
  try { return readStatus(dir); } catch { return null; }
}

export class TrainingController implements vscode.Disposable {
  /** Runs started from this window that have not exited yet. */
  readonly active = new Set<TrainingRun>();
  readonly output = vscode.window.createOutputChannel('Early Exit');
  private readonly status = vscode.window.createStatusBarItem('earlyExit.training', vscode.StatusBarAlignment.Left, 10);
  private readonly received = new vscode.EventEmitter<RunMessage>();
  /** Fires for every message of every active run (after the views have been updated). */
  readonly onDidReceive = this.received.event;
  private lastRefresh = 0;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly runs: RunsProvider,
  ) {
    this.status.name = 'Early Exit training';
  }

  private async options(runsDir: string, experiment: Experiment | null): Promise<ManagerOptions> {
    const cfg = vscode.workspace.getConfiguration(Settings.section);
    const backend = cfg.get<string>(Settings.backend) ?? 'auto';
    const effective = backend === 'auto' ? experiment?.training.backend ?? 'auto' : backend;
    // the torch engine's Python: the setting, else (EARLY_EXIT_PYTHON aside, which the worker
    // reads) the Python extension's selected interpreter; looked up only when torch may run
    const setting = cfg.get<string>(Settings.pythonPath) || undefined;
    const pythonExtension = !setting && (effective === 'torch' || effective === 'auto')
      ? await interpreterFromPythonExtension(vscode.extensions.getExtension(PYTHON_EXTENSION_ID), vscode.Uri.file(runsDir))
      : undefined;
    const maxParallel = Math.max(1, cfg.get<number>(Settings.maxParallelRuns) ?? 1);
    return {
      runsDir,
      workerPath: this.context.asAbsolutePath(path.join('dist', 'worker.js')),
      nodePath: cfg.get<string>(Settings.workerNodePath) || process.execPath,
      backend: backend === 'auto' ? undefined : backend,
      maxParallel,
      killAfterMs: 30_000,
      python: { setting, pythonExtension },
      // runs side by side each get GPUs of their own
      ...(maxParallel > 1 ? { gpus: visibleGpus() } : {}),
    };
  }

  /**
   * Creates the run folders of `experiment` (one per sweep combination) under `runsDir` and trains
   * them, resolving when every run has ended. Cancelling the notification stops them.
   */
  async train(experiment: Experiment, runsDir: string, label: string): Promise<RunOutcome[]> {
    const created = createRunsFor(runsDir, experiment);
    this.output.appendLine(`[${new Date().toISOString()}] training ${label}: ${plural(created.length, 'run')} in ${runsDir}`);
    return this.runAll(created.map((c) => c.dir), runsDir, `training ${label}`, false);
  }

  /** Continues a failed or cancelled run from its last checkpoint (the "Resume" action). */
  async resume(dir: string): Promise<RunOutcome[]> {
    this.output.appendLine(`[${new Date().toISOString()}] resuming ${path.basename(dir)}`);
    return this.runAll([dir], path.dirname(path.resolve(dir)), `resuming ${path.basename(dir)}`, true);
  }

  private async runAll(dirs: string[], runsDir: string, title: string, resume: boolean): Promise<RunOutcome[]> {
    // the backend the runs will ask for: the setting, else the experiment's (all runs of a request share it)
    let experiment: Experiment | null = null;
    try { experiment = readExperimentOf(dirs[0]); } catch { /* the worker reports a bad run folder */ }
    const opts = await this.options(runsDir, experiment);
    this.runs.refresh();
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Early Exit: ${title}`, cancellable: true },
      async (progress, token) => {
        const runs = dirs.map((dir) => new TrainingRun(dir, opts, resume));
        const cancel = token.onCancellationRequested(() => {
          this.output.appendLine('cancel requested: stopping after the current step');
          for (const r of runs) void r.stop();
        });
        try {
          let reported = 0;
          return await Promise.all(
            runs.map(async (run, i) => {
              const prefix = runs.length > 1 ? `[${i + 1}/${runs.length}] ` : '';
              let error: string | undefined;
              this.active.add(run);
              run.on('waiting', (text) => {
                this.output.appendLine(`${run.id}: ${text}`);
                progress.report({ message: `${prefix}${text}` });
              });
              run.on('message', (m) => {
                if (m.type === 'failed') error = m.error;
                if (m.type === 'progress') {
                  const done = progressFraction(m);
                  const total = Math.round((100 * (i + done)) / runs.length);
                  progress.report({ message: `${prefix}epoch ${m.epoch}/${m.epochs}, step ${m.step}/${m.steps}, loss ${m.loss.toFixed(3)}, ETA ${duration(m.etaSeconds)}`, increment: Math.max(0, total - reported) });
                  reported = Math.max(reported, total);
                } else if (m.type === 'log' || m.type === 'datasetProgress') {
                  progress.report({ message: `${prefix}${m.type === 'log' ? m.message : `${m.phase}${m.total ? ` ${Math.round((100 * m.done) / m.total)}%` : ''}`}` });
                }
                this.onMessage(run, m);
              });
              // A worker that crashes prints its reason on stderr: keep it where the user looks.
              run.on('stderr', (text) => { for (const line of text.split('\n')) if (line.trim()) this.output.appendLine(`${run.id} stderr: ${line}`); });
              run.on('exit', () => this.onExit(run));
              const state = await run.run();
              const status = readStatusOrNull(run.dir);
              const warnings = status?.warnings ?? [];
              return { id: run.id, dir: run.dir, state, epoch: status?.epoch ?? 0, epochs: status?.epochs ?? 0, ...(error ? { error } : {}), ...(warnings.length ? { warnings } : {}) };
            }),
          );
        } finally {
          cancel.dispose();
        }
      },
    ).then((outcomes) => {
      this.announce(outcomes);
      return outcomes;
    });
  }

  /** The active run whose folder is `dir`, if this window trains it. */
  activeRun(dir: string): TrainingRun | undefined {
    const want = path.resolve(dir);
    return [...this.active].find((r) => path.resolve(r.dir) === want);
  }

  /** Stops every active run (cooperatively, then killed); resolves with how many were stopped. */
  async stopAll(): Promise<number> {
    const runs = [...this.active];
    await Promise.all(runs.map((r) => r.stop()));
    return runs.length;
  }

  private onMessage(run: TrainingRun, m: FromWorker): void {
    const text = workerMessageText(m);
    if (text) for (const line of text.split('\n')) this.output.appendLine(`${run.id}: ${line}`);
    if (m.type === 'progress') {
      this.runs.setProgress(run.id, m);
      this.status.text = `$(sync~spin) Early Exit: epoch ${m.epoch}/${m.epochs} · loss ${m.loss.toFixed(3)} · ETA ${duration(m.etaSeconds)}`;
      this.status.tooltip = `${run.id}: step ${m.step}/${m.steps}, ${m.imagesPerSecond.toFixed(0)} images/s. Click to open the run.`;
      this.status.command = { command: Commands.openResults, title: 'Open Results', arguments: [run.dir] };
      this.status.show();
    }
    // Progress arrives every step: refresh the Runs view at most twice a second for it.
    const now = Date.now();
    if (m.type !== 'progress' || now - this.lastRefresh > 500) {
      this.lastRefresh = now;
      this.runs.refresh();
    }
    this.received.fire({ run, message: m });
  }

  private onExit(run: TrainingRun): void {
    this.active.delete(run);
    this.runs.clearProgress(run.id);
    this.output.appendLine(`${run.id}: ${run.state}`);
    if (this.active.size === 0) this.status.hide();
    this.runs.refresh();
  }

  /** The end of a training request as a notification, with the actions that apply (VS Code's words, never CLI flags). */
  private announce(outcomes: RunOutcome[]): void {
    const finished = outcomes.filter((o) => o.state === 'finished');
    const failed = outcomes.filter((o) => o.state === 'failed');
    const cancelled = outcomes.filter((o) => o.state === 'cancelled');
    const act = (choice: string | undefined, o: RunOutcome) => {
      if (choice === 'Show Output') this.output.show();
      else if (choice === 'Resume') void vscode.commands.executeCommand(Commands.resumeRun, o.dir);
      else if (choice === 'Open Results') void vscode.commands.executeCommand(Commands.openResults, o.dir);
    };
    if (failed.length) {
      const f = failed[0];
      const text = outcomeText(f);
      void vscode.window.showErrorMessage(`Early Exit: ${text.message}`, ...text.actions, 'Show Output').then((c) => act(c, f));
    }
    if (finished.length) {
      const last = finished[finished.length - 1];
      const what = finished.length === 1 ? `run ${last.id} finished` : `${finished.length} runs finished`;
      // a finished run may carry a warning (e.g. the loss diverged): said in the notification, not only in the log
      const warned = finished.map((o) => o.warnings?.[0]).find((w) => w);
      const show = warned ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
      void show(`Early Exit: ${what}${warned ? `, with a warning: ${warned}` : '.'}`, 'Open Results').then((c) => act(c, last));
    } else if (!failed.length && cancelled.length) {
      const c = cancelled[0];
      const text = outcomeText(c);
      void vscode.window.showInformationMessage(`Early Exit: ${text.message}`, ...text.actions).then((choice) => act(choice, c));
    }
  }

  dispose(): void {
    void this.stopAll();
    this.status.dispose();
    this.output.dispose();
    this.received.dispose();
  }
}
