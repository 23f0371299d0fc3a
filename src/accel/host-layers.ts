/**
 * Small inference heads (exit heads, gates, the final classifier) evaluated in plain JavaScript on a
 * tensor's values. At batch 1 an exit's pooling, gate and classifier are ~6 tfjs kernels and two
 * reads for a few thousand multiply-adds: on wasm that per-op dispatch was 0.12–0.2 ms, 25–45 % of a
 * hard-exit pass, and decided whether leaving early saved time. `MultiExitNetwork` uses this with its
 * folded (inference) weights only; the layers are the same `LayerSpec`s the tfjs path runs.
 */
import { avgPoolWindow, layersCost, samePadding, type LayerSpec, type Shape3 } from '../spec/backbones';

/** Values in NHWC ([n, H, W, C]) or [n, F] order, as tfjs lays them out. */
export interface HostTensor { data: Float32Array | Float64Array; shape: number[] }

const HOST_KINDS = new Set<LayerSpec['kind']>(['avgpool', 'gap', 'flatten', 'dropout', 'dense']);

/**
 * Most multiply-adds per input in a head's dense layers for it to run here. JavaScript does
 * 2–3 ns per multiply-add (one dependent add chain per output), a tfjs dense layer costs 20–40 µs
 * of dispatch at batch 1 whatever its size: measured on AlexNet ×1/8's classifier (512×64 + 64×10)
 * the host took 170 µs against the kernels' 70–110 µs, while a pool head (128×11) or ResNet's
 * classifier (64×10) took 20 µs against 100 µs or more.
 */
export const HOST_MAX_DENSE_MACS = 4096;

/**
 * True when every layer can run here (no convolutions, pools other than averages, …) and its dense
 * layers are small enough (HOST_MAX_DENSE_MACS) for one input of `shape`.
 */
export function hostSupports(layers: LayerSpec[], shape: Shape3): boolean {
  return layers.every((l) => HOST_KINDS.has(l.kind)) && layersCost(layers, shape).macs <= HOST_MAX_DENSE_MACS;
}

/** tf.avgPool(x, k, k, 'same'): windows of k×k with stride k, the padded cells not counted. */
function avgPool(x: HostTensor, k: number): HostTensor {
  const [n, H, W, C] = x.shape;
  const oH = Math.ceil(H / k), oW = Math.ceil(W / k);
  const [top] = samePadding(H, k, k), [left] = samePadding(W, k, k);
  const out = new Float64Array(n * oH * oW * C);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oH; oy++) {
      const y0 = Math.max(oy * k - top, 0), y1 = Math.min(oy * k - top + k, H);
      for (let ox = 0; ox < oW; ox++) {
        const x0 = Math.max(ox * k - left, 0), x1 = Math.min(ox * k - left + k, W);
        const o = ((b * oH + oy) * oW + ox) * C;
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const i = ((b * H + y) * W + xx) * C;
            for (let c = 0; c < C; c++) out[o + c] += x.data[i + c];
          }
        }
        const inv = 1 / ((y1 - y0) * (x1 - x0));
        for (let c = 0; c < C; c++) out[o + c] *= inv;
      }
    }
  }
  return { data: out, shape: [n, oH, oW, C] };
}

/** Mean over H and W: [n, H, W, C] → [n, C]. */
function globalAvgPool(x: HostTensor): HostTensor {
  const [n, H, W, C] = x.shape;
  const out = new Float64Array(n * C);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) out[b * C + c] += x.data[(b * H * W + p) * C + c];
    for (let c = 0; c < C; c++) out[b * C + c] /= H * W;
  }
  return { data: out, shape: [n, C] };
}

/** x·W + b (W: [F, units] row-major, as the dense layer's kernel), then ReLU if asked. */
function dense(x: HostTensor, kernel: Float32Array, bias: Float32Array, units: number, relu: boolean): HostTensor {
  const [n, F] = x.shape;
  if (kernel.length !== F * units) throw new Error(`dense: kernel has ${kernel.length} values, expected ${F}×${units}`);
  const out = new Float64Array(n * units);
  for (let b = 0; b < n; b++) {
    const o = b * units;
    for (let j = 0; j < units; j++) out[o + j] = bias[j];
    for (let i = 0; i < F; i++) {
      const v = x.data[b * F + i];
      const row = i * units;
      for (let j = 0; j < units; j++) out[o + j] += v * kernel[row + j];
    }
    if (relu) for (let j = 0; j < units; j++) if (out[o + j] < 0) out[o + j] = 0;
  }
  return { data: out, shape: [n, units] };
}

/** Runs `layers` (inference: dropout is the identity); `weight(name)` gives a variable's values. */
export function runHostLayers(layers: LayerSpec[], x: HostTensor, weight: (name: string) => Float32Array): HostTensor {
  let h = x;
  for (const l of layers) {
    switch (l.kind) {
      case 'avgpool': {
        const k = avgPoolWindow(h.shape[1], h.shape[2], l.grid);
        if (k > 1) h = avgPool(h, k);
        break;
      }
      case 'gap': h = globalAvgPool(h); break;
      case 'flatten': h = { data: h.data, shape: [h.shape[0], h.shape.slice(1).reduce((a, d) => a * d, 1)] }; break;
      case 'dropout': break;
      case 'dense': h = dense(h, weight(`${l.name}/kernel`), weight(`${l.name}/bias`), l.units, l.relu); break;
      default: throw new Error(`host inference: layer kind "${l.kind}" is not supported`);
    }
  }
  return h;
}
