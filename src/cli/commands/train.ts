import * as fs from 'node:fs';
import * as path from 'node:path';
import { ACCEL_PARTS, parseStock } from '../../spec/accel-parts';
import { tausText } from '../../spec/analysis';
import { formatMacs } from '../../spec/backbones';
import { datasetText, plural } from '../../spec/run-label';
import { RUN_FILES } from '../../spec/run-files';
import type { RunState } from '../../spec/run-types';
import type { FromWorker } from '../../protocol/worker';
import { processState } from '../../runs/lock';
import { createRunsFor, loadExperimentFile, TrainingRun, type ManagerOptions } from '../../runs/manager';
import { gpusPerRun, runsSideBySide, visibleGpus } from '../../runs/gpus';
import type { Experiment } from '../../spec/experiment';
import { readResults, readStatus, savedNetworkProblem, updateStatus } from '../../runs/store';
import { readRunData } from '../../runs/view-data';
import { epochSummary, keptAfterStop, progressFraction, workerMessageText } from '../../runs/messages';
import { signalExitCode } from '../errors';
import { bar, duration, pct, renderBudgetTable, renderExitTable, renderRouting, renderRuleComparison, StatusLine } from '../format';
import { outputRunsDir } from '../paths';
import { flagList, flagString, UsageError, type CliCommand } from '../registry';
import { onStopSignal, type StopSignal } from '../signals';

export const DEFAULT_RUNS_DIR = path.join('.early-exit', 'runs');

export function managerOptions(runsDir: string, backend?: string, stock?: string, parallel = 1, gpus?: string[]): ManagerOptions {
  return {
    runsDir,
    workerPath: path.join(__dirname, 'worker.js'),
    backend,
    maxParallel: parallel,
    killAfterMs: 30_000,
    ...(stock !== undefined ? { env: { EARLY_EXIT_STOCK: stock } } : {}),
    ...(gpus?.length ? { gpus } : {}),
  };
}

