/**
 * Helpers for tests that look at the rendered workbench. They talk to the automation endpoint of
 * test/vscode-host/code-server-host.ts (EARLY_EXIT_AUTOMATION_URL); in a host without one (desktop
 * VS Code, EARLY_EXIT_VSCODE=desktop) they return undefined, and a test that needs them calls
 * `requireWorkbench` first, which fails it saying why.
 */
import { join, resolve } from 'node:path';
import * as vscode from 'vscode';
import { expectMatchesBaseline, type ScreenshotTolerance } from '../screenshots';

const url = process.env.EARLY_EXIT_AUTOMATION_URL;

/** The repository checkout (the bundled suite runs from dist/test/vscode-suite). Fixtures live here, not in the installed extension. */
export const REPO = resolve(__dirname, '../../..');

/** True when the workbench can be screenshot and read (the code-server host). */
export const canSeeWorkbench = !!url;

/** Fails the calling test unless the host can show the rendered workbench. */
export function requireWorkbench(what: string): void {
  if (!canSeeWorkbench) {
    throw new Error(`${what} needs the rendered workbench, which only the code-server host shows (EARLY_EXIT_VSCODE=code-server, the default); this host has no automation endpoint`);
  }
}

/**
 * Parts of the workbench that VS Code changes on its own between runs. The status bar (language
 * status, problem counts) is always there, so it is painted over; activity badges (progress, a
 * sign-in request) and scrollbars and their shadows appear and fade on their own, so they are
 * hidden — a mask would paint a box exactly when they are there.
 */
const WORKBENCH_MASKED: ScreenshotMask[] = [{ selector: '.part.statusbar' }];
const WORKBENCH_HIDDEN = [
  '.activitybar .badge',
  '.activitybar .profile-badge',
  '.monaco-scrollable-element > .scrollbar',
  '.monaco-scrollable-element > .shadow',
];

/**
 * Screenshots the workbench as test-results/<name>.png and compares it with test/baselines/<name>.png
 * (test/screenshots.ts); fails with the share of differing pixels and a diff image.
 */
export async function expectScreenshot(name: string, opts: { mask?: ScreenshotMask[]; tolerance?: ScreenshotTolerance } = {}): Promise<void> {
  requireWorkbench(`the screenshot ${name}`);
  // the same focus, no hover and no toast in every run: focus rings, hover actions and a notification
  // that has or has not timed out yet are not what is compared (tests read notifications as text)
  await vscode.commands.executeCommand('notifications.clearAll');
  await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
  const file = await screenshot(name, { still: true, mask: [...WORKBENCH_MASKED, ...(opts.mask ?? [])], hide: WORKBENCH_HIDDEN });
  if (!file) throw new Error(`the host took no screenshot ${name}`);
  // the baselines are in the checkout, not in the installed extension
  expectMatchesBaseline(file, name, join(REPO, 'test/baselines'), opts.tolerance);
}

async function call<T>(endpoint: string, body: unknown): Promise<T | undefined> {
  if (!url) return undefined;
  const res = await fetch(url + endpoint, { method: 'POST', body: JSON.stringify(body) });
  const json = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(`${endpoint}: ${json.error}`);
  return json;
}

/** Elements painted over in a screenshot: a workbench selector, or one inside the visible webview. */
export interface ScreenshotMask { selector: string; hasText?: string; inWebview?: boolean }

/**
 * Saves a PNG of the whole workbench as test-results/<name>.png (or `<dir>/<name>.png`); returns its
 * path. `still`: move the pointer out of the way first; `mask`: paint over what changes between runs;
 * `hide`: make invisible what is there in some runs only (selectors); `belowTitleBar`: leave out the
 * window's title bar.
 */
export async function screenshot(name: string, opts: { dir?: string; still?: boolean; mask?: ScreenshotMask[]; hide?: string[]; belowTitleBar?: boolean } = {}): Promise<string | undefined> {
  return (await call<{ path: string }>('/screenshot', { name, ...opts }))?.path;
}

