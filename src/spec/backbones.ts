/**
 * Backbone catalogue: AlexNet, VGG-13 and ResNet-18 in their CIFAR forms as a small layer IR,
 * with shape inference and analytic MAC counts. Free of tfjs so the extension host can use it
 * to draw the Branches tree; `model.ts` turns the same IR into tensors.
 *
 * MACs count the multiply–accumulates of convolutions and dense layers (the usual convention of
 * FLOP counters such as thop/ptflops); batch norm, ReLU, pooling and additions are element-wise
 * and not counted.
 */
import { ValidationError } from './errors';

export type BackboneName = 'alexnet' | 'vgg13' | 'resnet18';
export const BACKBONE_NAMES: readonly BackboneName[] = ['alexnet', 'vgg13', 'resnet18'];
export const BACKBONE_LABELS: Record<BackboneName, string> = {
  alexnet: 'AlexNet',
  vgg13: 'VGG-13',
  resnet18: 'ResNet-18',
};

/** [height, width, channels] */
export type Shape3 = [number, number, number];

/** The options every backbone factory takes. */
export interface BackboneConfig {
  name: BackboneName;
  /** Multiplier on every layer's channel count (1 = the published widths). */
  width: number;
  /** Input [height, width, channels]; 32×32×3 (CIFAR) or 28×28×1 (MNIST-style). */
  input: Shape3;
  classes: number;
}

/** One layer of the IR. Convolutions are NHWC with 'same' padding unless stated. */
export type LayerSpec =
  | { kind: 'conv'; name: string; filters: number; kernel: number; stride: number; bn: boolean; relu: boolean }
  /** Max pooling with 'same' padding (output = ceil(input / stride)). */
  | { kind: 'maxpool'; size: number; stride: number }
  /** ResNet basic block: conv3×3-BN-ReLU-conv3×3-BN + shortcut (1×1 conv-BN when the shape changes), ReLU. */
  | { kind: 'residual'; name: string; filters: number; stride: number }
  | { kind: 'gap' }
  /** Average pool to at most grid×grid cells (window = stride = ⌈H/grid⌉, 'same' padding). */
  | { kind: 'avgpool'; grid: number }
  | { kind: 'flatten' }
  | { kind: 'dense'; name: string; units: number; relu: boolean }
  | { kind: 'dropout'; rate: number };

/** A run of layers that ends at a candidate exit point. */
export interface BackboneBlock {
  /** Stable point id ("conv3", "block5"): exits attach here. */
  id: string;
  layers: LayerSpec[];
}

export interface BackboneIR {
  config: BackboneConfig;
  blocks: BackboneBlock[];
  /** Layers after the last point up to the final classifier's logits. */
  classifier: LayerSpec[];
}

/** A candidate exit point with its output shape and the backbone MACs needed to reach it. */
export interface ExitPoint {
  id: string;
  /** 1-based position, as the paper numbers its exits (#1, #2, …). */
  index: number;
  shape: Shape3;
  /** Cumulative backbone MACs from the input up to and including this point. */
  macs: number;
}

export interface BackboneDescription {
  name: BackboneName;
  label: string;
  config: BackboneConfig;
  /** MACs of the full network without exits (input → final classifier). */
  total: number;
  points: ExitPoint[];
  parameters: number;
}

const ch = (c: number, width: number) => Math.max(1, Math.round(c * width));

function alexnet(w: number, classes: number): Omit<BackboneIR, 'config'> {
  // CIFAR AlexNet: five convolutions (5×5, 5×5, 3×3, 3×3, 3×3), three max-pools, two dense.
  const conv = (i: number, f: number, k: number): LayerSpec =>
    ({ kind: 'conv', name: `conv${i}`, filters: ch(f, w), kernel: k, stride: 1, bn: false, relu: true });
  const pool: LayerSpec = { kind: 'maxpool', size: 2, stride: 2 };
  return {
    blocks: [
      { id: 'conv1', layers: [conv(1, 64, 5), pool] },
      { id: 'conv2', layers: [conv(2, 192, 5), pool] },
      { id: 'conv3', layers: [conv(3, 384, 3)] },
      { id: 'conv4', layers: [conv(4, 256, 3)] },
      { id: 'conv5', layers: [conv(5, 256, 3), pool] },
    ],
    classifier: [
      { kind: 'flatten' },
      { kind: 'dropout', rate: 0.5 },
      { kind: 'dense', name: 'fc1', units: ch(512, w), relu: true },
      { kind: 'dense', name: 'fc2', units: classes, relu: false },
    ],
  };
}

