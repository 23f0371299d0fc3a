/**
 * Tiers a multi-exit network can be split over (the paper's Figure 2: the first blocks and exit on
 * a device, the next on an edge server, the rest in the cloud): tier profiles (compute speed, the
 * link to the next tier), presets with their sources, and the placement of the backbone's blocks
 * on the tiers (the cuts). Pure: the experiment parser, the CLI, the extension and the webview use
 * it; the estimate built on it is tier-estimate.ts.
 *
 * A placement is given by T − 1 cuts for T tiers. Cut k names the last backbone block that tier k
 * runs ("input" = none: tier k only forwards the raw input), so tier k runs the blocks after cut
 * k − 1 up to and including cut k, with the exits attached to them; the final classifier runs where
 * the last block runs. Tiers with no blocks relay what they receive.
 */
import type { Shape3 } from './backbones';
import { ValidationError } from './errors';

/** The link from a tier to the next one. */
export interface LinkProfile {
  /** Shown in the views, e.g. "Wi-Fi". */
  name: string;
  /** Uplink rate in bit/s (what a feature map is sent at). */
  bitsPerSecond: number;
  /** Round-trip time in ms (paid once per input that crosses the link: request out, answer back). */
  rttMs: number;
  /** Sender's energy per byte sent, in joules (optional). */
  joulesPerByte?: number;
  /** Where the figures come from (presets), or the user's note. */
  source?: string;
}

/** How fast a tier computes: an effective rate, or "measure here" on a tfjs backend. */
export interface TierCompute {
  /** Effective multiply-accumulates per second at batch 1. */
  macsPerSecond?: number;
  /** Measure every block on this machine on this backend (`early-exit deploy measure`). */
  measure?: MeasureBackend;
}

export type MeasureBackend = 'wasm' | 'cpu' | 'native-cpu' | 'gpu';
export const MEASURE_BACKENDS: readonly MeasureBackend[] = ['wasm', 'cpu', 'native-cpu', 'gpu'];

export interface TierProfile {
  /** "device", "edge", "cloud": unique within a profile. */
  name: string;
  /** What runs there, e.g. "phone CPU". */
  label?: string;
  compute: TierCompute;
  /** Energy per MAC in joules (optional). */
  joulesPerMac?: number;
  /** The link to the next tier; required on every tier but the last. */
  link?: LinkProfile;
  source?: string;
}

export type Quantization = 'float32' | 'int8';
export const QUANTIZATIONS: readonly Quantization[] = ['float32', 'int8'];

/** The `deployment` section of an experiment file. */
export interface DeploymentSpec {
  /** A preset id (TIER_PRESETS); give this or `tiers`. */
  preset?: string;
  /** The tiers, first = where the input is captured; give this or `preset`. */
  tiers?: TierProfile[];
  /** One per link: the last block the tier before it runs, or "input". */
  cuts: string[];
  /** How feature maps cross a link: as float32, or quantised to 8 bits (per-tensor affine). */
  quantization: Quantization;
}

/** A named set of tiers, with where each figure comes from: a starting point, not the user's hardware. */
export interface TierPreset {
  id: string;
  label: string;
  description: string;
  tiers: TierProfile[];
}

const PHONE_SOURCE = 'MobileNet V1 1.0/224 (569 M MACs, Howard et al. 2017, arXiv:1704.04861) runs in 26.5 ms on one CPU thread of an iPhone 11 Pro with TFLite (github.com/freedomtan/glDelegateBenchmark) ≈ 21 G MAC/s; rounded down to 20 G';
const WIFI_SOURCE = 'uplink: mean Wi-Fi uplink measured by Neurosurgeon (Kang et al., ASPLOS 2017) 18.88 Mbit/s; energy: Wi-Fi uplink 283.17 mW per Mbit/s (Huang et al., MobiSys 2012) = 2.27 µJ/byte; RTT 5 ms: assumed, one Wi-Fi hop to a server on the same LAN';
const CLOUD_SOURCE = 'assumed: a data-centre accelerator at batch 1 is bound by kernel launches, far below its peak; 1 T MAC/s';
const WAN_SOURCE = 'assumed: a metro/regional wired path from an edge site to a cloud region, 100 Mbit/s, 30 ms RTT';
const MCU_SOURCE = 'CMSIS-NN (Lai, Suda, Chandra 2018, arXiv:1801.06601): a ≈12 M-MAC CIFAR-10 CNN at ≈10 images/s on a 216 MHz Arm Cortex-M7 ≈ 0.12 G MAC/s';
const LORA_SOURCE = 'LoRaWAN Regional Parameters (LoRa Alliance, RP002), EU863-870 DR5 (SF7, 125 kHz): 5 470 bit/s; RTT ≈ 1 s: a class-A device hears the answer in its first receive window, 1 s after its uplink ends (RECEIVE_DELAY1). Not modelled: the 1 % duty cycle and the 222-byte frame limit, which make large maps far slower';

