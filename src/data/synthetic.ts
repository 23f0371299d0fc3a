/**
 * The offline built-in dataset: procedurally generated 32×32×3 images in 10 classes.
 * Each class is one shape family drawn in one dominant hue (hues 36° apart). Every sample gets a
 * difficulty d ∈ [0, 1] that degrades it: less contrast against the background, hue and saturation
 * drift, a smaller object, pixel noise, distractor shapes, and (for d > 0.6) an occluding patch.
 * Easy samples are obvious from colour alone; hard ones need shape and context. Deterministic for
 * a given seed. This is synthetic data, not a benchmark.
 */
import { mulberry32 } from '../spec/rng';
import type { Dataset, Split } from './types';

export const SYNTHETIC_CLASSES = [
  'red-circle', 'orange-square', 'yellow-triangle', 'lime-plus', 'green-ring',
  'cyan-diamond', 'azure-hbars', 'blue-vbars', 'violet-checker', 'magenta-x',
];

const S = 32;

function inside(shape: number, dx: number, dy: number, r: number): boolean {
  const ax = Math.abs(dx), ay = Math.abs(dy);
  switch (shape) {
    case 0: return dx * dx + dy * dy <= r * r; // circle
    case 1: return ax <= r * 0.85 && ay <= r * 0.85; // square
    case 2: return dy <= r * 0.8 && dy >= -r && ax <= (dy + r) * 0.6; // triangle (apex up)
    case 3: return (ax <= r * 0.3 && ay <= r) || (ay <= r * 0.3 && ax <= r); // plus
    case 4: { const d2 = dx * dx + dy * dy; return d2 <= r * r && d2 >= r * r * 0.36; } // ring
    case 5: return ax + ay <= r; // diamond
    case 6: return ax <= r && ay <= r && Math.floor((dy + r) / (r / 2.5)) % 2 === 0; // horizontal bars
    case 7: return ax <= r && ay <= r && Math.floor((dx + r) / (r / 2.5)) % 2 === 0; // vertical bars
    case 8: return ax <= r && ay <= r && (Math.floor((dx + r) / (r / 2)) + Math.floor((dy + r) / (r / 2))) % 2 === 0; // checker
    default: return Math.abs(ax - ay) <= r * 0.3 && ax <= r && ay <= r; // X
  }
}

function hsv(h: number, s: number, v: number): [number, number, number] {
  h = ((h % 360) + 360) % 360 / 60;
  const i = Math.floor(h), f = h - i;
  const p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  const rgb = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6];
  return [rgb[0] * 255, rgb[1] * 255, rgb[2] * 255];
}

