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
  return `epoch ${e.epoch}: loss ${e.loss.toFixed(4)} (CE ${e.ceLoss.toFixed(4)}${e.expectedCost !== null ? `, cost C ${e.expectedCost.toFixed(3)}` : ''}), `
    + `val soft ${pct(e.softAccuracy)} hard ${pct(e.hardAccuracy)} final ${pct(e.finalAccuracy)}, exits [${e.exitAccuracy.map((a) => pct(a, 1)).join(' ')}]`
    + `${e.meanGates ? `, mean gates [${e.meanGates.map((g) => g.toFixed(2)).join(' ')}]` : ''}, ${e.imagesPerSecond.toFixed(0)} img/s, ${duration(e.seconds)}`;
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
