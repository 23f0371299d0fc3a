/**
 * The command palette's "Early Exit" commands. New Experiment and Select Backbone edit experiment
 * files, Train and Stop drive worker processes through the TrainingController, Open Results shows
 * the results panel, Compare Runs the comparison panel, Export Results a self-contained HTML report.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BACKBONE_LABELS, BACKBONE_NAMES, describeBackbone, formatMacs, type BackboneName } from '../spec/backbones';
import { exists, type BranchesProvider, type BranchNode } from './branchesTree';
import { headChannels } from '../spec/exit-costs';
import type { HeadKind } from '../spec/exits';
import { Commands, EXPERIMENT_SUFFIX, Settings } from './constants';
import { experimentNameFromFile } from '../spec/experiment';
import { formatExperiment, newExperimentJson, readExperiment, type PlacedExit } from './experimentFile';
import { closePanelsOf, openComparisonPanel, openResultsPanel } from './panels';
import { writeReport } from '../report/report';
import { withPathsFrom } from '../runs/manager';
import { deleteRun as deleteRunFolder, readResults, readStatus, workerAlive } from '../runs/store';
import { tableOneAccuracy } from '../spec/analysis';
import { deleteRefusal, HEAD_CHOICES, nameAfterBackbone, parseChannels, resumeRefusal, runPickItem, trainingRefusal, withGate, withHead } from './presentation';
import { parseRecipeValue, type RecipeValue } from './recipes';
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
      detail: `${d.points.length} candidate exit points · ${formatMacs(d.total)} MACs at width 1 on 32×32×3`,
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
  const json: Record<string, unknown> = { ...read.json, backbone: { ...(read.json.backbone as object), name }, exits };
  // A name that was the old backbone's follows the new one (the file keeps its name).
  const current = typeof read.json.name === 'string' && read.json.name ? read.json.name : experimentNameFromFile(file.path);
  const renamed = nameAfterBackbone(current, read.value.backbone.name, name);
  if (renamed !== undefined && renamed !== current) json.name = renamed;
  const edit = new vscode.WorkspaceEdit();
  edit.replace(file, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), formatExperiment(json));
  const ok = await vscode.workspace.applyEdit(edit);
  if (ok) await doc.save();
  if (ok && dropped) void say(`${dropped} exit(s) removed: their points do not exist in ${BACKBONE_LABELS[name]}.`);
  return ok;
}

/**
 * The experiment as the user sees it: an open editor with unsaved changes is saved first (so that
 * the run, the file on disk and the editor agree), and a file no editor has changed is read from
 * disk — never from a document model that may lag behind a change made outside the editor.
 */
async function experimentTextToTrain(file: vscode.Uri, log: vscode.OutputChannel): Promise<string> {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === file.toString());
  if (doc?.isDirty) {
    if (await doc.save()) log.appendLine(`saved ${vscode.workspace.asRelativePath(file)} before training it`);
    return doc.getText();
  }
  return new TextDecoder().decode(await vscode.workspace.fs.readFile(file));
}

async function train(ctx: CommandContext, target?: vscode.Uri): Promise<TrainResult> {
  const refuse = (error: string, warn = false): TrainResult => {
    void (warn ? vscode.window.showWarningMessage : vscode.window.showErrorMessage)(`Early Exit: ${error}`);
    return { ok: false, error };
  };
  const untrusted = trainingRefusal(vscode.workspace.isTrusted);
  if (untrusted) return refuse(untrusted, true);
  const file = target ?? (await ctx.branches.currentFile());
  if (!file) return refuse('no *.exits.json file to train; run "Early Exit: New Experiment" first.', true);
  const rel = vscode.workspace.asRelativePath(file);
  const text = await experimentTextToTrain(file, ctx.training.output);
  const read = readExperiment(text, rel);
  if (!read.ok) return refuse(`cannot train ${rel}: ${read.error}`);
  const folder = vscode.workspace.getWorkspaceFolder(file) ?? vscode.workspace.workspaceFolders?.[0];
  const setting = vscode.workspace.getConfiguration(Settings.section, file).get<string>(Settings.runsDirectory) || '.early-exit/runs';
  const runsDir = path.resolve(folder?.uri.fsPath ?? path.dirname(file.fsPath), setting);
  try {
    return { ok: true, runs: await ctx.training.train(withPathsFrom(read.value, file.fsPath), runsDir, rel) };
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
      runs.map((r) => ({ ...runPickItem(r.status, resultsFacts(r.folder.fsPath)), dir: r.folder.fsPath })),
      { title: 'Early Exit: Open Results', placeHolder: 'Run to open', matchOnDescription: true, matchOnDetail: true },
    );
    dir = picked?.dir;
  }
  if (!dir) return false;
  openResultsPanel(ctx.context, dir, ctx.training.output);
  return true;
}

