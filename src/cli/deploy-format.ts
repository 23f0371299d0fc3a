/** Terminal rendering of deployment plans over tiers: the tiers and what runs where, where inputs leave, the fronts, the split execution beside its estimate. */
import { formatMacs } from '../spec/backbones';
import * as os from 'node:os';
import { SPLIT_TOLERANCE, type ComparisonRow, type SplitMeasurement } from '../spec/split-results';
import { placementLabel, type DeploymentEstimate, type DeploymentPoint, type NetworkCosts, type ResolvedPlan } from '../spec/tier-estimate';
import { computeText, formatBytes, formatMs, formatRate, presetById, tierOfBlock, tierRanges } from '../spec/tiers';
import { pct, renderTable } from './format';

/** "block1–block2 + exit block2" */
export function tierWork(net: NetworkCosts, cuts: number[], t: number): string {
  const [from, to] = tierRanges(cuts, net.blocks.length)[t];
  if (from === to) return t === 0 ? 'captures the input, sends it on' : t > tierOfBlock(cuts, net.blocks.length - 1) ? 'unused' : 'relays';
  const exits = net.exits.filter((e) => e.block >= from && e.block < to).map((e) => `exit ${e.point}`);
  const last = to === net.blocks.length;
  const blocks = from + 1 === to ? net.blocks[from].id : `${net.blocks[from].id}–${net.blocks[to - 1].id}`;
  return [blocks, ...exits, ...(last ? ['final classifier'] : [])].join(', ');
}

export function renderTiers(plan: ResolvedPlan): string {
  const preset = presetById(plan.profile);
  const head = preset
    ? `profile: ${preset.label} (preset "${preset.id}": figures from its sources, not your hardware; \`early-exit deploy presets\` lists them)`
    : 'profile: custom tiers';
  const rows = plan.tiers.map((t, i) => {
    const macs = plan.net.blocks.slice(...tierRanges(plan.cuts, plan.net.blocks.length)[i]).reduce((s, b) => s + b.macs, 0);
    return [
      t.name + (t.label ? ` · ${t.label}` : ''), tierWork(plan.net, plan.cuts, i), formatMacs(macs), computeText(t.compute),
      t.link ? `${t.link.name} ${formatRate(t.link.bitsPerSecond)}, RTT ${formatMs(t.link.rttMs)}` : '',
    ];
  });
  return `${head}\n${renderTable(['tier', 'runs', 'backbone MACs', 'compute', 'link to the next tier'], rows)}`;
}

export function renderEstimate(e: DeploymentEstimate, net: NetworkCosts): string {
  const n = e.count || 1;
  const T = e.tiers.length;
  const paths = e.paths.map((p, a) => [
    p.point, e.tiers[p.tier].name, String(e.counts[a]), pct(e.counts[a] / n, 1), formatMs(p.latencyMs),
    formatMs(p.computeMs.reduce((s, x) => s + x, 0)), formatMs(p.linkMs.reduce((s, x) => s + x, 0)),
    formatBytes((e.quantization === 'int8' ? p.bytesInt8 : p.bytesFloat32).reduce((s, x) => s + x, 0)),
  ]);
  const L = e.latency;
  const stops = e.tiers.map((t, i) => `${t.name} ${pct(e.tierStops[i] / n, 1)}`).join(' · ');
  const links = Array.from({ length: T - 1 }, (_, k) => `link ${e.tiers[k].name}→${e.tiers[k + 1].name} ${formatBytes(e.bytesPer1000.perLink[k])}`).join(', ');
  return [
    `where inputs leave (${e.count} test inputs, ${e.rule} ${e.rule === 'entropy' ? '≤' : '≥'} τ, τ = ${[...new Set(e.thresholds)].join(' / ')}, ${e.quantization} maps; cuts after ${placementLabel(e.cuts, net)})`,
    renderTable(['exit', 'tier', 'inputs', 'share', 'latency', 'compute', 'links', 'sent'], paths),
    '',
    `latency     mean ${formatMs(L.mean)} · p50 ${formatMs(L.p50)} · p95 ${formatMs(L.p95)} · p99 ${formatMs(L.p99)}`,
    `answered    ${stops}  (never leave the device: ${pct(e.deviceShare, 1)})`,
    `bytes       per input ${formatBytes(e.bytesPerInput.float32)} as float32, ${formatBytes(e.bytesPerInput.int8)} as int8; per 1000 inputs (${e.quantization}): ${links}; total ${formatBytes(e.bytesPer1000.total)}`,
    `compute     mean per input: ${e.tiers.map((t, i) => `${t.name} ${formatMs(e.computeMs[i])}`).join(' · ')}`,
    ...(e.energyPerInputJ !== null ? [`energy      ${(1000 * e.energyPerInputJ).toFixed(3)} mJ per input (only what the profile gives energy figures for)`] : []),
    `accuracy    ${pct(e.accuracy)} (hard exits, from the float32 records${e.quantization === 'int8' ? '; what int8 maps cost is measured by `deploy run`' : ''})`,
  ].join('\n');
}

