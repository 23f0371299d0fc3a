/**
 * Activation cost of the extension and the memory it holds with N runs listed, measured in a bare
 * Node process that stands in for the extension host: `vscode` is a stub (enough of the API for
 * activate() and the Runs view; unknown members are no-ops), the bundle is the real dist/extension.js.
 * This isolates our share: VS Code's own host (Electron, other extensions) is not included.
 *
 *   node bench/extension-host.ts <workspace-with-runs>   (prints one JSON object)
 */
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

function noop(): unknown {
  const f = function () { return proxy; };
  const proxy: unknown = new Proxy(f, {
    get: (_t, k) => (k === 'then' ? undefined : k === Symbol.toPrimitive ? () => '' : proxy),
    apply: () => proxy,
    construct: () => proxy as object,
  });
  return proxy;
}

function makeVscode(workspace: string): unknown {
  const disposable = { dispose() { /* */ } };
  const event = () => () => disposable;
  class Uri {
    readonly scheme = 'file';
    constructor(readonly fsPath: string) {}
    get path() { return this.fsPath; }
    toString() { return `file://${this.fsPath}`; }
    with() { return this; }
    static file(p: string) { return new Uri(p); }
    static joinPath(u: Uri, ...parts: string[]) { return new Uri(path.join(u.fsPath, ...parts)); }
    static parse(s: string) { return new Uri(s.replace(/^file:\/\//, '')); }
  }
  class EventEmitter { private ls: ((e: unknown) => void)[] = []; event = (l: (e: unknown) => void) => { this.ls.push(l); return disposable; }; fire(e: unknown) { for (const l of this.ls) l(e); } dispose() { this.ls = []; } }
  class TreeItem { constructor(public label: unknown, public collapsibleState?: number) {} }
  class ThemeIcon { constructor(public id: string, public color?: unknown) {} static File = {}; static Folder = {}; }
  class ThemeColor { constructor(public id: string) {} }
  class MarkdownString { constructor(public value = '') {} appendMarkdown(s: string) { this.value += s; return this; } }
  class Disposable { constructor(private f: () => void) {} dispose() { this.f(); } static from(...d: { dispose(): void }[]) { return new Disposable(() => d.forEach((x) => x.dispose())); } }
  class Range { constructor(...a: unknown[]) { void a; } }
  class Position { constructor(...a: unknown[]) { void a; } }
  class Diagnostic { constructor(...a: unknown[]) { void a; } }
  const FileType = { Unknown: 0, File: 1, Directory: 2, SymbolicLink: 64 };
  const fsApi = {
    readDirectory: async (u: Uri) => fs.readdirSync(u.fsPath, { withFileTypes: true }).map((d) => [d.name, d.isDirectory() ? FileType.Directory : FileType.File]),
    readFile: async (u: Uri) => new Uint8Array(fs.readFileSync(u.fsPath)),
    stat: async (u: Uri) => { const s = fs.statSync(u.fsPath); return { type: s.isDirectory() ? FileType.Directory : FileType.File, size: s.size, mtime: s.mtimeMs, ctime: s.ctimeMs }; },
    writeFile: async (u: Uri, d: Uint8Array) => fs.writeFileSync(u.fsPath, d),
    createDirectory: async (u: Uri) => fs.mkdirSync(u.fsPath, { recursive: true }),
    delete: async (u: Uri) => fs.rmSync(u.fsPath, { recursive: true, force: true }),
  };
  const api: Record<string, unknown> = {
    Uri, EventEmitter, TreeItem, ThemeIcon, ThemeColor, MarkdownString, Disposable, Range, Position, Diagnostic, FileType,
    TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 }, TreeItemCheckboxState: { Unchecked: 0, Checked: 1 },
    StatusBarAlignment: { Left: 1, Right: 2 }, ViewColumn: { Active: -1, Beside: -2, One: 1 }, ProgressLocation: { Notification: 15, Window: 10 },
    UIKind: { Desktop: 1, Web: 2 }, DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 }, ConfigurationTarget: { Global: 1, Workspace: 2 },
    env: { uiKind: 1, remoteName: undefined, clipboard: { writeText: async () => undefined } },
    workspace: {
      workspaceFolders: [{ uri: Uri.file(workspace), name: 'ws', index: 0 }], isTrusted: true, textDocuments: [], fs: fsApi,
      getConfiguration: () => ({ get: (_k: string, d?: unknown) => d, update: async () => undefined, has: () => false }),
      createFileSystemWatcher: () => ({ onDidCreate: event(), onDidChange: event(), onDidDelete: event(), dispose() { /* */ } }),
      onDidChangeTextDocument: event(), onDidOpenTextDocument: event(), onDidCloseTextDocument: event(), onDidChangeConfiguration: event(), onDidSaveTextDocument: event(),
      getWorkspaceFolder: () => ({ uri: Uri.file(workspace), name: 'ws', index: 0 }), asRelativePath: (p: unknown) => String(p), findFiles: async () => [],
    },
    window: {
      createTreeView: () => ({ onDidChangeCheckboxState: event(), onDidChangeSelection: event(), onDidChangeVisibility: event(), reveal: async () => undefined, dispose() { /* */ } }),
      registerTreeDataProvider: () => disposable, registerWebviewPanelSerializer: () => disposable,
      createOutputChannel: () => ({ appendLine() { /* */ }, append() { /* */ }, show() { /* */ }, dispose() { /* */ } }),
      createStatusBarItem: () => ({ show() { /* */ }, hide() { /* */ }, dispose() { /* */ } }),
      onDidChangeActiveTextEditor: event(), activeTextEditor: undefined,
      showInformationMessage: async () => undefined, showWarningMessage: async () => undefined, showErrorMessage: async () => undefined,
    },
    commands: { registerCommand: () => disposable, executeCommand: async () => undefined, getCommands: async () => [] },
    languages: { createDiagnosticCollection: () => ({ set() { /* */ }, delete() { /* */ }, clear() { /* */ }, dispose() { /* */ } }) },
  };
  return new Proxy(api, { get: (t, k) => (k in t ? t[k as string] : noop()) });
}

async function main(): Promise<void> {
  const workspace = process.argv[2];
  const vscode = makeVscode(workspace);
  const M = Module as unknown as { _load: (req: string, parent: unknown, isMain: boolean) => unknown };
  const orig = M._load;
  M._load = function (req, parent, isMain) { return req === 'vscode' ? vscode : orig.call(this, req, parent, isMain); };
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const ext = Module.createRequire(__filename)(path.join(ROOT, 'dist/extension.js')) as { activate(ctx: unknown): { runs: { getChildren(n?: unknown): Promise<unknown[]>; getTreeItem(n: unknown): unknown } } };
  const t1 = performance.now();
  const context = { subscriptions: [] as unknown[], extensionUri: { fsPath: ROOT }, extensionPath: ROOT, globalState: { get: () => undefined, update: async () => undefined }, workspaceState: { get: () => undefined, update: async () => undefined }, asAbsolutePath: (p: string) => path.join(ROOT, p), storageUri: undefined, globalStorageUri: { fsPath: '/tmp' } };
  const api = ext.activate(context);
  const t2 = performance.now();
  // list every run: the Runs view's tree, every node's TreeItem
  let items = 0;
  const walk = async (n?: unknown): Promise<void> => {
    for (const c of await api.runs.getChildren(n)) { api.runs.getTreeItem(c); items++; await walk(c); }
  };
  await walk();
  const t3 = performance.now();
  (globalThis as { gc?: () => void }).gc?.();
  const after = process.memoryUsage();
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  process.stdout.write(JSON.stringify({
    requireMs: t1 - t0, activateMs: t2 - t1, listRunsMs: t3 - t2, treeItems: items,
    heapBeforeMiB: before.heapUsed / 2 ** 20, heapAfterMiB: after.heapUsed / 2 ** 20, heapDeltaMiB: (after.heapUsed - before.heapUsed) / 2 ** 20,
    rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024,
  }) + '\n');
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
