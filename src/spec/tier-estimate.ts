/**
 * What splitting a trained multi-exit network over tiers would cost, from the run's own per-sample
 * records: for each input, where it leaves (the exit its rule fires at, Option 2), the compute it
 * used on each tier, the bytes it sent across each link (the feature map at the cut, float32 or
 * int8) and its end-to-end latency; as distributions, shares and totals; swept over cut placements
 * and τ into latency-vs-accuracy and bytes-vs-accuracy fronts, with the best placement for a budget.
 * Pure (no tfjs, no Node): the CLI, the results panel and the report share it.
 *
 * Latency of an input that leaves on tier t: Σ over tiers ≤ t of the compute it ran there (the
 * blocks up to its exit, every exit head and gate it passed, the final classifier if it got there)
 * + Σ over the links it crossed of (RTT + 8·(feature-map bytes + answer bytes) / rate). One RTT per
 * link: the map goes out, the answer comes back the same way. Compute that is not modelled —
 * serialisation, the transport's framing, queueing — is what `early-exit deploy run` measures.
 */
import { exitAssignments, paretoFront } from './analysis';
import { describeBackbone, type BackboneConfig, type Shape3 } from './backbones';
import { ValidationError } from './errors';
import type { CostModel, ExitRule, RunResults, SampleRecords } from './results';
import {
  allPlacements, cutCounts, DEFAULT_PRESET, deploymentTiers, featureBytes, inputBytes, presetDeployment, tierOfBlock, validateDeployment,
  type DeploymentSpec, type Quantization, type TierProfile,
} from './tiers';

/** What the estimate needs of the network: per-block MACs and output shapes, per-exit head+gate MACs. */
export interface NetworkCosts {
  input: Shape3;
  blocks: { id: string; macs: number; shape: Shape3 }[];
  /** In backbone order, like the records' exits. */
  exits: { point: string; block: number; macs: number }[];
  /** MACs of the final classifier after the last block. */
  classifierMacs: number;
}

/** The backbone a run's results describe, as the experiment file writes it. */
export function backboneConfigOf(r: { backbone: Pick<RunResults['backbone'], 'name' | 'width' | 'input' | 'classes'> }): BackboneConfig {
  return { name: r.backbone.name as BackboneConfig['name'], width: r.backbone.width, input: r.backbone.input as Shape3, classes: r.backbone.classes };
}

/**
 * The network of a run from its backbone and cost model: block MACs and shapes from the catalogue,
 * each exit's head + gate MACs as the step in γ_b that its own block does not explain.
 */
export function networkCostsOf(r: { backbone: Pick<RunResults['backbone'], 'name' | 'width' | 'input' | 'classes'>; costs: CostModel; points: string[] }): NetworkCosts {
  const config = backboneConfigOf(r);
  const desc = describeBackbone(config);
  const blocks = desc.points.map((p, i) => ({ id: p.id, macs: p.macs - (i ? desc.points[i - 1].macs : 0), shape: p.shape }));
  let prevGamma = 0, prevBackbone = 0;
  const exits = r.points.map((point, b) => {
    const block = desc.points.findIndex((p) => p.id === point);
    if (block < 0) throw new ValidationError(`exit "${point}" is not a point of ${desc.label}`, point);
    const gamma = r.costs.exits[b] ?? 0;
    const macs = Math.max(0, gamma - prevGamma - (desc.points[block].macs - prevBackbone));
    prevGamma = gamma; prevBackbone = desc.points[block].macs;
    return { point, block, macs };
  });
  return { input: config.input, blocks, exits, classifierMacs: Math.max(0, desc.total - desc.points[desc.points.length - 1].macs) };
}

/**
 * Every block, exit and the final classifier timed at batch 1 on one backend of this machine
 * (`early-exit deploy measure`, stored in the run folder's tier-speed.json): what a "measure here"
 * tier computes at.
 */
export interface MeasuredSpeed {
  backend: string;
  /** ms per block, in backbone order */
  blockMs: number[];
  /** ms per exit (head features, gate, and the classifier when it fires), in the records' order */
  exitMs: number[];
  classifierMs: number;
  /** inputs the medians were taken over */
  images: number;
  measuredAt: string;
}

/** tier-speed.json: measured speeds by backend. */
export type TierSpeeds = Record<string, MeasuredSpeed>;

/** One tier's compute times for every part of the network (what it would take if it ran it). */
export interface TierTimes {
  blockMs: number[];
  exitMs: number[];
  classifierMs: number;
}

