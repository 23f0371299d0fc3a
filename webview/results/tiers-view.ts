/**
 * The results view's "Deployment across tiers" section: the run's network split over tiers
 * (device, edge, cloud) at the current thresholds, estimated from its per-sample records with
 * src/spec/tier-estimate.ts — tiers and cuts, the flow of inputs across tiers, the latency
 * distribution, the latency and bytes fronts over every placement and τ, the best placement for a
 * budget — and, where `early-exit deploy run` measured this placement, the measurement beside it.
 * A <details> section: closed (and not drawn) until opened, unless the run has a plan.
 */
import type { Chart } from 'chart.js';
import type { DeploymentState, RunData, ThresholdState } from '../../src/protocol/webview';
import { compareSplit, measuredAccuracy, type ComparisonRow, type SplitMeasurement } from '../../src/spec/split-results';
import type { RunResults } from '../../src/spec/results';
import {
  bestPlacement, bytesFront, defaultDeploymentFor, deploymentPathsCsv, deploymentSweep, deploymentSweepCsv, estimateDeployment, latencyFront,
  networkCostsOf, placementLabel, resolvePlan, type DeploymentEstimate, type DeploymentPoint, type NetworkCosts, type ResolvedPlan,
} from '../../src/spec/tier-estimate';
import {
  computeText, cutNames, formatBytes, formatMs, formatRate, INPUT_CUT, placeCut, presetById, retier, TIER_PRESETS, tierOfBlock, tierRanges,
  type DeploymentSpec,
} from '../../src/spec/tiers';
import { chartPng, type XY } from './charts';
import { button, chartCard, h, pct } from './dom';
import { safeName, type Exporter } from './export';
import { flowChart, frontChart, latencyChart } from './tier-charts';
import type { Palette } from './theme';

export interface TiersContext {
  palette(): Palette;
  exporter: Exporter;
  /** The user changed the plan (preset, cut, quantisation): the host saves it. */
  onDeployment?(runId: string, d: DeploymentSpec): void;
  /** "Apply" on a best placement: its τ for every exit. */
  onThresholds?(runId: string, t: ThresholdState): void;
}

type SelectEl = HTMLElement & { value: string };

export class TiersView {
  readonly el: HTMLDetailsElement;
  private run: RunData;
  private thresholds: number[];
  private state: DeploymentState;
  /** the plan shown: the state's, or an unsaved one the user is exploring */
  private deployment: DeploymentSpec | null = null;
  private plan: ResolvedPlan | null = null;
  private problem: string | null = null;
  private estimate: DeploymentEstimate | null = null;
  private sweep: { key: string; points: DeploymentPoint[] } | null = null;
  private best: DeploymentPoint | null = null;
  private charts: Chart[] = [];
  private canvases: HTMLCanvasElement[] = [];
  private drawn = false;
  /** the user changed the plan here */
  private edited = false;

  constructor(run: RunData, private readonly ctx: TiersContext, thresholds: number[]) {
    this.run = run;
    this.thresholds = thresholds;
    this.state = { deployment: run.deploy?.deployment ?? null, source: run.deploy?.source ?? 'none', problem: run.deploy?.problem };
    this.el = h('details', { class: 'ee-tiers', id: `tiers-${run.id}` }) as HTMLDetailsElement;
    this.el.open = !!this.state.deployment;
    this.el.addEventListener('toggle', () => { if (this.el.open && !this.drawn) this.render(); });
    this.resolve();
    this.render();
  }

  /** Whether the section can show anything (a finished run with records and exits). */
  static applies(run: RunData): boolean {
    return !!run.results && !!run.samples && run.results.points.length > 0;
  }

  setRun(run: RunData, thresholds: number[]): void {
    this.run = run;
    this.thresholds = thresholds;
    this.state = { deployment: run.deploy?.deployment ?? this.state.deployment, source: run.deploy?.source ?? this.state.source, file: this.state.file, problem: run.deploy?.problem };
    this.sweep = null;
    this.resolve();
    this.render();
  }

  setThresholds(thresholds: number[]): void {
    this.thresholds = thresholds;
    this.recompute();
  }

  /** The host found (or the user edited) the plan in the run's experiment file. */
  setDeploymentState(state: DeploymentState): void {
    // a file without a plan does not hide the run's own: it only says where changes are saved
    this.state = !state.deployment && this.state.source === 'run' ? { ...this.state, file: state.file, problem: state.problem } : state;
    if (this.state.deployment && !this.el.open) this.el.open = true;
    this.resolve();
    this.render();
  }