/** Runs `script` (a function of the matching elements, as source text) in the workbench page. */
export async function evaluate<T>(selector: string, script: string, timeout = 5000): Promise<T | undefined> {
  return (await call<{ value: T }>('/evaluate', { selector, script, timeout }))?.value;
}

/** Selector of the Runs view row of run `id` (its label is short; the id is in its accessible label). */
export const runRow = (id: string) => `.pane-body .monaco-list-row[aria-label*="${id}"]`;

/** The rendered text of every element matching `selector`, waiting up to `timeout` ms for one. */
export async function texts(selector: string, timeout = 5000): Promise<string[] | undefined> {
  return (await call<{ texts: string[] }>('/text', { selector, timeout }))?.texts;
}

/** Clicks `child` (or the element itself) in the first `selector` element containing `hasText`. */
export async function click(selector: string, hasText?: string, child?: string): Promise<boolean> {
  return (await call<object>('/click', { selector, hasText, child })) !== undefined;
}

/**
 * Opens the extension's view container. VS Code refocuses the tree's last focused row when the
 * container opens; if a refresh is replacing that row at that moment, the command rejects with
 * "TreeError … Data tree node not found" although the view opens. Wait for the refresh and retry.
 */
export async function showViews(container: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await vscode.commands.executeCommand(`workbench.view.extension.${container}`);
      return;
    } catch (e) {
      if (attempt >= 5 || !/Data tree node not found/.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 300 * attempt));
    }
  }
}

/** Polls `probe` until it returns a truthy value or `ms` pass. */
type Falsy = undefined | null | false | 0 | '';
export async function until<T>(probe: () => T | Falsy | Promise<T | Falsy>, ms = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v as T;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A workspace JSON file, parsed. VS Code saves by truncating and rewriting, so a read can land on
 * an empty or half-written file: retry (up to 3 s) until it parses.
 */
export async function readJson<T = any>(uri: vscode.Uri): Promise<T> {
  return until(async () => {
    try { return JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri))) as T; } catch { return undefined; }
  }, 3000, `${uri.path} to parse as JSON`);
}

export const workspaceFile = (name: string) => vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, name);

/** Types `type` into the focused element, then presses each key of `press` ("Enter", "Escape"). */
export async function keys(type?: string, press: string[] = []): Promise<boolean> {
  return (await call<object>('/keys', { type, press })) !== undefined;
}

/** Clicks with more control: hover the row first, match its text exactly, or right-click. */
export async function clickIn(opts: { selector: string; hasText?: string; exactText?: string; child?: string; hover?: boolean; button?: 'left' | 'right'; timeout?: number }): Promise<boolean> {
  return (await call<object>('/click', opts)) !== undefined;
}

/**
 * Runs `script` (a function of the document's body, as source text) inside the visible webview
 * whose document title contains `title`; resolves with what it returns (JSON-serialisable).
 */
export async function inWebview<T>(script: string, title?: string, timeout = 10_000): Promise<T | undefined> {
  return (await call<{ value: T }>('/webview', { script, title, timeout }))?.value;
}

/**
 * Trusts the workspace through the Workspace Trust editor, as a user would ("Trust" button), and
 * waits for `vscode.workspace.isTrusted`. No-op when it is trusted already (or trust is off).
 */
export async function trustWorkspace(): Promise<void> {
  if (vscode.workspace.isTrusted) return;
  if (!url) throw new Error('the workspace is untrusted and this host cannot click the Workspace Trust editor');
  const granted = new Promise<void>((ok) => vscode.workspace.onDidGrantWorkspaceTrust(() => ok()));
  await vscode.commands.executeCommand('workbench.trust.manage');
  await clickIn({ selector: '.workspace-trust-editor .workspace-trust-buttons-row .monaco-button', exactText: 'Trust', timeout: 10_000 });
  await Promise.race([granted, new Promise((_, fail) => setTimeout(() => fail(new Error('trust was not granted within 10 s')), 10_000))]);
  await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
}
