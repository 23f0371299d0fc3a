/**
 * Pure preprocessing on byte splits: per-channel statistics, normalised float batches with
 * optional augmentation, a stratified seeded validation split and a class-balanced subset.
 */
import { ValidationError } from '../spec/errors';
import { mulberry32, shuffleInPlace } from '../spec/rng';
import type { Split } from './types';

/** Per-channel mean and standard deviation of the pixels scaled to [0, 1]. */
export function channelStats(split: Split, shape: [number, number, number]): { mean: number[]; std: number[] } {
  const c = shape[2];
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  const n = split.count * shape[0] * shape[1] * c;
  const img = split.images;
  for (let i = 0; i < n; i += c) {
    for (let k = 0; k < c; k++) {
      const v = img[i + k];
      sum[k] += v;
      sq[k] += v * v;
    }
  }
  const pixels = n / c;
  const mean: number[] = [];
  const std: number[] = [];
  for (let k = 0; k < c; k++) {
    const m = pixels ? sum[k] / pixels : 0;
    const v = pixels ? sq[k] / pixels - m * m : 0;
    mean.push(m / 255);
    std.push(Math.sqrt(Math.max(v, 0)) / 255 || 1);
  }
  return { mean, std };
}

/**
 * N·H·W·C normalised floats ((x/255 − mean)/std, HWC) for the images at `indices`.
 * `augment` (only for 32×32×3): random crop with 4-pixel zero padding + horizontal flip, drawn
 * from `rng` (default: Math.random is never used; a fixed-seed mulberry32(0)).
 * Padding is zero in the normalised space.
 */
export function toFloatBatch(
  split: Split,
  shape: [number, number, number],
  indices: ArrayLike<number>,
  opts: { mean: number[]; std: number[]; augment?: boolean; rng?: () => number },
): Float32Array {
  const [h, w, c] = shape;
  const size = h * w * c;
  const out = new Float32Array(indices.length * size);
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    scale[k] = 1 / (255 * opts.std[k]);
    shift[k] = opts.mean[k] / opts.std[k];
  }
  const aug = opts.augment === true && h === 32 && w === 32 && c === 3;
  const rng = opts.rng ?? mulberry32(0);
  const img = split.images;
  for (let b = 0; b < indices.length; b++) {
    const idx = indices[b];
    if (idx < 0 || idx >= split.count) throw new RangeError(`index ${idx} outside 0..${split.count - 1}`);
    const src = idx * size;
    const dst = b * size;
    if (!aug) {
      for (let i = 0; i < size; i += c) {
        for (let k = 0; k < c; k++) out[dst + i + k] = img[src + i + k] * scale[k] - shift[k];
      }
      continue;
    }
    const ox = Math.floor(rng() * 9) - 4;
    const oy = Math.floor(rng() * 9) - 4;
    const flip = rng() < 0.5;
    for (let y = 0; y < h; y++) {
      const sy = y + oy;
      for (let x = 0; x < w; x++) {
        const sx = (flip ? w - 1 - x : x) + ox;
        const o = dst + (y * w + x) * c;
        if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
          for (let k = 0; k < c; k++) out[o + k] = 0;
        } else {
          const s = src + (sy * w + sx) * c;
          for (let k = 0; k < c; k++) out[o + k] = img[s + k] * scale[k] - shift[k];
        }
      }
    }
  }
  return out;
}

/** A new split holding the given images (copied) in the given order. */
export function subsetSplit(split: Split, indices: ArrayLike<number>): Split {
  const size = split.count ? split.images.length / split.count : 0;
  const images = new Uint8Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  const difficulty = split.difficulty ? new Float32Array(indices.length) : undefined;
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    images.set(split.images.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = split.labels[j];
    if (difficulty) difficulty[i] = split.difficulty![j];
  }
  return { images, labels, count: indices.length, ...(difficulty ? { difficulty } : {}) };
}

function byClass(split: Split): number[][] {
  const groups: number[][] = [];
  for (let i = 0; i < split.count; i++) {
    const l = split.labels[i];
    while (groups.length <= l) groups.push([]);
    groups[l].push(i);
  }
  return groups;
}

/** Stratified, seeded hold-out: about `fraction` of each class goes to validation (original order kept). */
export function splitValidation(split: Split, fraction: number, seed: number): { train: Split; validation: Split } {
  if (!(fraction >= 0 && fraction < 1)) throw new ValidationError(`validationFraction: must be in [0, 1), got ${fraction}`, 'validationFraction');
  const rng = mulberry32(seed);
  const isVal = new Uint8Array(split.count);
  for (const g of byClass(split)) {
    const idx = [...g];
    shuffleInPlace(idx, rng);
    const k = Math.round(fraction * idx.length);
    for (let i = 0; i < k; i++) isVal[idx[i]] = 1;
  }
  const tr: number[] = [];
  const va: number[] = [];
  for (let i = 0; i < split.count; i++) (isVal[i] ? va : tr).push(i);
  return { train: subsetSplit(split, tr), validation: subsetSplit(split, va) };
}

/**
 * A class-balanced subset of `limit` images (seeded): each of the `classes` classes gets
 * ⌊limit/classes⌋ (the first limit mod classes get one more); a class with fewer gives all it has
 * and the shortfall is filled from the other classes. Original order kept.
 */
export function balancedLimit(split: Split, limit: number, seed: number, classes: number): Split {
  if (limit >= split.count) return split;
  const rng = mulberry32(seed);
  const groups = byClass(split);
  while (groups.length < classes) groups.push([]);
  for (const g of groups) shuffleInPlace(g, rng);
  const take = groups.map((_, c) => Math.floor(limit / classes) + (c < limit % classes ? 1 : 0));
  let short = 0;
  for (let c = 0; c < groups.length; c++) if (take[c] > groups[c].length) { short += take[c] - groups[c].length; take[c] = groups[c].length; }
  while (short > 0) {
    let moved = false;
    for (let c = 0; c < groups.length && short > 0; c++) if (take[c] < groups[c].length) { take[c]++; short--; moved = true; }
    if (!moved) break;
  }
  const chosen: number[] = [];
  groups.forEach((g, c) => chosen.push(...g.slice(0, take[c])));
  chosen.sort((a, b) => a - b);
  return subsetSplit(split, chosen);
}

/** Per-class image counts. */
export function classCounts(split: Split, classes: number): number[] {
  const out = new Array(classes).fill(0);
  for (let i = 0; i < split.count; i++) out[split.labels[i]]++;
  return out;
}
