/**
 * The multi-exit network as every engine builds it, resolved once here (no tfjs): the backbone's
 * blocks and classifier (backbones.ts), each exit's head f_b and gate g_b as layer lists with
 * their variable names, and the cost model. The tfjs engine builds its variables from these
 * lists; the torch engine receives the same description as JSON and builds its modules from it,
 * so both count the same parameters and MACs and export the same variable names.
 */
import { buildBackboneIR, type BackboneConfig, type LayerSpec } from './backbones';
import { costModel, resolveExits, type ResolvedExit } from './exit-costs';
import type { ExitConfig } from './exits';
import type { GateInputs } from './method';
import type { CostModel } from './results';

export interface NetworkConfig {
  backbone: BackboneConfig;
  exits: ExitConfig[];
  /** Whether exits have gates (proposed) or not (BranchyNet, baseline). */
  gated: boolean;
  seed: number;
  /** Recipe: what the gates see (method.gateInputs); absent = the head's features (the paper). */
  gateInputs?: GateInputs;
  /** Recipe: T of g_b = σ(z_b / T), set per epoch by the phase and saved with the weights; absent = 1. */
  gateTemperature?: number;
}

/** Exit e's gate up to the sigmoid: an optional hidden dense layer (ReLU), then one unit. */
export function gateLayersOf(exit: Pick<ResolvedExit, 'point' | 'gate'>): LayerSpec[] {
  const last: LayerSpec = { kind: 'dense', name: `exit_${exit.point}/gate`, units: 1, relu: false };
  return exit.gate.hidden > 0 ? [{ kind: 'dense', name: `exit_${exit.point}/gate_hidden`, units: exit.gate.hidden, relu: true }, last] : [last];
}

/** Everything an engine needs to build the network, in backbone order. */
export interface NetworkDescription {
  config: NetworkConfig;
  blocks: { id: string; layers: LayerSpec[] }[];
  /** After the last block, up to the final classifier's logits. */
  classifier: LayerSpec[];
  exits: {
    point: string;
    /** index of the block after which the exit sits */
    block: number;
    /** f_b: its last layer is the classifier, the layers before it compute the features the gate shares */
    head: LayerSpec[];
    /** g_b up to the sigmoid; empty when not gated */
    gate: LayerSpec[];
  }[];
  costs: CostModel;
}

export function describeNetwork(config: NetworkConfig): NetworkDescription {
  const ir = buildBackboneIR(config.backbone);
  const c = costModel(config);
  return {
    config,
    blocks: ir.blocks.map((b) => ({ id: b.id, layers: b.layers })),
    classifier: ir.classifier,
    exits: resolveExits(config).map((e) => ({ point: e.point, block: e.block, head: e.headLayers, gate: config.gated ? gateLayersOf(e) : [] })),
    costs: { exits: c.exits, final: c.final, full: c.full },
  };
}
