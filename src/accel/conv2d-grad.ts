/**
 * A Conv2D gradient written only with forward convolutions, for the wasm and cpu backends.
 * wasm has no Conv2DBackpropFilter kernel (training fails without this) and cpu's is a naive
 * loop; both run forward convolutions fast (XNNPACK on wasm). See README "Backends".
 *
 * Supports NHWC, dilation 1, 'same'/'valid'/explicit padding, any stride — what our models use.
 */
import * as tf from '@tensorflow/tfjs-core';
import { samePadding } from '../spec/backbones';
import { useOurGradient, useOurKernel } from './tfjs-internals';
import { simdKernelContext, simdKernelReady } from './wasm-simd';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

export interface Conv2DAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: string;
}

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/** Explicit [top, bottom] padding of one spatial axis, as the forward conv applies it. */
function axisPadding(pad: Pad, axis: 0 | 1, inSize: number, k: number, s: number): [number, number] {
  if (pad === 'valid') return [0, 0];
  if (pad === 'same') return samePadding(inSize, k, s);
  if (typeof pad === 'number') return [pad, pad];
  return pad[axis + 1];
}

/**
 * dL/dx and dL/dfilter of y = conv2d(x, filter) given dy, computed with forward convolutions.
 * x: [B, H, W, Cin], filter: [kh, kw, Cin, Cout], dy: [B, oH, oW, Cout].
 */
export function conv2dGradients(dy: tf.Tensor4D, x: tf.Tensor4D, filter: tf.Tensor4D, attrs: Conv2DAttrs): { dx: tf.Tensor4D; dFilter: tf.Tensor4D } {
  return { dx: conv2dInputGradient(dy, x, filter, attrs), dFilter: conv2dFilterGradient(dy, x, filter, attrs) };
}

function geometry(dy: tf.Tensor4D, x: tf.Tensor4D, filter: tf.Tensor4D, attrs: Conv2DAttrs) {
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') throw new Error('conv2d gradient replacement supports NHWC only');
  const [dh, dw] = pair(attrs.dilations ?? 1);
  if (dh !== 1 || dw !== 1) throw new Error('conv2d gradient replacement supports dilation 1 only');
  const [sh, sw] = pair(attrs.strides);
  const [, H, W, cin] = x.shape;
  const [kh, kw, , cout] = filter.shape;
  const [, oH, oW] = dy.shape;
  const [pt, pb] = axisPadding(attrs.pad, 0, H, kh, sh);
  const [pl, pr] = axisPadding(attrs.pad, 1, W, kw, sw);
  return { sh, sw, H, W, cin, kh, kw, cout, oH, oW, pt, pb, pl, pr };
}

export const CONV_FILTER_GRAD = 'EarlyExitConv2DFilterGrad';

const filterGradKernel: tf.KernelConfig = {
  kernelName: CONV_FILTER_GRAD,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = attrs as unknown as { kh: number; kw: number; sh: number; sw: number; pt: number; pl: number };
    const { b, simd, off } = simdKernelContext(backend, CONV_FILTER_GRAD);
    const [B, H, W, cin] = x.shape, [, oH, oW, cout] = dy.shape;
    const size = a.kh * a.kw * cin * cout;
    const out = b.makeOutput([a.kh, a.kw, cin, cout], 'float32');
    // images split between threads, each summing into its own dF; the parts are added at the end
    const parts = size * B * oH * oW >= 1 << 20 ? Math.min(simd.threads, B) : 1;
    const dF = Array.from({ length: parts }, (_, i) => (i === 0 ? off(out) : simd.partArea(i, 4 * size)));
    simd.run('convFilterGrad', B, parts, (lo, hi, i) => [off(x), off(dy), dF[i], lo, hi, H, W, cin, oH, oW, cout, a.kh, a.kw, a.sh, a.sw, a.pt, a.pl]);
    for (let i = 1; i < parts; i++) simd.k.addInto(dF[0], dF[i], size);
    return out;
  },
};

