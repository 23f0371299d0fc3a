/**
 * The Branches view: the experiment's backbone as the root, its candidate exit points as children
 * with a checkbox each (ticked = an exit is placed there). The experiment file is the single
 * source of truth: ticks become WorkspaceEdits on the file, and any change to the file refreshes
 * the tree.
 */
import * as vscode from 'vscode';
import { describeBackbone, formatMacs, type BackboneDescription, type ExitPoint } from '../spec/backbones';
import { EXPERIMENT_GLOB, EXPERIMENT_SUFFIX, ViewItems } from './constants';
import type { Experiment } from '../spec/experiment';
import { costModel, resolveExits } from '../spec/exit-costs';
import type { ExitConfig } from '../spec/exits';
import { formatExperiment, readExperiment, withExit, type PlacedExit } from './experimentFile';
import { costDescription, gateDescription, headDescription } from './presentation';
import { methodDescription, recipeItems, withRecipe, type RecipeItem, type RecipeValue } from './recipes';
import type { MethodConfig } from '../spec/method';
import { documentText, tierTreeItem, withTierRows, type CutNode, type TiersNode } from './deployment';

/** What every child of a placed exit knows: the file, the exit as parsed (defaults filled) and its point. */
interface ExitRef { file: vscode.Uri; exit: ExitConfig; point: ExitPoint }

