/**
 * The network as plain JSON for the PyTorch reference (bench/torch_ref.py): the backbone IR blocks,
 * the resolved exit heads and gates, the cost model and our own parameter / MAC counts, so the
 * reference builds exactly the same layers and the bench can check that both count the same.
 */
import { type MultiExitNetwork, type NetworkConfig } from '../../src/engine/tfjs/network';
import type { LayerSpec } from '../../src/spec/backbones';

export interface NetSpec {
  backbone: NetworkConfig['backbone'];
  gated: boolean;
  blocks: { id: string; layers: LayerSpec[] }[];
  classifier: LayerSpec[];
  exits: { point: string; block: number; head: LayerSpec[]; gateHidden: number }[];
  costs: { exits: number[]; final: number; full: number };
  /** our counts: every variable (BN moving statistics included) and MACs of each exit path */
  parameters: number;
  macs: { exits: number[]; final: number; backbone: number };
}

export function netSpec(net: MultiExitNetwork): NetSpec {
  return {
    backbone: net.config.backbone,
    gated: net.config.gated,
    blocks: net.ir.blocks.map((b) => ({ id: b.id, layers: b.layers })),
    classifier: net.ir.classifier,
    exits: net.exits.map((e) => ({ point: e.point, block: e.block, head: e.headLayers, gateHidden: net.config.gated ? e.gate.hidden : -1 })),
    costs: { exits: [...net.costs.exits], final: net.costs.final, full: net.costs.full },
    parameters: net.parameterCount(),
    macs: { exits: [...net.costs.exits], final: net.costs.final, backbone: net.costs.full },
  };
}

/** The benchmark's network: a backbone at `width` with three default exits, gated (proposed). */
export function benchNetworkConfig(backbone: 'resnet18' | 'vgg13' | 'alexnet', width: number, gated = true, seed = 1): NetworkConfig {
  const points: Record<string, string[]> = {
    resnet18: ['block2', 'block4', 'block6'],
    vgg13: ['conv2', 'conv4', 'conv7'],
    alexnet: ['conv1', 'conv2', 'conv4'],
  };
  return {
    backbone: { name: backbone, width, input: [32, 32, 3], classes: 10 },
    exits: points[backbone].map((point) => ({ point, head: { kind: 'pool' as const }, gate: { hidden: 0 } })),
    gated,
    seed,
  };
}
