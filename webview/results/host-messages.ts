/**
 * The webview's side of the protocol check: every host → webview message is validated before it
 * touches the view, as the host validates what the webview posts (src/extension/panels/messages.ts).
 * A malformed message is rejected with the reason (logged back to the host) and the view keeps
 * what it shows. Pure: no DOM, so the unit tests run it in Node.
 */
import type { DeploymentState, ExportKind, HostMessage, RunData, ThresholdState } from '../../src/protocol/webview';
import { metricsLineProblem, resultsProblem, samplesProblem, splitMeasurementsProblem, statusProblem as statusFileProblem, tierSpeedsProblem } from '../../src/spec/run-files';

type Check = { ok: true; message: HostMessage } | { ok: false; reason: string };

const isObj = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown): x is string => typeof x === 'string';
const EXPORT_KINDS: readonly ExportKind[] = ['png', 'csv', 'json'];

// the same checks the run store makes when it reads the files (src/spec/run-files.ts)
function statusProblem(s: unknown): string | null {
  if (s === null) return null;
  const p = statusFileProblem(s);
  return p ? `status: ${p}` : null;
}

function metricsProblem(m: unknown): string | null {
  if (!Array.isArray(m)) return 'metrics must be an array of epoch lines';
  for (let i = 0; i < m.length; i++) {
    const p = metricsLineProblem(m[i]);
    if (p) return `metrics[${i}]: ${p}`;
  }
  return null;
}

function thresholdsProblem(t: unknown): string | null {
  if (t === undefined) return null;
  return isObj(t) && (t.mode === 'shared' || t.mode === 'perExit') && Array.isArray(t.thresholds) && t.thresholds.every((x: unknown) => typeof x === 'number' && Number.isFinite(x))
    ? null : 'thresholds must be { mode: "shared" | "perExit", thresholds: numbers }';
}

/** Why `d` is not a tier plan's state (DeploymentState); the plan itself is checked against the run when it is drawn. */
function deploymentStateProblem(d: unknown): string | null {
  if (!isObj(d)) return 'must be an object';
  if (!['workspace', 'run', 'none'].includes(d.source)) return 'source must be workspace, run or none';
  if (d.deployment !== null && !(isObj(d.deployment) && Array.isArray(d.deployment.cuts) && d.deployment.cuts.every(isStr))) return 'deployment must be null or { preset | tiers, cuts: strings, quantization }';
  if ((d.file !== undefined && !isStr(d.file)) || (d.problem !== undefined && !isStr(d.problem))) return 'file and problem must be strings';
  return null;
}

/** Why `r` is not a RunData the views can draw, or null. */
export function runDataProblem(r: unknown): string | null {
  if (!isObj(r)) return 'run must be an object';
  if (!isStr(r.id) || !isStr(r.runDir)) return 'run.id and run.runDir must be strings';
  if (r.results !== null) {
    const p = resultsProblem(r.results);
    if (p) return `run.results: ${p}`;
  }
  for (const k of ['samples', 'validation'] as const) {
    if (r[k] === null) continue;
    const p = samplesProblem(r[k]);
    if (p) return `run.${k}: ${p}`;
  }
  const m = metricsProblem(r.metrics);
  if (m) return `run.${m}`;
  const s = statusProblem(r.status);
  if (s) return `run.${s}`;
  if (!Array.isArray(r.problems) || !r.problems.every(isStr)) return 'run.problems must be strings';
  if (!Array.isArray(r.related) || !r.related.every((p: unknown) => isObj(p) && isStr(p.id) && typeof p.accuracy === 'number' && typeof p.averageMacsPct === 'number')) return 'run.related must be points { id, accuracy, averageMacsPct, … }';
  if (r.points !== null && r.points !== undefined && !(Array.isArray(r.points) && r.points.every(isStr))) return 'run.points must be null or strings';
  if (r.deploy !== undefined) {
    const p = deploymentStateProblem(r.deploy);
    if (p) return `run.deploy: ${p}`;
    // the checks `deploy measure | run`'s files get when the run store reads them
    const s = r.deploy.speeds === null ? null : tierSpeedsProblem(r.deploy.speeds);
    if (s) return `run.deploy.speeds: ${s}`;
    const m = splitMeasurementsProblem(r.deploy.measured);
    if (m) return `run.deploy.measured: ${m}`;
  }
  return null;
}

/** The message, typed, or why it was rejected. */
export function validateHostMessage(x: unknown): Check {
  if (!isObj(x) || !isStr(x.type)) return { ok: false, reason: 'not an object with a string "type"' };
  const bad = (why: string): Check => ({ ok: false, reason: `${x.type}: ${why}` });
  switch (x.type) {
    case 'didLoadRun': {
      const p = runDataProblem(x.run) ?? thresholdsProblem(x.thresholds);
      if (p) return bad(p);
      return { ok: true, message: { type: 'didLoadRun', run: x.run as RunData, ...(x.thresholds ? { thresholds: x.thresholds as ThresholdState } : {}) } };
    }
    case 'didAppendMetrics': {
      if (!isStr(x.runId)) return bad('runId must be a string');
      const p = metricsProblem(x.metrics);
      return p ? bad(p) : { ok: true, message: { type: 'didAppendMetrics', runId: x.runId, metrics: x.metrics } };
    }
    case 'didUpdateStatus': {
      if (!isStr(x.runId)) return bad('runId must be a string');
      if (x.status === null) return bad('status must be an object');
      const p = statusProblem(x.status);
      return p ? bad(p) : { ok: true, message: { type: 'didUpdateStatus', runId: x.runId, status: x.status as any } };
    }
    case 'didLoadComparison': {
      if (!Array.isArray(x.runs)) return bad('runs must be an array');
      for (const [i, r] of x.runs.entries()) {
        const p = runDataProblem(r);
        if (p) return bad(`runs[${i}]: ${p}`);
      }
      return { ok: true, message: { type: 'didLoadComparison', runs: x.runs as RunData[] } };
    }
    case 'didExport':
      if (!EXPORT_KINDS.includes(x.kind)) return bad(`kind must be one of ${EXPORT_KINDS.join(', ')}`);
      if (x.path !== null && !isStr(x.path)) return bad('path must be a string or null');
      if (x.error !== undefined && !isStr(x.error)) return bad('error must be a string');
      return { ok: true, message: { type: 'didExport', kind: x.kind, path: x.path, ...(isStr(x.error) ? { error: x.error } : {}) } };
    case 'didUpdateDeployment': {
      if (!isStr(x.runId)) return bad('runId must be a string');
      const p = deploymentStateProblem(x.state);
      return p ? bad(`state ${p}`) : { ok: true, message: { type: 'didUpdateDeployment', runId: x.runId, state: x.state as DeploymentState } };
    }
    default:
      return { ok: false, reason: `unknown message type "${x.type.slice(0, 40)}"` };
  }
}
