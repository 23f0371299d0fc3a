/** The deployment section's charts: the flow of inputs across tiers, the latency distribution, and the latency / bytes fronts. */
import { Chart, LogarithmicScale, type ChartConfiguration, type ChartDataset, type Plugin } from 'chart.js';
import { formatBytes, formatMs } from '../../src/spec/tiers';
import { baseOptions, drawMark, scatterPlugins, type XY } from './charts';
import { withAlpha, type Palette } from './theme';

Chart.register(LogarithmicScale);

/** Dashed vertical marks at values of a linear x axis (mean, p95). */
const valueMarks: Plugin = {
  id: 'eeValueMarks',
  afterDatasetsDraw(chart, _args, opts: { marks?: { value: number; label: string; color: string }[] }) {
    const x = chart.scales.x;
    if (!opts?.marks?.length || !x) return;
    const { ctx, chartArea } = chart;
    opts.marks.forEach((m, i) => {
      const px = x.getPixelForValue(m.value);
      if (px >= chartArea.left && px <= chartArea.right) drawMark(ctx, chartArea, px, m.color, m.label, i);
    });
  },
};

/**
 * Draws `config` on `canvas`: into the chart of the same type already there (new data and options,
 * no animation), or as a new chart. Moving τ redraws every chart of the section; building a chart
 * (layout, event listeners, a resize) costs far more than updating one.
 */
function draw(canvas: HTMLCanvasElement, config: ChartConfiguration<'bar' | 'scatter', any>): Chart {
  const old = Chart.getChart(canvas);
  if (old && (old.config as { type?: string }).type === config.type) {
    old.data = config.data as Chart['data'];
    old.options = (config.options ?? {}) as Chart['options'];
    old.update('none');
    return old;
  }
  old?.destroy();
  return new Chart(canvas, config);
}

/** How many inputs each tier answers, and how many it sends on. */
export function flowChart(canvas: HTMLCanvasElement, p: Palette, tiers: string[], answered: number[], sentOn: number[]): Chart {
  const o = baseOptions(p, 'Where inputs are answered', 'tier', 'inputs');
  return draw(canvas, {
    type: 'bar',
    data: {
      labels: tiers,
      datasets: [
        { label: 'answered here', data: answered, backgroundColor: withAlpha(p.series[2], 0.8), borderColor: p.series[2], borderWidth: 1, stack: 's' },
        { label: 'sent to the next tier', data: sentOn, backgroundColor: withAlpha(p.series[1], 0.55), borderColor: p.series[1], borderWidth: 1, stack: 's' },
      ],
    },
    options: { ...o, scales: { x: { ...o.scales.x, stacked: true }, y: { ...o.scales.y, stacked: true, beginAtZero: true } } },
  });
}

/** Histogram bins over [0, max] for (value, count) pairs. */
export function bins(values: ArrayLike<number>, counts: ArrayLike<number> | null, max: number, n = 30): number[] {
  const out = new Array(n).fill(0);
  for (let i = 0; i < values.length; i++) {
    const k = Math.min(n - 1, Math.max(0, Math.floor((values[i] / max) * n)));
    out[k] += counts ? counts[i] : 1;
  }
  return out;
}

export interface LatencySeries {
  /** estimated latency of each exit path and how many inputs take it */
  estimated: { ms: number[]; counts: number[] };
  /** measured latencies of the split execution on the same placement, if there is one */
  measured: number[] | null;
  mean: number;
  p95: number;
}

/** An axis from 0 to at least `x` in about `ticks` round steps (1, 2, 2.5 or 5 × 10^k), ending on a step. */
export function niceAxis(x: number, ticks = 6): { max: number; step: number } {
  const raw = x / ticks;
  const k = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * k >= raw * (1 - 1e-9)) ?? 10) * k;
  return { max: Math.ceil(x / step - 1e-9) * step, step };
}

/**
 * Latency distribution: the share of inputs per latency bin, estimated (all test inputs) and
 * measured (the split execution's, usually far fewer: shares keep the two comparable), the mean
 * and p95 marked.
 */
