/**
 * The results view of one run: header, exit table (Table 2 layout), trade-off chart, gate
 * histograms (Figure 4), training curves, and the threshold control that recomputes all of it
 * from the per-sample records.
 */
import type { Chart } from 'chart.js';
import {
  calibrate, collapseWarning, exitHistograms, exitTable, exitTableCsv, paretoFront, routingOf, routingText, sweepCsv, tablePositions, tauText, thresholdSweep,
} from '../../src/spec/analysis';
import type { ExitTable, RunResults, SweepPoint, Timing } from '../../src/spec/results';
import type { EpochMetrics, RunStatus } from '../../src/spec/run-types';
import type { RunData, ThresholdState } from '../../src/protocol/webview';
import {
  chartPng, curveChart, histogramChart, setHistogramThreshold, tradeOffChart, updateCurves, updateTradeOffCurrent, type XY,
} from './charts';
import { button, chartCard, h, macs, pct, pctOf } from './dom';
import { safeName, type Exporter } from './export';
import { RuleComparisonSection } from './rule-comparison';
import type { Palette } from './theme';
import { datasetText } from '../../src/spec/run-label';

export interface ViewContext {
  palette(): Palette;
  exporter: Exporter;
  /** Called whenever the thresholds change (state persistence, host notification). */
  onThreshold?(runId: string, state: ThresholdState): void;
  /** How to resume a run where this view is shown ("Resume Run" in VS Code, the CLI in a report). */
  resumeHint?(run: RunData): string;
}

const RULE_TEXT = { gate: 'exit when g_b(x) ≥ τ', confidence: 'exit when max softmax ≥ τ', entropy: 'exit when normalised entropy ≤ τ' } as const;
const HIST_AXIS = { gate: 'gate value g_b(x)', confidence: 'max softmax probability', entropy: 'normalised entropy' } as const;
const METHOD_TEXT = { proposed: 'Proposed (differentiable branching)', branchynet: 'BranchyNet', baseline: 'Baseline (no exits)' } as const;

export class ResultsView {
  readonly el: HTMLElement;
  private run: RunData;
  private thresholds: ThresholdState;
  private table: ExitTable | null = null;
  private sweep: SweepPoint[] = [];
  private charts: { tradeOff?: Chart; hist: Chart[]; loss?: Chart; accuracy?: Chart } = { hist: [] };
  private tableBody?: HTMLTableSectionElement;
  private currentText?: HTMLElement;
  private controls?: HTMLElement;
  private calibrationText?: HTMLElement;
  private routingEl?: HTMLElement;
  private rules?: RuleComparisonSection;
  private headerEl?: HTMLElement;

  /** Set while the view waits to come near the viewport before drawing (see `lazy`). */
  private pending?: IntersectionObserver;

