/**
 * The measured split execution (`early-exit deploy run`, split-measured.json in the run folder)
 * set beside the estimate for the same inputs, profile and speeds, with the tolerance the two are
 * held to. Pure: the CLI, the results panel and the report show the same comparison.
 */
import { exitOf } from './analysis';
import type { ExitRule, SampleRecords } from './results';
import { ANSWER_BYTES, distributionOf, type DeploymentEstimate, type Distribution, type MeasuredSpeed } from './tier-estimate';
import type { Quantization, TierProfile } from './tiers';

/** One timed input of the split execution. */
export interface SplitInput {
  sample: number;
  label: number;
  exit: number;
  pred: number;
  /** the tier that answered */
  tier: number;
  /** end to end on the device's clock, ms */
  latencyMs: number;
  /** per tier: running its blocks and exits, ms (0 where unused) */
  computeMs: number[];
  /** per tier: decoding and encoding feature maps, ms */
  codecMs: number[];
  /** per link: payload bytes sent (0 where not crossed) */
  bytes: number[];
}

export interface SplitMeasurement {
  version: 1;
  /** the tiers as run: compute measured here, links as shaped (or unshaped loopback) */
  tiers: TierProfile[];
  /** the profile the links were taken from ("phone-wifi-cloud", or "custom") */
  profile: string;
  cuts: number[];
  cutNames: string[];
  quantization: Quantization;
  rule: ExitRule;
  thresholds: number[];
  backend: string;
  /** whether a shaper imposed each link's rate and RTT (false: raw loopback) */
  shaped: boolean;
  warmup: number;
  inputs: SplitInput[];
  /** per link, bytes the shaper relayed during the timed inputs (HTTP/2 frames: payload, headers, framing); null when unshaped */
  wireBytes: { up: number; down: number }[] | null;
  measuredAt: string;
  /** 1-minute load average at the start and the end */
  loadAverage: [number, number];
  /** the estimate on the same inputs, with the same links and the speeds measured here */
  estimate: DeploymentEstimate;
  speed: MeasuredSpeed;
}

/**
 * How close measured and estimated latency must be on an unloaded machine: |measured −
 * estimated| ≤ relative × estimated + absoluteMsPerHop × links crossed. The absolute part covers
 * what the model leaves out at each hop — reading the map off the backend, encoding it, HTTP/2
 * framing and headers, waking the next tier's process, the shaper's millisecond timers. On a
 * loaded machine every wake-up waits for a core, and the measured latency grows with the load
 * (recorded with every measurement; BENCHMARKS.md).
 */
export const SPLIT_TOLERANCE = { relative: 0.15, absoluteMsPerHop: 3 } as const;

export interface ComparisonRow {
  what: string;
  unit: 'ms' | 'B' | '%';
  estimated: number;
  measured: number;
  /** null: shown for information, not held to a tolerance */
  agrees: boolean | null;
  note?: string;
}

/** The first `n` samples of a split's records (the inputs the split execution timed). */
export function firstRecords(r: SampleRecords, n: number): SampleRecords {
  const k = Math.min(n, r.count);
  const cut = <T>(a: T[]) => a.slice(0, k);
  return {
    split: r.split, count: k, labels: cut(r.labels),
    exits: r.exits.map((e) => ({ point: e.point, gate: e.gate ? cut(e.gate) : null, pred: cut(e.pred), conf: cut(e.conf), entropy: cut(e.entropy) })),
    final: { pred: cut(r.final.pred), conf: cut(r.final.conf), entropy: cut(r.final.entropy) },
    softPred: r.softPred ? cut(r.softPred) : null,
  };
}

/** Latency distribution of the measured inputs. */
export function measuredLatency(m: Pick<SplitMeasurement, 'inputs'>): Distribution {
  return distributionOf(m.inputs.map((i) => i.latencyMs));
}

