/**
 * Entry point of the extension host side. Only this folder imports `vscode`, and nothing here
 * loads tfjs: training runs in a worker process.
 */
import * as vscode from 'vscode';
import { BranchesProvider, type BranchNode } from './branchesTree';
import { registerCommands } from './commands';
import { Views } from './constants';
import { RunsProvider } from './runsTree';

/** What `activate` returns: the views' providers, for integration tests and other extensions. */
export interface EarlyExitApi {
  branches: BranchesProvider;
  runs: RunsProvider;
  branchesView: vscode.TreeView<BranchNode>;
}

export function activate(context: vscode.ExtensionContext): EarlyExitApi {
  const branches = new BranchesProvider();
  const runs = new RunsProvider();
  const branchesView = vscode.window.createTreeView(Views.branches, { treeDataProvider: branches, showCollapseAll: false, manageCheckboxStateManually: true });
  context.subscriptions.push(
    branches,
    runs,
    branchesView,
    branchesView.onDidChangeCheckboxState((e) => branches.onCheckboxes(e)),
    vscode.window.registerTreeDataProvider(Views.runs, runs),
    ...registerCommands({ branches, runs }),
  );
  return { branches, runs, branchesView };
}

export function deactivate(): void {}