  redraw(): void {
    if (this.drawn) this.render();
  }

  destroy(): void {
    this.destroyCharts();
    this.el.remove();
  }

  private destroyCharts(): void {
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }

  /** The plan shown and its resolution (tiers, cuts, times) or the problem that stops it. */
  private resolve(): void {
    const r = this.run.results;
    this.problem = null;
    this.plan = null;
    if (!r || !TiersView.applies(this.run)) return;
    try {
      this.deployment = this.state.deployment ?? this.deployment ?? defaultDeploymentFor(r);
      this.plan = resolvePlan(r, this.deployment, this.run.deploy?.speeds ?? null);
    } catch (e) {
      this.problem = (e as Error).message;
    }
  }

  /** Sets a new plan: shown at once, and handed to the host to save. */
  private change(d: DeploymentSpec): void {
    this.deployment = d;
    this.edited = true;
    this.state = { ...this.state, deployment: d };
    this.ctx.onDeployment?.(this.run.id, d);
    this.resolve();
    this.render();
  }

  private sourceText(): string {
    const s = this.state;
    if (s.source === 'workspace') return `Plan from ${s.file ?? 'the experiment file'}; changes here are saved there (the Branches view shows the same cuts).`;
    if (this.edited && !s.file) return 'Changed here, not saved: there is no experiment file for this run in the workspace (or this is the standalone report).';
    if (s.source === 'run') return `Plan from the run's experiment.json.${s.file ? ` Changes are saved to ${s.file}.` : ' No experiment file for this run in the workspace: changes here are not saved.'}`;
    return s.file ? `Not planned yet: the first preset, placed as the paper's Figure 2. Changes are saved to ${s.file}.` : 'Not planned yet: the first preset, placed as the paper\'s Figure 2 (not saved). Add a "deployment" section to the experiment file, or use `early-exit deploy plan`.';
  }

  private render(): void {
    this.destroyCharts();
    const r = this.run.results;
    const summary = h('summary', {}, h('span', { class: 'ee-card-title' }, 'Deployment across tiers'), h('span', { class: 'ee-tiers-summary' }));
    this.el.replaceChildren(summary);
    if (!r || !TiersView.applies(this.run)) {
      this.el.append(h('p', { class: 'ee-note' }, 'Needs a finished run with exits and its per-sample records.'));
      this.drawn = true;
      return;
    }
    if (!this.el.open) { this.drawn = false; this.fillSummary(); return; }
    this.drawn = true;
    this.el.append(this.renderControls(), h('p', { class: 'ee-note ee-tiers-source' }, this.sourceText()));
    if (this.state.problem) this.el.append(h('div', { class: 'ee-problems' }, this.state.problem));
    if (!this.plan) {
      this.el.append(h('div', { class: 'ee-problems', role: 'status' }, this.problem ?? 'no plan'));
      return;
    }
    this.el.append(h('div', { class: 'ee-tier-strip' }), h('div', { class: 'ee-stats ee-tier-stats' }), h('div', { class: 'ee-tier-measured' }));
    const flow = chartCard('Where inputs are answered', 'ee-tier-flow', () => this.png(0, 'tier-flow'));
    const lat = chartCard('End-to-end latency per input', 'ee-tier-latency', () => this.png(1, 'tier-latency'));
    const lf = chartCard('Accuracy vs mean latency (every placement × τ)', 'ee-tier-front', () => this.png(2, 'latency-front'));
    const bf = chartCard('Accuracy vs bytes sent (every placement × τ)', 'ee-tier-front', () => this.png(3, 'bytes-front'));
    this.el.append(h('div', { class: 'ee-grid2' }, flow.card, lat.card), this.renderBudget(), h('div', { class: 'ee-grid2' }, lf.card, bf.card), this.renderExports());
    this.canvases = [flow.canvas, lat.canvas, lf.canvas, bf.canvas];
    this.recompute();
  }

