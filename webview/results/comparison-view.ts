/** The comparison view: the paper's Table 1 layout (dataset × backbone × method) and every run on one trade-off chart. */
import type { Chart } from 'chart.js';
import {
  collapseWarning, comparisonCsv, comparisonTable, paretoFront, routingOf, routingText, tableOneAccuracy, type ComparisonEntry,
} from '../../src/spec/analysis';
import type { RunData } from '../../src/protocol/webview';
import { chartPng, tradeOffChart, type TradeOffSeries, type XY } from './charts';
import { button, chartCard, h, pct, pctOf } from './dom';
import { runFacts, shortRunId } from '../../src/spec/run-label';
import type { Exporter } from './export';
import type { Palette } from './theme';

const METHOD_LABEL = { baseline: 'Baseline', branchynet: 'BranchyNet', proposed: 'Proposed' } as const;

export interface ComparisonContext {
  palette(): Palette;
  exporter: Exporter;
  /** Open one run's results (host panel, or an in-page anchor in the report). */
  openRun(run: RunData): void;
}

export class ComparisonView {
  readonly el = h('section', { class: 'ee-comparison', id: 'comparison' });
  private chart?: Chart;

  constructor(private runs: RunData[], private readonly ctx: ComparisonContext) {
    this.render();
  }

  setRuns(runs: RunData[]): void {
    this.runs = runs;
    this.render();
  }

  redraw(): void { this.render(); }

  destroy(): void {
    this.chart?.destroy();
    this.el.remove();
  }

  private evaluated() {
    return this.runs.filter((r): r is RunData & { results: NonNullable<RunData['results']> } => r.results !== null);
  }

  /**
   * Names a run so that the runs compared can be told apart: method and the facts that differ
   * between runs of one experiment (λ, epochs, accuracy), backbone and dataset only when the runs
   * compared differ in them, and the short run id.
   */
  private label(r: RunData & { results: NonNullable<RunData['results']> }): string {
    const x = r.results;
    const runs = this.evaluated();
    const varies = (f: (y: NonNullable<RunData['results']>) => string) => new Set(runs.map((o) => f(o.results))).size > 1;
    const where = [varies((y) => y.backbone.label) ? x.backbone.label : '', varies((y) => y.dataset.name) ? x.dataset.name : ''].filter(Boolean);
    const facts = runFacts({ lambda: x.lambda, epochs: x.epochs, accuracy: tableOneAccuracy(x) });
    return `${METHOD_LABEL[x.method]}${facts ? ` · ${facts}` : ''}${where.length ? ` · ${where.join(' · ')}` : ''} (${shortRunId(r.id)})`;
  }

  /** Effective exits at the run's thresholds, flagged when one exit takes ≥ 95 % of the inputs. */
  private routingCell(x: RunData['results']): HTMLElement {
    if (!x || !x.points.length) return h('td', { class: 'num' }, '—');
    const r = x.routing ?? routingOf(x.hard);
    return h('td', { class: `num${r.collapsed ? ' ee-warn' : ''}`, title: collapseWarning(r) ?? routingText(r) }, `${r.effectiveExits.toFixed(1)} of ${r.shares.length}${r.collapsed ? ' — collapsed' : ''}`);
  }

