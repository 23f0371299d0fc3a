/**
 * Entry of the results / comparison webview bundle (dist/webview/results.js). Two hosts:
 * - a VS Code webview: data arrives as `did*` messages after the `ready` handshake;
 * - the standalone report: data is embedded as JSON in `<script id="ee-data">`.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { HostMessage, ReportData, RunData, ThresholdState, WebviewState } from '../../src/protocol/webview';
import type { DeploymentSpec } from '../../src/spec/tiers';
import { getVsCodeApi, type HostApi } from '../vscode-api';
import { ComparisonView } from './comparison-view';
import { h } from './dom';
import { downloadExporter, hostExporter, type Exporter } from './export';
import { validateHostMessage } from './host-messages';
import { ResultsView } from './results-view';
import { TiersView } from './tiers-view';
import { onThemeChange, readPalette, type Palette } from './theme';

class App {
  private results = new Map<string, ResultsView>();
  /** each run's deployment section, below its results view */
  private tiers = new Map<string, TiersView>();
  private comparison?: ComparisonView;
  private palette: Palette = readPalette();
  private state: WebviewState;

  constructor(private readonly root: HTMLElement, private readonly exporter: Exporter, private readonly api: HostApi | null, private readonly standalone: boolean) {
    this.state = api?.getState() ?? { view: 'results', runDirs: [], thresholds: {} };
    onThemeChange(() => this.redraw());
    // run views drawn lazily (the standalone report) are all drawn for printing
    window.addEventListener('beforeprint', () => { for (const v of this.results.values()) v.drawNow(); });
  }

  private redraw(): void {
    this.palette = readPalette();
    this.comparison?.redraw();
    for (const v of this.results.values()) v.redraw();
    for (const v of this.tiers.values()) v.redraw();
  }

  private saveState(): void {
    this.api?.setState(this.state);
  }

  private viewContext() {
    return {
      palette: () => this.palette,
      exporter: this.exporter,
      resumeHint: (r: RunData) => (this.standalone ? `early-exit train --resume ${r.runDir}` : '"Resume Run" on it in the Runs view'),
      onThreshold: (runId: string, t: ThresholdState) => {
        this.state.thresholds[runId] = t;
        this.saveState();
        this.api?.postMessage({ type: 'setThreshold', runId, state: t });
        this.tiers.get(runId)?.setThresholds(t.thresholds);
      },
    };
  }

  private tiersContext() {
    return {
      palette: () => this.palette,
      exporter: this.exporter,
      onDeployment: (runId: string, deployment: DeploymentSpec) => this.api?.postMessage({ type: 'setDeployment', runId, deployment }),
      onThresholds: (runId: string, t: ThresholdState) => this.results.get(runId)?.setThresholds(t),
    };
  }

  /** The deployment section of a run (kept in step with its results view). */
  private showTiers(run: RunData, view: ResultsView): void {
    const existing = this.tiers.get(run.id);
    if (!TiersView.applies(run)) {
      existing?.destroy();
      this.tiers.delete(run.id);
      return;
    }
    if (existing) { existing.setRun(run, view.thresholdState.thresholds); return; }
    const t = new TiersView(run, this.tiersContext(), view.thresholdState.thresholds);
    this.tiers.set(run.id, t);
    view.el.after(t.el);
  }

  /** `append`: below what is shown (the standalone comparison report), drawn when scrolled near. */
  showRun(run: RunData, thresholds?: ThresholdState, append = false): void {
    const existing = this.results.get(run.id);
    const t = thresholds ?? this.state.thresholds[run.id];
    if (existing) {
      existing.setRun(run, t);
      this.showTiers(run, existing);
      return;
    }
    if (!append) {
      for (const v of this.results.values()) v.destroy();
      this.results.clear();
      for (const v of this.tiers.values()) v.destroy();
      this.tiers.clear();
      this.state = { view: 'results', runDirs: [run.runDir], thresholds: t ? { [run.id]: t } : {} };
      this.saveState();
    }
    const view = new ResultsView(run, this.viewContext(), t, append);
    this.results.set(run.id, view);
    this.root.append(view.el);
    this.showTiers(run, view);
  }

  showComparison(runs: RunData[], withEachRun: boolean): void {
    this.comparison?.destroy();
    this.state = { view: 'comparison', runDirs: runs.map((r) => r.runDir), thresholds: this.state.thresholds };
    this.saveState();
    this.comparison = new ComparisonView(runs, {
      palette: () => this.palette,
      exporter: this.exporter,
      openRun: (r) => {
        if (this.api && !this.standalone) this.api.postMessage({ type: 'openRun', runDir: r.runDir });
        else document.getElementById(`run-${r.id}`)?.scrollIntoView();
      },
    });
    this.root.prepend(this.comparison.el);
    if (withEachRun) for (const r of runs) this.showRun(r, undefined, true);
  }

  /**
   * Host → webview messages, validated first: a malformed one is logged back to the host and the
   * view keeps what it shows; so does a message whose drawing fails.
   */
  receive(raw: unknown): void {
    const v = validateHostMessage(raw);
    if (!v.ok) {
      this.api?.postMessage({ type: 'log', level: 'warn', message: `webview: rejected host message: ${v.reason}` });
      return;
    }
    try {
      this.handle(v.message);
    } catch (e) {
      this.api?.postMessage({ type: 'log', level: 'error', message: `webview: ${v.message.type} failed: ${(e as Error)?.message ?? e}` });
    }
  }

  private handle(msg: HostMessage): void {
    switch (msg.type) {
      case 'didLoadRun':
        this.showRun(msg.run, msg.thresholds);
        break;
      case 'didAppendMetrics':
        this.results.get(msg.runId)?.appendMetrics(msg.metrics);
        break;
      case 'didUpdateStatus':
        this.results.get(msg.runId)?.updateStatus(msg.status);
        break;
      case 'didLoadComparison':
        this.showComparison(msg.runs, false);
        break;
      case 'didExport':
        this.notice(msg.path ? `Saved ${msg.path}` : msg.error ? `Export failed: ${msg.error}` : 'Export cancelled: nothing was saved.', !msg.path && !!msg.error);
        break;
      case 'didUpdateDeployment':
        this.tiers.get(msg.runId)?.setDeploymentState(msg.state);
        break;
      default: {
        const unknown: never = msg;
        this.api?.postMessage({ type: 'log', level: 'warn', message: `webview: unexpected message ${JSON.stringify((unknown as { type?: unknown }).type)}` });
      }
    }
  }

  /** A short-lived line at the bottom of the view (export confirmations). */
  private notice(text: string, warn = false): void {
    let el = document.getElementById('ee-notice');
    if (!el) {
      el = h('div', { id: 'ee-notice', class: 'ee-notice', role: 'status', 'aria-live': 'polite' });
      document.body.append(el);
    }
    el.textContent = text;
    el.classList.toggle('ee-warn', warn);
    el.classList.add('ee-shown');
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => el!.classList.remove('ee-shown'), 6000);
  }

  private noticeTimer?: ReturnType<typeof setTimeout>;
}

