/**
 * Host side of the webview protocol without `vscode`: validation of what a webview posts, and the
 * queue that holds notifications until the webview's `ready` handshake. Unit-testable in Node.
 */
import type { ExportKind, HostMessage, ThresholdState, WebviewMessage } from '../../protocol/webview';
import { escapeHtml } from '../../report/html';

/** Largest export accepted from a webview (base64 PNG or text). */
export const MAX_EXPORT_CHARS = 64 * 1024 * 1024;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown): x is string => typeof x === 'string';
const EXPORT_KINDS: readonly ExportKind[] = ['png', 'csv', 'json'];

function thresholdState(x: unknown): x is ThresholdState {
  return isObj(x) && (x.mode === 'shared' || x.mode === 'perExit') && Array.isArray(x.thresholds)
    && x.thresholds.every((t) => typeof t === 'number' && Number.isFinite(t) && t >= 0 && t <= 1);
}

/** The message, typed, or why it was rejected. */
export function validateWebviewMessage(x: unknown): { ok: true; message: WebviewMessage } | { ok: false; reason: string } {
  if (!isObj(x) || !isStr(x.type)) return { ok: false, reason: 'not an object with a string "type"' };
  const bad = (why: string) => ({ ok: false as const, reason: `${x.type}: ${why}` });
  switch (x.type) {
    case 'ready':
      return { ok: true, message: { type: 'ready' } };
    case 'setThreshold':
      if (!isStr(x.runId)) return bad('runId must be a string');
      if (!thresholdState(x.state)) return bad('state must be { mode: "shared" | "perExit", thresholds: numbers in [0, 1] }');
      return { ok: true, message: { type: 'setThreshold', runId: x.runId, state: x.state } };
    case 'exportFile': {
      if (!EXPORT_KINDS.includes(x.kind as ExportKind)) return bad(`kind must be one of ${EXPORT_KINDS.join(', ')}`);
      if (!isStr(x.suggestedName) || !x.suggestedName || /[\\/]|\.\./.test(x.suggestedName)) return bad('suggestedName must be a plain file name');
      if (!isStr(x.data) || x.data.length > MAX_EXPORT_CHARS) return bad('data must be a string of at most 64 MiB');
      if (x.kind === 'png' && !/^[A-Za-z0-9+/=]*$/.test(x.data)) return bad('png data must be base64');
      return { ok: true, message: { type: 'exportFile', kind: x.kind as ExportKind, suggestedName: x.suggestedName, data: x.data } };
    }
    case 'openRun':
      if (!isStr(x.runDir) || !x.runDir) return bad('runDir must be a non-empty string');
      return { ok: true, message: { type: 'openRun', runDir: x.runDir } };
    case 'setDeployment': {
      if (!isStr(x.runId)) return bad('runId must be a string');
      const d = x.deployment;
      if (!isObj(d) || !Array.isArray(d.cuts) || !d.cuts.every(isStr) || (d.quantization !== 'float32' && d.quantization !== 'int8')
        || (d.preset !== undefined && !isStr(d.preset)) || (d.tiers !== undefined && !Array.isArray(d.tiers)) || JSON.stringify(d).length > 100_000) {
        return bad('deployment must be { preset or tiers, cuts: strings, quantization: "float32" | "int8" }');
      }
      // rebuilt from the known fields only; the host validates it against the run's backbone before saving
      const deployment = { ...(d.preset !== undefined ? { preset: d.preset } : {}), ...(d.tiers !== undefined ? { tiers: d.tiers } : {}), cuts: d.cuts, quantization: d.quantization };
      return { ok: true, message: { type: 'setDeployment', runId: x.runId, deployment: deployment as Extract<WebviewMessage, { type: 'setDeployment' }>['deployment'] } };
    }
    case 'log':
      if (x.level !== 'info' && x.level !== 'warn' && x.level !== 'error') return bad('level must be info, warn or error');
      if (!isStr(x.message)) return bad('message must be a string');
      return { ok: true, message: { type: 'log', level: x.level, message: x.message.slice(0, 10_000) } };
    default:
      return { ok: false, reason: `unknown message type "${x.type.slice(0, 40)}"` };
  }
}

/**
 * What the host does with everything a webview posts: the message, validated and rebuilt from the
 * protocol's fields, or null after logging why it was rejected (unknown type, wrong payload).
 */
export function acceptWebviewMessage(raw: unknown, log: (line: string) => void, viewType: string): WebviewMessage | null {
  const v = validateWebviewMessage(raw);
  if (v.ok) return v.message;
  log(`[webview ${viewType}] rejected message: ${v.reason}`);
  return null;
}

/**
 * Holds host → webview notifications until the webview says `ready`; after that sends at once.
 * A reloaded webview (hidden then shown again) starts un-ready: call `reset()` when that happens.
 */
export class ReadyQueue {
  private ready = false;
  private queue: HostMessage[] = [];

  constructor(private readonly post: (m: HostMessage) => unknown) {}

  get isReady(): boolean { return this.ready; }
  get pending(): readonly HostMessage[] { return this.queue; }

  send(m: HostMessage): void {
    if (this.ready) this.post(m);
    else this.queue.push(m);
  }

  /** Flushes the queue in order. */
  markReady(): void {
    this.ready = true;
    const q = this.queue;
    this.queue = [];
    for (const m of q) this.post(m);
  }

  /** Back to un-ready; queued notifications are dropped (the next `ready` reloads the whole state). */
  reset(): void {
    this.ready = false;
    this.queue = [];
  }
}

/** New epochs for the webview: those after `lastEpoch`, or null when the file went back (resume) and a full reload is needed. */
export function metricsDelta<T extends { epoch: number }>(metrics: T[], lastEpoch: number): T[] | null {
  const maxEpoch = metrics.reduce((m, x) => Math.max(m, x.epoch), 0);
  if (maxEpoch < lastEpoch) return null;
  return metrics.filter((m) => m.epoch > lastEpoch);
}

/** A random nonce for the CSP of a webview's HTML. */
export function makeNonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

/** The webview's HTML: strict CSP, nonce'd script, stylesheet from the webview's own origin. */
export function webviewHtml(o: { cspSource: string; nonce: string; scriptUri: string; styleUri: string; title: string }): string {
  const csp = [
    "default-src 'none'",
    `img-src ${o.cspSource} data:`,
    `style-src ${o.cspSource}`,
    `font-src ${o.cspSource}`,
    `script-src 'nonce-${o.nonce}'`,
  ].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${escapeHtml(o.styleUri)}">
<title>${escapeHtml(o.title)}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${o.nonce}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>
`;
}