  private renderControls(): HTMLElement {
    const d = this.deployment!;
    const preset = h('vscode-single-select', { class: 'ee-tier-preset', 'aria-label': 'tier preset' },
      ...TIER_PRESETS.map((p) => h('vscode-option', { value: p.id, selected: d.preset === p.id, description: p.description }, p.label)),
      ...(d.tiers ? [h('vscode-option', { value: 'custom', selected: true }, `custom: ${d.tiers.map((t) => t.name).join(' + ')}`)] : []));
    preset.addEventListener('change', () => {
      const id = (preset as SelectEl).value;
      const p = presetById(id);
      if (!p || id === d.preset) return;
      const net = this.network();
      if (net) this.change(retier(d, { preset: id }, this.blockIds(), net.exits.map((e) => e.block)));
    });
    const quant = h('vscode-single-select', { class: 'ee-tier-quant', 'aria-label': 'feature map precision' },
      h('vscode-option', { value: 'float32', selected: d.quantization === 'float32' }, 'float32 maps'),
      h('vscode-option', { value: 'int8', selected: d.quantization === 'int8' }, 'int8 maps'));
    quant.addEventListener('change', () => {
      const q = (quant as SelectEl).value === 'int8' ? 'int8' : 'float32';
      if (q !== d.quantization) this.change({ ...d, quantization: q });
    });
    const ids = this.blockIds();
    const names = this.plan?.tiers.map((t) => t.name) ?? [];
    const cuts = d.cuts.map((c, k) => {
      const sel = h('vscode-single-select', { class: 'ee-tier-cut', 'data-link': k, 'aria-label': `cut ${k + 1}` },
        ...[INPUT_CUT, ...ids].map((id) => h('vscode-option', { value: id, selected: id === c }, id === INPUT_CUT ? 'input (nothing)' : id)));
      sel.addEventListener('change', () => {
        const v = (sel as SelectEl).value;
        if (v === c) return;
        // keep the cuts ordered: moving one past its neighbours moves them along
        this.change(placeCut(d, ids, k, v));
      });
      return h('label', {}, `${names[k] ?? `tier ${k + 1}`} runs up to `, sel);
    });
    return h('div', { class: 'ee-controls-row ee-tier-controls' }, h('label', {}, 'tiers ', preset), quant, ...cuts);
  }

  /** The run's blocks and exits from its results alone, so the controls work when the plan does not resolve. */
  private network(): NetworkCosts | null {
    const r = this.run.results;
    if (!r) return null;
    if (this.net?.of !== r) {
      // results of a backbone or exit this build does not know: no controls, the plan's problem says why
      try { this.net = { of: r, costs: networkCostsOf(r) }; } catch { return null; }
    }
    return this.net.costs;
  }

  private net: { of: RunResults; costs: NetworkCosts } | undefined;

  private blockIds(): string[] {
    return this.network()?.blocks.map((b) => b.id) ?? [];
  }

  private fillSummary(): void {
    const s = this.el.querySelector('.ee-tiers-summary');
    if (!s) return;
    const e = this.estimate;
    if (!this.plan || !e) { s.textContent = this.problem ? ` — ${this.problem}` : (this.state.deployment ? '' : ' — not planned; open to estimate a split over device, edge and cloud'); return; }
    const preset = presetById(this.plan.profile);
    s.textContent = ` — ${preset?.label ?? 'custom tiers'} · cuts after ${placementLabel(e.cuts, this.plan.net)} · mean ${formatMs(e.latency.mean)} · ${pct(e.deviceShare, 1)} on the device · ${formatBytes(e.bytesPerInput.chosen)} per input · ${pct(e.accuracy)}`;
  }

  /** The measurement of this very placement, if `deploy run` made one. */
  private measurement(): SplitMeasurement | null {
    const p = this.plan, e = this.estimate;
    if (!p || !e) return null;
    const all = (this.run.deploy?.measured ?? []).filter((m) => m.profile === p.profile && m.cuts.join(',') === p.cuts.join(',') && m.quantization === p.quantization);
    return all.find((m) => m.shaped) ?? all[0] ?? null;
  }

  /** Estimate at the current τ, the sweep (per profile and quantisation), then every part of the section. */
  private recompute(): void {
    const r = this.run.results, rec = this.run.samples, p = this.plan;
    if (!r || !rec || !p) { this.fillSummary(); return; }
    const th = this.thresholds.length === rec.exits.length ? this.thresholds : r.thresholds;
    try {
      this.estimate = estimateDeployment(rec, r.rule, th, p.net, p.tiers, p.times, p.cuts, p.quantization);
    } catch (e) {
      this.problem = (e as Error).message;
      this.estimate = null;
    }
    this.fillSummary();
    if (!this.drawn || !this.estimate) return;
    const key = `${JSON.stringify(p.tiers)}|${p.quantization}|${rec.count}`;
    if (this.sweep?.key !== key) this.sweep = { key, points: deploymentSweep(rec, r.rule, p.net, p.tiers, p.times, p.quantization) };
    this.fillStrip();
    this.fillStats();
    this.fillMeasured();
    this.drawCharts();
    this.updateBest();
  }

