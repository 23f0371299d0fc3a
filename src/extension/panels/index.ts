/**
 * Entry points of the results and comparison panels, for the command wiring in extension.ts:
 * `openResultsPanel`, `openComparisonPanel`, and `registerPanelSerializers` (restores the panels
 * after a window reload; needs `onWebviewPanel:earlyExit.results` / `earlyExit.comparison`
 * activation events).
 */
import * as vscode from 'vscode';
import { ComparisonPanel } from './comparisonPanel';
import { ResultsPanel } from './resultsPanel';
import { isWebviewState, ViewTypes, type Log } from './webviewHost';

export { ComparisonPanel, ResultsPanel, ViewTypes };

export function openResultsPanel(context: vscode.ExtensionContext, runDir: string, log: Log): ResultsPanel {
  return ResultsPanel.show(context, runDir, log);
}

export function openComparisonPanel(context: vscode.ExtensionContext, runDirs: string[], log: Log): ComparisonPanel {
  if (runDirs.length === 0) throw new Error('Compare runs: select at least one run');
  return ComparisonPanel.show(context, runDirs, log);
}

/** A run folder is gone: its results panel closes and the comparison drops it. */
export function closePanelsOf(runDir: string): void {
  ResultsPanel.closeFor(runDir);
  ComparisonPanel.dropRun(runDir);
}

/** Registers the serializers that bring both panels back after a reload. Push the result into context.subscriptions. */
export function registerPanelSerializers(context: vscode.ExtensionContext, log: Log): vscode.Disposable[] {
  return [
    vscode.window.registerWebviewPanelSerializer(ViewTypes.results, {
      async deserializeWebviewPanel(panel, state: unknown) {
        if (!isWebviewState(state) || state.runDirs.length !== 1) {
          log.appendLine('[results] nothing to restore; closing the panel');
          panel.dispose();
          return;
        }
        const dir = state.runDirs[0];
        const id = dir.split(/[\\/]/).pop() ?? '';
        new ResultsPanel(panel, context, dir, log, state.thresholds[id]);
      },
    }),
    vscode.window.registerWebviewPanelSerializer(ViewTypes.comparison, {
      async deserializeWebviewPanel(panel, state: unknown) {
        if (!isWebviewState(state) || !state.runDirs.length) {
          log.appendLine('[compare] nothing to restore; closing the panel');
          panel.dispose();
          return;
        }
        new ComparisonPanel(panel, context, state.runDirs, log);
      },
    }),
  ];
}