/** Compute times of every tier: from its MAC rate, or from the speed measured on its backend. */
export function tierTimes(tiers: readonly TierProfile[], net: NetworkCosts, speeds: TierSpeeds | null | undefined): TierTimes[] {
  return tiers.map((t, i) => {
    const m = t.compute.measure;
    if (m) {
      const s = speeds?.[m];
      if (!s) throw new ValidationError(`tier "${t.name}" computes at the speed measured here on ${m}, and this run has no such measurement: run \`early-exit deploy measure <run> --backend ${m}\``, `deployment.tiers[${i}].compute`);
      if (s.blockMs.length !== net.blocks.length || s.exitMs.length !== net.exits.length) {
        throw new ValidationError(`tier "${t.name}": the ${m} measurement has ${s.blockMs.length} blocks and ${s.exitMs.length} exits, the network ${net.blocks.length} and ${net.exits.length}; measure again`, `deployment.tiers[${i}].compute`);
      }
      return { blockMs: s.blockMs, exitMs: s.exitMs, classifierMs: s.classifierMs };
    }
    const msPerMac = 1000 / (t.compute.macsPerSecond ?? NaN);
    return { blockMs: net.blocks.map((b) => b.macs * msPerMac), exitMs: net.exits.map((e) => e.macs * msPerMac), classifierMs: net.classifierMacs * msPerMac };
  });
}

/** Bytes of the answer sent back across each link crossed (exit index and class, as the split execution's JSON body). */
export const ANSWER_BYTES = 20;

/** The way of the inputs that leave at one exit (or at the final classifier), for one placement. */
export interface ExitPath {
  /** index into the records' exits; = exits.length for the final classifier */
  exit: number;
  point: string;
  /** the tier where the answer is decided */
  tier: number;
  /** compute per tier, ms */
  computeMs: number[];
  /** per link: RTT + transfer of the map and the answer, ms (0 where not crossed) */
  linkMs: number[];
  /** per link: the map's bytes at float32 and at int8 (0 where not crossed) */
  bytesFloat32: number[];
  bytesInt8: number[];
  macs: number[];
  latencyMs: number;
  /** joules (links' and tiers' energy where the profile gives it), or null when it gives none */
  energyJ: number | null;
}

/** Which map crosses link k: the raw input for a cut at "input", else the output of the block before the cut. */
function mapBytes(net: NetworkCosts, count: number, q: Quantization): number {
  return count === 0 ? inputBytes(net.input) : featureBytes(net.blocks[count - 1].shape, q);
}

/** The path of every exit class (B exits + final) for one placement (cuts as block counts). */
export function exitPaths(net: NetworkCosts, tiers: readonly TierProfile[], times: readonly TierTimes[], cuts: readonly number[], q: Quantization): ExitPath[] {
  const T = tiers.length, B = net.exits.length, nBlocks = net.blocks.length;
  const hasEnergy = tiers.some((t) => t.joulesPerMac !== undefined || t.link?.joulesPerByte !== undefined);
  const out: ExitPath[] = [];
  for (let a = 0; a <= B; a++) {
    const lastBlock = a < B ? net.exits[a].block : nBlocks - 1;
    const tier = tierOfBlock(cuts, lastBlock);
    const computeMs = new Array(T).fill(0), macs = new Array(T).fill(0);
    for (let j = 0; j <= lastBlock; j++) {
      const t = tierOfBlock(cuts, j);
      computeMs[t] += times[t].blockMs[j];
      macs[t] += net.blocks[j].macs;
    }
    for (let e = 0; e < B && e <= a; e++) {
      const t = tierOfBlock(cuts, net.exits[e].block);
      computeMs[t] += times[t].exitMs[e];
      macs[t] += net.exits[e].macs;
    }
    if (a === B) { computeMs[tier] += times[tier].classifierMs; macs[tier] += net.classifierMacs; }
    const linkMs = new Array(T - 1).fill(0), bytesFloat32 = new Array(T - 1).fill(0), bytesInt8 = new Array(T - 1).fill(0);
    let energy = 0;
    for (let k = 0; k < tier; k++) {
      const link = tiers[k].link!;
      bytesFloat32[k] = mapBytes(net, cuts[k], 'float32');
      bytesInt8[k] = mapBytes(net, cuts[k], 'int8');
      const sent = q === 'int8' ? bytesInt8[k] : bytesFloat32[k];
      linkMs[k] = link.rttMs + (1000 * 8 * (sent + ANSWER_BYTES)) / link.bitsPerSecond;
      energy += (link.joulesPerByte ?? 0) * sent;
    }
    tiers.forEach((t, i) => { energy += (t.joulesPerMac ?? 0) * macs[i]; });
    const latencyMs = computeMs.reduce((s, x) => s + x, 0) + linkMs.reduce((s, x) => s + x, 0);
    out.push({ exit: a, point: a < B ? net.exits[a].point : 'final', tier, computeMs, linkMs, bytesFloat32, bytesInt8, macs, latencyMs, energyJ: hasEnergy ? energy : null });
  }
  return out;
}