/** λ, epochs and test accuracy (Table 1's: the soft output, else the final classifier) of a finished run, for the pickers. */
function resultsFacts(dir: string): { lambda: number | null; epochs: number; accuracy: number } | null {
  try {
    const r = readResults(dir);
    return { lambda: r.lambda, epochs: r.epochs, accuracy: tableOneAccuracy(r) };
  } catch {
    return null;
  }
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
    runs.map((r) => ({ ...runPickItem(r.status, resultsFacts(r.folder.fsPath)), dir: r.folder.fsPath, picked: true })),
    { title, canPickMany: true, placeHolder: 'Runs to include', matchOnDescription: true, matchOnDetail: true },
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

type ExitNode = Extract<BranchNode, { kind: 'head' | 'gate' | 'cost' }>;
const isExitNode = (n: unknown): n is ExitNode => !!n && typeof n === 'object' && ['head', 'gate', 'cost'].includes((n as BranchNode).kind);

/**
 * "Edit head" on a placed exit: a quick pick of head kinds, then (conv-pool, pool-mlp) the width
 * of the head's conv / hidden layer; one undoable edit of the file. `choice` skips the questions.
 */
async function editExitHead(ctx: CommandContext, node?: ExitNode, choice?: { kind: HeadKind; channels?: number }): Promise<boolean> {
  if (!isExitNode(node)) {
    void say('choose "Edit head" on an exit\'s head in the Branches view.');
    return false;
  }
  const { exit, point } = node;
  let kind = choice?.kind;
  let channels = choice?.channels;
  if (!choice) {
    const picked = await vscode.window.showQuickPick(
      HEAD_CHOICES.map((c) => ({ label: c.kind, description: c.kind === exit.head.kind ? '(current)' : '', detail: c.detail, head: c.kind })),
      { title: `Early Exit: head of the exit at ${exit.point}`, placeHolder: 'Head f_b of this exit' },
    );
    if (!picked) return false;
    kind = picked.head;
    if (kind !== 'pool') {
      const fallback = headChannels({ ...exit, head: { kind } }, point.shape[2]);
      const typed = await vscode.window.showInputBox({
        title: `Early Exit: ${kind} head at ${exit.point}`,
        prompt: `Channels of the head's ${kind === 'conv-pool' ? 'conv 3×3' : 'hidden dense'} layer; empty = ${fallback} (the point's ${point.shape[2]} channels within 8…128)`,
        value: exit.head.channels !== undefined ? String(exit.head.channels) : '',
        validateInput: (t) => { const r = parseChannels(t); return r.ok ? undefined : r.error; },
      });
      if (typed === undefined) return false;
      const r = parseChannels(typed);
      if (!r.ok) return false;
      channels = r.channels;
    }
  }
  return ctx.branches.editExit(node.file, exit.point, (e) => withHead(e, kind!, channels));
}

const GATE_CHOICES = [0, 8, 16, 32, 64];

/** "Edit gate" on a placed exit: a quick pick of the gate's hidden units (0 = one dense layer). */
async function editExitGate(ctx: CommandContext, node?: ExitNode, hidden?: number): Promise<boolean> {
  if (!isExitNode(node)) {
    void say('choose "Edit gate" on an exit\'s gate in the Branches view.');
    return false;
  }
  const current = node.exit.gate.hidden;
  if (hidden === undefined) {
    const values = [...new Set([...GATE_CHOICES, current])].sort((a, b) => a - b);
    const picked = await vscode.window.showQuickPick(
      values.map((h) => ({
        label: h === 0 ? 'dense → sigmoid' : `dense ${h}-ReLU → dense → sigmoid`,
        description: h === current ? '(current)' : '',
        detail: h === 0 ? 'g_b = sigmoid(dense(features)): the paper\'s gate' : `a hidden ReLU layer of ${h} units before the gate's output unit`,
        hidden: h,
      })),
      { title: `Early Exit: gate of the exit at ${node.exit.point}`, placeHolder: 'Gate g_b of this exit' },
    );
    if (!picked) return false;
    hidden = picked.hidden;
  }
  if (!(Number.isInteger(hidden) && hidden >= 0)) return false;
  return ctx.branches.editExit(node.file, node.exit.point, (e) => withGate(e, hidden!));
}

type RecipeNode = Extract<BranchNode, { kind: 'recipe' }>;
const isRecipeNode = (n: unknown): n is RecipeNode => !!n && typeof n === 'object' && (n as BranchNode).kind === 'recipe';

/** An input box for one number of a recipe, validated as the experiment file will be; undefined when cancelled. */
async function askRecipeNumber(field: Parameters<typeof parseRecipeValue>[0], epochs: number, title: string, prompt: string, value: string): Promise<number | null | undefined> {
  const typed = await vscode.window.showInputBox({
    title, prompt, value,
    validateInput: (t) => { const r = parseRecipeValue(field, t, epochs); return r.ok ? undefined : r.error; },
  });
  if (typed === undefined) return undefined;
  const r = parseRecipeValue(field, typed, epochs);
  return r.ok ? r.value : undefined;
}

/**
 * "Edit recipe" on a training recipe in the Branches view: the question(s) that recipe needs
 * (quick pick or input box), then one undoable edit of `method` in the file. `value` skips them.
 */
async function editRecipe(ctx: CommandContext, node?: RecipeNode, value?: RecipeValue['value']): Promise<boolean> {
  if (!isRecipeNode(node)) {
    void say('choose "Edit recipe" on a training recipe in the Branches view.');
    return false;
  }
  const { field } = node.item;
  const m = node.method;
  const title = `Early Exit: ${node.item.label}`;
  if (value === undefined) {
    switch (field) {
      case 'gateInputs': {
        const picked = await vscode.window.showQuickPick([
          { label: 'features', description: m.gateInputs === 'features' ? '(current)' : '', detail: "the head's features: the paper's gate", v: 'features' as const },
          { label: 'features+softmax', description: m.gateInputs === 'features+softmax' ? '(current)' : '', detail: "also f_b's max probability, normalised entropy and top-1 − top-2 margin", v: 'features+softmax' as const },
          { label: 'softmax', description: m.gateInputs === 'softmax' ? '(current)' : '', detail: "f_b's max probability, normalised entropy and margin alone: a learned confidence rule", v: 'softmax' as const },
        ], { title, placeHolder: 'What each gate g_b sees' });
        if (!picked) return false;
        value = picked.v;
        break;
      }
      case 'warmup': {
        const epochs = await askRecipeNumber('warmupEpochs', node.epochs, title, `Epochs at the start that train every classifier before the gates (0 or empty = off; training.epochs is ${node.epochs})`, String(m.warmup.epochs));
        if (epochs === undefined) return false;
        let freeze = m.warmup.freeze, distillation = m.warmup.distillation;
        if (epochs) {
          const then = await vscode.window.showQuickPick([
            { label: 'then gates only', description: m.warmup.freeze ? '(current)' : '', detail: "two phases: backbone and classifiers fixed, only the gates learn the paper's loss", freeze: true },
            { label: 'then everything', description: m.warmup.freeze ? '' : '(current)', detail: "every variable trains on the paper's loss after the warm-up", freeze: false },
          ], { title, placeHolder: 'After the warm-up' });
          if (!then) return false;
          freeze = then.freeze;
          const d = await askRecipeNumber('distillation', node.epochs, title, 'Weight of distillation from the final classifier in the warm-up (0 or empty = plain cross-entropy)', String(m.warmup.distillation));
          if (d === undefined) return false;
          distillation = d ?? 0;
        }
        value = { ...m.warmup, epochs: epochs ?? 0, freeze, distillation };
        break;
      }
      case 'targetBudget': {
        const v = await askRecipeNumber('targetBudget', node.epochs, title, 'Average MACs to aim at, in % of the full network (empty = a fixed λ)', m.targetBudget === null ? '' : String(Math.round(1000 * m.targetBudget) / 10));
        if (v === undefined) return false;
        value = v;
        break;
      }
      case 'gateTemperature': {
        const v = await askRecipeNumber('gateTemperature', node.epochs, title, 'Gate temperature at the last epoch, in (0, 1]: gates are σ(z / T) (1 or empty = off)', String(m.gateTemperature));
        if (v === undefined) return false;
        value = v ?? 1;
        break;
      }
      case 'hardGatesFrom': {
        const v = await askRecipeNumber('hardGatesFrom', node.epochs, title, `Epoch from which gates are hard (straight-through), 1…${node.epochs} (empty = off)`, m.hardGatesFrom === null ? '' : String(m.hardGatesFrom));
        if (v === undefined) return false;
        value = v;
        break;
      }
    }
  }
  return ctx.branches.editRecipe(node.file, { field, value } as RecipeValue);
}

/** The run a context action is about: a Runs view node, a folder path or a Uri. */
function runDir(target: RunNode | string | vscode.Uri | undefined): string | undefined {
  if (typeof target === 'string') return target;
  if (target instanceof vscode.Uri) return target.fsPath;
  return target?.kind === 'run' ? target.run.folder.fsPath : undefined;
}

/**
 * Stops one run: through its worker channel when this window trains it (the worker finishes the
 * step and keeps its checkpoint), else by SIGTERM to the worker recorded in status.json (a run
 * started from a terminal or another window; the worker stops the same cooperative way).
 */
async function stopRun(ctx: CommandContext, target?: RunNode | string | vscode.Uri): Promise<'stopped' | 'signalled' | 'not running'> {
  const dir = runDir(target);
  if (!dir) return 'not running';
  const active = ctx.training.activeRun(dir);
  if (active) {
    await active.stop();
    ctx.runs.refresh();
    return 'stopped';
  }
  let status;
  try {
    status = readStatus(dir);
  } catch {
    status = undefined;
  }
  if (status?.state === 'running' && status.pid && workerAlive(status)) {
    process.kill(status.pid, 'SIGTERM');
    void say(`asked run ${status.id} (worker process ${status.pid}) to stop after its current step.`);
    return 'signalled';
  }
  void say(`run ${path.basename(dir)} is not running.`);
  return 'not running';
}

/**
 * Continues a failed or cancelled run from the checkpoint of its last finished epoch, in a worker
 * like Train (the same progress, Stop and notifications). Refuses, saying why, a run that is
 * training, finished, or has no checkpoint.
 */
async function resumeRun(ctx: CommandContext, target?: RunNode | string | vscode.Uri): Promise<TrainResult> {
  const dir = runDir(target);
  const refuse = (error: string): TrainResult => {
    void vscode.window.showWarningMessage(`Early Exit: cannot resume: ${error}`);
    return { ok: false, error };
  };
  if (!dir) return refuse('choose a failed or cancelled run in the Runs view.');
  const untrusted = trainingRefusal(vscode.workspace.isTrusted);
  if (untrusted) return refuse(untrusted);
  let status;
  try {
    status = readStatus(dir);
  } catch (e) {
    return refuse(`${dir} is not a readable run folder (${(e as Error).message})`);
  }
  const why = resumeRefusal(status, !!ctx.training.activeRun(dir), status.state === 'running' && workerAlive(status));
  if (why) return refuse(why);
  return { ok: true, runs: await ctx.training.resume(dir) };
}

/**
 * Shows a run folder: in the OS file manager where VS Code runs on the same machine as the files
 * (desktop, local), else in the Explorer (code-server, remote: `revealFileInOS` is missing or
 * would open the client's file manager), else copies the path.
 */
async function revealRun(target?: RunNode | string | vscode.Uri): Promise<'os' | 'explorer' | 'clipboard' | undefined> {
  const dir = runDir(target);
  if (!dir) return undefined;
  const uri = vscode.Uri.file(dir);
  const local = vscode.env.uiKind === vscode.UIKind.Desktop && !vscode.env.remoteName;
  if (local && (await vscode.commands.getCommands(true)).includes('revealFileInOS')) {
    await vscode.commands.executeCommand('revealFileInOS', uri);
    return 'os';
  }
  if (vscode.workspace.getWorkspaceFolder(uri)) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
    return 'explorer';
  }
  await vscode.env.clipboard.writeText(dir);
  void say(`the run folder is outside the workspace; its path was copied: ${dir}`);
  return 'clipboard';
}