/** Generates `count` images (labels cycle through the 10 classes) with the given seed. */
export function generateSynthetic(count: number, seed: number): Split {
  const rng = mulberry32(seed);
  const images = new Uint8Array(count * S * S * 3);
  const out = new Uint8ClampedArray(images.buffer); // clamps and rounds on store
  const labels = new Uint8Array(count);
  const difficulty = new Float32Array(count);
  const buf = new Float32Array(S * S * 3);
  // A table of standard-normal draws (Box–Muller), indexed at random: one PRNG call per value.
  const gauss = new Float32Array(4096);
  for (let i = 0; i < 4096; i += 2) {
    const u = 1 - rng(), v = rng();
    const m = Math.sqrt(-2 * Math.log(u));
    gauss[i] = m * Math.cos(2 * Math.PI * v);
    gauss[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  for (let n = 0; n < count; n++) {
    const label = n % 10;
    labels[n] = label;
    const d = rng();
    difficulty[n] = d;
    // background: a low-saturation gradient
    const bg0 = hsv(rng() * 360, rng() * 0.3, 0.25 + rng() * 0.5);
    const bg1 = hsv(rng() * 360, rng() * 0.3, 0.25 + rng() * 0.5);
    const gdir = rng() < 0.5;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const t = (gdir ? x : y) / (S - 1);
        const o = (y * S + x) * 3;
        buf[o] = bg0[0] + (bg1[0] - bg0[0]) * t;
        buf[o + 1] = bg0[1] + (bg1[1] - bg0[1]) * t;
        buf[o + 2] = bg0[2] + (bg1[2] - bg0[2]) * t;
      }
    }
    // distractors (drawn first, the main object goes on top)
    const nd = Math.floor(d * 3.99);
    for (let k = 0; k < nd; k++) {
      const shape = Math.floor(rng() * 10);
      const col = hsv(rng() * 360, 0.5 + rng() * 0.5, 0.5 + rng() * 0.5);
      const r = 3 + rng() * 3;
      const cx = 4 + rng() * 24, cy = 4 + rng() * 24;
      drawShape(buf, shape, cx, cy, r, col, 0.8);
    }
    // main object
    const r = (8 + rng() * 4) * (1 - 0.35 * d);
    const cx = 10 + rng() * 12, cy = 10 + rng() * 12;
    const col = hsv(label * 36 + (rng() * 2 - 1) * (6 + 30 * d), 0.95 - 0.55 * d, 0.85 + rng() * 0.15);
    drawShape(buf, label, cx, cy, r, col, 1 - 0.6 * d);
    // occlusion
    if (d > 0.6) {
      const w = 5 + rng() * 12 * (d - 0.6) / 0.4 + 3;
      const h = 5 + rng() * 12 * (d - 0.6) / 0.4 + 3;
      const ox = cx - w / 2 + (rng() * 2 - 1) * r, oy = cy - h / 2 + (rng() * 2 - 1) * r;
      const oc = hsv(rng() * 360, rng() * 0.3, 0.2 + rng() * 0.6);
      for (let y = Math.max(0, Math.floor(oy)); y < Math.min(S, oy + h); y++) {
        for (let x = Math.max(0, Math.floor(ox)); x < Math.min(S, ox + w); x++) {
          const o = (y * S + x) * 3;
          buf[o] = oc[0]; buf[o + 1] = oc[1]; buf[o + 2] = oc[2];
        }
      }
    }
    // noise
    const sigma = 4 + 45 * d;
    const base = n * S * S * 3;
    // xorshift32 seeded from the main stream picks the noise-table entries (cheaper than a call per value)
    let x = (rng() * 4294967296) >>> 0 || 1;
    for (let i = 0; i < S * S * 3; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      out[base + i] = buf[i] + gauss[(x >>> 20) & 4095] * sigma;
    }
  }
  return { images, labels, count, difficulty };
}

function drawShape(buf: Float32Array, shape: number, cx: number, cy: number, r: number, col: [number, number, number], alpha: number): void {
  const x0 = Math.max(0, Math.floor(cx - r - 1)), x1 = Math.min(S - 1, Math.ceil(cx + r + 1));
  const y0 = Math.max(0, Math.floor(cy - r - 1)), y1 = Math.min(S - 1, Math.ceil(cy + r + 1));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (!inside(shape, x + 0.5 - cx, y + 0.5 - cy, r)) continue;
      const o = (y * S + x) * 3;
      buf[o] += (col[0] - buf[o]) * alpha;
      buf[o + 1] += (col[1] - buf[o + 1]) * alpha;
      buf[o + 2] += (col[2] - buf[o + 2]) * alpha;
    }
  }
}

/** The built-in offline dataset (synthetic). */
export function syntheticDataset(train = 5000, test = 1000, seed = 0): Dataset {
  return {
    name: 'synthetic',
    format: 'synthetic (procedurally generated)',
    classes: [...SYNTHETIC_CLASSES],
    shape: [S, S, 3],
    train: generateSynthetic(train, (seed * 2 + 1) >>> 0 ^ 0x5eed),
    test: generateSynthetic(test, (seed * 2 + 2) >>> 0 ^ 0x7e57),
    synthetic: true,
  };
}
