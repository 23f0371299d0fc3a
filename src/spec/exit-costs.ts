/**
 * Exit heads as layers and their costs in MACs, without tfjs: what γ_b (Eq. 2) is made of. The
 * network (model.ts) builds its heads from these layer lists; the extension host shows the same
 * costs in the Branches view without loading tfjs.
 */
import { describeBackbone, layersCost, type BackboneConfig, type LayerSpec, type Shape3 } from './backbones';
import { DEFAULT_HEAD_GRID, validateExits, type ExitConfig } from './exits';
import { GATE_STATISTICS, type GateInputs } from './method';
import type { CostModel } from './results';

/** What the costs depend on (NetworkConfig without the seed). */
export interface CostConfig {
  backbone: BackboneConfig;
  exits: ExitConfig[];
  /** Whether exits have gates (proposed) or not (BranchyNet, baseline). */
  gated: boolean;
  /** What the gates see (method.gateInputs); absent = the head's features, as in the paper. */
  gateInputs?: GateInputs;
}

/** Inputs of a gate g_b whose head features are `features` wide (method.gateInputs): the features, f_b's softmax statistics, or both. */
export function gateInputWidth(features: number, gateInputs: GateInputs | undefined): number {
  return gateInputs === 'softmax' ? GATE_STATISTICS.length : gateInputs === 'features+softmax' ? features + GATE_STATISTICS.length : features;
}

/** An exit with where it sits and what it costs. */
export interface ResolvedExit extends ExitConfig {
  /** index of the backbone block after which this exit sits */
  block: number;
  headLayers: LayerSpec[];
  featureShape: Shape3;
  headMacs: number;
  gateMacs: number;
}

/** Channels of a head's conv or hidden layer: as written, else the point's channels within [8, 128]. */
export function headChannels(exit: ExitConfig, inChannels: number): number {
  return exit.head.channels ?? Math.max(8, Math.min(inChannels, 128));
}

/** The layers of head f_b on a point whose output is `input` (H×W×C). */
export function headLayersOf(exit: ExitConfig, input: Shape3, classes: number): LayerSpec[] {
  const p = `exit_${exit.point}`;
  const channels = headChannels(exit, input[2]);
  const grid = exit.head.grid ?? DEFAULT_HEAD_GRID;
  // grid 1 = global average pool; a larger grid keeps where in the image the features are,
  // which shallow points need (their channels alone say little about the class)
  const pool: LayerSpec[] = grid === 1 || Math.max(input[0], input[1]) <= 1
    ? [{ kind: 'gap' }]
    : [{ kind: 'avgpool', grid }, { kind: 'flatten' }];
  switch (exit.head.kind) {
    case 'pool':
      return [...pool, { kind: 'dense', name: `${p}/fc`, units: classes, relu: false }];
    case 'conv-pool':
      return [
        { kind: 'conv', name: `${p}/conv`, filters: channels, kernel: 3, stride: 1, bn: true, relu: true },
        ...pool,
        { kind: 'dense', name: `${p}/fc`, units: classes, relu: false },
      ];
    case 'pool-mlp':
      return [
        ...pool,
        { kind: 'dense', name: `${p}/hidden`, units: channels, relu: true },
        { kind: 'dense', name: `${p}/fc`, units: classes, relu: false },
      ];
  }
}

/** The exits in backbone order with their head layers and MACs (validated first). */
export function resolveExits(config: CostConfig): ResolvedExit[] {
  validateExits(config.backbone, config.exits);
  const desc = describeBackbone(config.backbone);
  const order = desc.points.map((p) => p.id);
  return [...config.exits]
    .sort((a, b) => order.indexOf(a.point) - order.indexOf(b.point))
    .map((e) => {
      const block = order.indexOf(e.point);
      const shape = desc.points[block].shape;
      const headLayers = headLayersOf(e, shape, config.backbone.classes);
      // features = the input of the head's final dense layer
      const feat = layersCost(headLayers.slice(0, -1), shape);
      const full = layersCost(headLayers, shape);
      // a gate's input: the features, and with softmax gates f_b's statistics (read from its logits, counted in headMacs)
      const f = gateInputWidth(feat.shape[2], config.gateInputs);
      const gateMacs = config.gated ? (e.gate.hidden > 0 ? f * e.gate.hidden + e.gate.hidden : f) : 0;
      return { ...e, block, headLayers, featureShape: feat.shape, headMacs: full.macs, gateMacs };
    });
}

/**
 * Costs of a configuration in MACs (no tensors needed): γ_b of every exit in backbone order, the
 * cost of reaching the final classifier, and the plain backbone. See CostModel.
 */
export function costModel(config: CostConfig): CostModel & { headMacs: number[]; gateMacs: number[] } {
  const exits = resolveExits(config);
  const desc = describeBackbone(config.backbone);
  let extra = 0;
  const gammas = exits.map((e) => {
    extra += e.headMacs + e.gateMacs;
    return desc.points[e.block].macs + extra;
  });
  return { exits: gammas, final: desc.total + extra, full: desc.total, headMacs: exits.map((e) => e.headMacs), gateMacs: exits.map((e) => e.gateMacs) };
}