  /**
   * `lazy`: draw only when the section comes near the viewport (the standalone report appends
   * every run's view below the comparison: 20 runs × 6 charts took 2.3 s before the page was ready).
   * Until then it shows the run's header.
   */
  constructor(run: RunData, private readonly ctx: ViewContext, thresholds?: ThresholdState, lazy = false) {
    this.run = run;
    this.el = h('section', { class: 'ee-run', id: `run-${run.id}`, 'data-run': run.id });
    this.thresholds = this.validThresholds(thresholds);
    if (lazy && typeof IntersectionObserver !== 'undefined') {
      this.el.classList.add('ee-pending');
      this.startWithHeader();
      this.pending = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) this.render();
      }, { rootMargin: '400px 0px' });
      this.pending.observe(this.el);
    } else {
      this.render();
    }
  }

  get id(): string { return this.run.id; }
  get thresholdState(): ThresholdState { return this.thresholds; }

  private get results(): RunResults | null { return this.run.results; }

  private validThresholds(t: ThresholdState | undefined): ThresholdState {
    const r = this.run.results;
    if (!r) return { mode: 'shared', thresholds: [] };
    const B = r.points.length;
    if (t && t.thresholds.length === B && t.thresholds.every((x) => Number.isFinite(x))) return t;
    const same = r.thresholds.every((x) => x === r.thresholds[0]);
    return { mode: same ? 'shared' : 'perExit', thresholds: [...r.thresholds] };
  }

  /** Replaces the whole run (e.g. it finished and now has results). */
  setRun(run: RunData, thresholds?: ThresholdState): void {
    this.run = run;
    this.thresholds = this.validThresholds(thresholds ?? this.thresholds);
    if (this.pending) this.renderHeader(); // drawn in full when it comes into view
    else this.render();
  }

  appendMetrics(metrics: EpochMetrics[]): void {
    const byEpoch = new Map(this.run.metrics.map((m) => [m.epoch, m]));
    for (const m of metrics) byEpoch.set(m.epoch, m);
    this.run.metrics = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
    const p = this.ctx.palette();
    const epochs = this.run.status?.epochs ?? this.results?.epochs ?? 0;
    if (this.charts.loss) updateCurves(this.charts.loss, 'loss', this.run.metrics, this.pointNames(), p, epochs);
    if (this.charts.accuracy) updateCurves(this.charts.accuracy, 'accuracy', this.run.metrics, this.pointNames(), p, epochs);
    this.renderHeader();
  }

  updateStatus(status: RunStatus): void {
    this.run.status = status;
    this.renderHeader();
  }

  /** Draws the view now if it is still waiting to be scrolled near (e.g. before printing). */
  drawNow(): void {
    if (this.pending) this.render();
  }

  /** Theme changed: rebuild the charts with the new palette. */
  redraw(): void {
    if (this.pending) return; // reads the palette when it is drawn
    this.destroyCharts();
    this.render();
  }

  destroy(): void {
    this.pending?.disconnect();
    this.destroyCharts();
    this.el.remove();
  }

  private destroyCharts(): void {
    for (const c of [this.charts.tradeOff, this.charts.loss, this.charts.accuracy, ...this.charts.hist]) c?.destroy();
    this.charts = { hist: [] };
    this.rules?.destroy();
    this.rules = undefined;
  }

  /** The exits' names, the same while the run trains (from its experiment) as once it is evaluated. */
  private pointNames(): string[] {
    return this.results?.points ?? this.run.points ?? (this.run.metrics[0]?.exitAccuracy.map((_, b) => `exit ${b + 1}`) ?? []);
  }

  private title(): string {
    const r = this.results;
    if (!r) return `${this.run.status?.experiment ?? this.run.id} — ${this.run.status?.state ?? 'unknown'}`;
    return `${METHOD_TEXT[r.method]}${r.lambda !== null ? `, λ = ${r.lambda}` : ''} · ${r.backbone.label} · ${r.dataset.name}`;
  }

  private render(): void {
    this.pending?.disconnect();
    this.pending = undefined;
    this.el.classList.remove('ee-pending');
    this.destroyCharts();
    this.startWithHeader();
    if (this.run.problems.length) {
      this.el.append(h('div', { class: 'ee-problems', role: 'status' }, h('strong', {}, 'Problems reading this run: '), this.run.problems.join('; ')));
    }
    const r = this.results;
    if (r && this.run.samples && r.points.length === 0) {
      this.sweep = [];
      this.el.append(h('p', { class: 'ee-note' }, 'No exits: every input runs the whole network (the reference point of the trade-off).'), this.renderTable(r));
      this.recompute(false);
    } else if (r && this.run.samples) {
      this.sweep = r.sweep.length ? r.sweep : thresholdSweep(this.run.samples, r.costs, r.rule);
      this.el.append(this.renderControls(r));
      const tableCard = this.renderTable(r);
      const { card: toCard, canvas: toCanvas } = chartCard('Trade-off: accuracy vs average MACs', 'ee-tradeoff', () => this.png(this.charts.tradeOff, 'tradeoff'));
      this.el.append(h('div', { class: 'ee-grid2' }, tableCard, toCard));
      this.rules = new RuleComparisonSection(this.run, r, {
        palette: () => this.ctx.palette(),
        png: (chart, name) => this.png(chart, name),
        perExit: () => this.thresholds.mode === 'perExit',
        apply: (_rule, thresholds) => this.setThresholds({ mode: new Set(thresholds).size > 1 ? 'perExit' : this.thresholds.mode, thresholds }),
      });
      this.el.append(this.rules.el);
      const histCards = h('div', { class: 'ee-hists' });
      const hists = exitHistograms(this.run.samples, r.rule);
      const histCanvases = hists.map((hist, b) => {
        const { card, canvas } = chartCard(`${hist.point} — ${HIST_AXIS[r.rule]}`, 'ee-hist', () => this.png(this.charts.hist[b], `histogram-${hist.point}`));
        histCards.append(card);
        return canvas;
      });
      if (hists.length) this.el.append(h('h3', {}, 'Gate confidence per exit (Figure 4)'), histCards);
      this.recompute(false);
      const p = this.ctx.palette();
      this.charts.tradeOff = tradeOffChart(toCanvas, p, this.tradeOffSeries(r));
      this.charts.hist = hists.map((hist, b) => histogramChart(histCanvases[b], p, hist, p.series[b % p.series.length], this.thresholds.thresholds[b], HIST_AXIS[r.rule]));
    } else if (r) {
      this.el.append(h('p', { class: 'ee-note' }, 'The per-sample records (samples.json) are missing: thresholds cannot be explored.'));
    } else {
      this.el.append(h('p', { class: 'ee-note' }, this.pendingNote()));
    }
    this.renderCurves();
    if (r) this.el.append(this.renderExports(r));
  }

  /** Why a run without results shows no exit table, by its state: it trains, it was stopped, it failed. */
  private pendingNote(): string {
    const s = this.run.status;
    const resume = this.ctx.resumeHint?.(this.run) ?? 'resume it';
    const kept = s && s.epoch > 0
      ? ` after epoch ${s.epoch} of ${s.epochs}: its checkpoint is kept, so ${resume} continues from there, then evaluates it.`
      : ' before any epoch finished: there is no checkpoint to resume from; train its experiment again.';
    if (s?.state === 'cancelled') return `This run was cancelled${kept} It has no test results.`;
    if (s?.state === 'failed') return `This run failed${s.error ? ` (${s.error.split('\n')[0]})` : ''}${kept} It has no test results.`;
    return 'Not evaluated yet: the exit table, trade-off and histograms appear when the run finishes.';
  }

  /** Empties the section down to a fresh header (title and stats). */
  private startWithHeader(): void {
    this.headerEl = h('header', { class: 'ee-header' });
    this.el.replaceChildren(this.headerEl);
    this.renderHeader();
  }

  private renderHeader(): void {
    const speedup = (t: Omit<Timing, 'accelerator'>) => `${t.speedup.toFixed(2)}× (${t.timeSavedPct >= 0 ? `${t.timeSavedPct.toFixed(0)} % time saved` : `${(-t.timeSavedPct).toFixed(0)} % more time`})`;
    const latency = (t: Omit<Timing, 'accelerator'>) => `${t.fullMs.toFixed(2)} → ${t.hardMs.toFixed(2)} ms per image, batch 1, ${t.backend}`;
    if (!this.headerEl) return;
    const r = this.results;
    const s = this.run.status;
    const stat = (label: string, value: string, title?: string) => h('div', { class: 'ee-stat', title }, h('div', { class: 'ee-stat-label' }, label), h('div', { class: 'ee-stat-value' }, value));
    const stats: HTMLElement[] = [];
    if (r) {
      stats.push(
        stat('method', r.method), stat('λ', r.lambda === null ? '—' : String(r.lambda)), stat('backbone', r.backbone.label),
        stat('dataset', datasetText(r.dataset)), stat('backend', r.backend), stat('epochs', String(r.epochs)),
        stat('soft accuracy', pct(r.softAccuracy), 'Option 1: argmax of the soft-conditional output f̃₁'),
        stat('hard accuracy', pct(r.hard.accuracy), `Option 2 at the run's thresholds (${r.thresholds.map(tauText).join(', ')})`),
        stat('average MACs', `${macs(r.hard.averageMacs)} (${pctOf(r.hard.averageMacsPct)})`, `full network: ${macs(r.costs.full)} MACs`),
        ...(r.points.length ? [this.routingStat(r, stat)] : []),
        ...(r.recipes ? [stat('recipes', r.recipes, 'training recipes of method (warm-up, gate inputs, budget, temperature, hard gates)')] : []),
        // the torch engine on a GPU also times batch 1 there: shown beside the CPU figure
        stat(r.timing?.accelerator ? 'speed-up on the CPU' : 'measured speed-up', r.timing ? speedup(r.timing) : '—', r.timing ? latency(r.timing) : undefined),
      );
      const acc = r.timing?.accelerator;
      if (acc) stats.push(stat('speed-up on the GPU', speedup(acc), latency(acc)));
    }
    if (s && (s.state !== 'finished' || !r)) {
      stats.push(stat('state', `${s.state}${s.state === 'running' ? ` · epoch ${s.epoch}/${s.epochs}` : ''}`, s.error ?? undefined));
      if (!r && s.backend) stats.push(stat('backend', s.backend));
    }
    const warning = r && r.points.length ? collapseWarning(r.routing ?? routingOf(r.hard)) : null;
    this.headerEl.replaceChildren(h('h2', {}, this.title()), h('div', { class: 'ee-run-id' }, this.run.id), h('div', { class: 'ee-stats' }, ...stats));
    if (warning) {
      this.headerEl.append(h('div', { class: 'ee-collapse', role: 'alert' }, h('strong', {}, 'Routing collapsed: '),
        `${warning.replace(/^routing collapsed: /, '')} (at the run's thresholds; "Every rule at a MACs budget" below shows other τ).`));
    }
  }

  /** "2.1 of 4": how many exits the run's thresholds really use, the split in the tooltip. */
  private routingStat(r: RunResults, stat: (label: string, value: string, title?: string) => HTMLElement): HTMLElement {
    const routing = r.routing ?? routingOf(r.hard);
    const el = stat('effective exits', `${routing.effectiveExits.toFixed(1)} of ${routing.shares.length}`, routingText(routing));
    if (routing.collapsed) el.classList.add('ee-warn');
    return el;
  }

  private renderControls(r: RunResults): HTMLElement {
    const mode = h('vscode-single-select', { class: 'ee-mode', 'aria-label': 'threshold mode' },
      h('vscode-option', { value: 'shared', selected: this.thresholds.mode === 'shared' }, 'One τ for all exits'),
      h('vscode-option', { value: 'perExit', selected: this.thresholds.mode === 'perExit' }, 'One τ per exit'));
    mode.addEventListener('change', () => {
      const m = (mode as HTMLElement & { value: string }).value === 'perExit' ? 'perExit' : 'shared';
      if (m === this.thresholds.mode) return;
      this.setThresholds({ mode: m, thresholds: m === 'shared' ? this.thresholds.thresholds.map(() => this.thresholds.thresholds[0]) : [...this.thresholds.thresholds] });
    });
    const sliders = h('div', { class: 'ee-sliders' });
    this.controls = sliders;
    this.renderSliders(r);
    const hasValidation = !!this.run.validation;
    const budget = h('vscode-textfield', { class: 'ee-budget', type: 'number', min: 0, max: 200, step: 0.1, value: String(Math.round(r.hard.averageMacsPct)), title: 'average MACs budget, % of the full network' });
    const target = h('vscode-textfield', { class: 'ee-target', type: 'number', min: 0, max: 100, step: 0.1, value: (100 * r.hard.accuracy).toFixed(1), title: 'target accuracy, %' });
    this.calibrationText = h('span', { class: 'ee-calibration', role: 'status' }, hasValidation ? '' : 'No validation records: calibration unavailable.');
    const val = (el: HTMLElement) => Number((el as HTMLElement & { value: string }).value);
    const calBudget = button('Calibrate to budget', () => this.calibrateTo({ budget: (val(budget) / 100) * r.costs.full }), { cls: 'ee-cal-budget', title: 'most accurate τ on the validation split within this MACs budget' });
    const calAcc = button('Calibrate to accuracy', () => this.calibrateTo({ accuracy: val(target) / 100 }), { cls: 'ee-cal-accuracy', title: 'cheapest τ on the validation split reaching this accuracy' });
    if (!hasValidation) for (const b of [calBudget, calAcc]) b.setAttribute('disabled', '');
    const reset = button('Run\'s τ', () => this.setThresholds(this.validThresholds(undefined)), { secondary: true, title: 'back to the thresholds the run was evaluated at' });
    this.currentText = h('div', { class: 'ee-current', role: 'status' });
    return h('div', { class: 'ee-card ee-controls' },
      h('div', { class: 'ee-controls-row' }, h('span', { class: 'ee-card-title' }, `Threshold (${RULE_TEXT[r.rule]})`), mode, reset),
      sliders,
      h('div', { class: 'ee-controls-row' },
        h('label', {}, 'MACs budget (% of full) ', budget), calBudget,
        h('label', {}, 'accuracy (%) ', target), calAcc),
      this.calibrationText,
      this.currentText);
  }

  private renderSliders(r: RunResults): void {
    if (!this.controls) return;
    const rows: HTMLElement[] = [];
    const names = this.thresholds.mode === 'shared' ? ['all exits'] : r.points;
    names.forEach((name, b) => {
      const value = this.thresholds.thresholds[b] ?? 0.5;
      const out = h('output', { class: 'ee-tau-value' }, tauText(value));
      const input = h('input', { type: 'range', min: 0, max: 1, step: 0.01, value: String(value), class: 'ee-tau', 'data-exit': b, 'aria-label': `τ for ${name}` });
      input.addEventListener('input', () => {
        const v = Number(input.value);
        out.textContent = v.toFixed(2);
        const t = this.thresholds.mode === 'shared' ? this.thresholds.thresholds.map(() => v) : this.thresholds.thresholds.map((x, i) => (i === b ? v : x));
        this.setThresholds({ mode: this.thresholds.mode, thresholds: t }, false);
      });
      rows.push(h('label', { class: 'ee-slider' }, h('span', { class: 'ee-slider-name' }, `τ ${name}`), input, out));
    });
    this.controls.replaceChildren(...rows);
  }

  setThresholds(t: ThresholdState, rerenderSliders = true): void {
    const r = this.results;
    if (!r) return;
    // calibrated τ can sit between two 0.01 steps (quantile thresholds): keep them as picked
    this.thresholds = { mode: t.mode, thresholds: t.thresholds.map((x) => Math.min(1, Math.max(0, Math.round(x * 1e6) / 1e6))) };
    if (rerenderSliders) {
      this.renderSliders(r);
      const sel = this.el.querySelector('.ee-mode') as (HTMLElement & { value: string }) | null;
      if (sel && sel.value !== t.mode) sel.value = t.mode;
    }
    this.recompute(true);
    this.ctx.onThreshold?.(this.run.id, this.thresholds);
  }

  private calibrateTo(target: { budget?: number; accuracy?: number }): void {
    const r = this.results;
    if (!r || !this.run.validation || !this.run.samples || !this.calibrationText) return;
    const perExit = this.thresholds.mode === 'perExit';
    const c = calibrate(this.run.validation, this.run.samples, r.costs, r.rule, target, undefined, tablePositions(r.hard), perExit);
    const what = target.budget !== undefined ? `budget ${macs(target.budget)} MACs (${pctOf((100 * target.budget) / r.costs.full)})` : `accuracy ${pct(target.accuracy)}`;
    this.calibrationText.textContent = `${c.met ? 'Met' : 'Not met'} on validation for ${what}: τ = ${c.thresholds.map(tauText).join(' / ')}${perExit ? ' (per exit)' : ''}, validation accuracy ${pct(c.validation.accuracy)} at ${pctOf((100 * c.validation.averageMacs) / r.costs.full)} MACs${c.met ? '' : ' (closest τ used)'}.`;
    this.calibrationText.classList.toggle('ee-warn', !c.met);
    this.setThresholds({ mode: perExit ? 'perExit' : 'shared', thresholds: c.thresholds });
  }

  /** Recomputes the exit table, the current point and the histogram marks for the current τ. */
  private recompute(updateCharts: boolean): void {
    const r = this.results;
    if (!r || !this.run.samples) return;
    this.table = exitTable(this.run.samples, r.costs, r.rule, this.thresholds.thresholds.length ? this.thresholds.thresholds : 0, tablePositions(r.hard));
    this.fillTable(this.table);
    if (this.routingEl && r.points.length) {
      const routing = routingOf(this.table);
      const warning = collapseWarning(routing);
      this.routingEl.textContent = warning ? `${routingText(routing)}. Warning: ${warning}.` : `${routingText(routing)}.`;
      this.routingEl.classList.toggle('ee-warn', routing.collapsed);
    }
    if (this.currentText) {
      this.currentText.textContent = `At τ = ${this.thresholds.thresholds.map(tauText).join(' / ') || '—'}: accuracy ${pct(this.table.accuracy)}, average ${macs(this.table.averageMacs)} MACs (${pctOf(this.table.averageMacsPct)} of full)`;
    }
    if (!updateCharts) return;
    if (this.charts.tradeOff) updateTradeOffCurrent(this.charts.tradeOff, this.currentPoint());
    this.charts.hist.forEach((c, b) => setHistogramThreshold(c, this.thresholds.thresholds[b]));
  }

  private currentPoint(): XY {
    const t = this.table!;
    return { x: t.averageMacsPct, y: 100 * t.accuracy, label: `current τ (${t.thresholds.map(tauText).join('/')})` };
  }

  private tradeOffSeries(r: RunResults) {
    const curve = this.sweep.map((p) => ({ x: p.averageMacsPct, y: 100 * p.accuracy, label: `τ = ${tauText(p.threshold)}` }));
    const exits = r.hard.rows.map((row) => ({ x: row.macsPct, y: 100 * row.standalone, label: `${row.point} alone` }));
    const baseline = this.run.related.filter((x) => x.role === 'baseline').map((x) => ({ x: x.averageMacsPct, y: 100 * x.accuracy, label: x.label }));
    const sweepRuns = this.run.related.filter((x) => x.role === 'sweep').map((x) => ({ x: x.averageMacsPct, y: 100 * x.accuracy, label: x.label }));
    const current = this.currentPoint();
    const all = [...curve, ...exits, ...baseline, ...sweepRuns, current];
    const pareto = paretoFront(all.map((p) => ({ ...p, averageMacs: p.x, accuracy: p.y }))).map(({ x, y, label }) => ({ x, y, label }));
    const runs: { label: string; points: XY[]; style: 'triangle' | 'rect' }[] = [];
    if (baseline.length) runs.push({ label: 'baseline', points: baseline, style: 'triangle' });
    if (sweepRuns.length) runs.push({ label: 'other λ of this sweep', points: sweepRuns, style: 'rect' });
    return { curves: [{ label: `τ sweep (${r.rule})`, points: curve }], exits, runs, current, pareto };
  }

  private renderTable(r: RunResults): HTMLElement {
    const head = h('thead', {}, h('tr', {},
      h('th', {}, 'exit'), h('th', { class: 'num', title: 'γ_b: cost of leaving here' }, 'MACs (% of full)'),
      h('th', { class: 'num', title: 'share of the inputs leaving at this exit' }, 'leaving'),
      h('th', { class: 'num', title: 'accuracy of the inputs leaving here' }, 'acc. of those'),
      h('th', { class: 'num', title: 'accuracy of this classifier on every input' }, 'standalone')));
    this.tableBody = h('tbody');
    const csv = button('CSV', () => this.table && this.ctx.exporter('csv', `${safeName(this.run.id)}-exit-table.csv`, exitTableCsv(this.table)), { secondary: true, cls: 'ee-export', title: 'Save the exit table as CSV' });
    this.routingEl = h('div', { class: 'ee-routing', role: 'status' });
    return h('div', { class: 'ee-card ee-table-card' },
      h('div', { class: 'ee-card-bar' }, h('span', { class: 'ee-card-title' }, `Exit table (${r.rule})`), csv),
      h('table', { class: 'ee-table ee-exit-table' }, head, this.tableBody),
      this.routingEl);
  }

  private fillTable(t: ExitTable): void {
    if (!this.tableBody) return;
    const rows = t.rows.map((row) => h('tr', { class: row.point === 'final' ? 'ee-final' : undefined },
      h('td', {}, row.point === 'final' ? `final (#${row.position})` : `#${row.position} ${row.point}`),
      h('td', { class: 'num' }, `${macs(row.macs)} (${pctOf(row.macsPct)})`),
      h('td', { class: 'num' }, `${pct(row.share, 1)} (${row.count})`), h('td', { class: 'num' }, pct(row.accuracy)),
      h('td', { class: 'num' }, pct(row.standalone))));
    rows.push(h('tr', { class: 'ee-totals' },
      h('td', {}, 'total'), h('td', { class: 'num' }, `avg ${macs(t.averageMacs)} (${pctOf(t.averageMacsPct)})`),
      h('td', { class: 'num' }, `100 % (${t.count})`), h('td', { class: 'num' }, pct(t.accuracy)), h('td', { class: 'num' }, '—')));
    this.tableBody.replaceChildren(...rows);
  }

  private renderCurves(): void {
    const p = this.ctx.palette();
    const epochs = this.run.status?.epochs ?? this.results?.epochs ?? 0;
    const loss = chartCard('Training loss', 'ee-curve', () => this.png(this.charts.loss, 'loss'));
    const acc = chartCard('Validation accuracy', 'ee-curve', () => this.png(this.charts.accuracy, 'accuracy'));
    this.el.append(h('h3', {}, 'Training'), h('div', { class: 'ee-grid2' }, loss.card, acc.card));
    this.charts.loss = curveChart(loss.canvas, p, 'loss', this.run.metrics, this.pointNames(), epochs);
    this.charts.accuracy = curveChart(acc.canvas, p, 'accuracy', this.run.metrics, this.pointNames(), epochs);
    // The legend is drawn on the canvas: say it in the label too (screen readers, tests).
    for (const [chart, canvas, title] of [[this.charts.loss, loss.canvas, 'Training loss'], [this.charts.accuracy, acc.canvas, 'Validation accuracy']] as const) {
      canvas.setAttribute('aria-label', `${title}: ${chart.data.datasets.map((d) => d.label).join(', ')}`);
    }
  }

  private renderExports(r: RunResults): HTMLElement {
    return h('div', { class: 'ee-exports' },
      button('Summary JSON', () => this.ctx.exporter('json', `${safeName(this.run.id)}-summary.json`, JSON.stringify(this.summary(r), null, 2) + '\n'), { secondary: true, cls: 'ee-export-json' }),
      this.sweep.length ? button('Sweep CSV', () => this.ctx.exporter('csv', `${safeName(this.run.id)}-sweep.csv`, sweepCsv(this.sweep)), { secondary: true, cls: 'ee-export-sweep' }) : null);
  }

  /** The run summary export: what the header shows plus the table at the current thresholds. */
  summary(r: RunResults) {
    return {
      run: this.run.id, method: r.method, lambda: r.lambda, backbone: r.backbone, dataset: r.dataset, backend: r.backend, epochs: r.epochs,
      softAccuracy: r.softAccuracy, finalAccuracy: r.finalAccuracy, costs: r.costs, timing: r.timing,
      runThresholds: { thresholds: r.thresholds, accuracy: r.hard.accuracy, averageMacs: r.hard.averageMacs, averageMacsPct: r.hard.averageMacsPct },
      current: this.table,
      calibration: r.calibration ? { target: r.calibration.target, met: r.calibration.met, thresholds: r.calibration.thresholds } : null,
    };
  }

  private png(chart: Chart | undefined, name: string): void {
    if (chart) this.ctx.exporter('png', `${safeName(this.run.id)}-${name}.png`, chartPng(chart));
  }
}