  private fillStrip(): void {
    const strip = this.el.querySelector('.ee-tier-strip');
    const p = this.plan!, e = this.estimate!;
    if (!strip) return;
    const ranges = tierRanges(p.cuts, p.net.blocks.length);
    const lastTier = tierOfBlock(p.cuts, p.net.blocks.length - 1);
    const n = e.count || 1;
    const parts: HTMLElement[] = [];
    p.tiers.forEach((t, i) => {
      const [from, to] = ranges[i];
      const exits = p.net.exits.filter((x) => x.block >= from && x.block < to).map((x) => x.point);
      const runs = from === to ? (i === 0 ? 'captures the input' : i > lastTier ? 'unused' : 'relays') : `${p.net.blocks[from].id}${to - from > 1 ? `–${p.net.blocks[to - 1].id}` : ''}`;
      parts.push(h('div', { class: 'ee-tier', 'data-tier': t.name, title: t.source ?? '' },
        h('div', { class: 'ee-tier-name' }, t.name, t.label ? h('span', { class: 'ee-tier-label' }, ` ${t.label}`) : null),
        h('div', {}, runs, exits.length ? ` · exit ${exits.join(', ')}` : '', to === p.net.blocks.length && from < to ? ' · final' : ''),
        h('div', { class: 'ee-tier-compute' }, `${computeText(t.compute)} · ${formatMs(e.computeMs[i])} per input`),
        h('div', { class: 'ee-tier-answers' }, `answers ${pct(e.tierStops[i] / n, 1)} (${e.tierStops[i]})`)));
      if (t.link) {
        const sent = e.bytesPer1000.perLink[i] / 1000;
        parts.push(h('div', { class: 'ee-link', title: t.link.source ?? '' },
          h('div', { class: 'ee-link-arrow' }, '→'),
          h('div', {}, `${t.link.name} ${formatRate(t.link.bitsPerSecond)}`),
          h('div', {}, `RTT ${formatMs(t.link.rttMs)}`),
          h('div', { class: 'ee-link-bytes' }, `${pct(e.crossings[i] / n, 1)} cross · ${formatBytes(sent)}/input`)));
      }
    });
    strip.replaceChildren(...parts);
  }

  private fillStats(): void {
    const el = this.el.querySelector('.ee-tier-stats');
    const e = this.estimate!;
    if (!el) return;
    const stat = (label: string, value: string, title?: string) => h('div', { class: 'ee-stat', title }, h('div', { class: 'ee-stat-label' }, label), h('div', { class: 'ee-stat-value' }, value));
    el.replaceChildren(
      stat('latency mean', formatMs(e.latency.mean)), stat('p50 / p95 / p99', `${formatMs(e.latency.p50)} / ${formatMs(e.latency.p95)} / ${formatMs(e.latency.p99)}`),
      stat('never leave the device', pct(e.deviceShare, 1)),
      stat('bytes per input', `${formatBytes(e.bytesPerInput.float32)} f32 · ${formatBytes(e.bytesPerInput.int8)} int8`, 'mean over the inputs, all links'),
      stat(`per 1000 inputs (${e.quantization})`, formatBytes(e.bytesPer1000.total)),
      stat('accuracy', pct(e.accuracy), e.quantization === 'int8' ? 'from the float32 records; `early-exit deploy run --int8` measures what 8-bit maps cost' : 'hard exits at these thresholds'),
      ...(e.energyPerInputJ !== null ? [stat('energy per input', `${(1000 * e.energyPerInputJ).toFixed(2)} mJ`, 'only what the profile gives energy figures for')] : []),
    );
  }