/** A front as "best placement per budget": each row is best from its own cost up to the next row's. */
export function renderFront(front: DeploymentPoint[], net: NetworkCosts, by: 'mean' | 'p95' | 'bytes', limit = 12): string {
  const step = front.length > limit ? (front.length - 1) / (limit - 1) : 1;
  const rows = front.length > limit ? Array.from({ length: limit }, (_, i) => front[Math.round(i * step)]) : front;
  const budget = (p: DeploymentPoint) => (by === 'bytes' ? formatBytes(p.bytesPerInput) : formatMs(by === 'mean' ? p.meanMs : p.p95Ms));
  return renderTable(
    [by === 'bytes' ? 'bytes budget ≥' : `${by} latency budget ≥`, 'best placement (cuts after)', 'τ', 'accuracy', 'mean', 'p95', 'bytes/input', 'on device'],
    rows.map((p) => [budget(p), placementLabel(p.cuts, net), p.threshold.toFixed(2), pct(p.accuracy), formatMs(p.meanMs), formatMs(p.p95Ms), formatBytes(p.bytesPerInput), pct(p.deviceShare, 1)]),
  ) + (front.length > limit ? `\n(${limit} of the front's ${front.length} points)` : '');
}

export function renderComparison(m: SplitMeasurement, rows: ComparisonRow[]): string {
  const fmt = (v: number, unit: ComparisonRow['unit']) => (unit === 'ms' ? formatMs(v) : unit === 'B' ? formatBytes(v) : `${v.toFixed(2)}%`);
  const notes: string[] = [];
  const note = (r: ComparisonRow) => (r.note ? `[${notes.push(r.note)}]` : '');
  const verdict = (a: boolean | null) => (a === null ? '' : a ? 'agrees' : 'DIFFERS');
  const table = renderTable(['', 'estimated', 'measured', '', ''], rows.map((r) => [r.what, fmt(r.estimated, r.unit), fmt(r.measured, r.unit), verdict(r.agrees), note(r)]));
  const cores = os.cpus().length;
  const loaded = Math.max(...m.loadAverage) / cores > 1.5;
  return [
    table,
    ...notes.map((n, i) => `[${i + 1}] ${n}`),
    `${m.inputs.length} inputs after ${m.warmup} warm-up, ${m.shaped ? 'links shaped to the profile' : 'raw loopback (no shaper)'}, every tier on ${m.backend} here; load average ${m.loadAverage[0].toFixed(2)} → ${m.loadAverage[1].toFixed(2)} on ${cores} cores`,
    `tolerance: ±${SPLIT_TOLERANCE.relative * 100} % + ${SPLIT_TOLERANCE.absoluteMsPerHop} ms per link crossed${loaded ? '; this machine is loaded, so each hop also waited for a core: latencies run long' : ''}`,
  ].join('\n');
}