  private render(): void {
    this.chart?.destroy();
    this.chart = undefined;
    const runs = this.evaluated();
    const entries: ComparisonEntry[] = runs.map((r) => ({
      id: r.id, dataset: r.results.dataset.name, backbone: r.results.backbone.label, method: r.results.method, lambda: r.results.lambda,
      accuracy: tableOneAccuracy(r.results),
    }));
    const t = comparisonTable(entries);
    const head1 = h('tr', {}, h('th', { rowspan: 2 }, 'dataset'), ...t.backbones.map((b) => h('th', { colspan: t.methods.length, class: 'ee-group' }, b)));
    const head2 = h('tr', {}, ...t.backbones.flatMap(() => t.methods.map((m) => h('th', { class: 'num' }, METHOD_LABEL[m]))));
    const body = t.datasets.map((d, di) => h('tr', {}, h('th', { scope: 'row' }, d), ...t.backbones.flatMap((_, bi) => {
      const cells = t.cells[di][bi];
      const best = Math.max(...cells.map((c) => c?.accuracy ?? -1));
      // Each cell says which run it shows (the best of its method there), not only a number.
      return cells.map((c) => {
        const run = c ? runs.find((r) => r.id === c.id) : undefined;
        const which = c ? `${runFacts({ lambda: c.lambda, epochs: run?.results.epochs })}${c.runs > 1 ? ` · best of ${c.runs}` : ''}` : '';
        return h('td', { class: `num${c && c.accuracy === best ? ' ee-best' : ''}`, title: c ? `${c.id}${c.runs > 1 ? ` (best of ${c.runs} runs)` : ''}` : undefined },
          c ? pct(c.accuracy) : '—', c ? h('div', { class: 'ee-cell-run' }, `${which ? `${which} · ` : ''}${shortRunId(c.id)}`) : null);
      });
    })));
    const csv = button('CSV', () => this.ctx.exporter('csv', 'comparison-table1.csv', comparisonCsv(t)), { secondary: true, cls: 'ee-export' });
    const tableCard = h('div', { class: 'ee-card' },
      h('div', { class: 'ee-card-bar' }, h('span', { class: 'ee-card-title' }, 'Test accuracy (Table 1 layout: soft output for the proposed method, final classifier otherwise)'), csv),
      h('table', { class: 'ee-table ee-table1' }, h('thead', {}, head1, head2), h('tbody', {}, ...body)));

    const runRows = this.runs.map((r) => {
      const x = r.results;
      const open = button('Open', () => this.ctx.openRun(r), { secondary: true, cls: 'ee-open-run' });
      return h('tr', {},
        h('td', { title: r.id }, shortRunId(r.id)), h('td', {}, x ? METHOD_LABEL[x.method] : (r.status?.state ?? '?'), x?.recipes ? h('div', { class: 'ee-cell-recipes' }, x.recipes) : null), h('td', { class: 'num' }, x?.lambda === null || x === null ? '—' : String(x.lambda)),
        h('td', { class: 'num' }, x ? String(x.epochs) : r.status ? `${r.status.epoch}/${r.status.epochs}` : '—'),
        h('td', {}, x?.dataset.name ?? ''), h('td', {}, x?.backbone.label ?? ''),
        h('td', { class: 'num' }, x ? pct(tableOneAccuracy(x)) : '—'), h('td', { class: 'num' }, x ? pct(x.hard.accuracy) : '—'),
        h('td', { class: 'num' }, x ? pctOf(x.hard.averageMacsPct) : '—'), this.routingCell(x),
        h('td', { class: 'num' }, x?.timing ? `${x.timing.speedup.toFixed(2)}×` : '—'),
        h('td', {}, open));
    });
    const runsCard = h('div', { class: 'ee-card' }, h('div', { class: 'ee-card-bar' }, h('span', { class: 'ee-card-title' }, 'Runs')),
      h('table', { class: 'ee-table ee-runs-table' },
        h('thead', {}, h('tr', {}, ...['run', 'method', 'λ', 'epochs', 'dataset', 'backbone', 'accuracy', 'hard accuracy', 'avg MACs', 'effective exits', 'speed-up', ''].map((c) => h('th', {}, c)))),
        h('tbody', {}, ...runRows)));

    const { card, canvas } = chartCard('All runs: accuracy vs average MACs', 'ee-tradeoff', () => this.chart && this.ctx.exporter('png', 'comparison-tradeoff.png', chartPng(this.chart)));
    const damaged = this.runs.filter((r) => r.problems.length);
    const problems = damaged.length
      ? h('div', { class: 'ee-problems', role: 'status' }, h('strong', {}, 'Problems reading some runs (shown with what could be read): '),
        damaged.map((r) => `${r.id}: ${r.problems.join('; ')}`).join(' · '))
      : null;
    this.el.replaceChildren(h('h2', {}, `Comparison of ${this.runs.length} runs`), ...(problems ? [problems] : []), tableCard, card, runsCard);
    const series: TradeOffSeries = { curves: [], exits: [], runs: [], current: null, pareto: [] };
    const all: XY[] = [];
    const operating: XY[] = [], baselines: XY[] = [], operatingColors: number[] = [];
    for (const r of runs) {
      const pt: XY = r.results.method === 'baseline'
        ? { x: 100, y: 100 * r.results.finalAccuracy, label: this.label(r) }
        : { x: r.results.hard.averageMacsPct, y: 100 * r.results.hard.accuracy, label: this.label(r) };
      if (r.results.sweep.length) {
        const pts = r.results.sweep.map((p) => ({ x: p.averageMacsPct, y: 100 * p.accuracy, label: `${this.label(r)} τ=${p.threshold.toFixed(2)}` }));
        series.curves.push({ label: this.label(r), points: pts });
        all.push(...pts);
      }
      if (r.results.method === 'baseline') baselines.push(pt);
      else {
        operating.push(pt);
        operatingColors.push(r.results.sweep.length ? series.curves.length - 1 : 5);
      }
      all.push(pt);
    }
    if (operating.length) series.runs.push({ label: "each run at its τ (colour of its curve)", points: operating, style: 'circle', colorIndex: operatingColors });
    if (baselines.length) series.runs.push({ label: 'baseline (no exits)', points: baselines, style: 'triangle' });
    series.pareto = paretoFront(all.map((p) => ({ ...p, averageMacs: p.x, accuracy: p.y }))).map(({ x, y, label }) => ({ x, y, label }));
    this.chart = tradeOffChart(canvas, this.ctx.palette(), series, 'All runs: accuracy vs average MACs');
  }
}
