/** chart.js set-up and the four chart kinds: trade-off, gate histogram, loss and accuracy curves. */
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement,
  ScatterController, Title, Tooltip, type ChartDataset, type Plugin,
} from 'chart.js';
import type { Histogram } from '../../src/spec/results';
import type { EpochMetrics } from '../../src/spec/run-types';
import { withAlpha, type Palette } from './theme';

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement, PointElement, ScatterController, Title, Tooltip);

/** Fills the canvas with the theme's background so exported PNGs are readable. */
const background: Plugin = {
  id: 'eeBackground',
  beforeDraw(chart, _args, opts: { color?: string }) {
    if (!opts?.color) return;
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.fillStyle = opts.color;
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

/** Vertical threshold line on a histogram whose category axis spans [0, 1]. */
const thresholdMark: Plugin = {
  id: 'eeThreshold',
  afterDatasetsDraw(chart, _args, opts: { value?: number; color?: string; label?: string }) {
    if (opts?.value === undefined) return;
    const { ctx, chartArea } = chart;
    const x = chartArea.left + Math.min(1, Math.max(0, opts.value)) * (chartArea.right - chartArea.left);
    drawMark(ctx, chartArea, x, opts.color ?? 'red', opts.label ?? `τ = ${opts.value.toFixed(2)}`);
  },
};

/** A dashed vertical line at pixel `x` across the chart area, labelled beside it (on the left near the right edge); `row` stacks labels. */
export function drawMark(ctx: CanvasRenderingContext2D, area: { left: number; right: number; top: number; bottom: number }, x: number, color: string, label: string, row = 0): void {
  ctx.save();
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = 2;
  ctx.setLineDash([5, 3]);
  ctx.beginPath();
  ctx.moveTo(x, area.top);
  ctx.lineTo(x, area.bottom);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.font = '11px sans-serif';
  const w = ctx.measureText(label).width;
  ctx.fillText(label, x + 4 + w > area.right ? x - w - 4 : x + 4, area.top + 12 + 13 * row);
  ctx.restore();
}

Chart.register(background);

/**
 * The plugins of an accuracy-vs-cost scatter chart: the legend draws each series' marker, and a
 * point's tooltip says its label (or its series), its accuracy and its cost (`xText`).
 */
export function scatterPlugins(o: ReturnType<typeof baseOptions>, xText: (x: number) => string, pointStyleWidth: number) {
  return {
    ...o.plugins,
    legend: { labels: { ...o.plugins.legend.labels, usePointStyle: true, pointStyleWidth } },
    tooltip: { callbacks: { label: (c: { raw: unknown; dataset: { label?: string } }) => { const d = c.raw as XY; return `${d.label ?? c.dataset.label}: ${d.y.toFixed(2)} % at ${xText(d.x)}`; } } },
  };
}

export function baseOptions(p: Palette, title: string, x: string, y: string) {
  const axis = (label: string) => ({
    title: { display: true, text: label, color: p.muted },
    ticks: { color: p.muted },
    grid: { color: withAlpha(p.grid, 0.6) },
    border: { color: p.grid },
  });
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false as const,
    color: p.foreground,
    plugins: {
      eeBackground: { color: p.background },
      title: { display: true, text: title, color: p.foreground, font: { size: 13, weight: 'bold' as const } },
      legend: { labels: { color: p.foreground, boxWidth: 12, font: { size: 11 } } },
      tooltip: { enabled: true },
    },
    scales: { x: axis(x), y: axis(y) },
  };
}

export interface XY { x: number; y: number; label?: string }

export interface TradeOffSeries {
  /** Threshold-sweep curves (one per run). */
  curves: { label: string; points: XY[] }[];
  /** Standalone points of each exit (and the final classifier). */
  exits: XY[];
  /** Other runs (baseline, λ sweep) or, in the comparison view, each run's operating point. */
  runs: { label: string; points: XY[]; style: 'triangle' | 'rect' | 'rectRot' | 'circle'; colorIndex?: number[] }[];
  /** This run at the current thresholds. */
  current: XY | null;
  pareto: XY[];
}

/** Accuracy (%) vs average MACs (% of the full network). */
export function tradeOffChart(canvas: HTMLCanvasElement, p: Palette, s: TradeOffSeries, title = 'Accuracy vs average cost'): Chart {
  const datasets: ChartDataset<'scatter', XY[]>[] = [];
  s.curves.forEach((c, i) => datasets.push({
    label: c.label, data: c.points, showLine: true, borderColor: p.series[i % p.series.length], backgroundColor: p.series[i % p.series.length],
    pointRadius: 0, borderWidth: 2, order: 3, pointStyle: 'line',
  }));
  if (s.exits.length) datasets.push({ label: 'exits alone', data: s.exits, pointStyle: 'rectRot', pointRadius: 6, borderColor: p.muted, backgroundColor: withAlpha(p.muted, 0.5), order: 2 });
  s.runs.forEach((r, i) => {
    const color = (k: number) => p.series[k % p.series.length];
    // Orange, purple, yellow: away from the curves' first colour and the red of the current point.
    // With several curves (comparison) a lone marker colour would clash with one of them: use the text colour.
    const own = s.curves.length > 1 ? p.foreground : color([1, 3, 5][i % 3]);
    datasets.push({
      label: r.label, data: r.points, pointStyle: r.style, pointRadius: 7, order: 1, borderWidth: 2,
      borderColor: r.colorIndex ? p.foreground : own,
      backgroundColor: r.colorIndex ? r.colorIndex.map((k) => color(k)) : withAlpha(own, 0.7),
    });
  });
  // The front mostly runs along the τ-sweep curve, so a thin line there is hidden under it: draw
  // it as a wide translucent band beneath everything, which shows around the curve wherever the
  // curve is on the front, and through the runs or exits that are on it.
  if (s.pareto.length > 1) {
    datasets.push({
      label: 'Pareto front', data: s.pareto, showLine: true, borderColor: withAlpha(p.pareto, p.dark ? 0.45 : 0.35), backgroundColor: withAlpha(p.pareto, p.dark ? 0.45 : 0.35),
      borderWidth: 9, borderCapStyle: 'round', borderJoinStyle: 'round', pointRadius: 0, pointHoverRadius: 0, pointStyle: 'line', order: 5,
    });
  }
  if (s.current) datasets.push({ label: 'current τ', data: [s.current], pointRadius: 8, pointStyle: 'circle', borderColor: p.current, backgroundColor: p.current, order: 0 });
  const o = baseOptions(p, title, 'average MACs (% of full network)', 'test accuracy (%)');
  return new Chart(canvas, {
    type: 'scatter',
    data: { datasets },
    options: {
      ...o,
      // Markers as they are drawn (diamond, triangle, square, line) so the legend tells them apart.
      plugins: scatterPlugins(o, (x) => `${x.toFixed(1)} % MACs`, 18),
    },
  });
}

export function updateTradeOffCurrent(chart: Chart, current: XY): void {
  const ds = chart.data.datasets.find((d) => d.label === 'current τ');
  if (ds) ds.data = [current];
  chart.update('none');
}

/** Figure 4: one histogram of a gate's values on [0, 1], the threshold marked. */
export function histogramChart(canvas: HTMLCanvasElement, p: Palette, h: Histogram, color: string, tau: number, xLabel: string): Chart {
  const labels = h.counts.map((_, i) => ((h.edges[i] + h.edges[i + 1]) / 2).toFixed(3));
  const o = baseOptions(p, `${h.point}`, xLabel, 'inputs');
  return new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets: [{ label: h.point, data: h.counts, backgroundColor: withAlpha(color, 0.75), borderColor: color, borderWidth: 1, barPercentage: 1, categoryPercentage: 1 }] },
    options: {
      ...o,
      plugins: { ...o.plugins, legend: { display: false }, eeThreshold: { value: tau, color: p.threshold } } as any,
      scales: {
        ...o.scales,
        x: { ...o.scales.x, ticks: { color: p.muted, maxRotation: 0, autoSkip: false, callback: (_v: unknown, i: number) => (i % 5 === 0 ? h.edges[i].toFixed(2) : i === h.counts.length - 1 ? '1' : '') } },
      },
    },
    plugins: [thresholdMark],
  });
}

