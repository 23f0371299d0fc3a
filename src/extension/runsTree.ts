/**
 * The Runs view: the run folders under the runs directory (setting `earlyExit.runsDirectory`),
 * grouped by experiment, with a status icon read from each run's `status.json`. Read-only: it
 * never needs the worker alive. Live progress and context actions come with the run manager.
 */
import * as vscode from 'vscode';
import type { RunState, RunStatus } from '../core/run-types';
import { Settings, ViewItems } from './constants';

export type RunNode =
  | { kind: 'experiment'; name: string; runs: RunEntry[] }
  | { kind: 'run'; run: RunEntry };

export interface RunEntry {
  folder: vscode.Uri;
  status: Partial<RunStatus> & { id: string };
}

const ICONS: Record<RunState, [string, string?]> = {
  queued: ['clock'],
  running: ['sync~spin', 'charts.blue'],
  finished: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  cancelled: ['circle-slash', 'disabledForeground'],
};

/** The runs directories of the open workspace folders. */
export function runsDirectories(): vscode.Uri[] {
  const rel = vscode.workspace.getConfiguration(Settings.section).get<string>(Settings.runsDirectory) || '.early-exit/runs';
  return (vscode.workspace.workspaceFolders ?? []).map((f) => vscode.Uri.joinPath(f.uri, rel));
}

export class RunsProvider implements vscode.TreeDataProvider<RunNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher('**/status.json');
    this.disposables.push(
      watcher,
      watcher.onDidCreate(() => this.refresh()),
      watcher.onDidChange(() => this.refresh()),
      watcher.onDidDelete(() => this.refresh()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration(`${Settings.section}.${Settings.runsDirectory}`) && this.refresh()),
    );
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    if (node.kind === 'experiment') {
      const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Expanded);
      item.description = `${node.runs.length} run${node.runs.length === 1 ? '' : 's'}`;
      item.iconPath = new vscode.ThemeIcon('beaker');
      return item;
    }
    const s = node.run.status;
    const item = new vscode.TreeItem(s.id, vscode.TreeItemCollapsibleState.None);
    const state = s.state ?? 'queued';
    const [icon, color] = ICONS[state] ?? ['question'];
    item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
    item.description = [state, s.epochs ? `epoch ${s.epoch ?? 0}/${s.epochs}` : undefined, s.backend ?? undefined].filter(Boolean).join(' · ');
    item.tooltip = s.error ? `${state}: ${s.error}` : `${state} — ${node.run.folder.fsPath}`;
    item.contextValue = `${ViewItems.run}.${state}`;
    item.resourceUri = node.run.folder;
    return item;
  }

  async getChildren(node?: RunNode): Promise<RunNode[]> {
    if (node) return node.kind === 'experiment' ? node.runs.map((run) => ({ kind: 'run', run })) : [];
    const runs = await listRuns();
    const groups = new Map<string, RunEntry[]>();
    for (const r of runs) {
      const name = r.status.experiment ?? '(unknown experiment)';
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name)!.push(r);
    }
    return [...groups].map(([name, list]) => ({ kind: 'experiment', name, runs: list }));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** Every run folder with a readable status.json, newest first. */
export async function listRuns(): Promise<RunEntry[]> {
  const out: RunEntry[] = [];
  for (const dir of runsDirectories()) {
    let entries: [string, vscode.FileType][];
    try {
      if (!((await vscode.workspace.fs.stat(dir)).type & vscode.FileType.Directory)) continue;
      entries = await vscode.workspace.fs.readDirectory(dir);
    } catch {
      continue; // no runs yet
    }
    for (const [name, type] of entries) {
      if (type !== vscode.FileType.Directory) continue;
      const folder = vscode.Uri.joinPath(dir, name);
      try {
        const status = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, 'status.json'))));
        out.push({ folder, status: { ...status, id: status.id ?? name } });
      } catch {
        out.push({ folder, status: { id: name, error: 'status.json is missing or unreadable', state: 'failed' } });
      }
    }
  }
  return out.sort((a, b) => String(b.status.createdAt ?? '').localeCompare(String(a.status.createdAt ?? '')));
}