/** Presets: figures from their sources (or stated assumptions), not measurements of the user's hardware. */
export const TIER_PRESETS: readonly TierPreset[] = [
  {
    id: 'phone-wifi-cloud',
    label: 'phone + Wi-Fi edge + WAN cloud',
    description: 'A phone captures the input, an edge server one Wi-Fi hop away, a cloud region behind a WAN (the paper\'s Figure 2; Teerapittayanon et al., DDNN, ICDCS 2017).',
    tiers: [
      { name: 'device', label: 'phone CPU (one thread)', compute: { macsPerSecond: 20e9 }, source: PHONE_SOURCE,
        link: { name: 'Wi-Fi', bitsPerSecond: 18.88e6, rttMs: 5, joulesPerByte: 2.27e-6, source: WIFI_SOURCE } },
      { name: 'edge', label: 'edge server CPU', compute: { macsPerSecond: 100e9 }, source: 'assumed: a few server CPU cores with SIMD at batch 1, 5× the phone',
        link: { name: 'WAN', bitsPerSecond: 100e6, rttMs: 30, source: WAN_SOURCE } },
      { name: 'cloud', label: 'cloud accelerator', compute: { macsPerSecond: 1e12 }, source: CLOUD_SOURCE },
    ],
  },
  {
    id: 'mcu-lora-cloud',
    label: 'microcontroller + LoRa gateway + cloud',
    description: 'A battery sensor node with a Cortex-M7, a LoRaWAN gateway with an application processor, a cloud region behind the gateway\'s backhaul.',
    tiers: [
      { name: 'device', label: 'Cortex-M7 microcontroller', compute: { macsPerSecond: 0.12e9 }, source: MCU_SOURCE,
        link: { name: 'LoRa', bitsPerSecond: 5470, rttMs: 1000, source: LORA_SOURCE } },
      { name: 'gateway', label: 'gateway application processor', compute: { macsPerSecond: 5e9 }, source: 'assumed: a quad-core Cortex-A class gateway at batch 1, a quarter of the phone',
        link: { name: 'backhaul', bitsPerSecond: 10e6, rttMs: 50, source: 'assumed: a gateway\'s cellular or DSL backhaul, 10 Mbit/s, 50 ms RTT' } },
      { name: 'cloud', label: 'cloud accelerator', compute: { macsPerSecond: 1e12 }, source: CLOUD_SOURCE },
    ],
  },
];

export const DEFAULT_PRESET = TIER_PRESETS[0].id;

export function presetById(id: string): TierPreset | undefined {
  return TIER_PRESETS.find((p) => p.id === id);
}

type Schema = Record<string, any>;

const linkSchema: Schema = {
  type: 'object', additionalProperties: false, required: ['name', 'bitsPerSecond', 'rttMs'],
  description: 'The link to the next tier.',
  properties: {
    name: { type: 'string', description: 'Shown in the views, e.g. "Wi-Fi".' },
    bitsPerSecond: { type: 'number', exclusiveMinimum: 0, description: 'Uplink rate in bit/s (e.g. 18.88e6).' },
    rttMs: { type: 'number', minimum: 0, description: 'Round-trip time in ms, paid once per input crossing the link.' },
    joulesPerByte: { type: 'number', minimum: 0, description: 'Sender\'s energy per byte sent (J), optional.' },
    source: { type: 'string', description: 'Where the figures come from.' },
  },
};