export function setHistogramThreshold(chart: Chart, tau: number): void {
  (chart.options.plugins as any).eeThreshold.value = tau;
  chart.update('none');
}

export type CurveKind = 'loss' | 'accuracy';

function curveDatasets(kind: CurveKind, metrics: EpochMetrics[], points: string[], p: Palette): ChartDataset<'line', XY[]>[] {
  // With one epoch there is no line to draw: larger markers make the single points readable.
  const radius = metrics.length <= 1 ? 6 : 3;
  const line = (label: string, get: (m: EpochMetrics) => number | null, color: string, dash?: number[]): ChartDataset<'line', XY[]> => ({
    label, data: metrics.filter((m) => get(m) !== null).map((m) => ({ x: m.epoch, y: get(m)! })),
    borderColor: color, backgroundColor: color, pointRadius: radius, borderWidth: 2, borderDash: dash,
  });
  if (kind === 'loss') {
    const out = [line('loss', (m) => m.loss, p.series[0]), line('cross-entropy', (m) => m.ceLoss, p.series[1], [5, 3])];
    if (metrics.some((m) => m.costLoss)) out.push(line('λ·C', (m) => m.costLoss, p.series[2], [2, 2]));
    return out;
  }
  const pct = (v: number | null) => (v === null ? null : 100 * v);
  const out = [
    line('hard (Option 2)', (m) => pct(m.hardAccuracy), p.series[0]),
    line('final classifier', (m) => pct(m.finalAccuracy), p.series[1]),
  ];
  if (metrics.some((m) => m.softAccuracy !== null)) out.unshift(line('soft (Option 1)', (m) => pct(m.softAccuracy), p.series[4]));
  // Exits take the colours the three main lines (blue, orange, red) do not use.
  const exitColours = [2, 3, 5].map((k) => p.series[k]);
  points.forEach((pt, b) => out.push(line(`${pt} alone`, (m) => pct(m.exitAccuracy[b] ?? null), withAlpha(exitColours[b % exitColours.length], 0.85), [4, 3])));
  return out;
}

