/**
 * The plan over tiers in the editor: the Branches view's tiers node and cut rows (each block shows
 * its tier), the commands that choose a preset and move a cut (edits of the experiment file's
 * `deployment` section, undoable), and finding the experiment file a run came from, so that its
 * Results panel follows the file and saves what is changed in the panel.
 */
import * as vscode from 'vscode';
import { describeBackbone, type BackboneDescription } from '../spec/backbones';
import { parseDeployment } from '../spec/experiment';
import type { RunResults } from '../spec/results';
import { presetById, TIER_PRESETS, type DeploymentSpec } from '../spec/tiers';
import type { DeploymentState } from '../protocol/webview';
import type { BranchesProvider, BranchNode } from './branchesTree';
import { Commands, EXPERIMENT_GLOB, ViewItems } from './constants';
import { readExperiment } from './experimentFile';
import {
  experimentMatchesRun, tierLayout, tiersDescription, tiersTooltip, withCutAt, withCutMoved, withDeployment, withPreset, type CutView,
} from './tierPresentation';

/** The plan's row at the top of the backbone's children. */
export interface TiersNode { kind: 'tiers'; file: vscode.Uri; deployment: DeploymentSpec }
/** A cut between two tiers, below the last block of the tier before it. */
export interface CutNode { kind: 'cut'; file: vscode.Uri; deployment: DeploymentSpec; cut: CutView }

/**
 * The backbone's children with a plan: the tiers row, then each block with its tier's name, each
 * cut row after the block it follows (cuts at "input" come first).
 */
export function withTierRows<P extends { kind: 'point'; point: { index: number } }>(
  file: vscode.Uri, deployment: DeploymentSpec, desc: BackboneDescription, points: P[],
): (P | TiersNode | CutNode)[] {
  const layout = tierLayout(deployment, desc);
  const ids = desc.points.map((p) => p.id);
  const cutsAfter = (block: number) => layout.cuts.filter((c) => ids.indexOf(c.after) === block).map((cut): CutNode => ({ kind: 'cut', file, deployment, cut }));
  const out: (P | TiersNode | CutNode)[] = [{ kind: 'tiers', file, deployment }, ...cutsAfter(-1)];
  points.forEach((p, i) => out.push({ ...p, tier: layout.tierOfBlock[i] }, ...cutsAfter(i)));
  return out;
}

export function tierTreeItem(node: TiersNode | CutNode): vscode.TreeItem {
  if (node.kind === 'tiers') {
    const item = new vscode.TreeItem('tiers', vscode.TreeItemCollapsibleState.None);
    item.id = `tiers:${node.file.toString()}`;
    item.description = tiersDescription(node.deployment);
    item.tooltip = new vscode.MarkdownString(tiersTooltip(node.deployment));
    item.iconPath = new vscode.ThemeIcon('server-environment');
    item.contextValue = ViewItems.tiers;
    return item;
  }
  const c = node.cut;
  const item = new vscode.TreeItem(`${c.from.name} → ${c.to.name}`, vscode.TreeItemCollapsibleState.None);
  item.id = `cut:${node.file.toString()}#${c.index}`;
  item.description = c.description;
  item.tooltip = `Cut ${c.index + 1}: ${c.from.name} runs up to ${c.after === 'input' ? 'nothing (it sends the raw input)' : c.after}, then sends the map over ${c.from.link!.name} to ${c.to.name}. `
    + 'Move it with the arrows, or with "Move Cut Here" on a block.';
  item.iconPath = new vscode.ThemeIcon('arrow-small-right');
  item.contextValue = `${ViewItems.tierCut}${c.canMoveUp ? '.up' : ''}${c.canMoveDown ? '.down' : ''}`;
  return item;
}

/** Rewrites the plan of `file` (null removes it), as one undoable edit; refuses a file that does not parse. */
export async function saveDeployment(branches: BranchesProvider, file: vscode.Uri, d: DeploymentSpec | null): Promise<boolean> {
  return branches.editFile(file, (json, x) => {
    if (d) {
      try {
        parseDeployment(d, x.backbone);
      } catch (e) {
        void vscode.window.showErrorMessage(`Early Exit: ${(e as Error).message}`);
        return undefined;
      }
    }
    return withDeployment(json, d);
  });
}

async function fileAndExperiment(branches: BranchesProvider, target?: vscode.Uri | BranchNode) {
  const file = target instanceof vscode.Uri ? target : target && 'file' in target ? target.file : await branches.currentFile();
  if (!file) {
    void vscode.window.showWarningMessage('Early Exit: no *.exits.json file in the workspace; run "Early Exit: New Experiment" first.');
    return undefined;
  }
  const read = readExperiment((await vscode.workspace.openTextDocument(file)).getText());
  if (!read.ok) {
    void vscode.window.showErrorMessage(`Early Exit: cannot plan tiers for ${vscode.workspace.asRelativePath(file)}: ${read.error}`);
    return undefined;
  }
  return { file, x: read.value };
}