/** JSON Schema of the `deployment` section (part of experimentSchema). */
export const deploymentSchema: Schema = {
  type: 'object', additionalProperties: false, required: ['cuts'],
  description: 'Optional: the network split over tiers (device, edge, cloud). Estimated from the run\'s records by `early-exit deploy plan` and the Results panel; executed for real by `early-exit deploy run`.',
  properties: {
    preset: { type: 'string', description: `A tier preset: ${TIER_PRESETS.map((p) => `"${p.id}" (${p.label})`).join(', ')}. Give this or "tiers".` },
    tiers: {
      type: 'array', minItems: 2, maxItems: 6, description: 'The tiers, the first being where the input is captured. Give this or "preset".',
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'compute'],
        properties: {
          name: { type: 'string', description: 'Unique tier name, e.g. "device".' },
          label: { type: 'string', description: 'What runs there, e.g. "phone CPU".' },
          compute: {
            type: 'object', additionalProperties: false,
            description: 'Either { "macsPerSecond": N } or { "measure": backend } (every block timed on this machine: `early-exit deploy measure`).',
            properties: {
              macsPerSecond: { type: 'number', exclusiveMinimum: 0, description: 'Effective MACs per second at batch 1.' },
              measure: { enum: [...MEASURE_BACKENDS], description: 'Measure here on this TF.js backend.' },
            },
          },
          joulesPerMac: { type: 'number', minimum: 0, description: 'Energy per MAC (J), optional.' },
          link: linkSchema,
          source: { type: 'string', description: 'Where the figures come from.' },
        },
      },
    },
    cuts: {
      type: 'array', items: { type: 'string' },
      description: 'One per link: the last backbone block the tier before the link runs ("input" = none). E.g. ["block2", "block6"]: device runs block1–2, edge block3–6, cloud the rest.',
    },
    quantization: { enum: [...QUANTIZATIONS], default: 'float32', description: 'How a feature map crosses a link: float32, or int8 (per-tensor affine 8-bit).' },
  },
};

/** The tiers of a deployment: the preset's or the written ones. */
export function deploymentTiers(d: Pick<DeploymentSpec, 'preset' | 'tiers'>): TierProfile[] {
  if (d.tiers) return d.tiers;
  const p = presetById(d.preset ?? '');
  if (!p) throw new ValidationError(`deployment.preset: unknown preset "${d.preset}"; allowed: ${TIER_PRESETS.map((x) => x.id).join(', ')}`, 'deployment.preset');
  return p.tiers;
}

/** "input" as a cut: the tier before the link runs no block. */
export const INPUT_CUT = 'input';

/**
 * Checks what the schema cannot: preset or tiers (one of them), tier names, links, compute, and the
 * cuts against the backbone's blocks (`blockIds`, in order). Throws a ValidationError naming the field.
 */
export function validateDeployment(d: DeploymentSpec, blockIds: readonly string[], path = 'deployment'): DeploymentSpec {
  if ((d.preset === undefined) === (d.tiers === undefined)) {
    throw new ValidationError(`${path}: give either "preset" (${TIER_PRESETS.map((p) => p.id).join(', ')}) or "tiers", not ${d.preset === undefined ? 'neither' : 'both'}`, path);
  }
  const tiers = deploymentTiers(d);
  const names = new Set<string>();
  tiers.forEach((t, i) => {
    const at = `${path}.tiers[${i}]`;
    if (!t.name.trim()) throw new ValidationError(`${at}.name: must not be empty`, `${at}.name`);
    if (names.has(t.name)) throw new ValidationError(`${at}.name: duplicate tier "${t.name}"`, `${at}.name`);
    names.add(t.name);
    if ((t.compute.macsPerSecond === undefined) === (t.compute.measure === undefined)) {
      throw new ValidationError(`${at}.compute: give either "macsPerSecond" (e.g. 2e10) or "measure" (${MEASURE_BACKENDS.join(', ')})`, `${at}.compute`);
    }
    if (i < tiers.length - 1 && !t.link) throw new ValidationError(`${at}.link: missing; every tier but the last needs the link to the next tier`, `${at}.link`);
    if (i === tiers.length - 1 && t.link) throw new ValidationError(`${at}.link: the last tier has no next tier; remove its link`, `${at}.link`);
  });
  if (d.cuts.length !== tiers.length - 1) {
    throw new ValidationError(`${path}.cuts: needs ${tiers.length - 1} cut(s), one per link between the ${tiers.length} tiers, got ${d.cuts.length}`, `${path}.cuts`);
  }
  const allowed = [INPUT_CUT, ...blockIds];
  let prev = 0;
  d.cuts.forEach((c, k) => {
    const at = allowed.indexOf(c);
    if (at < 0) throw new ValidationError(`${path}.cuts[${k}]: "${c}" is not a block; allowed: ${allowed.join(', ')}`, `${path}.cuts[${k}]`);
    if (at < prev) throw new ValidationError(`${path}.cuts[${k}]: "${c}" comes before the previous cut "${d.cuts[k - 1]}"; cuts go from the device towards the last tier`, `${path}.cuts[${k}]`);
    prev = at;
  });
  return d;
}

