/**
 * What the views say, as pure functions of plain data (no `vscode` import), so the unit tests
 * check the exact texts and decisions the trees and commands show: run descriptions with live
 * progress, experiment → sweep → run grouping, and the untrusted-workspace refusal.
 */
import { formatMacs } from '../spec/backbones';
import { headChannels } from '../spec/exit-costs';
import type { ExitConfig, HeadKind } from '../spec/exits';
import { keptAfterStop, progressFraction } from '../runs/messages';
import type { RunState, RunStatus } from '../spec/run-types';
import { runFacts, runTimeLabel } from '../spec/run-label';

/** The last `progress` message of a run this window trains. */
export interface LiveProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  imagesPerSecond?: number;
  etaSeconds?: number;
}

/** A run as the Runs view lists it. */
export interface RunLike {
  status: Partial<RunStatus> & { id: string };
}


/** "epoch 2/5 · 43% · loss 1.234": the description of a run while it trains. */
export function liveDescription(p: LiveProgress): string {
  return `epoch ${p.epoch}/${p.epochs} · ${Math.floor(100 * progressFraction(p))}% · loss ${Number.isFinite(p.loss) ? p.loss.toFixed(3) : String(p.loss)}`;
}

/** The short name of a run in its group: its sweep values inside a sweep, else when it was started (the full id is in the tooltip). */
export function runName(status: RunLike['status'], now = new Date()): string {
  return sweepLabel(status.sweep) || runTimeLabel(status.id, now);
}

/**
 * The label of a run item. While this window trains it, its live progress — first, so that the
 * sidebar at its default width never hides it (it used to sit behind the long run id); otherwise
 * its short name.
 */
export function runLabel(status: RunLike['status'], live?: LiveProgress, now = new Date()): string {
  return (status.state ?? 'queued') === 'running' && live ? liveDescription(live) : runName(status, now);
}

/** The description of a run item: its short name while the label is its progress, else its status.json. */
export function runDescription(status: RunLike['status'], live?: LiveProgress, now = new Date()): string {
  const state: RunState = status.state ?? 'queued';
  if (state === 'running' && live) return runName(status, now);
  return [state, status.epochs ? `epoch ${status.epoch ?? 0}/${status.epochs}` : undefined, status.backend ?? undefined].filter(Boolean).join(' · ');
}

/**
 * A run as the Compare, Export and Open Results pickers list it: when it started and its
 * experiment, then what tells it from its siblings (λ, epochs, accuracy), then its id and state.
 */
export function runPickItem(status: RunLike['status'], results: { lambda: number | null; epochs: number; accuracy: number } | null, now = new Date()): { label: string; description: string; detail: string } {
  const facts = runFacts(results ?? { lambda: (status.sweep?.['method.lambda'] as number | undefined) ?? null, epochs: status.epochs });
  return {
    label: `${status.experiment ?? '(unknown experiment)'} · ${runName(status, now)}`,
    description: facts,
    detail: [status.id, status.state ?? 'queued', status.backend].filter(Boolean).join(' · '),
  };
}

/**
 * The experiment's name after its backbone changed: a name that was the old backbone's (as New
 * Experiment gives it: "vgg13", "vgg13-2") follows the new one; a name of the user's own is kept.
 */
export function nameAfterBackbone(name: string, from: string, to: string): string {
  if (name === from) return to;
  if (name.startsWith(`${from}-`)) return `${to}${name.slice(from.length)}`;
  return name;
}

const SHORT: Record<string, string> = { 'method.lambda': 'λ', 'training.lr': 'lr', 'training.seed': 'seed', 'method.name': 'method' };