/** Share of the measured inputs answered right (0 when none were measured). */
export function measuredAccuracy(m: Pick<SplitMeasurement, 'inputs'>): number {
  return m.inputs.filter((i) => i.pred === i.label).length / (m.inputs.length || 1);
}

/** Estimated vs measured: latency (mean, p95), bytes per input, exits, accuracy, each with whether it agrees. */
export function compareSplit(m: SplitMeasurement, records?: SampleRecords | null): ComparisonRow[] {
  const e = m.estimate;
  const meas = measuredLatency(m);
  const n = m.inputs.length || 1;
  const within = (est: number, got: number, hops: number) => Math.abs(got - est) <= SPLIT_TOLERANCE.relative * est + SPLIT_TOLERANCE.absoluteMsPerHop * Math.max(1, hops);
  // links crossed: on average for the mean, by the path at the 95th percentile for p95
  const meanHops = e.crossings.reduce((a, b) => a + b, 0) / (e.count || 1);
  const p95Hops = e.paths.find((p) => p.latencyMs === e.latency.p95)?.tier ?? meanHops;
  const bytes = m.inputs.reduce((s, i) => s + i.bytes.reduce((a, b) => a + b, 0), 0) / n;
  const mean = (f: (i: SplitInput) => number) => m.inputs.reduce((s, i) => s + f(i), 0) / n;
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const compute = mean((i) => sum(i.computeMs)), codec = mean((i) => sum(i.codecMs));
  const estCompute = sum(e.computeMs);
  const rows: ComparisonRow[] = [
    { what: 'mean latency', unit: 'ms', estimated: e.latency.mean, measured: meas.mean, agrees: within(e.latency.mean, meas.mean, meanHops) },
    { what: 'p95 latency', unit: 'ms', estimated: e.latency.p95, measured: meas.p95, agrees: within(e.latency.p95, meas.p95, p95Hops) },
    { what: '  of which compute (all tiers, mean)', unit: 'ms', estimated: estCompute, measured: compute, agrees: null, note: 'the estimate uses the median part times of `deploy measure`' },
    { what: '  of which links (mean)', unit: 'ms', estimated: e.latency.mean - estCompute, measured: meas.mean - compute - codec, agrees: null, note: 'measured: latency − compute − codec, i.e. transfer, RTT, HTTP/2 and event-loop time' },
    { what: '  of which codec (mean)', unit: 'ms', estimated: 0, measured: codec, agrees: null, note: 'reading the map off the backend, (de)quantising; not modelled' },
    { what: 'payload bytes per input', unit: 'B', estimated: e.bytesPerInput.chosen, measured: bytes, agrees: Math.abs(bytes - e.bytesPerInput.chosen) < 0.5 },
  ];
  if (m.wireBytes) {
    const wire = m.wireBytes.reduce((s, w) => s + w.up + w.down, 0) / n;
    rows.push({ what: 'wire bytes per input (both ways)', unit: 'B', estimated: e.bytesPerInput.chosen + ANSWER_BYTES * e.crossings.reduce((a, b) => a + b, 0) / n, measured: wire, agrees: null, note: 'HTTP/2 headers and framing on top of the payload; the estimate counts payload and a 20-byte answer' });
  }
  if (records) {
    const same = m.inputs.filter((i) => exitOf(records, m.rule, m.thresholds, i.sample) === i.exit).length;
    rows.push({ what: 'inputs leaving at the exit the records say', unit: '%', estimated: 100, measured: (100 * same) / n, agrees: same / n >= 0.98, note: 'batch-1 folded-BN arithmetic vs the records\' batch pass: a gate within float rounding of τ can flip' });
  }
  const acc = measuredAccuracy(m);
  rows.push({ what: 'accuracy', unit: '%', estimated: 100 * e.accuracy, measured: 100 * acc, agrees: Math.abs(acc - e.accuracy) <= 0.02 || m.quantization === 'int8', note: m.quantization === 'int8' ? 'the estimate reads float32 records; the difference is what int8 maps cost' : undefined });
  return rows;
}
