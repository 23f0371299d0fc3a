/**
 * What the Branches view and the results panel say and decide about a plan over tiers, as pure
 * functions of plain data (no `vscode`), so the unit tests check the exact texts: the tiers node,
 * the cut nodes between blocks, each block's tier, moving a cut, which experiment file a run
 * belongs to, and the file's JSON with a new plan.
 */
import { describeBackbone, type BackboneConfig, type BackboneDescription } from '../spec/backbones';
import type { Experiment } from '../spec/experiment';
import type { RunResults } from '../spec/results';
import {
  cutCounts, cutNames, deploymentTiers, featureBytes, formatBytes, formatMs, formatRate, inputBytes, INPUT_CUT, moveCut, placeCut, presetById, retier,
  tierOfBlock, type DeploymentSpec, type TierPreset, type TierProfile,
} from '../spec/tiers';

/** A cut between two tiers as the tree shows it, below the last block of the tier before it. */
export interface CutView {
  /** link index k: between tier k and k + 1 */
  index: number;
  /** the last block the tier before runs, or "input" */
  after: string;
  from: TierProfile;
  to: TierProfile;
  /** e.g. "after block2 · Wi-Fi 18.9 Mbit/s, RTT 5.00 ms · 32.8 KB f32 / 8.2 KB int8" */
  description: string;
  canMoveUp: boolean;
  canMoveDown: boolean;
}

/** The tier of every block (by index) and the cuts to draw, for a valid plan on `desc`. */
export function tierLayout(d: DeploymentSpec, desc: BackboneDescription): { tierOfBlock: string[]; cuts: CutView[]; tiers: TierProfile[] } {
  const ids = desc.points.map((p) => p.id);
  const tiers = deploymentTiers(d);
  const counts = cutCounts(d.cuts, ids);
  const cuts = counts.map((c, k): CutView => {
    const f32 = c === 0 ? inputBytes(desc.config.input) : featureBytes(desc.points[c - 1].shape, 'float32');
    const i8 = c === 0 ? inputBytes(desc.config.input) : featureBytes(desc.points[c - 1].shape, 'int8');
    const link = tiers[k].link!;
    return {
      index: k, after: d.cuts[k], from: tiers[k], to: tiers[k + 1],
      description: `after ${d.cuts[k] === INPUT_CUT ? 'the input' : d.cuts[k]} · ${link.name} ${formatRate(link.bitsPerSecond)}, RTT ${formatMs(link.rttMs)} · ${c === 0 ? `${formatBytes(f32)} raw image` : `${formatBytes(f32)} f32 / ${formatBytes(i8)} int8`}`,
      canMoveUp: moveCut(counts, k, -1, ids.length) !== null,
      canMoveDown: moveCut(counts, k, +1, ids.length) !== null,
    };
  });
  return { tierOfBlock: ids.map((_, i) => tiers[tierOfBlock(counts, i)].name), cuts, tiers };
}

/** "phone + Wi-Fi edge + WAN cloud · float32 maps" */
export function tiersDescription(d: DeploymentSpec): string {
  const p = d.preset ? presetById(d.preset) : undefined;
  return `${p ? p.label : deploymentTiers(d).map((t) => t.name).join(' + ')} · ${d.quantization} maps`;
}

/** The tiers' tooltip: what runs where, with the figures' sources. */
export function tiersTooltip(d: DeploymentSpec): string {
  const p = d.preset ? presetById(d.preset) : undefined;
  const lines = deploymentTiers(d).map((t) => `- **${t.name}**${t.label ? ` (${t.label})` : ''}: ${t.compute.measure ? `measured here on ${t.compute.measure}` : `${+(t.compute.macsPerSecond! / 1e9).toFixed(3)} G MAC/s`}`
    + (t.link ? `; → ${t.link.name} ${formatRate(t.link.bitsPerSecond)}, RTT ${formatMs(t.link.rttMs)}` : ''));
  return `${p ? `Preset **${p.label}**: ${p.description} Figures from the sources below, not measurements of your hardware.` : 'Tiers written in the experiment file.'}\n\n${lines.join('\n')}\n\n`
    + 'Move a cut with the arrows on its row, or "Move Cut Here" on a block. The Results panel of a run of this experiment estimates latency, bytes and accuracy of the split.';
}

/** The plan with cut `k` moved one block up (−1) or down (+1), or null when it cannot move. */
export function withCutMoved(d: DeploymentSpec, ids: readonly string[], k: number, delta: number): DeploymentSpec | null {
  const moved = moveCut(cutCounts(d.cuts, ids), k, delta, ids.length);
  return moved ? { ...d, cuts: cutNames(moved, ids) } : null;
}

/** The plan with cut `k` right after block `block` (index); neighbouring cuts move along to stay in order. */
export function withCutAt(d: DeploymentSpec, ids: readonly string[], k: number, block: number): DeploymentSpec {
  return placeCut(d, ids, k, ids[block]);
}

/** The plan for a preset chosen on `x`: its cuts kept when the tier count matches, else Figure 2's. */
export function withPreset(x: Pick<Experiment, 'backbone' | 'exits' | 'deployment'>, preset: TierPreset): DeploymentSpec {
  const ids = describeBackbone(x.backbone).points.map((p) => p.id);
  const exitBlocks = x.exits.map((e) => ids.indexOf(e.point)).filter((b) => b >= 0).sort((a, b) => a - b);
  return retier(x.deployment, { preset: preset.id }, ids, exitBlocks);
}

/** The experiment file's JSON with `deployment` set (null removes it); other fields stay as written. */
export function withDeployment(json: Record<string, unknown>, d: DeploymentSpec | null): Record<string, unknown> {
  const { deployment: _old, ...rest } = json;
  return d ? { ...rest, deployment: d } : rest;
}

const sameBackbone = (a: BackboneConfig, b: Pick<RunResults['backbone'], 'name' | 'width' | 'input' | 'classes'>) =>
  a.name === b.name && a.width === b.width && a.classes === b.classes && a.input.join('x') === b.input.join('x');

/**
 * Whether an experiment file is the one a run was trained from: the same name (the Runs view
 * groups by it), backbone and exits. A plan made there applies to the run.
 */
export function experimentMatchesRun(x: Experiment, experimentName: string | undefined, results: Pick<RunResults, 'backbone' | 'points'>): boolean {
  if (x.name !== experimentName || !sameBackbone(x.backbone, results.backbone)) return false;
  const order = describeBackbone(x.backbone).points.map((p) => p.id);
  return x.exits.map((e) => e.point).sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(',') === results.points.join(',');
}