/** Choose Tier Preset: a quick pick of the presets (or `presetId` from code); keeps the cuts when the tier count allows. */
async function chooseTierPreset(branches: BranchesProvider, target?: vscode.Uri | BranchNode, presetId?: string): Promise<boolean> {
  const fx = await fileAndExperiment(branches, target);
  if (!fx) return false;
  let id = presetId;
  if (!id) {
    const current = fx.x.deployment?.preset;
    const picked = await vscode.window.showQuickPick(TIER_PRESETS.map((p) => ({
      label: p.label, description: p.id === current ? `${p.id} (current)` : p.id, detail: `${p.tiers.map((t) => t.name).join(' → ')}: ${p.description}`, id: p.id,
    })), { title: 'Early Exit: Tier Preset', placeHolder: 'Where the network runs: presets are starting points with their sources, not your hardware' });
    id = picked?.id;
  }
  const preset = id ? presetById(id) : undefined;
  if (!preset) return false;
  return saveDeployment(branches, fx.file, withPreset(fx.x, preset));
}

async function moveCut(branches: BranchesProvider, node: CutNode | undefined, delta: number): Promise<boolean> {
  if (node?.kind !== 'cut') return false;
  const fx = await fileAndExperiment(branches, node.file);
  if (!fx?.x.deployment) return false;
  const next = withCutMoved(fx.x.deployment, describeBackbone(fx.x.backbone).points.map((p) => p.id), node.cut.index, delta);
  return next ? saveDeployment(branches, fx.file, next) : false;
}

/** Move Cut Here (on a block): the cut to move is asked when there are several, or given (`cutIndex`) from code. */
async function moveCutHere(branches: BranchesProvider, node: BranchNode | undefined, cutIndex?: number): Promise<boolean> {
  if (node?.kind !== 'point') return false;
  const fx = await fileAndExperiment(branches, node.file);
  const d = fx?.x.deployment;
  if (!fx || !d) {
    void vscode.window.showInformationMessage('Early Exit: choose a tier preset first ("Early Exit: Choose Tier Preset").');
    return false;
  }
  const desc = describeBackbone(fx.x.backbone);
  const layout = tierLayout(d, desc);
  let k = cutIndex;
  if (k === undefined) {
    if (layout.cuts.length === 1) k = 0;
    else {
      const picked = await vscode.window.showQuickPick(layout.cuts.map((c) => ({ label: `${c.from.name} → ${c.to.name}`, description: `now ${c.description}`, k: c.index })),
        { title: `Early Exit: cut after ${node.point.id}`, placeHolder: 'Which cut moves here?' });
      k = picked?.k;
    }
  }
  if (k === undefined || k < 0 || k >= layout.cuts.length) return false;
  return saveDeployment(branches, fx.file, withCutAt(d, desc.points.map((p) => p.id), k, node.point.index - 1));
}

export function registerDeploymentCommands(branches: BranchesProvider): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(Commands.chooseTierPreset, (target?: vscode.Uri | BranchNode, presetId?: string) => chooseTierPreset(branches, target, presetId)),
    vscode.commands.registerCommand(Commands.moveCutUp, (node?: CutNode) => moveCut(branches, node, -1)),
    vscode.commands.registerCommand(Commands.moveCutDown, (node?: CutNode) => moveCut(branches, node, +1)),
    vscode.commands.registerCommand(Commands.moveCutHere, (node?: BranchNode, cutIndex?: number) => moveCutHere(branches, node, cutIndex)),
    vscode.commands.registerCommand(Commands.removeTierPlan, async (target?: vscode.Uri | BranchNode) => {
      const fx = await fileAndExperiment(branches, target);
      return fx?.x.deployment ? saveDeployment(branches, fx.file, null) : false;
    }),
  ];
}

/** The experiment file in the workspace that a run was trained from (same name, backbone and exits), if any. */
export async function experimentFileForRun(experimentName: string | undefined, results: Pick<RunResults, 'backbone' | 'points'>): Promise<vscode.Uri | undefined> {
  const files = await vscode.workspace.findFiles(EXPERIMENT_GLOB, '**/node_modules/**', 100);
  files.sort((a, b) => a.path.localeCompare(b.path));
  for (const f of files) {
    const read = readExperiment(await documentText(f));
    if (read.ok && experimentMatchesRun(read.value, experimentName, results)) return f;
  }
  return undefined;
}

/** The plan in `file` as the panel receives it. */
export async function deploymentStateOf(file: vscode.Uri): Promise<DeploymentState> {
  const rel = vscode.workspace.asRelativePath(file);
  const read = readExperiment(await documentText(file));
  if (!read.ok) return { deployment: null, source: 'none', file: rel, problem: `${rel}: ${read.error}` };
  return read.value.deployment ? { deployment: read.value.deployment, source: 'workspace', file: rel } : { deployment: null, source: 'none', file: rel };
}

/** The open document's text when it is open (unsaved edits count), else the file on disk. */
export async function documentText(uri: vscode.Uri): Promise<string> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  return open ? open.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
}