export type BranchNode =
  | { kind: 'backbone'; file: vscode.Uri; description: BackboneDescription }
  /** `tier`: the tier that runs this block, when the experiment has a plan over tiers */
  | { kind: 'point'; file: vscode.Uri; point: ExitPoint; total: number; placed: boolean; tier?: string }
  /** f_b of a placed exit. */
  | ({ kind: 'head' } & ExitRef)
  /** g_b of a placed exit; `gated` is false for methods without gates (BranchyNet, baseline). */
  | ({ kind: 'gate'; gated: boolean; method: string } & ExitRef)
  /** γ_b: MACs to reach exit b = backbone to its point + heads and gates of exits 1…b (Eq. 2). */
  | ({ kind: 'cost'; gamma: number; full: number; headMacs: number; gateMacs: number } & ExitRef)
  /** How the network is trained: the method, and under it its training recipes (method.warmup, …). */
  | { kind: 'method'; file: vscode.Uri; method: MethodConfig; epochs: number }
  | { kind: 'recipe'; file: vscode.Uri; item: RecipeItem; method: MethodConfig; epochs: number }
  | { kind: 'problem'; file: vscode.Uri; message: string }
  | TiersNode
  | CutNode;

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
        item.description = `width ${d.config.width} · ${formatMacs(d.total)} MACs`;
        item.tooltip = new vscode.MarkdownString(
          `**${d.label}** (${vscode.workspace.asRelativePath(node.file)})\n\n` +
            `input ${d.config.input.join('×')}, ${d.config.classes} classes, width ×${d.config.width}\n\n` +
            `${formatMacs(d.total)} MACs, ${d.parameters.toLocaleString('en')} parameters, ${d.points.length} candidate exit points`,
        );
        item.iconPath = new vscode.ThemeIcon('circuit-board');
        item.contextValue = ViewItems.backbone;
        item.resourceUri = node.file;
        return item;
      }
      case 'point': {
        const { point, total } = node;
        const item = new vscode.TreeItem(point.id, node.placed ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        // The id changes with `placed` so a newly placed exit shows its children expanded.
        item.id = `point:${node.file.toString()}#${point.id}${node.placed ? ':exit' : ''}`;
        const share = ((100 * point.macs) / total).toFixed(1);
        item.description = `${point.shape.join('×')} · ${share}%${node.tier ? ` · ${node.tier}` : ''}`;
        item.tooltip = `Exit point #${point.index} "${point.id}": output ${point.shape.join('×')}, ` +
          `${formatMacs(point.macs)} MACs to reach (${share}% of the full network)` +
          (node.placed ? ' — an exit is placed here' : ' — tick to place an exit here');
        item.checkboxState = node.placed ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked;
        item.contextValue = node.placed ? ViewItems.placedExit : ViewItems.point;
        return item;
      }
      case 'head': {
        const item = new vscode.TreeItem('head f_b', vscode.TreeItemCollapsibleState.None);
        item.id = `head:${node.file.toString()}#${node.exit.point}`;
        item.description = headDescription(node.exit, node.point.shape[2]);
        // every exit has head, gate and cost rows: a screen reader (and a test) must hear which exit's
        item.accessibilityInformation = { label: `head f_b of the exit at ${node.exit.point}: ${item.description}` };
        item.tooltip = new vscode.MarkdownString(
          `Auxiliary classifier of the exit at **${node.exit.point}**: ${item.description}.\n\n` +
            'pool = average pool + dense; conv-pool = conv3×3-BN-ReLU + pool + dense; pool-mlp = pool + hidden dense-ReLU + dense. Use the pencil to change it.',
        );
        item.iconPath = new vscode.ThemeIcon('symbol-class');
        item.contextValue = ViewItems.exitHead;
        return item;
      }
      case 'gate': {
        const item = new vscode.TreeItem('gate g_b', vscode.TreeItemCollapsibleState.None);
        item.id = `gate:${node.file.toString()}#${node.exit.point}`;
        item.description = gateDescription(node.exit, node.gated, node.method);
        item.accessibilityInformation = { label: `gate g_b of the exit at ${node.exit.point}: ${item.description}` };
        item.tooltip = `g_b = sigmoid(dense(head features))${node.exit.gate.hidden ? ` with a hidden ReLU layer of ${node.exit.gate.hidden} units` : ''}. ` +
          'An input leaves at this exit when g_b ≥ τ (Option 2).';
        item.iconPath = new vscode.ThemeIcon(node.gated ? 'debug-breakpoint-conditional' : 'debug-breakpoint-conditional-unverified');
        item.contextValue = ViewItems.exitGate;
        return item;
      }
      case 'cost': {
        const item = new vscode.TreeItem('cost γ_b', vscode.TreeItemCollapsibleState.None);
        item.id = `cost:${node.file.toString()}#${node.exit.point}`;
        item.description = costDescription(node.gamma, node.full);
        item.accessibilityInformation = { label: `cost γ_b of the exit at ${node.exit.point}: ${item.description}` };
        item.tooltip = `γ_b = backbone up to ${node.exit.point} (${formatMacs(node.point.macs)} MACs) + the heads and gates of this and every earlier exit; ` +
          `this exit's head ${formatMacs(node.headMacs)} MACs, gate ${formatMacs(node.gateMacs)} MACs. ` +
          `${((100 * node.gamma) / node.full).toFixed(1)}% of the full network (${formatMacs(node.full)} MACs).`;
        item.iconPath = new vscode.ThemeIcon('dashboard');
        item.contextValue = ViewItems.exitCost;
        return item;
      }
      case 'method': {
        const gated = node.method.name === 'proposed';
        const item = new vscode.TreeItem(`training: ${node.method.name}`, gated ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        item.id = `method:${node.file.toString()}`;
        item.description = methodDescription(node.method);
        item.tooltip = new vscode.MarkdownString(gated
          ? `How the gates learn. Every recipe below is off by default: that is the paper's method (CE on the soft-conditional output + λ·C). Use the pencil on a recipe to change it; the experiment file is rewritten.`
          : `Training recipes shape how gates learn; "${node.method.name}" has no gates. Set method.name to "proposed" to use them.`);
        item.iconPath = new vscode.ThemeIcon('beaker');
        item.contextValue = ViewItems.method;
        return item;
      }
      case 'recipe': {
        const item = new vscode.TreeItem(node.item.label, vscode.TreeItemCollapsibleState.None);
        item.id = `recipe:${node.file.toString()}#${node.item.field}`;
        item.description = node.item.description;
        item.tooltip = node.item.tooltip;
        item.iconPath = new vscode.ThemeIcon(node.item.on ? 'pass-filled' : 'circle-large-outline');
        item.contextValue = ViewItems.recipe;
        return item;
      }
      case 'tiers':
      case 'cut':
        return tierTreeItem(node);
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
    const x = this.experiment;
    if (!x) return [];
    if (node.kind === 'method') return recipeItems(node.method).map((item) => ({ kind: 'recipe', file: node.file, item, method: node.method, epochs: node.epochs }));
    if (node.kind === 'backbone') {
      const placed = new Set(x.exits.map((e) => e.point));
      const points = node.description.points.map((point) => ({ kind: 'point' as const, file: node.file, point, total: node.description.total, placed: placed.has(point.id) }));
      // "Move Cut Here" on a block is offered only while there is a plan to move a cut of
      void vscode.commands.executeCommand('setContext', 'earlyExit.hasTierPlan', !!x.deployment);
      return x.deployment ? withTierRows(node.file, x.deployment, node.description, points) : points;
    }
    if (node.kind !== 'point' || !node.placed) return [];
    const exit = x.exits.find((e) => e.point === node.point.id);
    if (!exit) return [];
    const gated = x.method.name === 'proposed';
    const config = { backbone: x.backbone, exits: x.exits, gated };
    const costs = costModel(config);
    const b = resolveExits(config).findIndex((e) => e.point === exit.point);
    const ref: ExitRef = { file: node.file, exit, point: node.point };
    return [
      { kind: 'head', ...ref },
      { kind: 'gate', gated, method: x.method.name, ...ref },
      { kind: 'cost', gamma: costs.exits[b], full: costs.full, headMacs: costs.headMacs[b], gateMacs: costs.gateMacs[b], ...ref },
    ];
  }

  getParent(): undefined {
    return undefined;
  }

  private async roots(): Promise<BranchNode[]> {
    const file = (this.file = await this.currentFile());
    this.experiment = undefined;
    if (!file) return [];
    const text = await documentText(file);
    const read = readExperiment(text);
    if (!read.ok) return [{ kind: 'problem', file, message: read.error }];
    try {
      this.experiment = read.value;
      return [
        { kind: 'backbone', file, description: describeBackbone(read.value.backbone) },
        { kind: 'method', file, method: read.value.method, epochs: read.value.training.epochs },
      ];
    } catch (e) {
      return [{ kind: 'problem', file, message: (e as Error).message }];
    }
  }

  /**
   * Rewrites the experiment file with `change(json, experiment)` as one undoable WorkspaceEdit
   * (two-space JSON, as `early-exit init` writes it) and saves it. Refuses a file that does not
   * parse, and an edit whose result would not.
   */
  async editFile(file: vscode.Uri, change: (json: Record<string, unknown>, x: Experiment) => Record<string, unknown> | undefined): Promise<boolean> {
    const doc = await vscode.workspace.openTextDocument(file);
    const read = readExperiment(doc.getText());
    if (!read.ok) {
      void vscode.window.showErrorMessage(`Early Exit: cannot edit ${vscode.workspace.asRelativePath(file)}: ${read.error}`);
      return false;
    }
    const json = change(read.json, read.value);
    if (!json) return false;
    const text = formatExperiment(json);
    // never write a file the parser would refuse: say why in one line, leave it as it is
    const check = readExperiment(text);
    if (!check.ok) {
      void vscode.window.showErrorMessage(`Early Exit: not changed: ${check.error}`);
      return false;
    }
    if (text === doc.getText()) return true;
    const edit = new vscode.WorkspaceEdit();
    edit.replace(file, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text);
    const ok = await vscode.workspace.applyEdit(edit);
    if (ok) await doc.save();
    return ok;
  }

  /** Places (`on`) or removes the exit at each point, as one undoable edit of the file. */
  async setExits(file: vscode.Uri, changes: ReadonlyArray<{ point: string; on: boolean }>): Promise<boolean> {
    return this.editFile(file, (json, x) => {
      const order = describeBackbone(x.backbone).points.map((p) => p.id);
      for (const c of changes) json = withExit(json, c.point, c.on, order);
      return json;
    });
  }

  /** Changes the exit placed at `point` (its head or gate), as one undoable edit; other fields stay as written. */
  async editExit(file: vscode.Uri, point: string, change: (exit: PlacedExit) => PlacedExit): Promise<boolean> {
    return this.editFile(file, (json) => {
      const exits = (Array.isArray(json.exits) ? json.exits : []) as PlacedExit[];
      const i = exits.findIndex((e) => e.point === point);
      if (i < 0) {
        void vscode.window.showErrorMessage(`Early Exit: no exit is placed at ${point} in ${vscode.workspace.asRelativePath(file)}.`);
        return undefined;
      }
      return { ...json, exits: exits.map((e, k) => (k === i ? change(e) : e)) };
    });
  }

  /** Changes one training recipe of the experiment's method, as one undoable edit; other fields stay as written. */
  async editRecipe(file: vscode.Uri, v: RecipeValue): Promise<boolean> {
    return this.editFile(file, (json) => withRecipe(json, v));
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