/**
 * Deletes a run folder through the run store after a modal confirmation; never a run that trains.
 * `confirmed` is for callers that already asked (and for tests: VS Code refuses modal dialogs
 * while an extension test suite runs).
 */
async function deleteRun(ctx: CommandContext, target?: RunNode | string | vscode.Uri, opts: { confirmed?: boolean } = {}): Promise<boolean> {
  const dir = runDir(target);
  if (!dir) return false;
  let status;
  try {
    status = readStatus(dir);
  } catch (e) {
    void vscode.window.showErrorMessage(`Early Exit: ${dir} is not a readable run folder: ${(e as Error).message}`);
    return false;
  }
  const refusal = deleteRefusal(status, !!ctx.training.activeRun(dir), workerAlive(status));
  if (refusal) {
    void vscode.window.showWarningMessage(`Early Exit: cannot delete: ${refusal}`);
    return false;
  }
  if (!opts.confirmed) {
    const choice = await vscode.window.showWarningMessage(
      `Delete run ${status.id}?`,
      { modal: true, detail: `Its folder is removed with its checkpoint, model, metrics and results:\n${dir}\nThis cannot be undone.` },
      'Delete',
    );
    if (choice !== 'Delete') return false;
  }
  try {
    deleteRunFolder(dir);
  } catch (e) {
    void vscode.window.showErrorMessage(`Early Exit: cannot delete run ${status.id}: ${(e as Error).message}`);
    return false;
  }
  ctx.training.output.appendLine(`deleted run ${status.id} (${dir})`);
  // Its results tab would show a run that no longer exists: close it, and drop it from a comparison.
  closePanelsOf(dir);
  ctx.runs.refresh();
  return true;
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
    vscode.commands.registerCommand(Commands.editExitHead, (node?: ExitNode, choice?: { kind: HeadKind; channels?: number }) => editExitHead(ctx, node, choice)),
    vscode.commands.registerCommand(Commands.editExitGate, (node?: ExitNode, hidden?: number) => editExitGate(ctx, node, hidden)),
    vscode.commands.registerCommand(Commands.editRecipe, (node?: RecipeNode, value?: RecipeValue['value']) => editRecipe(ctx, node, value)),
    vscode.commands.registerCommand(Commands.stopRun, (target?: RunNode | string | vscode.Uri) => stopRun(ctx, target)),
    vscode.commands.registerCommand(Commands.resumeRun, (target?: RunNode | string | vscode.Uri) => resumeRun(ctx, target)),
    vscode.commands.registerCommand(Commands.revealRun, (target?: RunNode | string | vscode.Uri) => revealRun(target)),
    vscode.commands.registerCommand(Commands.deleteRun, (target?: RunNode | string | vscode.Uri, opts?: { confirmed?: boolean }) => deleteRun(ctx, target, opts)),
    vscode.commands.registerCommand(Commands.refreshRuns, () => {
      ctx.runs.refresh();
      ctx.branches.refresh();
    }),
  ];
}


