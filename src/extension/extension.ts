/**
 * Entry point of the extension host side. Only this folder imports `vscode`, and nothing here
 * loads tfjs: training runs in a worker process.
 */
import * as vscode from 'vscode';
import { BranchesProvider, type BranchNode } from './branchesTree';
import { registerCommands } from './commands';
import { registerDeploymentCommands } from './deployment';
import { Views } from './constants';
import { registerExperimentDiagnostics } from './diagnostics';
import { registerPanelSerializers, ResultsPanel } from './panels';
import { RunsProvider } from './runsTree';
import { TrainingController } from './training';

/** What `activate` returns: the views' providers, for integration tests and other extensions. */
export interface EarlyExitApi {
  branches: BranchesProvider;
  runs: RunsProvider;
  branchesView: vscode.TreeView<BranchNode>;
  training: TrainingController;
  /** How long `activate` took, in ms (the extension's own code; bench/activation.mjs measures it too). */
  activationMs: number;
}

let training: TrainingController | undefined;

export function activate(context: vscode.ExtensionContext): EarlyExitApi {
  const started = performance.now();
  const branches = new BranchesProvider();
  const runs = new RunsProvider();
  const branchesView = vscode.window.createTreeView(Views.branches, { treeDataProvider: branches, showCollapseAll: false, manageCheckboxStateManually: true });
  const runsView = vscode.window.createTreeView(Views.runs, { treeDataProvider: runs });
  training = new TrainingController(context, runs);
  ResultsPanel.branches = branches;
  context.subscriptions.push(
    training,
    registerExperimentDiagnostics(),
    branches,
    runs,
    branchesView,
    branchesView.onDidChangeCheckboxState((e) => branches.onCheckboxes(e)),
    runsView,
    // file watching can miss a runs folder created after activation (a fresh workspace, another
    // process): re-read the runs whenever the view comes into sight
    runsView.onDidChangeVisibility((e) => e.visible && runs.refresh()),
    ...registerCommands({ context, branches, runs, training }),
    ...registerDeploymentCommands(branches),
    ...registerPanelSerializers(context, training.output),
  );
  const activationMs = performance.now() - started;
  training.output.appendLine(`activated in ${activationMs.toFixed(1)} ms`);
  return { branches, runs, branchesView, training, activationMs };
}

/** Stops the runs this window started (each checkpoints its last finished epoch). */
export async function deactivate(): Promise<void> {
  await training?.stopAll();
  training = undefined;
}