/** Mean and nearest-rank percentiles of a distribution given as (value, count) pairs. */
export interface Distribution { mean: number; p50: number; p95: number; p99: number; max: number }

export function distributionOf(values: ArrayLike<number>, counts?: ArrayLike<number>): Distribution {
  const pairs: [number, number][] = [];
  for (let i = 0; i < values.length; i++) { const c = counts ? counts[i] : 1; if (c > 0) pairs.push([values[i], c]); }
  pairs.sort((x, y) => x[0] - y[0]);
  const n = pairs.reduce((s, p) => s + p[1], 0);
  if (!n) return { mean: NaN, p50: NaN, p95: NaN, p99: NaN, max: NaN };
  const at = (q: number) => {
    const rank = Math.max(1, Math.ceil(q * n));
    let cum = 0;
    for (const [v, c] of pairs) { cum += c; if (cum >= rank) return v; }
    return pairs[pairs.length - 1][0];
  };
  return { mean: pairs.reduce((s, p) => s + p[0] * p[1], 0) / n, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: pairs[pairs.length - 1][0] };
}

export interface DeploymentEstimate {
  tiers: { name: string; label?: string }[];
  cuts: number[];
  quantization: Quantization;
  rule: ExitRule;
  thresholds: number[];
  paths: ExitPath[];
  /** inputs per exit class (paths' order) */
  counts: number[];
  /** inputs whose answer is decided on each tier */
  tierStops: number[];
  /** inputs crossing each link */
  crossings: number[];
  count: number;
  /** Option 2 accuracy at the thresholds, from the float32 records (int8 error is measured, not estimated) */
  accuracy: number;
  latency: Distribution;
  /** share of inputs answered on the device (tier 0): they never leave it */
  deviceShare: number;
  /** mean bytes per input over every link, at float32, at int8, and at the chosen quantisation */
  bytesPerInput: { float32: number; int8: number; chosen: number };
  /** bytes per 1 000 inputs on each link and in total, at the chosen quantisation */
  bytesPer1000: { perLink: number[]; total: number };
  /** mean compute per input on each tier, ms */
  computeMs: number[];
  energyPerInputJ: number | null;
}

/** The estimate for one placement and one set of thresholds, over every input of the records. */
/** Inputs leaving at each exit (B exits + final) at `thresholds`, and how many of them are answered right. */
function exitCounts(records: SampleRecords, rule: ExitRule, thresholds: readonly number[]): { counts: number[]; correct: number } {
  const assign = exitAssignments(records, rule, [...thresholds]);
  const B = records.exits.length;
  const counts = new Array(B + 1).fill(0);
  let correct = 0;
  for (let i = 0; i < records.count; i++) {
    const a = assign[i];
    counts[a]++;
    if ((a < B ? records.exits[a].pred[i] : records.final.pred[i]) === records.labels[i]) correct++;
  }
  return { counts, correct };
}

export function estimateDeployment(
  records: SampleRecords, rule: ExitRule, thresholds: number[], net: NetworkCosts, tiers: readonly TierProfile[],
  times: readonly TierTimes[], cuts: readonly number[], q: Quantization,
): DeploymentEstimate {
  checkShapes(records, net, tiers, cuts);
  const { counts, correct } = exitCounts(records, rule, thresholds);
  const paths = exitPaths(net, tiers, times, cuts, q);
  return summarise(paths, counts, records.count, correct, tiers, [...cuts], q, rule, thresholds);
}