function standaloneTheme(): void {
  const q = new URLSearchParams(location.search).get('theme');
  const dark = q ? q === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  document.body.classList.add(dark ? 'vscode-dark' : 'vscode-light');
  const toggle = h('vscode-button', { secondary: true, class: 'ee-theme-toggle', title: 'Switch light / dark' }, 'Light / dark');
  toggle.addEventListener('click', () => {
    const isDark = document.body.classList.contains('vscode-dark');
    document.body.classList.replace(isDark ? 'vscode-dark' : 'vscode-light', isDark ? 'vscode-light' : 'vscode-dark');
  });
  document.getElementById('ee-toolbar')?.append(toggle);
}

function main(): void {
  const root = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
  const embedded = document.getElementById('ee-data');
  if (embedded) {
    standaloneTheme();
    const data = JSON.parse(embedded.textContent ?? '{}') as ReportData;
    const app = new App(root, downloadExporter(), null, true);
    if (data.view === 'comparison' || data.runs.length > 1) app.showComparison(data.runs, true);
    else if (data.runs[0]) app.showRun(data.runs[0]);
    document.body.dataset.ready = 'true';
    return;
  }
  const api = getVsCodeApi();
  const app = new App(root, api ? hostExporter(api) : downloadExporter(), api, false);
  window.addEventListener('message', (e: MessageEvent<unknown>) => app.receive(e.data));
  api?.postMessage({ type: 'ready' });
  document.body.dataset.ready = 'true';
}

main();
