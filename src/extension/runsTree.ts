/**
 * The Runs view: the run folders under the runs directory (setting `earlyExit.runsDirectory`),
 * grouped by experiment and, inside one, by sweep, with a status icon from each run's
 * `status.json`. It never needs the worker alive; while this window trains a run, the run's item
 * shows the worker's live progress (epoch, share done, loss). Items carry `run.<state>` context
 * values for the Open Results / Stop / Reveal / Delete actions.
 */
import * as vscode from 'vscode';
import type { RunState, RunStatus } from '../spec/run-types';
import { RUN_FILES, runFileFix, statusProblem } from '../spec/run-files';
import { orphanPatch } from '../runs/store';
import { Commands, Settings, ViewItems } from './constants';
import { groupRuns, runDescription, runLabel, sweepDescription, sweepState, type LiveProgress } from './presentation';

export type RunNode =
  | { kind: 'experiment'; name: string; runs: RunEntry[]; children: RunNode[] }
  | { kind: 'sweep'; experiment: string; group: string; runs: RunEntry[] }
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

const icon = (state: RunState) => {
  const [id, color] = ICONS[state] ?? ['question'];
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
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
  /** Last progress of the runs this window trains, by run id. */
  private readonly live = new Map<string, LiveProgress>();

  /** A refresh asked for by the file watcher, not yet fired. */
  private pending: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher('**/status.json');
    // a sweep's workers rewrite their status.json files within milliseconds of each other: one
    // refresh for the burst, not one per file (each re-reads every run folder and re-renders the view)
    const soon = () => { this.pending ??= setTimeout(() => { this.pending = undefined; this.refresh(); }, 100); };
    this.disposables.push(
      watcher,
      watcher.onDidCreate(soon),
      watcher.onDidChange(soon),
      watcher.onDidDelete(soon),
      { dispose: () => clearTimeout(this.pending) },
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration(`${Settings.section}.${Settings.runsDirectory}`) && this.refresh()),
    );
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  /** Records a training run's latest progress (the view shows it on its next refresh). */
  setProgress(runId: string, p: LiveProgress): void {
    this.live.set(runId, p);
  }

  /** Forgets a run's live progress once its worker has exited. */
  clearProgress(runId: string): void {
    this.live.delete(runId);
  }

  progressOf(runId: string): LiveProgress | undefined {
    return this.live.get(runId);
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    if (node.kind === 'experiment') {
      const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `experiment:${node.name}`;
      item.description = `${node.runs.length} run${node.runs.length === 1 ? '' : 's'}`;
      item.iconPath = new vscode.ThemeIcon('beaker');
      item.contextValue = ViewItems.experiment;
      return item;
    }
    if (node.kind === 'sweep') {
      const item = new vscode.TreeItem('sweep', vscode.TreeItemCollapsibleState.Expanded);
      item.id = `sweep:${node.group}`;
      item.description = sweepDescription(node.runs);
      item.tooltip = `Sweep ${node.group}: ${node.runs.length} runs of ${node.experiment}`;
      item.iconPath = icon(sweepState(node.runs));
      item.contextValue = ViewItems.sweep;
      return item;
    }
    const s = node.run.status;
    const state = s.state ?? 'queued';
    const live = this.live.get(s.id);
    const item = new vscode.TreeItem(runLabel(s, live), vscode.TreeItemCollapsibleState.None);
    item.id = `run:${node.run.folder.toString()}`;
    item.iconPath = icon(state);
    item.description = runDescription(s, live);
    item.accessibilityInformation = { label: `run ${s.id}, ${item.label}, ${item.description}` };
    const lines = [`**${s.id}** — ${state}`, node.run.folder.fsPath];
    if (live) lines.push(`step ${live.step}/${live.steps} of epoch ${live.epoch}/${live.epochs}${live.imagesPerSecond ? `, ${live.imagesPerSecond.toFixed(0)} images/s` : ''}`);
    if (s.backend) lines.push(`backend ${s.backend}`);
    if (s.error) lines.push(`${state}: ${s.error}`);
    for (const w of s.warnings ?? []) lines.push(`warning: ${w}`);
    item.tooltip = new vscode.MarkdownString(lines.join('\n\n'));
    item.contextValue = `${ViewItems.run}.${state}`;
    item.resourceUri = node.run.folder;
    if (state === 'finished') item.command = { command: Commands.openResults, title: 'Open Results', arguments: [node] };
    return item;
  }

  async getChildren(node?: RunNode): Promise<RunNode[]> {
    if (node) {
      if (node.kind === 'experiment') return node.children;
      if (node.kind === 'sweep') return node.runs.map((run) => ({ kind: 'run', run }));
      return [];
    }
    const runs = await listRuns();
    // A run this window is not training whose process is gone will not end by itself (kill -9,
    // a crash, a closed terminal that had queued it): shown as the store marks it.
    for (const r of runs) {
      const patch = this.live.has(r.status.id) ? null : orphanPatch(r.status as RunStatus, r.folder.fsPath);
      if (patch) r.status = { ...r.status, ...patch };
    }
    return groupRuns(runs).map((g) => ({
      kind: 'experiment',
      name: g.name,
      runs: g.children.flatMap((c) => (c.kind === 'run' ? [c.run] : c.runs)),
      children: g.children.map((c): RunNode => (c.kind === 'run' ? { kind: 'run', run: c.run } : c)),
    }));
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
      if (type !== vscode.FileType.Directory || name.startsWith('.')) continue;
      const folder = vscode.Uri.joinPath(dir, name);
      try {
        const status = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, RUN_FILES.status))));
        const problem = statusProblem(status);
        if (problem) throw new Error(`not a valid ${RUN_FILES.status} (${problem})`);
        out.push({ folder, status: { ...status, id: status.id ?? name } });
      } catch (e) {
        const why = e instanceof SyntaxError ? `${RUN_FILES.status} is not valid JSON (cut off or overwritten)` : (e as Error).message.startsWith('not a valid') ? (e as Error).message : `${RUN_FILES.status} is missing or cannot be read`;
        out.push({ folder, status: { id: name, error: `${why}; ${runFileFix(folder.fsPath, RUN_FILES.status)}`, state: 'failed' } });
      }
    }
  }
  return out.sort((a, b) => String(b.status.createdAt ?? '').localeCompare(String(a.status.createdAt ?? '')));
}