/** dL/dfilter, [kh, kw, Cin, Cout]. */
export function conv2dFilterGradient(dy: tf.Tensor4D, x: tf.Tensor4D, filter: tf.Tensor4D, attrs: Conv2DAttrs): tf.Tensor4D {
  const { sh, sw, cin, kh, kw, cout, pt, pb, pl, pr } = geometry(dy, x, filter, attrs);
  if (cout % 4 === 0 && simdKernelReady(CONV_FILTER_GRAD)) { // simd.wat `convFilterGrad`: Cout a multiple of 4
    // x and dy read in place: no pad, transpose or slice (≈ 40 % of a ResNet-18 step went into those and the conv below)
    return tf.engine().runKernel(CONV_FILTER_GRAD, { x, dy }, { kh, kw, sh, sw, pt, pl }) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    // dFilter[i,j,c,o] = Σ_{b,y,x} xp[b, y·s+i, x·s+j, c] · dy[b,y,x,o]: a forward conv of
    // xp (channels as batch) with dy (batch as channels) and the stride as dilation.
    // The padding is the conv's own (XNNPACK pads on the fly): a PadV2 copy of x cost as much as
    // the transpose.
    const xT = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D; // [Cin, H, W, B]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [oH, oW, B, Cout]
    let dF = tf.conv2d(xT, dyT, 1, [[0, 0], [pt, pb], [pl, pr], [0, 0]], 'NHWC', [sh, sw]); // [Cin, ≥kh, ≥kw, Cout]
    dF = tf.slice(dF, [0, 0, 0, 0], [cin, kh, kw, cout]);
    return tf.transpose(dF, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * Taps of the filter for an input-gradient convolution, built on the host: rows r, r + s, … (M of
 * them) and likewise columns, in reverse order, with in/out channels swapped: [M_rows, M_cols,
 * Cout, Cin]. All taps with s = 1 is the filter rotated by 180°. Filters are small (≤ 3·3·512·512
 * floats) and wasm's Reverse and Transpose kernels cost more than the copy (Reverse alone was ~4 %
 * of a VGG-13 step).
 */
function reversedTaps(src: Float32Array, [, kw, ci, co]: number[], rows: { r: number; M: number }, cols: { r: number; M: number }, s: number): tf.Tensor4D {
  const dst = new Float32Array(rows.M * cols.M * co * ci);
  for (let k1 = 0; k1 < rows.M; k1++) {
    for (let k2 = 0; k2 < cols.M; k2++) {
      const s0 = ((rows.r + s * (rows.M - 1 - k1)) * kw + (cols.r + s * (cols.M - 1 - k2))) * ci * co;
      const d0 = (k1 * cols.M + k2) * co * ci;
      for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) dst[d0 + o * ci + c] = src[s0 + c * co + o];
    }
  }
  return tf.tensor4d(dst, [rows.M, cols.M, co, ci]);
}

export const CONV_INTERLEAVE = 'EarlyExitInterleavePhases';

const interleaveKernel: tf.KernelConfig = {
  kernelName: CONV_INTERLEAVE,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    // inputs p0, p1, …: phase (py, px) = (⌊phases[i] / s⌋, phases[i] mod s) of dx, [B, H/s, W/s, C]
    const a = attrs as unknown as { H: number; W: number; s: number; phases: number[] };
    const { b, simd, off } = simdKernelContext(backend, CONV_INTERLEAVE);
    const parts = a.phases.map((_, i) => (inputs as Record<string, tf.TensorInfo>)[`p${i}`]);
    const [B, Hp, Wp, C] = parts[0].shape;
    const out = b.makeOutput([B, a.H, a.W, C], 'float32');
    if (a.phases.length < a.s * a.s) simd.f32(off(out), B * a.H * a.W * C).fill(0); // phases without taps are zero
    const split = simd.partsFor(B * a.H * a.W * C);
    a.phases.forEach((ph, i) => {
      simd.run('interleave', B, split, (lo, hi) => [off(parts[i]), off(out), lo, hi, Hp, Wp, C, a.H, a.W, a.s, Math.floor(ph / a.s), ph % a.s]);
    });
    return out;
  },
};

/**
 * One axis of phase p (rows or columns y = s·u + p) of a stride-s input gradient: the taps
 * i = r, r + s, … < k reach it, from dy rows u + q − m (m = 0 … M − 1). As a stride-1 correlation
 * of dy with those taps reversed, it needs `before` / `after` rows of padding.
 */
function phaseAxis(p: number, pad: number, k: number, s: number, outSize: number, phaseSize: number) {
  const r = (p + pad) % s, q = Math.floor((p + pad) / s);
  const M = r < k ? Math.ceil((k - r) / s) : 0;
  return { r, M, before: M - 1 - q, after: phaseSize + q - outSize };
}

/**
 * dL/dx of a strided convolution as s² stride-1 convolutions of dy itself, one per output phase,
 * each with the filter taps that reach it, interleaved by our kernel: the useful MACs only, where
 * convolving a zero-interleaved dy spent s² times as many (≈ 8 % of a ResNet-18 step). Null where
 * it does not apply (unequal strides, sizes not a multiple of the stride, padding beyond the taps,
 * no SIMD kernels): the caller then takes that path.
 */
function polyphaseInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ReturnType<typeof geometry>): tf.Tensor4D | null {
  const { sh: s, H, W, kh, kw, oH, oW, pt, pl } = g;
  if (g.sw !== s || H % s !== 0 || W % s !== 0 || !simdKernelReady(CONV_INTERLEAVE)) return null;
  const phases: { ph: number; a: ReturnType<typeof phaseAxis>; b: ReturnType<typeof phaseAxis> }[] = [];
  for (let py = 0; py < s; py++) {
    for (let px = 0; px < s; px++) {
      const a = phaseAxis(py, pt, kh, s, oH, H / s), b = phaseAxis(px, pl, kw, s, oW, W / s);
      if (a.M === 0 || b.M === 0) continue; // no tap reaches this phase: zeros
      if (Math.min(a.before, a.after, b.before, b.after) < 0) return null;
      phases.push({ ph: py * s + px, a, b });
    }
  }
  if (phases.length === 0) return null;
  const src = filter.dataSync() as Float32Array;
  return tf.tidy(() => {
    const inputs: Record<string, tf.Tensor> = {};
    phases.forEach(({ a, b }, n) => {
      inputs[`p${n}`] = tf.conv2d(dy, reversedTaps(src, filter.shape, a, b, s), 1, [[0, 0], [a.before, a.after], [b.before, b.after], [0, 0]]);
    });
    return tf.engine().runKernel(CONV_INTERLEAVE, inputs, { H, W, s, phases: phases.map((p) => p.ph) } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  });
}

/** dL/dx, [B, H, W, Cin]. */
export function conv2dInputGradient(dy: tf.Tensor4D, x: tf.Tensor4D, filter: tf.Tensor4D, attrs: Conv2DAttrs): tf.Tensor4D {
  const g = geometry(dy, x, filter, attrs);
  const { sh, sw, H, W, kh, kw, cout, oH, oW, pt, pl } = g;
  if (sh > 1 || sw > 1) {
    const dx = polyphaseInputGradient(dy, filter, g);
    if (dx) return dx;
  }
  return tf.tidy(() => {

    // dx: correlate the stride-dilated dy with the 180°-rotated, in/out-swapped filter.
    // dyD = dy with (s − 1) zeros between its rows/columns, (oH − 1)·s + 1 rows; it then gets
    // `top`/`bottom` rows of zero padding. Interleaving the zeros leaves (s − 1) trailing zero
    // rows, which count towards `bottom` (no slice, which is slow on wasm) when bottom ≥ s − 1.
    const dH = (oH - 1) * sh + 1, dW = (oW - 1) * sw + 1;
    const rot = reversedTaps(filter.dataSync() as Float32Array, filter.shape, { r: 0, M: kh }, { r: 0, M: kw }, 1); // rotated 180°: [kh, kw, Cout, Cin]
    const top = kh - 1 - pt, left = kw - 1 - pl;
    const bottom = H - dH + pt, right = W - dW + pl;
    let dyD: tf.Tensor4D = dy;
    let extraH = 0, extraW = 0; // trailing zero rows / columns already in dyD
    if (sh > 1 || sw > 1) {
      const B = dy.shape[0];
      const z = tf.reshape(dy, [B, oH, 1, oW, 1, cout]);
      const zp = tf.pad(z, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
      dyD = tf.reshape(zp, [B, oH * sh, oW * sw, cout]);
      extraH = sh - 1; extraW = sw - 1;
      if (bottom < extraH || right < extraW) {
        dyD = tf.slice(dyD, [0, 0, 0, 0], [B, dH, dW, cout]);
        extraH = 0; extraW = 0;
      }
    }
    // zero padding as the conv's own (explicit) padding: no PadV2 copy of dy
    const pads = [[0, 0], [Math.max(top, 0), Math.max(bottom, 0) - extraH], [Math.max(left, 0), Math.max(right, 0) - extraW], [0, 0]] as
      [[number, number], [number, number], [number, number], [number, number]];
    let dx = tf.conv2d(dyD, rot, 1, pads);
    // Negative pads (padding larger than kernel − 1) become crops.
    const cropT = Math.max(-top, 0), cropL = Math.max(-left, 0);
    if (cropT || cropL || dx.shape[1] !== H || dx.shape[2] !== W) dx = tf.slice(dx, [0, cropT, cropL, 0], [-1, H, W, -1]);
    return dx as tf.Tensor4D;
  });
}

/** The Conv2D gradient in tfjs's terms: what it saves, and both gradients written with forward convolutions. */
export const conv2dGradConfig: tf.GradConfig = {
  kernelName: 'Conv2D',
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const a = attrs as unknown as Conv2DAttrs;
    return {
      x: () => conv2dInputGradient(dy as tf.Tensor4D, x, filter, a),
      filter: () => conv2dFilterGradient(dy as tf.Tensor4D, x, filter, a),
    };
  },
};

/**
 * Applies the Conv2D gradient (`gradient`: ours, as forward convolutions, or tfjs's own) and our
 * two wasm kernels under it (`filterKernel`: the SIMD filter gradient; `interleave`: strided input
 * gradients per phase). Without a kernel the gradient runs its tfjs-op version.
 */
export function installConv2dGradient(o: { gradient: boolean; filterKernel: boolean; interleave: boolean } = { gradient: true, filterKernel: true, interleave: true }): void {
  useOurKernel(filterGradKernel, o.filterKernel);
  useOurKernel(interleaveKernel, o.interleave);
  useOurGradient(conv2dGradConfig, o.gradient);
}
