/** The results panel of one run; updates live while the run trains (metrics.jsonl, status.json). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunStatus } from '../../spec/run-types';
import type { DeploymentState, ThresholdState, WebviewMessage } from '../../protocol/webview';
import { readMetrics, readResults, RUN_FILES } from '../../runs/store';
import { parseDeployment } from '../../spec/experiment';
import { backboneConfigOf } from '../../spec/tier-estimate';
import type { BranchesProvider } from '../branchesTree';
import { deploymentStateOf, experimentFileForRun, saveDeployment } from '../deployment';
import { readRunData } from '../../runs/view-data';
import { metricsDelta } from './messages';
import { ViewTypes, WebviewHost, webviewOptions, type Log } from './webviewHost';

export class ResultsPanel extends WebviewHost {
  private static readonly open = new Map<string, ResultsPanel>();
  private lastEpoch = 0;
  private hasResults = false;
  private thresholds: ThresholdState | undefined;
  private reported = new Set<string>();
  private timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** the experiment file this run came from (its plan over tiers is shown and saved there) */
  private experimentFile: vscode.Uri | undefined;
  private lastDeployment = '';
  /** the Branches view's provider, to edit the experiment file as the tree does (set by the extension) */
  static branches: BranchesProvider | undefined;

  static show(context: vscode.ExtensionContext, runDir: string, log: Log): ResultsPanel {
    const dir = path.resolve(runDir);
    const existing = ResultsPanel.open.get(dir);
    if (existing && !existing.isOpen) existing.dispose();
    else if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(ViewTypes.results, `Results: ${path.basename(dir)}`, vscode.ViewColumn.Active, webviewOptions(context.extensionUri));
    return new ResultsPanel(panel, context, dir, log);
  }

  /** Closes the panel of a run whose folder was deleted. */
  static closeFor(runDir: string): void {
    ResultsPanel.open.get(path.resolve(runDir))?.dispose();
  }

  constructor(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, readonly runDir: string, log: Log, thresholds?: ThresholdState) {
    super(panel, context, log);
    this.thresholds = thresholds;
    panel.title = `Results: ${path.basename(runDir)}`;
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'early-exit.svg');
    ResultsPanel.open.set(runDir, this);
    this.onDidDispose(() => {
      ResultsPanel.open.delete(runDir);
      for (const t of this.timers.values()) clearTimeout(t);
    });
    this.watch(runDir, [RUN_FILES.metrics, RUN_FILES.status, RUN_FILES.results, RUN_FILES.tierSpeed, RUN_FILES.splitMeasured], (f) => this.debounced(f));
    // the plan follows the experiment file, saved or not (a cut moved in the Branches view)
    this.disposables.push(vscode.workspace.onDidChangeTextDocument((e) => {
      if (this.experimentFile && e.document.uri.toString() === this.experimentFile.toString()) this.debounced('deployment');
    }));
    // Deleted outside the Runs view (a terminal, the Explorer): close rather than show an empty run.
    this.watchDeleted(runDir, RUN_FILES.status, () => {
      if (fs.existsSync(runDir)) return;
      this.log.appendLine(`[results] ${path.basename(runDir)} was deleted; closing its panel`);
      this.dispose();
    });
  }

  private report(problems: string[]): void {
    for (const p of problems) {
      if (this.reported.has(p)) continue;
      this.reported.add(p);
      this.log.appendLine(`[results ${path.basename(this.runDir)}] ${p}`);
    }
  }

  protected load(): void {
    try {
      const run = readRunData(this.runDir);
      this.report(run.problems);
      this.lastEpoch = run.metrics.reduce((m, x) => Math.max(m, x.epoch), 0);
      this.hasResults = run.results !== null;
      this.post({ type: 'didLoadRun', run, thresholds: this.thresholds });
      this.lastDeployment = '';
      if (run.results && run.status) void this.syncDeployment(run.status.experiment, run.results);
    } catch (e) {
      this.log.appendLine(`[results] ${(e as Error).message}`);
      void vscode.window.showErrorMessage(`Cannot open results: ${(e as Error).message}`);
    }
  }

  private debounced(file: string): void {
    clearTimeout(this.timers.get(file));
    this.timers.set(file, setTimeout(() => this.changed(file), 150));
  }

  private changed(file: string): void {
    if (file === RUN_FILES.metrics) {
      const { metrics, errors } = readMetrics(this.runDir);
      this.report(errors);
      const delta = metricsDelta(metrics, this.lastEpoch);
      if (delta === null) return this.load();
      if (!delta.length) return;
      this.lastEpoch = Math.max(...delta.map((m) => m.epoch));
      this.post({ type: 'didAppendMetrics', runId: path.basename(this.runDir), metrics: delta });
    } else if (file === RUN_FILES.status) {
      let status: RunStatus;
      try {
        status = JSON.parse(fs.readFileSync(path.join(this.runDir, RUN_FILES.status), 'utf8')) as RunStatus;
      } catch (e) {
        this.report([`${RUN_FILES.status}: unreadable (${(e as Error).message})`]);
        return;
      }
      this.post({ type: 'didUpdateStatus', runId: path.basename(this.runDir), status });
      if (status.state === 'finished' && !this.hasResults) this.load();
    } else if (file === RUN_FILES.results || file === RUN_FILES.tierSpeed || file === RUN_FILES.splitMeasured) {
      this.load();
    } else if (file === 'deployment' && this.experimentFile) {
      void deploymentStateOf(this.experimentFile).then((s) => this.postDeployment(s));
    }
  }

  /** Finds the experiment file the run came from and sends its plan (when it has one, it wins over the run's copy). */
  private async syncDeployment(experiment: string, results: Parameters<typeof experimentFileForRun>[1]): Promise<void> {
    try {
      this.experimentFile = await experimentFileForRun(experiment, results);
      if (this.experimentFile) this.postDeployment(await deploymentStateOf(this.experimentFile));
    } catch (e) {
      this.log.appendLine(`[results] deployment: ${(e as Error).message}`);
    }
  }

  private postDeployment(state: DeploymentState): void {
    // without a plan in the file, the run's own (if any) stays: only say which file changes go to
    const key = JSON.stringify(state);
    if (key === this.lastDeployment) return;
    this.lastDeployment = key;
    this.post({ type: 'didUpdateDeployment', runId: path.basename(this.runDir), state });
  }

  /** A plan changed in the panel: saved to the experiment file when there is one (the Branches view follows). */
  private async saveDeployment(m: Extract<WebviewMessage, { type: 'setDeployment' }>): Promise<void> {
    try {
      const r = readResults(this.runDir);
      const d = parseDeployment(m.deployment, backboneConfigOf(r));
      if (!this.experimentFile || !ResultsPanel.branches) {
        this.log.appendLine(`[results ${path.basename(this.runDir)}] tier plan changed in the panel; no experiment file for this run in the workspace, so it is not saved`);
        return;
      }
      this.lastDeployment = JSON.stringify({ deployment: d, source: 'workspace', file: vscode.workspace.asRelativePath(this.experimentFile) });
      await saveDeployment(ResultsPanel.branches, this.experimentFile, d);
    } catch (e) {
      this.log.appendLine(`[results ${path.basename(this.runDir)}] tier plan not saved: ${(e as Error).message}`);
      void vscode.window.showErrorMessage(`Early Exit: tier plan not saved: ${(e as Error).message}`);
    }
  }

  protected handle(m: Extract<WebviewMessage, { type: 'setThreshold' | 'openRun' | 'setDeployment' }>): void {
    switch (m.type) {
      case 'setDeployment':
        void this.saveDeployment(m);
        break;
      case 'setThreshold':
        this.thresholds = m.state;
        break;
      case 'openRun':
        if (path.resolve(m.runDir) !== this.runDir) this.log.appendLine(`[results] openRun refused: ${m.runDir} is not this panel's run`);
        break;
    }
  }

  protected exportDir(): string {
    return this.runDir;
  }
}