/**
 * The epoch axis: 1 … the run's epochs, one tick per epoch. A one-epoch run gets 0.5 … 1.5 with a
 * single tick at 1, so its points sit in the middle under their epoch instead of on the left edge of
 * an axis that runs to an epoch 2 that does not exist.
 */
export function epochAxis(epochs: number, seen: number): { min: number; max: number } {
  const last = Math.max(epochs, seen, 1);
  return last === 1 ? { min: 0.5, max: 1.5 } : { min: 1, max: last };
}

/** Training curves per epoch (validation accuracies, training loss). */
export function curveChart(canvas: HTMLCanvasElement, p: Palette, kind: CurveKind, metrics: EpochMetrics[], points: string[], epochs: number): Chart {
  const o = baseOptions(p, kind === 'loss' ? 'Training loss' : 'Validation accuracy', 'epoch', kind === 'loss' ? 'loss' : 'accuracy (%)');
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: curveDatasets(kind, metrics, points, p) },
    options: {
      ...o,
      scales: { ...o.scales, x: { ...o.scales.x, type: 'linear', ...epochAxis(epochs, metrics.length), ticks: { color: p.muted, stepSize: 1, precision: 0, includeBounds: false } } },
    },
  });
}

export function updateCurves(chart: Chart, kind: CurveKind, metrics: EpochMetrics[], points: string[], p: Palette, epochs: number): void {
  chart.data.datasets = curveDatasets(kind, metrics, points, p);
  Object.assign((chart.options.scales as any).x, epochAxis(epochs, metrics.length));
  chart.update('none');
}

/** The chart as a PNG (base64, no prefix), drawn on the theme's background. */
export function chartPng(chart: Chart): string {
  return chart.toBase64Image('image/png', 1).replace(/^data:image\/png;base64,/, '');
}