function summarise(
  paths: ExitPath[], counts: number[], n: number, correct: number, tiers: readonly TierProfile[], cuts: number[], q: Quantization,
  rule: ExitRule, thresholds: number[],
): DeploymentEstimate {
  const T = tiers.length;
  const tierStops = new Array(T).fill(0), crossings = new Array(T - 1).fill(0), perLink = new Array(T - 1).fill(0), computeMs = new Array(T).fill(0);
  let f32 = 0, i8 = 0, energy = 0;
  paths.forEach((p, a) => {
    const c = counts[a];
    tierStops[p.tier] += c;
    for (let k = 0; k < T - 1; k++) {
      if (k < p.tier) crossings[k] += c;
      perLink[k] += c * (q === 'int8' ? p.bytesInt8[k] : p.bytesFloat32[k]);
      f32 += c * p.bytesFloat32[k];
      i8 += c * p.bytesInt8[k];
    }
    for (let t = 0; t < T; t++) computeMs[t] += c * p.computeMs[t];
    energy += c * (p.energyJ ?? 0);
  });
  const per = (x: number) => (n ? x / n : 0);
  return {
    tiers: tiers.map((t) => ({ name: t.name, label: t.label })), cuts, quantization: q, rule, thresholds, paths, counts, tierStops, crossings, count: n,
    accuracy: per(correct),
    latency: distributionOf(paths.map((p) => p.latencyMs), counts),
    deviceShare: per(tierStops[0]),
    bytesPerInput: { float32: per(f32), int8: per(i8), chosen: per(q === 'int8' ? i8 : f32) },
    bytesPer1000: { perLink: perLink.map((b) => 1000 * per(b)), total: 1000 * per(q === 'int8' ? i8 : f32) },
    computeMs: computeMs.map(per),
    energyPerInputJ: paths.some((p) => p.energyJ !== null) ? per(energy) : null,
  };
}

function checkShapes(records: SampleRecords, net: NetworkCosts, tiers: readonly TierProfile[], cuts: readonly number[]): void {
  if (records.exits.length !== net.exits.length) throw new ValidationError(`the records have ${records.exits.length} exits, the network ${net.exits.length}`, 'records');
  if (cuts.length !== tiers.length - 1) throw new ValidationError(`deployment.cuts: needs ${tiers.length - 1} cut(s) for ${tiers.length} tiers, got ${cuts.length}`, 'deployment.cuts');
  cuts.forEach((c, k) => {
    if (!(Number.isInteger(c) && c >= 0 && c <= net.blocks.length) || (k && c < cuts[k - 1])) throw new ValidationError(`deployment.cuts[${k}]: ${c} is not an ordered block count in [0, ${net.blocks.length}]`, `deployment.cuts[${k}]`);
  });
}

/** One (placement, τ) of the sweep. */
export interface DeploymentPoint {
  cuts: number[];
  threshold: number;
  accuracy: number;
  meanMs: number;
  p95Ms: number;
  /** mean bytes per input over all links, at the sweep's quantisation */
  bytesPerInput: number;
  deviceShare: number;
}

/** τ grid of the deployment sweep (shared τ for every exit). */
export const TIER_SWEEP_GRID: readonly number[] = Array.from({ length: 21 }, (_, i) => i / 20);

/**
 * Every monotone placement × every τ of the grid. Per τ the exits are assigned once; per placement
 * only the B + 1 exit paths change, so the sweep costs (grid × N × B) + (grid × placements × B).
 */
export function deploymentSweep(
  records: SampleRecords, rule: ExitRule, net: NetworkCosts, tiers: readonly TierProfile[], times: readonly TierTimes[],
  q: Quantization, grid: readonly number[] = TIER_SWEEP_GRID, placements = allPlacements(tiers.length, net.blocks.length),
): DeploymentPoint[] {
  const n = records.count;
  const perTau = grid.map((tau) => ({ tau, ...exitCounts(records, rule, records.exits.map(() => tau)) }));
  const out: DeploymentPoint[] = [];
  for (const cuts of placements) {
    const paths = exitPaths(net, tiers, times, cuts, q);
    for (const { tau, counts, correct } of perTau) {
      const s = summarise(paths, counts, n, correct, tiers, cuts, q, rule, []);
      out.push({ cuts, threshold: tau, accuracy: s.accuracy, meanMs: s.latency.mean, p95Ms: s.latency.p95, bytesPerInput: s.bytesPerInput.chosen, deviceShare: s.deviceShare });
    }
  }
  return out;
}

/** Latency-vs-accuracy front (by mean or p95 latency): no other point is faster and at least as accurate. */
export function latencyFront(points: readonly DeploymentPoint[], stat: 'mean' | 'p95' = 'mean'): DeploymentPoint[] {
  return paretoFront(points.map((p) => ({ p, averageMacs: stat === 'mean' ? p.meanMs : p.p95Ms, accuracy: p.accuracy }))).map((x) => x.p);
}

/** Bytes-vs-accuracy front. */
export function bytesFront(points: readonly DeploymentPoint[]): DeploymentPoint[] {
  return paretoFront(points.map((p) => ({ p, averageMacs: p.bytesPerInput, accuracy: p.accuracy }))).map((x) => x.p);
}

export interface DeploymentBudget {
  /** latency budget, ms, on `stat` */
  latencyMs?: number;
  stat?: 'mean' | 'p95';
  /** mean bytes per input over all links */
  bytesPerInput?: number;
}

