/**
 * The command palette's "Early Exit" commands. New Experiment and Select Backbone edit experiment
 * files, Train and Stop drive worker processes through the TrainingController, Open Results shows
 * the results panel, Compare Runs the comparison panel, Export Results a self-contained HTML report.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BACKBONE_LABELS, BACKBONE_NAMES, describeBackbone, formatMacs, type BackboneName } from '../core/backbones';
import { exists, type BranchesProvider } from './branchesTree';
import { Commands, EXPERIMENT_SUFFIX, Settings } from './constants';
import { experimentNameFromFile } from '../core/experiment';
import { formatExperiment, newExperimentJson, readExperiment, type PlacedExit } from './experimentFile';
import { openComparisonPanel, openResultsPanel } from './panels';
import { writeReport } from '../cli/report';
import { listRuns, type RunNode, type RunsProvider } from './runsTree';
import type { RunOutcome, TrainingController } from './training';

export interface CommandContext {
  context: vscode.ExtensionContext;
  branches: BranchesProvider;
  runs: RunsProvider;
  training: TrainingController;
}

/** What `earlyExit.train` resolves with: the runs and how they ended, or why it did not train. */
export type TrainResult = { ok: true; runs: RunOutcome[] } | { ok: false; error: string };

/** Options the commands accept from code (tests, other commands) instead of asking the user. */
export interface NewExperimentArgs {
  backbone?: BackboneName;
  /** Where to write; default `<backbone>.exits.json` (or `-2`, `-3`…) in the first workspace folder. */
  uri?: vscode.Uri;
}

const say = (message: string) => vscode.window.showInformationMessage(`Early Exit: ${message}`);

async function pickBackbone(placeHolder: string, current?: BackboneName): Promise<BackboneName | undefined> {
  const items = BACKBONE_NAMES.map((name) => {
    const d = describeBackbone({ name, width: 1, input: [32, 32, 3], classes: 10 });
    return {
      label: BACKBONE_LABELS[name],
      description: name === current ? `${name} (current)` : name,
      detail: `${d.points.length} candidate exit points · ${formatMacs(d.total)}MACs at width 1 on 32×32×3`,
      name,
    };
  });
  return (await vscode.window.showQuickPick(items, { placeHolder, title: 'Early Exit: Backbone' }))?.name;
}

async function newExperiment(args: NewExperimentArgs = {}): Promise<vscode.Uri | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!args.uri && !folder) {
    void vscode.window.showWarningMessage('Early Exit: open a folder first; New Experiment writes a *.exits.json file into it.');
    return undefined;
  }
  const backbone = args.backbone ?? (await pickBackbone('Backbone of the new experiment'));
  if (!backbone) return undefined;
  let uri = args.uri;
  for (let n = 1; !uri; n++) {
    const candidate = vscode.Uri.joinPath(folder!.uri, `${backbone}${n > 1 ? `-${n}` : ''}${EXPERIMENT_SUFFIX}`);
    if (!(await exists(candidate))) uri = candidate;
  }
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(formatExperiment(newExperimentJson(backbone, experimentNameFromFile(uri.path)))));
  await vscode.window.showTextDocument(uri, { preview: false });
  return uri;
}

async function selectBackbone(target?: vscode.Uri | BackboneName, ctx?: CommandContext, chosen?: BackboneName): Promise<boolean> {
  // Called from the palette (no args), from the tree (uri) or from code (uri, _, name).
  const file = target instanceof vscode.Uri ? target : await ctx!.branches.currentFile();
  if (!file) {
    void vscode.window.showWarningMessage('Early Exit: no *.exits.json file in the workspace; run "Early Exit: New Experiment" first.');
    return false;
  }
  const doc = await vscode.workspace.openTextDocument(file);
  const read = readExperiment(doc.getText());
  if (!read.ok) {
    void vscode.window.showErrorMessage(`Early Exit: cannot change the backbone of ${vscode.workspace.asRelativePath(file)}: ${read.error}`);
    return false;
  }
  const name = chosen ?? (typeof target === 'string' ? target : await pickBackbone('Backbone for this experiment', read.value.backbone.name));
  if (!name || name === read.value.backbone.name) return false;
  const valid = new Set(describeBackbone({ ...read.value.backbone, name }).points.map((p) => p.id));
  const written = (Array.isArray(read.json.exits) ? read.json.exits : []) as PlacedExit[];
  const exits = written.filter((e) => valid.has(e.point));
  const dropped = written.length - exits.length;
  const json = { ...read.json, backbone: { ...(read.json.backbone as object), name }, exits };
  const edit = new vscode.WorkspaceEdit();
  edit.replace(file, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), formatExperiment(json));
  const ok = await vscode.workspace.applyEdit(edit);
  if (ok) await doc.save();
  if (ok && dropped) void say(`${dropped} exit(s) removed: their points do not exist in ${BACKBONE_LABELS[name]}.`);
  return ok;
}