  private fillMeasured(): void {
    const el = this.el.querySelector('.ee-tier-measured');
    if (!el) return;
    const m = this.measurement();
    if (!m) {
      el.replaceChildren(h('p', { class: 'ee-note' }, 'Not measured: `early-exit deploy run <run>' + (this.plan ? ` --cut ${cutNames(this.plan.cuts, this.blockIds()).join(',')}` : '') + '` runs this split as real processes over HTTP/2 on this machine and sets it beside the estimate.'));
      return;
    }
    const rows = compareSplit(m, this.run.samples);
    const fmt = (v: number, u: ComparisonRow['unit']) => (u === 'ms' ? formatMs(v) : u === 'B' ? formatBytes(v) : `${v.toFixed(2)} %`);
    el.replaceChildren(h('div', { class: 'ee-card ee-table-card' },
      h('div', { class: 'ee-card-bar' }, h('span', { class: 'ee-card-title' }, `Measured: ${m.inputs.length} inputs as real tier processes (${m.shaped ? 'links shaped' : 'raw loopback'}, ${m.backend}, ${m.measuredAt.slice(0, 16).replace('T', ' ')})`)),
      h('p', { class: 'ee-note' }, 'Beside an estimate on the same inputs with every tier computing at the speed measured here; the profile\'s compute figures are not used.'),
      h('table', { class: 'ee-table ee-tier-compare' },
        h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', { class: 'num' }, 'estimated'), h('th', { class: 'num' }, 'measured'), h('th', {}, ''), h('th', {}, 'why'))),
        h('tbody', {}, ...rows.map((x) => h('tr', {}, h('td', {}, x.what), h('td', { class: 'num' }, fmt(x.estimated, x.unit)), h('td', { class: 'num' }, fmt(x.measured, x.unit)),
          h('td', { class: x.agrees === false ? 'ee-warn' : undefined }, x.agrees === null ? '' : x.agrees ? 'agrees' : 'differs'), h('td', { class: 'ee-note' }, x.note ?? '')))))));
  }

  /** Draws the four charts, into the charts already on the canvases when there are (a τ moved). */
  private drawCharts(): void {
    const p = this.ctx.palette(), e = this.estimate!, plan = this.plan!;
    const [flowC, latC, lfC, bfC] = this.canvases;
    if (!flowC) return;
    this.charts = [];
    const names = e.tiers.map((t) => t.name);
    this.charts.push(flowChart(flowC, p, names, e.tierStops, names.map((_, i) => e.crossings[i] ?? 0)));
    const m = this.measurement();
    this.charts.push(latencyChart(latC, p, { estimated: { ms: e.paths.map((x) => x.latencyMs), counts: e.counts }, measured: m ? m.inputs.map((i) => i.latencyMs) : null, mean: e.latency.mean, p95: e.latency.p95 }));
    const pts = this.sweep!.points;
    const label = (q: DeploymentPoint) => `cuts after ${placementLabel(q.cuts, plan.net)}, τ = ${q.threshold.toFixed(2)}`;
    const xyL = (q: DeploymentPoint): XY => ({ x: q.meanMs, y: 100 * q.accuracy, label: label(q) });
    const xyB = (q: DeploymentPoint): XY => ({ x: q.bytesPerInput, y: 100 * q.accuracy, label: label(q) });
    const here = `this plan (cuts after ${placementLabel(e.cuts, plan.net)})`;
    const measured = (this.run.deploy?.measured ?? []).filter((x) => x.profile === plan.profile && x.quantization === plan.quantization && x.shaped);
    this.charts.push(frontChart(lfC, p, {
      all: pts.map(xyL), front: latencyFront(pts).map(xyL), current: { x: e.latency.mean, y: 100 * e.accuracy, label: here }, best: this.best ? xyL(this.best) : null,
      measured: measured.map((x) => ({ x: x.inputs.reduce((s, i) => s + i.latencyMs, 0) / (x.inputs.length || 1), y: 100 * measuredAccuracy(x), label: `measured, cuts after ${x.cutNames.join(' | ')} (${x.inputs.length} inputs)` })),
    }, 'latency'));
    this.charts.push(frontChart(bfC, p, {
      all: pts.map(xyB), front: bytesFront(pts).map(xyB), current: { x: e.bytesPerInput.chosen, y: 100 * e.accuracy, label: here }, best: this.best ? xyB(this.best) : null,
      measured: [],
    }, 'bytes'));
  }

  private budgetEls?: { latency: SelectEl; stat: SelectEl; bytes: SelectEl; out: HTMLElement; apply: HTMLElement };
  /** what the budget fields held, kept when the section is drawn again */
  private budget = { latency: '', bytes: '', stat: 'mean' };