/** Cuts as block counts: cut k = number of blocks run on tiers 0…k (0 = "input"). */
export function cutCounts(cuts: readonly string[], blockIds: readonly string[]): number[] {
  return cuts.map((c) => (c === INPUT_CUT ? 0 : blockIds.indexOf(c) + 1));
}

/** Block counts back to cut names. */
export function cutNames(counts: readonly number[], blockIds: readonly string[]): string[] {
  return counts.map((n) => (n === 0 ? INPUT_CUT : blockIds[n - 1]));
}

/** [from, to) of the blocks each of the T tiers runs. */
export function tierRanges(counts: readonly number[], blocks: number): [number, number][] {
  const edges = [0, ...counts, blocks];
  return edges.slice(0, -1).map((from, t) => [from, edges[t + 1]]);
}

/** The tier that runs block `block`. */
export function tierOfBlock(counts: readonly number[], block: number): number {
  let t = 0;
  while (t < counts.length && block >= counts[t]) t++;
  return t;
}

/** Every monotone placement of `tiers` tiers over `blocks` blocks (cuts as counts). */
export function allPlacements(tiers: number, blocks: number): number[][] {
  const out: number[][] = [];
  const rec = (k: number, from: number, acc: number[]) => {
    if (k === tiers - 1) { out.push(acc); return; }
    for (let c = from; c <= blocks; c++) rec(k + 1, c, [...acc, c]);
  };
  rec(0, 0, []);
  return out;
}

/** Cut `k` moved by `delta` blocks, clamped so cuts stay ordered and within [0, blocks]; null when it cannot move. */
export function moveCut(counts: readonly number[], k: number, delta: number, blocks: number): number[] | null {
  const lo = k > 0 ? counts[k - 1] : 0, hi = k < counts.length - 1 ? counts[k + 1] : blocks;
  const next = Math.min(hi, Math.max(lo, counts[k] + delta));
  if (next === counts[k]) return null;
  return counts.map((c, i) => (i === k ? next : c));
}

/** Bytes of a feature map of `shape` crossing a link: 4 per value as float32, 1 as int8 (its scale and offset travel in the request's headers). */
export function featureBytes(shape: Shape3, q: Quantization): number {
  return shape[0] * shape[1] * shape[2] * (q === 'int8' ? 1 : 4);
}

/** Bytes of the raw input (8-bit pixels, as captured): what crosses a link cut at "input", whatever the quantisation. */
export function inputBytes(shape: Shape3): number {
  return shape[0] * shape[1] * shape[2];
}

