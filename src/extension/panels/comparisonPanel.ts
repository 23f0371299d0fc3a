/** The comparison panel: Table 1 layout and every selected run on one trade-off chart. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunData, WebviewMessage } from '../../protocol/webview';
import { readRunData } from '../../runs/view-data';
import { plural } from '../../spec/run-label';
import { ResultsPanel } from './resultsPanel';
import { ViewTypes, WebviewHost, webviewOptions, type Log } from './webviewHost';

export class ComparisonPanel extends WebviewHost {
  private static current: ComparisonPanel | undefined;

  static show(context: vscode.ExtensionContext, runDirs: string[], log: Log): ComparisonPanel {
    const dirs = runDirs.map((d) => path.resolve(d));
    const existing = ComparisonPanel.current;
    if (existing && !existing.isOpen) existing.dispose();
    else if (existing) {
      existing.setRuns(dirs);
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(ViewTypes.comparison, 'Compare runs', vscode.ViewColumn.Active, webviewOptions(context.extensionUri));
    return new ComparisonPanel(panel, context, dirs, log);
  }

  constructor(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, private runDirs: string[], log: Log) {
    super(panel, context, log);
    panel.title = `Compare ${plural(runDirs.length, 'run')}`;
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'early-exit.svg');
    ComparisonPanel.current = this;
    this.onDidDispose(() => { if (ComparisonPanel.current === this) ComparisonPanel.current = undefined; });
  }

  /** A compared run was deleted: compare the others, or close when none is left. */
  static dropRun(runDir: string): void {
    const c = ComparisonPanel.current;
    const dir = path.resolve(runDir);
    if (!c || !c.runDirs.includes(dir)) return;
    const rest = c.runDirs.filter((d) => d !== dir);
    if (rest.length) c.setRuns(rest);
    else c.dispose();
  }

  setRuns(runDirs: string[]): void {
    this.runDirs = runDirs;
    this.panel.title = `Compare ${plural(runDirs.length, 'run')}`;
    this.load();
  }

  protected load(): void {
    const runs: RunData[] = [];
    for (const d of this.runDirs) {
      try {
        // the comparison draws from results.json alone: per-sample records (most of a run's bytes) stay on disk
        const run = readRunData(d, false, false);
        for (const p of run.problems) this.log.appendLine(`[compare ${run.id}] ${p}`);
        runs.push(run);
      } catch (e) {
        this.log.appendLine(`[compare] ${(e as Error).message}`);
      }
    }
    this.post({ type: 'didLoadComparison', runs });
  }

  protected handle(m: Extract<WebviewMessage, { type: 'setThreshold' | 'openRun' }>): void {
    switch (m.type) {
      case 'openRun': {
        const dir = path.resolve(m.runDir);
        if (!this.runDirs.includes(dir)) {
          this.log.appendLine(`[compare] openRun refused: ${m.runDir} is not one of the compared runs`);
          return;
        }
        ResultsPanel.show(this.context, dir, this.log);
        break;
      }
      case 'setThreshold':
        break;
    }
  }

  protected exportDir(): string {
    return path.dirname(this.runDirs[0] ?? '.');
  }
}