export function latencyChart(canvas: HTMLCanvasElement, p: Palette, s: LatencySeries): Chart {
  const { max, step } = niceAxis(Math.max(...s.estimated.ms, ...(s.measured ?? []), 1e-6) * 1.05);
  const n = 30;
  const centre = (i: number) => ((i + 0.5) * max) / n;
  const shares = (b: number[]) => { const total = b.reduce((a, x) => a + x, 0) || 1; return b.map((y, i) => ({ x: centre(i), y: (100 * y) / total })); };
  const datasets: ChartDataset<'bar', XY[]>[] = [
    { label: `estimated (${s.estimated.counts.reduce((a, x) => a + x, 0)} inputs)`, data: shares(bins(s.estimated.ms, s.estimated.counts, max, n)), backgroundColor: withAlpha(p.series[0], 0.7), borderColor: p.series[0], borderWidth: 1, barPercentage: 1, categoryPercentage: 1 },
  ];
  if (s.measured) datasets.push({ label: `measured, split execution (${s.measured.length} inputs)`, data: shares(bins(s.measured, null, max, n)), backgroundColor: withAlpha(p.series[1], 0.55), borderColor: p.series[1], borderWidth: 1, barPercentage: 1, categoryPercentage: 1 });
  const o = baseOptions(p, 'End-to-end latency per input', 'latency (ms)', 'share of inputs (%)');
  return draw(canvas, {
    type: 'bar',
    data: { datasets },
    options: {
      ...o,
      plugins: { ...o.plugins, eeValueMarks: { marks: [{ value: s.mean, label: `mean ${formatMs(s.mean)}`, color: p.current }, { value: s.p95, label: `p95 ${formatMs(s.p95)}`, color: p.series[3] }] } } as any,
      scales: { x: { ...o.scales.x, type: 'linear', min: 0, max, offset: false, ticks: { ...o.scales.x.ticks, stepSize: step }, grid: { ...o.scales.x.grid, offset: false } }, y: { ...o.scales.y, beginAtZero: true } },
    },
    plugins: [valueMarks],
  });
}

export interface FrontSeries {
  /** every (placement, τ) of the sweep */
  all: XY[];
  front: XY[];
  current: XY | null;
  best: XY | null;
  measured: XY[];
}

/** Accuracy vs latency or bytes over every placement and τ, the front, the current plan and the best within the budget. */
export function frontChart(canvas: HTMLCanvasElement, p: Palette, s: FrontSeries, kind: 'latency' | 'bytes'): Chart {
  const datasets: ChartDataset<'scatter', XY[]>[] = [
    { label: 'placements × τ', data: s.all, pointRadius: 2, pointStyle: 'circle', borderColor: withAlpha(p.muted, 0.5), backgroundColor: withAlpha(p.muted, 0.35), order: 4 },
    { label: 'front', data: s.front, showLine: true, borderColor: p.series[0], backgroundColor: p.series[0], pointRadius: 3, borderWidth: 2, order: 2 },
  ];
  if (s.measured.length) datasets.push({ label: 'measured', data: s.measured, pointStyle: 'triangle', pointRadius: 7, borderColor: p.series[1], backgroundColor: withAlpha(p.series[1], 0.7), order: 1 });
  if (s.best) datasets.push({ label: 'best within budget', data: [s.best], pointStyle: 'rectRot', pointRadius: 8, borderColor: p.series[2], backgroundColor: withAlpha(p.series[2], 0.8), order: 1 });
  if (s.current) datasets.push({ label: 'this plan', data: [s.current], pointStyle: 'circle', pointRadius: 7, borderColor: p.current, backgroundColor: p.current, order: 0 });
  const latency = kind === 'latency';
  const o = baseOptions(p, latency ? 'Accuracy vs mean latency' : 'Accuracy vs bytes sent', latency ? 'mean latency per input (log scale)' : 'bytes sent per input (all links)', 'test accuracy (%)');
  const positive = s.all.filter((q) => q.x > 0).map((q) => q.x);
  return draw(canvas, {
    type: 'scatter',
    data: { datasets },
    options: {
      ...o,
      plugins: scatterPlugins(o, latency ? formatMs : formatBytes, 16),
      scales: {
        ...o.scales,
        x: latency
          ? { ...o.scales.x, type: 'logarithmic', min: positive.length ? Math.min(...positive) / 1.3 : undefined, ticks: { color: p.muted, callback: (v: number | string) => { const n = Number(v); const d = Math.log10(n); return Math.abs(d - Math.round(d)) < 1e-6 || Math.abs(Math.log10(n / 3) - Math.round(Math.log10(n / 3))) < 1e-6 ? formatMs(n) : ''; } } }
          : { ...o.scales.x, type: 'linear', min: 0, ticks: { color: p.muted, callback: (v: number | string) => formatBytes(Number(v)) } },
      },
    },
  });
}