function vgg13(w: number, classes: number): Omit<BackboneIR, 'config'> {
  // VGG-13 with batch norm: [64,64,M,128,128,M,256,256,M,512,512,M,512,512,M], dense to classes.
  const plan: (number | 'M')[] = [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'];
  const blocks: BackboneBlock[] = [];
  let i = 0;
  for (const p of plan) {
    if (p === 'M') blocks[blocks.length - 1].layers.push({ kind: 'maxpool', size: 2, stride: 2 });
    else {
      i++;
      blocks.push({ id: `conv${i}`, layers: [{ kind: 'conv', name: `conv${i}`, filters: ch(p, w), kernel: 3, stride: 1, bn: true, relu: true }] });
    }
  }
  return { blocks, classifier: [{ kind: 'gap' }, { kind: 'dense', name: 'fc', units: classes, relu: false }] };
}

function resnet18(w: number, classes: number): Omit<BackboneIR, 'config'> {
  // CIFAR ResNet-18: 3×3 stem, no max-pool, four stages of two basic blocks.
  const stem: LayerSpec = { kind: 'conv', name: 'stem', filters: ch(64, w), kernel: 3, stride: 1, bn: true, relu: true };
  const stages = [64, 128, 256, 512];
  const blocks: BackboneBlock[] = [];
  stages.forEach((f, s) => {
    for (let j = 0; j < 2; j++) {
      const n = s * 2 + j + 1;
      blocks.push({ id: `block${n}`, layers: [{ kind: 'residual', name: `block${n}`, filters: ch(f, w), stride: s > 0 && j === 0 ? 2 : 1 }] });
    }
  });
  blocks[0].layers.unshift(stem);
  return { blocks, classifier: [{ kind: 'gap' }, { kind: 'dense', name: 'fc', units: classes, relu: false }] };
}

const FACTORIES: Record<BackboneName, (w: number, classes: number) => Omit<BackboneIR, 'config'>> = { alexnet, vgg13, resnet18 };

/** Validates a backbone config, naming the field and the allowed values on error. */
export function validateBackboneConfig(c: BackboneConfig, path = 'backbone'): BackboneConfig {
  if (!BACKBONE_NAMES.includes(c.name)) {
    throw new ValidationError(`${path}.name: unknown backbone "${c.name}"; allowed: ${BACKBONE_NAMES.join(', ')}`, `${path}.name`);
  }
  if (typeof c.width !== 'number' || !(c.width > 0) || c.width > 4) {
    throw new ValidationError(`${path}.width: must be a number > 0 and ≤ 4 (e.g. 1, 0.5, 0.125), got ${c.width}`, `${path}.width`);
  }
  const [h, wd, chn] = c.input ?? [];
  if (!Array.isArray(c.input) || c.input.length !== 3 || ![h, wd, chn].every((v) => Number.isInteger(v) && v > 0)) {
    throw new ValidationError(`${path}.input: must be [height, width, channels] of positive integers, e.g. [32, 32, 3]`, `${path}.input`);
  }
  if (h < 8 || wd < 8 || h > 512 || wd > 512 || (chn !== 1 && chn !== 3)) {
    throw new ValidationError(
      `${path}.input: ${BACKBONE_LABELS[c.name]} takes height and width from 8 to 512 and 1 or 3 channels (e.g. [32, 32, 3] or [28, 28, 1]), got [${c.input.join(', ')}]`,
      `${path}.input`,
    );
  }
  if (!Number.isInteger(c.classes) || c.classes < 2 || c.classes > 10000) {
    throw new ValidationError(`${path}.classes: must be an integer from 2 to 10000, got ${c.classes}`, `${path}.classes`);
  }
  return c;
}

export function buildBackboneIR(config: BackboneConfig): BackboneIR {
  validateBackboneConfig(config);
  return { config, ...FACTORIES[config.name](config.width, config.classes) };
}

/** Output shape and MACs of one layer applied to `input` (shape of one sample, HWC or [1,1,n]). */
export function layerCost(layer: LayerSpec, input: Shape3): { shape: Shape3; macs: number; params: number } {
  const [h, w, c] = input;
  switch (layer.kind) {
    case 'conv': {
      const oh = Math.ceil(h / layer.stride), ow = Math.ceil(w / layer.stride);
      const k2c = layer.kernel * layer.kernel * c;
      return {
        shape: [oh, ow, layer.filters],
        macs: oh * ow * k2c * layer.filters,
        params: k2c * layer.filters + (layer.bn ? 4 * layer.filters : layer.filters),
      };
    }
    case 'maxpool':
      return { shape: [Math.ceil(h / layer.stride), Math.ceil(w / layer.stride), c], macs: 0, params: 0 };
    case 'residual': {
      const s = layer.stride, f = layer.filters;
      const oh = Math.ceil(h / s), ow = Math.ceil(w / s);
      let macs = oh * ow * 9 * c * f + oh * ow * 9 * f * f;
      let params = 9 * c * f + 9 * f * f + 8 * f;
      if (s !== 1 || c !== f) { macs += oh * ow * c * f; params += c * f + 4 * f; }
      return { shape: [oh, ow, f], macs, params };
    }
    case 'gap':
      return { shape: [1, 1, c], macs: 0, params: 0 };
    case 'avgpool': {
      const k = avgPoolWindow(h, w, layer.grid);
      return { shape: [Math.ceil(h / k), Math.ceil(w / k), c], macs: 0, params: 0 };
    }
    case 'flatten':
      return { shape: [1, 1, h * w * c], macs: 0, params: 0 };
    case 'dense': {
      const n = h * w * c;
      return { shape: [1, 1, layer.units], macs: n * layer.units, params: n * layer.units + layer.units };
    }
    case 'dropout':
      return { shape: input, macs: 0, params: 0 };
  }
}

/** TF's 'same' padding of one axis: [before, after] for a window k with stride s over inSize cells. */
export function samePadding(inSize: number, k: number, s: number): [number, number] {
  const total = Math.max((Math.ceil(inSize / s) - 1) * s + k - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Window (= stride) of an `avgpool` layer that brings H×W down to at most grid×grid cells. */
export function avgPoolWindow(h: number, w: number, grid: number): number {
  return Math.max(1, Math.ceil(Math.max(h, w) / grid));
}

/** Shape and cost of a run of layers. */
export function layersCost(layers: LayerSpec[], input: Shape3): { shape: Shape3; macs: number; params: number } {
  let shape = input, macs = 0, params = 0;
  for (const l of layers) {
    const r = layerCost(l, shape);
    shape = r.shape; macs += r.macs; params += r.params;
  }
  return { shape, macs, params };
}

/** The catalogue entry the Branches tree and `early-exit macs` show. */
export function describeBackbone(config: BackboneConfig): BackboneDescription {
  const ir = buildBackboneIR(config);
  let shape = config.input, macs = 0, parameters = 0;
  const points: ExitPoint[] = ir.blocks.map((b, i) => {
    const r = layersCost(b.layers, shape);
    shape = r.shape; macs += r.macs; parameters += r.params;
    return { id: b.id, index: i + 1, shape, macs };
  });
  const head = layersCost(ir.classifier, shape);
  return {
    name: config.name,
    label: BACKBONE_LABELS[config.name],
    config,
    total: macs + head.macs,
    points,
    parameters: parameters + head.params,
  };
}

/** The ids of the candidate exit points, in order. */
export function pointIds(config: BackboneConfig): string[] {
  return buildBackboneIR(config).blocks.map((b) => b.id);
}

/** "1.23 M", "456 k": MACs in a compact human form. */
export function formatMacs(macs: number): string {
  if (macs >= 1e9) return `${(macs / 1e9).toFixed(2)} G`;
  if (macs >= 1e6) return `${(macs / 1e6).toFixed(2)} M`;
  if (macs >= 1e3) return `${(macs / 1e3).toFixed(1)} k`;
  return `${macs}`;
}
