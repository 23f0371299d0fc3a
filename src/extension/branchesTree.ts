/**
 * The Branches view: the experiment's backbone as the root, its candidate exit points as children
 * with a checkbox each (ticked = an exit is placed there). The experiment file is the single
 * source of truth: ticks become WorkspaceEdits on the file, and any change to the file refreshes
 * the tree.
 */
import * as vscode from 'vscode';
import { describeBackbone, formatMacs, type BackboneDescription, type ExitPoint } from '../core/backbones';
import { EXPERIMENT_GLOB, EXPERIMENT_SUFFIX, ViewItems } from './constants';
import type { Experiment } from '../core/experiment';
import { formatExperiment, readExperiment, withExit } from './experimentFile';

export type BranchNode =
  | { kind: 'backbone'; file: vscode.Uri; description: BackboneDescription }
  | { kind: 'point'; file: vscode.Uri; point: ExitPoint; total: number; placed: boolean }
  | { kind: 'problem'; file: vscode.Uri; message: string };

export const isExperimentFile = (uri: vscode.Uri) => uri.path.endsWith(EXPERIMENT_SUFFIX);

export class BranchesProvider implements vscode.TreeDataProvider<BranchNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<BranchNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private file: vscode.Uri | undefined;
  private experiment: Experiment | undefined;

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher(EXPERIMENT_GLOB);
    this.disposables.push(
      watcher,
      watcher.onDidCreate(() => this.refresh()),
      watcher.onDidDelete(() => this.refresh()),
      watcher.onDidChange((u) => this.refreshIf(u)),
      vscode.workspace.onDidChangeTextDocument((e) => this.refreshIf(e.document.uri)),
      vscode.window.onDidChangeActiveTextEditor((e) => {
        if (e && isExperimentFile(e.document.uri) && e.document.uri.toString() !== this.file?.toString()) this.refresh();
      }),
    );
  }

  /** The experiment file the tree shows: the active editor's when it is one, else the first found. */
  async currentFile(): Promise<vscode.Uri | undefined> {
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active && isExperimentFile(active)) return active;
    if (this.file && (await exists(this.file))) return this.file;
    const found = await vscode.workspace.findFiles(EXPERIMENT_GLOB, '**/node_modules/**', 20);
    found.sort((a, b) => a.path.localeCompare(b.path));
    return found[0];
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  private refreshIf(uri: vscode.Uri): void {
    if (this.file && uri.toString() === this.file.toString()) this.refresh();
  }

  getTreeItem(node: BranchNode): vscode.TreeItem {
    switch (node.kind) {
      case 'backbone': {
        const d = node.description;
        const item = new vscode.TreeItem(d.label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `backbone:${node.file.toString()}`;
        item.description = `width ${d.config.width} · ${formatMacs(d.total)}MACs`;
        item.tooltip = new vscode.MarkdownString(
          `**${d.label}** (${vscode.workspace.asRelativePath(node.file)})\n\n` +
            `input ${d.config.input.join('×')}, ${d.config.classes} classes, width ×${d.config.width}\n\n` +
            `${formatMacs(d.total)}MACs, ${d.parameters.toLocaleString('en')} parameters, ${d.points.length} candidate exit points`,
        );
        item.iconPath = new vscode.ThemeIcon('circuit-board');
        item.contextValue = ViewItems.backbone;
        item.resourceUri = node.file;
        return item;
      }
      case 'point': {
        const { point, total } = node;
        const item = new vscode.TreeItem(point.id, vscode.TreeItemCollapsibleState.None);
        item.id = `point:${node.file.toString()}#${point.id}`;
        const share = ((100 * point.macs) / total).toFixed(1);
        item.description = `${point.shape.join('×')} · ${share}%`;
        item.tooltip = `Exit point #${point.index} "${point.id}": output ${point.shape.join('×')}, ` +
          `${formatMacs(point.macs)}MACs to reach (${share}% of the full network)` +
          (node.placed ? ' — an exit is placed here' : ' — tick to place an exit here');
        item.checkboxState = node.placed ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked;
        item.contextValue = node.placed ? ViewItems.placedExit : ViewItems.point;
        return item;
      }
      case 'problem': {
        const item = new vscode.TreeItem(vscode.workspace.asRelativePath(node.file), vscode.TreeItemCollapsibleState.None);
        item.description = node.message;
        item.tooltip = node.message;
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
        item.contextValue = ViewItems.problem;
        item.command = { command: 'vscode.open', title: 'Open', arguments: [node.file] };
        return item;
      }
    }
  }

  async getChildren(node?: BranchNode): Promise<BranchNode[]> {
    if (!node) return this.roots();
    if (node.kind !== 'backbone' || !this.experiment) return [];
    const placed = new Set(this.experiment.exits.map((e) => e.point));
    return node.description.points.map((point) => ({ kind: 'point', file: node.file, point, total: node.description.total, placed: placed.has(point.id) }));
  }

  private async roots(): Promise<BranchNode[]> {
    const file = (this.file = await this.currentFile());
    this.experiment = undefined;
    if (!file) return [];
    const text = await readText(file);
    const read = readExperiment(text);
    if (!read.ok) return [{ kind: 'problem', file, message: read.error }];
    try {
      this.experiment = read.value;
      return [{ kind: 'backbone', file, description: describeBackbone(read.value.backbone) }];
    } catch (e) {
      return [{ kind: 'problem', file, message: (e as Error).message }];
    }
  }

  /** Places (`on`) or removes the exit at each point, as one undoable edit of the file. */
  async setExits(file: vscode.Uri, changes: ReadonlyArray<{ point: string; on: boolean }>): Promise<boolean> {
    const doc = await vscode.workspace.openTextDocument(file);
    const read = readExperiment(doc.getText());
    if (!read.ok) {
      void vscode.window.showErrorMessage(`Early Exit: cannot edit ${vscode.workspace.asRelativePath(file)}: ${read.error}`);
      return false;
    }
    const order = describeBackbone(read.value.backbone).points.map((p) => p.id);
    let json = read.json;
    for (const c of changes) json = withExit(json, c.point, c.on, order);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(file, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), formatExperiment(json));
    const ok = await vscode.workspace.applyEdit(edit);
    if (ok) await doc.save();
    return ok;
  }

  /** Handler for the tree view's checkbox changes. */
  async onCheckboxes(e: vscode.TreeCheckboxChangeEvent<BranchNode>): Promise<void> {
    const byFile = new Map<string, { file: vscode.Uri; changes: { point: string; on: boolean }[] }>();
    for (const [node, state] of e.items) {
      if (node.kind !== 'point') continue;
      const key = node.file.toString();
      if (!byFile.has(key)) byFile.set(key, { file: node.file, changes: [] });
      byFile.get(key)!.changes.push({ point: node.point.id, on: state === vscode.TreeItemCheckboxState.Checked });
    }
    for (const { file, changes } of byFile.values()) await this.setExits(file, changes);
    this.refresh();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

export async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

/** The open document's text when it is open (unsaved edits count), else the file on disk. */
async function readText(uri: vscode.Uri): Promise<string> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open.getText();
  return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
}