/** "λ=0.1, seed=2": a sweep run's values, with the paper's symbols where there is one. */
export function sweepLabel(sweep: Record<string, unknown> | null | undefined): string {
  if (!sweep) return '';
  return Object.entries(sweep).map(([k, v]) => `${SHORT[k] ?? k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(', ');
}

export interface RunGroup<R extends RunLike> { kind: 'experiment'; name: string; children: RunGroupChild<R>[]; count: number }
export type RunGroupChild<R extends RunLike> =
  | { kind: 'sweep'; experiment: string; group: string; runs: R[] }
  | { kind: 'run'; run: R };

/**
 * Runs grouped by experiment, and inside an experiment the runs one sweep expanded into under
 * one sweep node (runs without a sweep stay directly under the experiment). Order is kept:
 * a group sits where its first (newest) run was.
 */
export function groupRuns<R extends RunLike>(runs: readonly R[]): RunGroup<R>[] {
  const out: RunGroup<R>[] = [];
  const byName = new Map<string, RunGroup<R>>();
  for (const r of runs) {
    const name = r.status.experiment ?? '(unknown experiment)';
    let exp = byName.get(name);
    if (!exp) {
      exp = { kind: 'experiment', name, children: [], count: 0 };
      byName.set(name, exp);
      out.push(exp);
    }
    exp.count++;
    const group = r.status.group;
    if (!group) {
      exp.children.push({ kind: 'run', run: r });
      continue;
    }
    const sweep = exp.children.find((c): c is Extract<RunGroupChild<R>, { kind: 'sweep' }> => c.kind === 'sweep' && c.group === group);
    if (sweep) sweep.runs.push(r);
    else exp.children.push({ kind: 'sweep', experiment: name, group, runs: [r] });
  }
  return out;
}

/** "sweep λ ×3 · 2 finished, 1 running": what a sweep node says about its runs. */
export function sweepDescription(runs: readonly RunLike[]): string {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.status.sweep ?? {})))].map((k) => SHORT[k] ?? k);
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.status.state ?? 'queued', (counts.get(r.status.state ?? 'queued') ?? 0) + 1);
  const states = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  return `${keys.join(' × ') || 'sweep'} ×${runs.length} · ${states}`;
}

/** The state of a sweep as one icon: running beats failed beats queued beats finished. */
export function sweepState(runs: readonly RunLike[]): RunState {
  const states = new Set(runs.map((r) => r.status.state ?? 'queued'));
  for (const s of ['running', 'failed', 'queued', 'cancelled'] as const) if (states.has(s)) return s;
  return 'finished';
}

/**
 * Why training must not start, or undefined when it may. Training runs a worker process that
 * reads the workspace's experiment file and data paths, so it needs a trusted workspace
 * (package.json `capabilities.untrustedWorkspaces: limited`).
 */
export function trainingRefusal(workspaceTrusted: boolean): string | undefined {
  if (workspaceTrusted) return undefined;
  return 'training is disabled in an untrusted workspace (Restricted Mode), because it starts a worker process that reads this folder\'s experiment file and data. ' +
    'The Branches and Runs views and the results still work; trust the workspace ("Workspaces: Manage Workspace Trust") to train.';
}

/** Why a run may not be deleted, or undefined. A run that trains (here or in another process) is kept. */
export function deleteRefusal(status: RunLike['status'], trainingHere: boolean, workerAlive: boolean): string | undefined {
  if (trainingHere) return `run ${status.id} is training in this window; stop it first.`;
  if (status.state === 'running' && workerAlive) return `run ${status.id} is running (worker process ${status.pid}); stop it first.`;
  return undefined;
}

/** "conv-pool · 64 channels": a head's kind and, where it has one, the width of its conv / hidden layer. */
export function headDescription(exit: ExitConfig, inChannels: number): string {
  const parts: string[] = [exit.head.kind];
  if (exit.head.kind !== 'pool') parts.push(`${headChannels(exit, inChannels)} channels${exit.head.channels === undefined ? ' (default)' : ''}`);
  if (exit.head.grid !== undefined) parts.push(exit.head.grid === 1 ? 'global pool' : `${exit.head.grid}×${exit.head.grid} pool`);
  return parts.join(' · ');
}

/** "dense → sigmoid", "dense 16-ReLU → sigmoid", or why there is no gate. */
export function gateDescription(exit: ExitConfig, gated: boolean, method: string): string {
  const shape = exit.gate.hidden > 0 ? `dense ${exit.gate.hidden}-ReLU → dense → sigmoid` : 'dense → sigmoid';
  return gated ? shape : `${shape} (unused: ${method} has no gates)`;
}

/** "1.23 M MACs · 27.9%": γ_b and its share of the full network (short: the tree is narrow). */
export function costDescription(gamma: number, full: number): string {
  return `${formatMacs(gamma)} MACs · ${((100 * gamma) / full).toFixed(1)}%`;
}

/** The head kinds as a quick pick offers them. */
export const HEAD_CHOICES: readonly { kind: HeadKind; detail: string }[] = [
  { kind: 'pool', detail: 'average pool + dense: the cheapest head' },
  { kind: 'conv-pool', detail: 'conv 3×3-BN-ReLU + pool + dense: more capacity, costs a convolution at the point\'s resolution' },
  { kind: 'pool-mlp', detail: 'pool + hidden dense-ReLU + dense' },
];

/** Parses the channels typed for a head: empty = the default, else a positive integer (error text otherwise). */
export function parseChannels(text: string): { ok: true; channels: number | undefined } | { ok: false; error: string } {
  const t = text.trim();
  if (!t) return { ok: true, channels: undefined };
  const n = Number(t);
  return Number.isInteger(n) && n > 0 && n <= 4096 ? { ok: true, channels: n } : { ok: false, error: 'a whole number of channels from 1 to 4096, or empty for the default' };
}

/** The exit as the file stores it after choosing a head: channels only where the head uses them. */
export function withHead<E extends Record<string, unknown>>(exit: E, kind: HeadKind, channels: number | undefined): E {
  const { channels: _old, ...head } = { ...((exit.head ?? {}) as Record<string, unknown>) };
  return { ...exit, head: { ...head, kind, ...(kind !== 'pool' && channels !== undefined ? { channels } : {}) } };
}

/** The exit as the file stores it after choosing the gate's hidden units. */
export function withGate<E extends Record<string, unknown>>(exit: E, hidden: number): E {
  return { ...exit, gate: { ...((exit.gate ?? {}) as Record<string, unknown>), hidden } };
}

/**
 * The notification for a run that failed or was cancelled: its first line only (the output channel
 * has the rest), what is kept, and "Resume" only when there is a checkpoint to resume from.
 */
export function outcomeText(o: { id: string; state: RunState; epoch: number; epochs: number; error?: string }): { message: string; actions: string[] } {
  const resumable = o.epoch > 0;
  const actions = resumable ? ['Resume'] : [];
  if (o.state === 'failed') {
    const first = (o.error ?? 'see the "Early Exit" output').split('\n')[0];
    return { message: `run ${o.id} failed: ${first}${/checkpoint of epoch|is kept/.test(first) ? '' : `; ${keptAfterStop(o.epoch, o.epochs)}`}.`, actions };
  }
  return { message: `training of ${o.id} was cancelled; ${keptAfterStop(o.epoch, o.epochs)}.`, actions };
}

/** Why "Resume" cannot continue a run, or undefined when it can. */
export function resumeRefusal(status: RunLike['status'], trainingHere: boolean, workerAlive: boolean): string | undefined {
  if (trainingHere || (status.state === 'running' && workerAlive)) return `run ${status.id} is still training.`;
  if (status.state === 'finished') return `run ${status.id} has already finished.`;
  if (!status.epoch) return `run ${status.id} has no checkpoint to resume from (no epoch had finished); train its experiment again.`;
  return undefined;
}
