/**
 * "Every rule on this network": on one trained run's records, the accuracy / average-MACs curve of
 * the learned gates (τ swept), of BranchyNet's entropy rule and of the max-softmax rule on the same
 * exits, in one chart, with the area between the gates' curve and each other's in numbers; and the
 * target-budget workflow — Table 2 at a MACs budget for every rule, τ picked on the validation
 * split (shared, or per exit). Everything comes from spec/analysis.ts.
 */
import type { Chart } from 'chart.js';
import { budgetTable, compareRules, gapText, RULE_NAMES, splitText, tausText, tauText, type RuleComparison } from '../../src/spec/analysis';
import type { ExitRule, RunResults } from '../../src/spec/results';
import type { RunData } from '../../src/protocol/webview';
import { tradeOffChart, type TradeOffSeries } from './charts';
import { button, chartCard, h, pct, pctOf } from './dom';
import type { Palette } from './theme';

export interface RuleComparisonOptions {
  palette(): Palette;
  png(chart: Chart | undefined, name: string): void;
  /** Show this rule's thresholds in the run's view (only for the run's own rule). */
  apply?(rule: ExitRule, thresholds: number[]): void;
  /** Whether calibration picks one τ per exit (the view's threshold mode). */
  perExit(): boolean;
}

/** The chart's series: one curve per rule, each exit alone; no other runs. */
export function ruleSeries(c: RuleComparison, r: RunResults): TradeOffSeries {
  return {
    curves: c.curves.map((k) => ({ label: RULE_NAMES[k.rule], points: k.sweep.map((p) => ({ x: p.averageMacsPct, y: 100 * p.accuracy, label: `${RULE_NAMES[k.rule]}, τ = ${tauText(p.threshold)}` })) })),
    exits: r.hard.rows.map((row) => ({ x: row.macsPct, y: 100 * row.standalone, label: `${row.point} alone` })),
    runs: [], current: null, pareto: [],
  };
}

export class RuleComparisonSection {
  readonly el: HTMLElement;
  private chart?: Chart;
  private readonly comparison: RuleComparison;
  private budgetBody?: HTMLTableSectionElement;
  private budgetNote?: HTMLElement;

  constructor(private readonly run: RunData, private readonly r: RunResults, private readonly o: RuleComparisonOptions) {
    this.comparison = r.rules ?? compareRules(run.samples!, r.costs);
    const { card, canvas } = chartCard('Every rule on this network: accuracy vs average MACs', 'ee-rules', () => this.o.png(this.chart, 'rules'));
    const gaps = h('ul', { class: 'ee-gaps' }, ...this.comparison.gaps.map((g) => h('li', { class: g.meanGap >= 0 ? 'ee-ahead' : 'ee-behind' }, gapText(g))));
    card.append(gaps);
    this.el = h('div', { class: 'ee-rules-section' },
      h('h3', {}, 'Learned gates vs softmax rules (same network, same exits)'),
      h('div', { class: 'ee-grid2' }, card, this.budgetCard()));
    this.chart = tradeOffChart(canvas, this.o.palette(), ruleSeries(this.comparison, r), 'Every exit rule on this network');
  }

  private budgetCard(): HTMLElement {
    const r = this.r;
    const field = h('vscode-textfield', { class: 'ee-rule-budget', type: 'number', min: 1, max: 100, step: 1, value: String(r.budgetComparison?.[0] ? Math.round(100 * r.budgetComparison[0].share) : 60), title: 'average MACs budget, % of the full network' });
    this.budgetBody = h('tbody');
    this.budgetNote = h('div', { class: 'ee-calibration', role: 'status' });
    const go = button('Table 2 at this budget', () => this.fill(Number((field as HTMLElement & { value: string }).value) / 100), { cls: 'ee-rule-budget-go', title: 'pick τ on the validation split for every rule, report the test split' });
    if (!this.run.validation) go.setAttribute('disabled', '');
    const card = h('div', { class: 'ee-card ee-budget-card' },
      h('div', { class: 'ee-card-bar' }, h('span', { class: 'ee-card-title' }, 'Every rule at a MACs budget')),
      h('div', { class: 'ee-controls-row' }, h('label', {}, 'budget (% of full) ', field), go),
      h('table', { class: 'ee-table ee-budget-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'rule'), h('th', {}, 'τ'), h('th', { class: 'num' }, 'test acc.'), h('th', { class: 'num' }, 'avg MACs'), h('th', {}, 'split'), h('th', {}))),
        this.budgetBody),
      this.budgetNote);
    if (this.run.validation) this.fill(r.budgetComparison?.[0]?.share ?? 0.6);
    else this.budgetNote.textContent = 'No validation records: τ cannot be picked for a budget.';
    return card;
  }

  /** Fills the budget table: every rule calibrated on validation to `share` of the full network's MACs. */
  fill(share: number): void {
    if (!this.run.validation || !this.run.samples || !this.budgetBody || !this.budgetNote) return;
    if (!(share > 0 && share <= 1)) {
      this.budgetNote.textContent = 'Give a budget between 1 and 100 % of the full network.';
      return;
    }
    const perExit = this.o.perExit();
    const cells = budgetTable(this.run.validation, this.run.samples, this.r.costs, [share], { perExit, positions: this.r.hard.rows.slice(0, -1).map((x) => x.position) });
    const best = Math.max(...cells.map((c) => c.calibration.test.accuracy));
    this.budgetBody.replaceChildren(...cells.map((c) => {
      const t = c.calibration.test;
      const use = c.rule === this.r.rule && this.o.apply ? button('Use', () => this.o.apply!(c.rule, c.calibration.thresholds), { secondary: true, title: 'show these thresholds in the exit table above' }) : null;
      return h('tr', { class: t.accuracy === best ? 'ee-best' : undefined, 'data-rule': c.rule },
        h('td', {}, RULE_NAMES[c.rule]), h('td', { title: c.calibration.thresholds.map(tauText).join(' / ') }, tausText(c.calibration.thresholds, ' / ')),
        h('td', { class: 'num' }, pct(t.accuracy)), h('td', { class: 'num' }, pctOf(t.averageMacsPct)),
        h('td', { class: c.routing.collapsed ? 'ee-split ee-warn' : 'ee-split', title: `${splitText(c.routing)}${c.routing.collapsed ? ': one exit takes ≥ 95 % of the inputs' : ''}` }, splitText(c.routing, true) + (c.routing.collapsed ? ' — collapsed' : '')),
        h('td', {}, use));
    }));
    const unmet = cells.filter((c) => !c.calibration.met).map((c) => RULE_NAMES[c.rule]);
    this.budgetNote.textContent = `τ ${perExit ? 'per exit' : 'shared by every exit'}, picked on ${this.run.validation.count} validation samples for ${Math.round(100 * share)} % of the full network's MACs; test accuracy on ${this.run.samples.count} test samples.` +
      (unmet.length ? ` Not reachable on validation for ${unmet.join(', ')} (the cheapest τ is shown).` : '');
    this.budgetNote.classList.toggle('ee-warn', unmet.length > 0);
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }
}