  private renderBudget(): HTMLElement {
    const b = this.budget;
    const latency = h('vscode-textfield', { class: 'ee-tier-latency-budget', type: 'number', min: 0, step: 1, placeholder: 'ms', title: 'latency budget, ms', value: b.latency }) as SelectEl;
    const stat = h('vscode-single-select', { class: 'ee-tier-stat', 'aria-label': 'latency statistic' },
      h('vscode-option', { value: 'mean', selected: b.stat === 'mean' }, 'mean'), h('vscode-option', { value: 'p95', selected: b.stat === 'p95' }, 'p95')) as SelectEl;
    const bytes = h('vscode-textfield', { class: 'ee-tier-bytes-budget', type: 'number', min: 0, step: 100, placeholder: 'bytes', title: 'bytes per input, all links', value: b.bytes }) as SelectEl;
    const out = h('span', { class: 'ee-calibration ee-tier-best', role: 'status' });
    const apply = button('Apply', () => this.applyBest(), { secondary: true, cls: 'ee-tier-apply', title: 'use this placement and its τ' });
    apply.setAttribute('disabled', '');
    const find = button('Best placement', () => this.updateBest(true), { cls: 'ee-tier-find', title: 'the most accurate placement and τ within the budget' });
    this.budgetEls = { latency, stat, bytes, out, apply };
    return h('div', { class: 'ee-card ee-controls' },
      h('div', { class: 'ee-controls-row' },
        h('span', { class: 'ee-card-title' }, 'Budget'),
        h('label', {}, 'latency ≤ ', latency, ' ms on the ', stat),
        h('label', {}, 'bytes per input ≤ ', bytes), find, apply),
      out);
  }

  private updateBest(asked = false): void {
    const b = this.budgetEls;
    if (!b || !this.sweep || !this.plan) return;
    this.budget = { latency: b.latency.value ?? '', bytes: b.bytes.value ?? '', stat: b.stat.value ?? 'mean' };
    const num = (el: SelectEl) => (el.value === '' || el.value === undefined ? undefined : Number(el.value));
    const latencyMs = num(b.latency), bytesPerInput = num(b.bytes);
    if (latencyMs === undefined && bytesPerInput === undefined) {
      this.best = null;
      b.out.textContent = asked ? 'Give a latency or a bytes budget.' : '';
      b.apply.setAttribute('disabled', '');
      return;
    }
    const stat = b.stat.value === 'p95' ? 'p95' : 'mean';
    const best = bestPlacement(this.sweep.points, { latencyMs, bytesPerInput, stat });
    const changed = best !== this.best;
    this.best = best;
    if (!best) {
      b.out.textContent = 'Nothing fits this budget.';
      b.out.classList.add('ee-warn');
      b.apply.setAttribute('disabled', '');
    } else {
      b.out.classList.remove('ee-warn');
      b.out.textContent = `Best: cuts after ${placementLabel(best.cuts, this.plan.net)} at τ = ${best.threshold.toFixed(2)} → ${pct(best.accuracy)}, mean ${formatMs(best.meanMs)}, p95 ${formatMs(best.p95Ms)}, ${formatBytes(best.bytesPerInput)} per input, ${pct(best.deviceShare, 1)} on the device.`;
      b.apply.removeAttribute('disabled');
    }
    if (asked && changed) this.drawCharts();
  }

  private applyBest(): void {
    const best = this.best, d = this.deployment;
    if (!best || !d || !this.plan) return;
    this.ctx.onThresholds?.(this.run.id, { mode: 'shared', thresholds: this.run.results!.points.map(() => best.threshold) });
    this.thresholds = this.run.results!.points.map(() => best.threshold);
    this.change({ ...d, cuts: cutNames(best.cuts, this.blockIds()) });
  }

  private renderExports(): HTMLElement {
    const id = safeName(this.run.id);
    return h('div', { class: 'ee-exports' },
      button('Estimate JSON', () => this.estimate && this.ctx.exporter('json', `${id}-deployment.json`, JSON.stringify({ deployment: this.deployment, profile: this.plan?.profile, tiers: this.plan?.tiers, estimate: this.estimate, measured: this.measurement() }, null, 2) + '\n'), { secondary: true, cls: 'ee-export-tiers-json' }),
      button('Exit paths CSV', () => this.estimate && this.ctx.exporter('csv', `${id}-deployment-paths.csv`, deploymentPathsCsv(this.estimate)), { secondary: true, cls: 'ee-export-tiers-paths' }),
      button('Placements × τ CSV', () => this.sweep && this.plan && this.ctx.exporter('csv', `${id}-deployment-sweep.csv`, deploymentSweepCsv(this.sweep.points, this.plan.net)), { secondary: true, cls: 'ee-export-tiers-sweep' }));
  }

  private png(i: number, name: string): void {
    const c = this.charts[i];
    if (c) this.ctx.exporter('png', `${safeName(this.run.id)}-${name}.png`, chartPng(c));
  }
}