async function train(ctx: CommandContext, target?: vscode.Uri): Promise<TrainResult> {
  const refuse = (error: string, warn = false): TrainResult => {
    void (warn ? vscode.window.showWarningMessage : vscode.window.showErrorMessage)(`Early Exit: ${error}`);
    return { ok: false, error };
  };
  if (!vscode.workspace.isTrusted) {
    return refuse('training is disabled in an untrusted workspace, because it runs code and reads data from this folder. Views and results still work; trust the workspace to train.', true);
  }
  const file = target ?? (await ctx.branches.currentFile());
  if (!file) return refuse('no *.exits.json file to train; run "Early Exit: New Experiment" first.', true);
  const rel = vscode.workspace.asRelativePath(file);
  const read = readExperiment((await vscode.workspace.openTextDocument(file)).getText(), rel);
  if (!read.ok) return refuse(`cannot train ${rel}: ${read.error}`);
  const folder = vscode.workspace.getWorkspaceFolder(file) ?? vscode.workspace.workspaceFolders?.[0];
  const setting = vscode.workspace.getConfiguration(Settings.section, file).get<string>(Settings.runsDirectory) || '.early-exit/runs';
  const runsDir = path.resolve(folder?.uri.fsPath ?? path.dirname(file.fsPath), setting);
  try {
    return { ok: true, runs: await ctx.training.train(read.value, runsDir, rel) };
  } catch (e) {
    return refuse(`cannot train ${rel}: ${(e as Error).message}`);
  }
}

async function stopTraining(ctx: CommandContext): Promise<number> {
  if (!ctx.training.active.size) {
    void say('no training run is in progress in this window.');
    return 0;
  }
  return ctx.training.stopAll();
}

/** Opens the results panel of a run: a folder path or Uri, a Runs view node, or one picked from the runs. */
async function openResults(ctx: CommandContext, target?: string | vscode.Uri | RunNode): Promise<boolean> {
  let dir: string | undefined;
  if (typeof target === 'string') dir = target;
  else if (target instanceof vscode.Uri) dir = target.fsPath;
  else if (target?.kind === 'run') dir = target.run.folder.fsPath;
  else {
    const runs = await listRuns();
    if (!runs.length) {
      void say('no runs yet; train an experiment first ("Early Exit: Train multi-exit model").');
      return false;
    }
    const picked = await vscode.window.showQuickPick(
      runs.map((r) => ({ label: r.status.id, description: [r.status.experiment, r.status.state].filter(Boolean).join(' · '), dir: r.folder.fsPath })),
      { title: 'Early Exit: Open Results', placeHolder: 'Run to open' },
    );
    dir = picked?.dir;
  }
  if (!dir) return false;
  openResultsPanel(ctx.context, dir, ctx.training.output);
  return true;
}

/** Picks finished runs (several allowed) unless given; undefined when the user cancels or none exist. */
async function pickRuns(title: string, given?: string[]): Promise<string[] | undefined> {
  if (given?.length) return given;
  const runs = (await listRuns()).filter((r) => r.status.state === 'finished');
  if (!runs.length) {
    void say('no finished runs yet; train an experiment first ("Early Exit: Train multi-exit model").');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    runs.map((r) => ({ label: r.status.id, description: r.status.experiment, dir: r.folder.fsPath, picked: true })),
    { title, canPickMany: true, placeHolder: 'Runs to include' },
  );
  return picked?.length ? picked.map((p) => p.dir) : undefined;
}

async function compareRuns(ctx: CommandContext, dirs?: string[]): Promise<boolean> {
  const chosen = await pickRuns('Early Exit: Compare Runs', dirs);
  if (!chosen) return false;
  openComparisonPanel(ctx.context, chosen, ctx.training.output);
  return true;
}

/** Writes the chosen runs as one self-contained report.html (same views as the panels, no network). */
async function exportResults(ctx: CommandContext, dirs?: string[], target?: vscode.Uri): Promise<string | undefined> {
  const chosen = await pickRuns('Early Exit: Export Results', dirs);
  if (!chosen) return undefined;
  const out = target ?? await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.file(path.join(chosen.length === 1 ? chosen[0] : path.dirname(chosen[0]), 'report.html')),
    filters: { HTML: ['html'] },
    title: 'Export Results as a self-contained HTML report',
  });
  if (!out) return undefined;
  try {
    await writeReport(chosen, out.fsPath);
  } catch (e) {
    void vscode.window.showErrorMessage(`Early Exit: export failed: ${(e as Error).message}`);
    ctx.training.output.appendLine(`export failed: ${(e as Error).stack ?? e}`);
    return undefined;
  }
  void say(`wrote ${out.fsPath}`);
  return out.fsPath;
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(Commands.newExperiment, (args?: NewExperimentArgs) => newExperiment(args)),
    vscode.commands.registerCommand(Commands.selectBackbone, (target?: vscode.Uri | BackboneName, name?: BackboneName) => selectBackbone(target, ctx, name)),
    vscode.commands.registerCommand(Commands.train, (target?: vscode.Uri) => train(ctx, target instanceof vscode.Uri ? target : undefined)),
    vscode.commands.registerCommand(Commands.stopTraining, () => stopTraining(ctx)),
    vscode.commands.registerCommand(Commands.openResults, (target?: string | vscode.Uri | RunNode) => openResults(ctx, target)),
    vscode.commands.registerCommand(Commands.compareRuns, (dirs?: string[]) => compareRuns(ctx, Array.isArray(dirs) ? dirs : undefined)),
    vscode.commands.registerCommand(Commands.exportResults, (dirs?: string[], target?: vscode.Uri) => exportResults(ctx, Array.isArray(dirs) ? dirs : undefined, target)),
    vscode.commands.registerCommand(Commands.refreshRuns, () => {
      ctx.runs.refresh();
      ctx.branches.refresh();
    }),
  ];
}


