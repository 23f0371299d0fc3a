/**
 * The one typed wrapper around `acquireVsCodeApi` (callable once per webview), plus a test double.
 * Outside VS Code (the standalone report) there is no API: `getVsCodeApi()` returns null.
 */
import type { WebviewMessage, WebviewState } from '../src/protocol/webview';

/** What the webview may do with its host. */
export interface HostApi {
  postMessage(message: WebviewMessage): void;
  getState(): WebviewState | undefined;
  setState(state: WebviewState): void;
}

interface RawVsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare const acquireVsCodeApi: (() => RawVsCodeApi) | undefined;

let cached: HostApi | null | undefined;

/** The host API inside a VS Code webview, or null in a plain browser page. */
export function getVsCodeApi(): HostApi | null {
  if (cached !== undefined) return cached;
  if (typeof acquireVsCodeApi !== 'function') return (cached = null);
  const raw = acquireVsCodeApi();
  cached = {
    postMessage: (m) => raw.postMessage(m),
    getState: () => (raw.getState() as WebviewState | undefined) ?? undefined,
    setState: (s) => raw.setState(s),
  };
  return cached;
}

/** A HostApi that records what was posted and keeps state in memory. */
export interface TestHostApi extends HostApi {
  readonly sent: WebviewMessage[];
  state: WebviewState | undefined;
}

export function createTestHostApi(initial?: WebviewState): TestHostApi {
  const api: TestHostApi = {
    sent: [],
    state: initial,
    postMessage: (m) => { api.sent.push(m); },
    getState: () => api.state,
    setState: (s) => { api.state = s; },
  };
  return api;
}