/** "1.2 ms", "340 ms", "4.5 s" */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** "3.0 KB", "1.25 MB" (1 KB = 1000 bytes, as link rates count). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${Math.round(bytes)} B`;
}

/** "18.9 Mbit/s", "5.5 kbit/s" */
export function formatRate(bitsPerSecond: number): string {
  if (bitsPerSecond >= 1e9) return `${(bitsPerSecond / 1e9).toFixed(1)} Gbit/s`;
  if (bitsPerSecond >= 1e6) return `${(bitsPerSecond / 1e6).toFixed(1)} Mbit/s`;
  if (bitsPerSecond >= 1e3) return `${(bitsPerSecond / 1e3).toFixed(1)} kbit/s`;
  return `${bitsPerSecond} bit/s`;
}

/** "20 G MAC/s" or "measured on wasm" */
export function computeText(c: TierCompute): string {
  if (c.measure) return `measured here on ${c.measure}`;
  const r = c.macsPerSecond ?? 0;
  return r >= 1e12 ? `${(r / 1e12).toFixed(1)} T MAC/s` : r >= 1e9 ? `${+(r / 1e9).toFixed(2)} G MAC/s` : `${+(r / 1e6).toFixed(1)} M MAC/s`;
}

/**
 * The placement the paper's Figure 2 draws, as a starting point: tier k keeps the network up to
 * and including exit k's block (so the device has the first exit, the edge the next), the last
 * tier the rest. With fewer exits than links the remaining cuts hand everything after the last
 * exit to the last tier.
 */
export function defaultCuts(exitBlocks: readonly number[], blocks: number, tiers: number): number[] {
  const cuts: number[] = [];
  for (let k = 0; k < tiers - 1; k++) cuts.push(k < exitBlocks.length ? exitBlocks[k] + 1 : Math.max(cuts[k - 1] ?? 0, exitBlocks.length ? exitBlocks[exitBlocks.length - 1] + 1 : 0));
  return cuts;
}

/**
 * Figure 2's placement (defaultCuts) for `tiers` tiers as cut names, on a backbone of `blockIds`
 * with exits after the blocks `exitBlocks` (indices, in order).
 */
export function defaultCutNames(blockIds: readonly string[], exitBlocks: readonly number[], tiers: number): string[] {
  return cutNames(defaultCuts(exitBlocks, blockIds.length, tiers), blockIds);
}

/**
 * The plan on other tiers (`next`: a preset, or tiers written out): its cuts are kept when the
 * number of links stays the same, else they become Figure 2's placement for the new count; the
 * quantisation stays. The one rule the Branches view, the Results panel and `deploy plan --preset /
 * --tiers` change tiers by.
 */
export function retier(
  d: Pick<DeploymentSpec, 'cuts' | 'quantization'> | null | undefined, next: Pick<DeploymentSpec, 'preset' | 'tiers'>,
  blockIds: readonly string[], exitBlocks: readonly number[],
): DeploymentSpec {
  const count = deploymentTiers(next).length;
  const cuts = d && d.cuts.length === count - 1 ? d.cuts : defaultCutNames(blockIds, exitBlocks, count);
  return { ...(next.tiers ? { tiers: next.tiers } : { preset: next.preset }), cuts, quantization: d?.quantization ?? 'float32' };
}

/**
 * The plan with cut `k` at `cut` (a block id, or INPUT_CUT): the cuts it passes move along with it,
 * so the tiers stay in order from the device to the last.
 */
export function placeCut(d: DeploymentSpec, blockIds: readonly string[], k: number, cut: string): DeploymentSpec {
  const known = (c: string) => c === INPUT_CUT || blockIds.includes(c);
  const [at] = cutCounts([cut], blockIds);
  // a cut that names no block of this backbone (the backbone changed) stays as written, for the
  // validation to name, instead of turning into "input"
  return { ...d, cuts: d.cuts.map((c, i) => {
    if (i === k) return cut;
    if (!known(c)) return c;
    const [n] = cutCounts([c], blockIds);
    return cutNames([i < k ? Math.min(n, at) : Math.max(n, at)], blockIds)[0];
  }) };
}

/** A deployment section for a preset with the default placement. */
export function presetDeployment(preset: string, blockIds: readonly string[], exitBlocks: readonly number[], quantization: Quantization = 'float32'): DeploymentSpec {
  const p = presetById(preset);
  if (!p) throw new ValidationError(`unknown tier preset "${preset}"; allowed: ${TIER_PRESETS.map((x) => x.id).join(', ')}`, 'preset');
  return { preset, cuts: defaultCutNames(blockIds, exitBlocks, p.tiers.length), quantization };
}
