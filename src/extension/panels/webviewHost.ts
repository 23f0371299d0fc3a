/**
 * What the results and comparison panels share: the WebviewPanel with a strict CSP, the ready
 * handshake, validation of incoming messages (rejections go to the output channel), exports
 * through a save dialog, and watching run folders for live training updates.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { HostMessage, WebviewMessage, WebviewState } from '../../protocol/webview';
import { acceptWebviewMessage, makeNonce, ReadyQueue, webviewHtml } from './messages';

export type Log = Pick<vscode.OutputChannel, 'appendLine'>;

export const ViewTypes = {
  results: 'earlyExit.results',
  comparison: 'earlyExit.comparison',
} as const;

/** Webview options: scripts on, resources only from dist/webview. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
    retainContextWhenHidden: false,
  };
}

export abstract class WebviewHost implements vscode.Disposable {
  protected readonly queue: ReadyQueue;
  protected readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;

  constructor(
    readonly panel: vscode.WebviewPanel,
    protected readonly context: vscode.ExtensionContext,
    protected readonly log: Log,
  ) {
    panel.webview.options = webviewOptions(context.extensionUri);
    this.queue = new ReadyQueue((m) => panel.webview.postMessage(m));
    const web = panel.webview;
    const base = vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');
    web.html = webviewHtml({
      cspSource: web.cspSource,
      nonce: makeNonce(),
      scriptUri: web.asWebviewUri(vscode.Uri.joinPath(base, 'results.js')).toString(),
      styleUri: web.asWebviewUri(vscode.Uri.joinPath(base, 'results.css')).toString(),
      title: panel.title,
    });
    this.disposables.push(
      web.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      panel.onDidDispose(() => this.dispose()),
      // Without retainContextWhenHidden the webview is rebuilt when shown again: it will say ready anew.
      panel.onDidChangeViewState((e) => { if (!e.webviewPanel.visible) this.queue.reset(); }),
    );
  }

  /**
   * Whether the panel is still on screen. A panel closed a moment ago (Close All Editors) can still
   * be here before its dispose event arrives; revealing it then shows nothing, so `show` opens a
   * new one instead.
   */
  get isOpen(): boolean {
    if (this.disposed) return false;
    const type = this.panel.viewType;
    return vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(type) && t.label === this.panel.title));
  }

  /** Called on every `ready`: (re)send the whole state. */
  protected abstract load(): void;
  /** Called for messages the base does not handle. */
  protected abstract handle(m: Exclude<WebviewMessage, { type: 'ready' | 'exportFile' | 'log' }>): void;
  /** Folder proposed by the save dialog. */
  protected abstract exportDir(): string;

  protected post(m: HostMessage): void {
    this.queue.send(m);
  }

  private receive(raw: unknown): void {
    const m = acceptWebviewMessage(raw, (line) => this.log.appendLine(line), this.panel.viewType);
    if (!m) return;
    switch (m.type) {
      case 'ready':
        this.queue.reset();
        this.load();
        this.queue.markReady();
        break;
      case 'exportFile':
        void this.saveExport(m);
        break;
      case 'log':
        this.log.appendLine(`[webview ${this.panel.viewType}] ${m.level}: ${m.message}`);
        break;
      case 'setThreshold':
      case 'openRun':
      case 'setDeployment':
        this.handle(m);
        break;
      default: {
        const never: never = m;
        this.log.appendLine(`[webview] unexpected message ${JSON.stringify(never)}`);
      }
    }
  }

  private async saveExport(m: Extract<WebviewMessage, { type: 'exportFile' }>): Promise<void> {
    const filters: Record<string, Record<string, string[]>> = { png: { 'PNG image': ['png'] }, csv: { CSV: ['csv'] }, json: { JSON: ['json'] } };
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(path.join(this.exportDir(), m.suggestedName)),
      filters: filters[m.kind],
      title: `Export ${m.suggestedName}`,
    });
    if (!target) {
      this.post({ type: 'didExport', kind: m.kind, path: null });
      return;
    }
    try {
      const bytes = m.kind === 'png' ? Buffer.from(m.data, 'base64') : Buffer.from(m.data, 'utf8');
      await vscode.workspace.fs.writeFile(target, bytes);
      this.log.appendLine(`exported ${target.fsPath}`);
      this.post({ type: 'didExport', kind: m.kind, path: target.fsPath });
    } catch (e) {
      void vscode.window.showErrorMessage(`Early Exit: export failed: ${(e as Error).message}`);
      this.post({ type: 'didExport', kind: m.kind, path: null, error: (e as Error).message });
    }
  }

  /** Watches `files` of `dir` (works outside the workspace too); `onChange` gets the file name. */
  protected watch(dir: string, files: string[], onChange: (file: string) => void): void {
    const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), `{${files.join(',')}}`));
    const fire = (u: vscode.Uri) => onChange(path.basename(u.fsPath));
    this.disposables.push(w, w.onDidChange(fire), w.onDidCreate(fire));
  }

  /** Calls `onDelete` when `file` of `dir` is deleted. */
  protected watchDeleted(dir: string, file: string, onDelete: () => void): void {
    const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), file), true, true, false);
    this.disposables.push(w, w.onDidDelete(() => onDelete()));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeEmitter.fire();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.disposeEmitter.dispose();
    this.panel.dispose();
  }
}

/** State handed to a serializer: what `setState` last stored in the webview. */
export function isWebviewState(x: unknown): x is WebviewState {
  const s = x as WebviewState | undefined;
  return !!s && (s.view === 'results' || s.view === 'comparison') && Array.isArray(s.runDirs) && s.runDirs.every((d) => typeof d === 'string');
}
