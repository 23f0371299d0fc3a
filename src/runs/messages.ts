/**
 * Worker messages as people read them, shared by the CLI (terminal) and the extension (output
 * channel, progress notification, Runs view): one wording for both.
 */
import type { EpochMetrics } from '../spec/run-types';
import type { FromWorker } from '../protocol/worker';

/** "12.34%", or "—" for a figure that does not exist (no gates, no validation split). */
export const pct = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? '—' : `${(100 * v).toFixed(digits)}%`);

/** Share of the run done, in [0, 1]: finished steps over all steps of all epochs. */
export function progressFraction(p: { epoch: number; epochs: number; step: number; steps: number }): number {
  if (!(p.epochs > 0 && p.steps > 0)) return 0;
  return Math.min(1, Math.max(0, ((p.epoch - 1) * p.steps + p.step) / (p.epochs * p.steps)));
}

/** "1h02m", "3m05s", "42s"; "—" when unknown */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** The line after an epoch: losses, validation accuracies, exits, gates, speed. */
export function epochSummary(e: EpochMetrics): string {
  const stage = e.stage === 'warmup' ? ' (exits first)' : e.stage === 'gates' ? ' (gates only)' : '';
  const lambda = e.lambda !== undefined && e.stage !== 'warmup' ? `, λ ${e.lambda.toPrecision(3)}` : '';
  const temperature = e.gateTemperature !== undefined ? `, gate T ${e.gateTemperature.toPrecision(2)}` : '';
  return `epoch ${e.epoch}${stage}: loss ${e.loss.toFixed(4)} (CE ${e.ceLoss.toFixed(4)}${e.expectedCost !== null ? `, cost C ${e.expectedCost.toFixed(3)}` : ''}), `
    + `val soft ${pct(e.softAccuracy)} hard ${pct(e.hardAccuracy)} final ${pct(e.finalAccuracy)}, exits [${e.exitAccuracy.map((a) => pct(a, 1)).join(' ')}]`
    + `${e.meanGates ? `, mean gates [${e.meanGates.map((g) => g.toFixed(2)).join(' ')}]` : ''}${lambda}${temperature}, ${e.imagesPerSecond.toFixed(0)} img/s, ${duration(e.seconds)}`;
}

/** One readable line for a worker message; undefined for per-step progress and partial dataset progress. */
export function workerMessageText(m: FromWorker): string | undefined {
  switch (m.type) {
    case 'started':
      return `backend: ${m.backendReason}\n${m.trainCount} train / ${m.validationCount} validation / ${m.testCount} test images, ${m.parameters.toLocaleString('en-US')} parameters${m.resumedFromEpoch ? `, resuming after epoch ${m.resumedFromEpoch}` : ''}`;
    case 'log':
      return `${m.level === 'warn' ? 'warning: ' : ''}${m.message}`;
    case 'datasetProgress':
      return m.total && m.done < m.total ? undefined : `${m.phase}: ${m.done}${m.total ? `/${m.total}` : ''}`;
    case 'progress':
      return undefined;
    case 'epochEnd':
      return epochSummary(m.metrics);
    case 'evaluated':
      return `test: soft output ${pct(m.results.softAccuracy)}, hard exits ${pct(m.results.hard.accuracy)}, final classifier ${pct(m.results.finalAccuracy)}`;
    case 'finished':
      return `finished in ${duration(m.seconds)}`;
    case 'cancelled':
      return `cancelled at epoch ${m.epoch}, step ${m.step}`;
    case 'failed':
      return `failed: ${m.error}${m.epoch ? ` (epoch ${m.epoch}, step ${m.step})` : ''}`;
    default:
      return `unexpected message ${JSON.stringify(m)}`;
  }
}

/** How a worker process ended without recording an outcome itself (kill -9, crash, a failed start). */
export interface WorkerDeath {
  code: number | null;
  signal: string | null;
  /** The end of what the worker wrote to stderr. */
  stderr: string;
  /** Whether the worker had said `started` (it was training, not starting up). */
  started: boolean;
  /** The last finished epoch (0: none, so there is no checkpoint to resume from). */
  epoch: number;
}

/**
 * Why a worker died, as one line that names the cause: out of memory, a module missing at start-up,
 * the error it printed, or the signal/exit code; then what is kept. No stack trace, no CLI flag (the
 * CLI and the extension each say how to resume in their own terms); the full stderr is in worker.log.
 */
export function workerDeathMessage(d: WorkerDeath): string {
  const how = d.signal ? `killed by ${d.signal}` : d.code === null ? 'could not be started' : `exited with code ${d.code}`;
  const when = d.started ? 'before finishing' : 'while starting, before training began';
  const kept = d.epoch > 0 ? `; finished epochs and the checkpoint of epoch ${d.epoch} are kept` : '';
  const log = d.stderr.trim() ? ' (its output is in the run\'s worker.log)' : '';
  if (/heap out of memory|Reached heap limit|Allocation failed/i.test(d.stderr)) {
    return `worker ran out of memory (${how}; try a smaller batch size or width)${kept}`;
  }
  const missing = /Cannot find module '([^']+)'/.exec(d.stderr);
  if (missing) {
    const what = missing[1].startsWith('.') || missing[1].startsWith('/') ? `its file ${missing[1]}` : `the module ${missing[1]}`;
    return `worker could not start: ${what} is missing (the installation is incomplete: reinstall the extension, or run npm install in a checkout)${log}`;
  }
  // The first "SomeError: message" line Node printed for an uncaught error, without the stack.
  const error = /^(?:Uncaught )?([A-Z]\w*(?:Error|Exception)(?: \[\w+\])?: .+)$/m.exec(d.stderr)?.[1];
  if (error) return `worker ${how} ${when}: ${error.slice(0, 300)}${kept}${log}`;
  const last = d.stderr.trim().split('\n').filter((l) => l.trim() && !/^\s+at /.test(l)).slice(-1)[0];
  return `worker ${how} ${when}${last ? `: ${last.trim().slice(0, 300)}` : ''}${kept}${log}`;
}

/**
 * What a stopped or failed run keeps, from the last finished epoch recorded in status.json:
 * "the checkpoint of epoch 2 of 5 is kept", or that nothing can be resumed (stopped in epoch 1).
 */
export function keptAfterStop(lastFinishedEpoch: number, epochs?: number): string {
  return lastFinishedEpoch > 0
    ? `the checkpoint of epoch ${lastFinishedEpoch}${epochs ? ` of ${epochs}` : ''} is kept`
    : 'no epoch had finished, so there is no checkpoint to resume from';
}