/** `--parallel N | gpus`: runs at once, and the GPUs to spread them over. */
function parallelism(flag: string | undefined, x: Experiment | null, backend?: string): { parallel: number; gpus?: string[] } {
  if (flag === undefined) return { parallel: 1 };
  const gpus = visibleGpus();
  if (flag === 'gpus') {
    const perRun = x ? gpusPerRun(x, backend) : 1;
    if (!gpus.length || !perRun) throw new UsageError(`--parallel gpus: ${gpus.length ? 'this experiment does not train on CUDA (training.backend torch or auto, training.device auto or cuda)' : 'no CUDA GPU is visible (no NVIDIA driver, or CUDA_VISIBLE_DEVICES hides them)'}; give a number instead`);
    return { parallel: runsSideBySide(gpus, perRun), gpus };
  }
  const n = Number(flag);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--parallel must be a whole number ≥ 1 or "gpus", got "${flag}"`);
  return { parallel: n, gpus };
}

/** How a batch of runs ended, and the signal that stopped it (if one did). */
export interface TrainOutcome {
  states: RunState[];
  signal: StopSignal | null;
}

/**
 * Runs the given run folders one after another with a terminal progress bar. Ctrl-C, SIGTERM or
 * SIGHUP stops after the current step (keeping the checkpoint) and cancels the runs still queued;
 * a second one kills the worker.
 */
export async function trainRuns(dirs: string[], opts: ManagerOptions, resume: boolean, quiet = false): Promise<TrainOutcome> {
  if ((opts.maxParallel ?? 1) > 1 && dirs.length > 1 && !resume && !quiet) return trainRunsTogether(dirs, opts);
  const states: RunState[] = [];
  let current: TrainingRun | null = null;
  const stop = stopOnSignal(() => (current ? [current] : []), 'the current step');
  try {
    for (const [i, dir] of dirs.entries()) {
      if (stop.signal()) {
        updateStatus(dir, { state: 'cancelled', endedAt: new Date().toISOString(), error: 'cancelled before it started' });
        states.push('cancelled');
        continue;
      }
      const run = new TrainingRun(dir, opts, resume);
      current = run;
      const line = new StatusLine();
      const label = dirs.length > 1 ? `[${i + 1}/${dirs.length}] ` : '';
      if (!quiet) process.stderr.write(`${label}run ${run.id} (${dir})\n`);
      // waiting for another run's queue slot is said, with who holds it (never a silent wait)
      run.on('waiting', (text) => line.done(`${label}${text}${text.startsWith('queued:') ? '; Ctrl-C cancels' : ''}`));
      run.on('message', terminalView(run.id, dir, label, line, quiet));
      const state = await run.run();
      states.push(state);
      if (state === 'cancelled' && run.pid === undefined) line.done(`run ${run.id} cancelled while queued (it never started; start it with: early-exit train --resume ${dir})`);
      if (state === 'finished' && !quiet) printSummary(dir);
    }
  } finally {
    stop.release();
  }
  return { states, signal: stop.signal() };
}

/**
 * Routes Ctrl-C, SIGTERM and SIGHUP to the runs training now: the first stops them after their
 * current step (each keeps its checkpoint), a second kills their workers. `step` names what they
 * finish ("the current step", "each run's current step").
 */
function stopOnSignal(runs: () => TrainingRun[], step: string): { signal: () => StopSignal | null; release: () => void } {
  let interrupted: StopSignal | null = null;
  const release = onStopSignal((sig) => {
    // only workers still running: a finished run's pid may belong to another process by now
    if (interrupted) { for (const r of runs()) r.kill(); return; }
    interrupted = sig;
    const name = sig === 'SIGINT' ? 'Ctrl-C' : sig;
    say(`\n${name}: stopping after ${step} (${sig === 'SIGINT' ? 'Ctrl-C' : 'send it'} again to kill)…\n`);
    for (const r of runs()) void r.stop();
  });
  return { signal: () => interrupted, release };
}

/** Writes to the terminal, which may be gone (a closed terminal's SIGHUP). */
function say(text: string): void {
  try { process.stderr.write(text); } catch { /* the terminal is gone */ }
}

/** What a run stopped by the user says: where it stopped, what is kept, how to resume. */
function cancelledText(m: { epoch: number; step: number }, dir: string): string {
  return `cancelled at epoch ${m.epoch}, step ${m.step}; ${keptAfterStop(lastEpoch(dir))}${resumeHint(dir)}`;
}

/**
 * Runs side by side (`--parallel`): every run starts at once and waits for a queue slot; each
 * prints its finished lines with its id (no live bar). A stop signal stops them all.
 */
async function trainRunsTogether(dirs: string[], opts: ManagerOptions): Promise<TrainOutcome> {
  const runs = dirs.map((dir) => new TrainingRun(dir, opts, false));
  const stop = stopOnSignal(() => runs, "each run's current step");
  try {
    say(`${plural(runs.length, 'run')}, up to ${opts.maxParallel} at once${opts.gpus?.length ? ` on GPUs ${opts.gpus.join(', ')}` : ''}\n`);
    const states = await Promise.all(runs.map((run) => {
      const tell = (text: string | undefined) => { for (const line of text?.split('\n') ?? []) say(`[${run.id}] ${line}\n`); };
      run.on('message', (m) => {
        if (m.type === 'started' || m.type === 'failed') tell(workerMessageText(m));
        else if (m.type === 'epochEnd') tell(epochSummary(m.metrics));
        else if (m.type === 'cancelled') tell(cancelledText(m, run.dir));
        else if (m.type === 'finished') tell(`finished in ${duration(m.seconds)}`);
      });
      return run.run();
    }));
    dirs.forEach((dir, i) => { if (states[i] === 'finished') printSummary(dir); });
    return { states, signal: stop.signal() };
  } finally {
    stop.release();
  }
}

/** The exit code of a batch of runs: 0 all finished, 1 one failed, else the stopping signal's (130 for Ctrl-C). */
export function trainExitCode(o: TrainOutcome): number {
  if (o.states.every((s) => s === 'finished')) return 0;
  if (o.states.includes('failed')) return 1;
  return signalExitCode(o.signal ?? 'SIGINT');
}

/**
 * Draws a run's worker messages in the terminal: progress and dataset loading on one status line
 * that is redrawn in place, each finished line (backend, epochs, the outcome) written after that
 * status line is cleared, so that a finished line never lands on the end of a progress line.
 */
export function terminalView(id: string, dir: string, label: string, line: StatusLine, quiet = false): (m: FromWorker) => void {
  return (m) => {
    if (quiet && m.type !== 'failed') return;
    switch (m.type) {
      case 'started':
        line.done(workerMessageText(m));
        break;
      case 'datasetProgress':
        line.update(`dataset: ${m.phase}${m.total ? ` ${bar(m.done / m.total)}` : m.done ? ` ${m.done.toLocaleString('en-US')} images` : '…'}`);
        break;
      case 'progress': {
        const f = progressFraction(m);
        line.update(`${label}epoch ${m.epoch}/${m.epochs} step ${m.step}/${m.steps} ${bar(f)} loss ${m.loss.toFixed(4)}  ${m.imagesPerSecond.toFixed(0)} img/s  ETA ${duration(m.etaSeconds)}`);
        break;
      }
      case 'epochEnd':
        line.done(epochSummary(m.metrics));
        break;
      case 'log':
        if (m.level === 'warn') line.done(`warning: ${m.message}`);
        else if (/^evaluating/.test(m.message)) line.update(m.message, true);
        break;
      case 'failed':
        line.done(`run ${id} ${workerMessageText(m)}${resumeHint(dir)}`);
        break;
      case 'cancelled':
        line.done(`run ${id} ${cancelledText(m, dir)}`);
        break;
      case 'finished':
        line.done();
        break;
      default:
        break;
    }
  };
}

/** The last finished epoch recorded in a run's status.json (0 when unreadable). */
function lastEpoch(dir: string): number {
  try { return readStatus(dir).epoch ?? 0; } catch { return 0; }
}

/** "\n  resume with: early-exit train --resume DIR" when the run has a checkpoint to resume from. */
function resumeHint(dir: string): string {
  return lastEpoch(dir) > 0 ? `\n  resume with: early-exit train --resume ${dir}` : '';
}

export function printSummary(dir: string): void {
  const r = readResults(dir);
  const warnings = r.warnings ?? [];
  console.log(`\n${r.backbone.label} ×${r.backbone.width}, ${r.method}${r.lambda !== null ? ` λ=${r.lambda}` : ''}${r.recipes ? ` (${r.recipes})` : ''}, ${datasetText(r.dataset)}, ${plural(r.epochs, 'epoch')} on ${r.backend} in ${duration(r.trainSeconds)}`);
  console.log(`soft output (Option 1): ${pct(r.softAccuracy)}   final classifier alone: ${pct(r.finalAccuracy)}   full network ${formatMacs(r.costs.full)} MACs\n`);
  console.log(renderExitTable(r.hard));
  if (r.points.length) console.log(renderRouting(r.hard));
  if (r.timing) {
    const saved = r.timing.timeSavedPct;
    const change = saved >= 0 ? `${saved.toFixed(0)}% less time` : `${(-saved).toFixed(0)}% MORE time: at this size the exits' heads and gate reads cost more than the blocks they skip`;
    console.log(`\nbatch-1 latency: full network ${r.timing.fullMs.toFixed(2)} ms, hard exits ${r.timing.hardMs.toFixed(2)} ms → speed-up ×${r.timing.speedup.toFixed(2)} (${change}) on ${r.timing.backend}`);
    const a = r.timing.accelerator;
    if (a) console.log(`batch-1 latency on the GPU: full network ${a.fullMs.toFixed(2)} ms, hard exits ${a.hardMs.toFixed(2)} ms → speed-up ×${a.speedup.toFixed(2)} on ${a.backend}`);
  }
  if (r.calibration) {
    const c = r.calibration;
    const taus = `${tausText(c.thresholds)}${c.perExit ? ' (per exit)' : ''}`;
    console.log(`calibrated τ = ${taus} (${c.met ? 'target met' : 'target NOT met'} on validation): test accuracy ${pct(c.test.accuracy)}, ${c.test.averageMacsPct.toFixed(1)}% of full MACs`);
  }
  if (r.budgetComparison?.length) console.log(`\nevery rule at this budget, τ picked on the validation split:\n${renderBudgetTable(r.budgetComparison)}`);
  if (r.rules) console.log(`\n${renderRuleComparison(r.rules)}`);
  for (const w of warnings) console.log(`\nwarning: ${w}`);
  console.log(`\nresults: ${dir}${warnings.length ? ' (finished with the warning above)' : ''}`);
}