/**
 * The best placement within a budget: the most accurate (placement, τ) whose latency and bytes stay
 * within it; among equals the faster, then the one sending fewer bytes. Null when nothing fits.
 */
export function bestPlacement(points: readonly DeploymentPoint[], budget: DeploymentBudget): DeploymentPoint | null {
  const lat = (p: DeploymentPoint) => (budget.stat === 'p95' ? p.p95Ms : p.meanMs);
  let best: DeploymentPoint | null = null;
  for (const p of points) {
    if (budget.latencyMs !== undefined && lat(p) > budget.latencyMs) continue;
    if (budget.bytesPerInput !== undefined && p.bytesPerInput > budget.bytesPerInput) continue;
    if (!best || p.accuracy > best.accuracy || (p.accuracy === best.accuracy && (lat(p) < lat(best) || (lat(p) === lat(best) && p.bytesPerInput < best.bytesPerInput)))) best = p;
  }
  return best;
}

/** "block2 | block6": a placement by the blocks each cut follows. */
export function placementLabel(cuts: readonly number[], net: Pick<NetworkCosts, 'blocks'>): string {
  return cuts.map((c) => (c === 0 ? 'input' : net.blocks[c - 1].id)).join(' | ');
}

/** The sweep as CSV, one line per (placement, τ). */
export function deploymentSweepCsv(points: readonly DeploymentPoint[], net: Pick<NetworkCosts, 'blocks'>): string {
  const lines = ['cuts,threshold,accuracy,mean_ms,p95_ms,bytes_per_input,device_share'];
  for (const p of points) lines.push([`"${placementLabel(p.cuts, net)}"`, p.threshold, p.accuracy.toFixed(4), p.meanMs.toFixed(3), p.p95Ms.toFixed(3), p.bytesPerInput.toFixed(1), p.deviceShare.toFixed(4)].join(','));
  return lines.join('\n') + '\n';
}

/** One estimate's exit paths as CSV: where inputs leave, on which tier, what each costs. */
export function deploymentPathsCsv(e: DeploymentEstimate): string {
  const T = e.tiers.length;
  const head = ['exit', 'tier', 'inputs', 'latency_ms', ...e.tiers.map((t) => `compute_ms_${t.name}`),
    ...Array.from({ length: T - 1 }, (_, k) => `link_ms_${k + 1}`), ...Array.from({ length: T - 1 }, (_, k) => `bytes_f32_link_${k + 1}`),
    ...Array.from({ length: T - 1 }, (_, k) => `bytes_int8_link_${k + 1}`)];
  const lines = [head.join(',')];
  e.paths.forEach((p, a) => lines.push([p.point, e.tiers[p.tier].name, e.counts[a], p.latencyMs.toFixed(3), ...p.computeMs.map((x) => x.toFixed(4)),
    ...p.linkMs.map((x) => x.toFixed(3)), ...p.bytesFloat32, ...p.bytesInt8].join(',')));
  return lines.join('\n') + '\n';
}

/** Everything one deployment plan needs, resolved: the network, its tiers and their times, the cuts. */
export interface ResolvedPlan {
  net: NetworkCosts;
  /** "phone-wifi-cloud", or "custom" for tiers written out */
  profile: string;
  tiers: TierProfile[];
  times: TierTimes[];
  cuts: number[];
  quantization: Quantization;
}

/**
 * A deployment section applied to a run: its tiers (preset or written), its cuts as block counts,
 * each tier's compute times (measured speeds where it says "measure here"). Throws a
 * ValidationError naming what is wrong or missing.
 */
export function resolvePlan(
  run: { backbone: RunResults['backbone']; costs: CostModel; points: string[] }, deployment: DeploymentSpec, speeds?: TierSpeeds | null,
): ResolvedPlan {
  const net = networkCostsOf(run);
  const ids = net.blocks.map((b) => b.id);
  validateDeployment(deployment, ids);
  const tiers = deploymentTiers(deployment);
  return {
    net, profile: deployment.preset ?? 'custom', tiers, times: tierTimes(tiers, net, speeds), cuts: cutCounts(deployment.cuts, ids), quantization: deployment.quantization,
  };
}

/** The deployment to show for a run that has none: the first preset, placed as Figure 2 draws it. */
export function defaultDeploymentFor(run: { backbone: RunResults['backbone']; costs: CostModel; points: string[] }): DeploymentSpec {
  const net = networkCostsOf(run);
  return presetDeployment(DEFAULT_PRESET, net.blocks.map((b) => b.id), net.exits.map((e) => e.block));
}