export const trainCommand: CliCommand = {
  name: 'train',
  usage: 'train <file.exits.json> [--out DIR] [--set path=value]... [--resume RUNDIR] [--backend B] [--stock PARTS] [--parallel N|gpus]',
  summary: 'Train (and evaluate) an experiment in a background worker; a sweep trains its runs one after another (or side by side: --parallel).',
  help: [
    '--out DIR        runs folder (default .early-exit/runs)',
    '--set path=value override a field, e.g. --set method.lambda=0.5 --set training.epochs=2 (repeatable)',
    '--resume RUNDIR  continue a failed or cancelled run from its last checkpoint',
    '--backend B      auto | torch | gpu | native-cpu | wasm | cpu | webgpu (overrides training.backend)',
    '                 torch: the PyTorch engine (Python with PyTorch: EARLY_EXIT_PYTHON, else python3) on',
    '                 training.device (auto = CUDA, else Apple MPS, else the CPU); training.devices: N trains one',
    '                 run in N processes (DistributedDataParallel). auto: torch when a CUDA GPU is found, else tfjs.',
    `--stock PARTS    run tfjs's own kernels instead of ours: all, or a comma list of ${ACCEL_PARTS.join(', ')}`,
    '--parallel N     train a sweep\'s runs N at a time (default 1: one after another); "gpus": one run per',
    '                 CUDA GPU (per training.devices GPUs), each on its own (CUDA_VISIBLE_DEVICES)',
    'Ctrl-C stops after the current step and keeps the last checkpoint.',
    'wasm uses one XNNPACK thread per core; EARLY_EXIT_WASM_THREADS=N sets the count (1 = single-threaded).',
  ].join('\n'),
  async run(args) {
    const backend = flagString(args, 'backend');
    const stock = flagString(args, 'stock');
    if (stock !== undefined) parseStock(stock, '--stock');
    const resume = flagString(args, 'resume');
    if (resume) {
      const dir = path.resolve(resume);
      if (!fs.existsSync(path.join(dir, RUN_FILES.experiment))) throw new UsageError(`--resume: ${resume} is not a run folder (no ${RUN_FILES.experiment})`);
      const runsDir = path.dirname(dir);
      if (fs.existsSync(path.join(dir, RUN_FILES.status))) {
        const s = readStatus(dir);
        const owner = s.owner && processState(s.owner) === 'alive' && s.owner.pid !== process.pid ? s.owner : null;
        if (owner && (s.state === 'running' || s.state === 'queued')) {
          throw new UsageError(`--resume: run ${s.id} is ${s.state} in process ${owner.pid}; stop it there first (two processes must not write one run folder)`);
        }
        if (s.state === 'finished') {
          // what evaluation wrote; damage there is repaired by evaluating again from the checkpoint
          const problems = readRunData(dir, false).problems.filter((p) => !p.startsWith(RUN_FILES.metrics));
          const model = savedNetworkProblem(dir);
          if (model) problems.push(model);
          if (!problems.length) { console.log(`${resume} already finished`); return 0; }
          process.stderr.write(`${resume} finished, but ${problems.join('; ')}\nevaluating it again from its last checkpoint…\n`);
        }
      }
      return trainExitCode(await trainRuns([dir], managerOptions(runsDir, backend, stock), true));
    }
    const file = args.positional[0];
    if (!file) throw new UsageError('missing the experiment file (e.g. early-exit train demo.exits.json)');
    const x = loadExperimentFile(file, flagList(args, 'set'), (note) => process.stderr.write(`note: ${note}\n`));
    const runsDir = outputRunsDir(flagString(args, 'out') ?? DEFAULT_RUNS_DIR);
    const { parallel, gpus } = parallelism(flagString(args, 'parallel'), x, backend);
    const runs = createRunsFor(runsDir, x);
    if (runs.length > 1) process.stderr.write(`sweep: ${runs.length} runs queued in one group\n`);
    return trainExitCode(await trainRuns(runs.map((r) => r.dir), managerOptions(runsDir, backend, stock, parallel, gpus), false));
  },
};
