/**
 * The synthetic offline set and the pure preprocessing functions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  balancedLimit, channelStats, classCounts, DATASET_DEFAULTS, datasetSpecSchema, generateSynthetic, loadDataset, mulberry32,
  splitValidation, syntheticDataset, toFloatBatch, validateDatasetSpec, type Split,
} from '../../../src/data/index';

test('defaults and schema', () => {
  assert.deepEqual(validateDatasetSpec(undefined), { ...DATASET_DEFAULTS });
  const spec = validateDatasetSpec({});
  assert.equal(spec.name, 'synthetic');
  assert.equal(spec.validationFraction, 0.1);
  assert.equal(spec.augment, true);
  assert.equal(spec.syntheticTrain, 5000);
  assert.equal(spec.syntheticTest, 1000);
  assert.deepEqual(validateDatasetSpec('cifar10').name, 'cifar10');
  assert.equal(datasetSpecSchema.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.equal(datasetSpecSchema.additionalProperties, false);
  for (const [k, p] of Object.entries(datasetSpecSchema.properties)) assert.ok((p as { description?: string }).description, k);
  assert.equal(datasetSpecSchema.properties.validationFraction.default, 0.1);
  assert.equal(datasetSpecSchema.properties.split.default, 0.8);
});

test('mulberry32 is deterministic and uniform-ish', () => {
  const a = mulberry32(42), b = mulberry32(42);
  const xs = Array.from({ length: 10000 }, () => a());
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02);
  assert.notEqual(mulberry32(1)(), mulberry32(2)());
});

test('synthetic set: deterministic, balanced, varied difficulty', async () => {
  const ds = await loadDataset(validateDatasetSpec({}));
  assert.equal(ds.synthetic, true);
  assert.deepEqual(ds.shape, [32, 32, 3]);
  assert.equal(ds.classes.length, 10);
  assert.equal(ds.train.count, 5000);
  assert.equal(ds.test.count, 1000);
  assert.deepEqual(classCounts(ds.train, 10), new Array(10).fill(500));
  assert.deepEqual(classCounts(ds.test, 10), new Array(10).fill(100));
  const again = syntheticDataset(5000, 1000, 0);
  assert.deepEqual(again.train.images, ds.train.images);
  assert.notDeepEqual(syntheticDataset(50, 10, 1).train.images, again.train.images.subarray(0, 50 * 3072));
  assert.notDeepEqual(ds.test.images.subarray(0, 3072), ds.train.images.subarray(0, 3072));
  const d = ds.train.difficulty!;
  assert.ok(d.some((x) => x < 0.1) && d.some((x) => x > 0.9));
  // Easy samples are near-separable from a crude colour/layout feature; hard ones much less so.
  const feat = (s: Split, i: number) => {
    const f = new Float64Array(48);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) {
      f[((y >> 3) * 4 + (x >> 3)) * 3 + c] += s.images[i * 3072 + (y * 32 + x) * 3 + c] / 64;
    }
    return f;
  };
  const cent = Array.from({ length: 10 }, () => new Float64Array(48));
  for (let i = 0; i < ds.train.count; i++) { const f = feat(ds.train, i); for (let k = 0; k < 48; k++) cent[ds.train.labels[i]][k] += f[k] / 500; }
  let ok = 0, easyOk = 0, easyN = 0, hardOk = 0, hardN = 0;
  for (let i = 0; i < ds.test.count; i++) {
    const f = feat(ds.test, i);
    let best = 0, bd = Infinity;
    cent.forEach((c, l) => { let s = 0; for (let k = 0; k < 48; k++) s += (f[k] - c[k]) ** 2; if (s < bd) { bd = s; best = l; } });
    const hit = best === ds.test.labels[i] ? 1 : 0;
    ok += hit;
    const di = ds.test.difficulty![i];
    if (di < 0.3) { easyN++; easyOk += hit; } else if (di > 0.7) { hardN++; hardOk += hit; }
  }
  assert.ok(ok / ds.test.count > 0.3, `nearest-centroid accuracy ${ok / ds.test.count}`);
  assert.ok(easyOk / easyN > hardOk / hardN + 0.3, `easy ${easyOk / easyN} vs hard ${hardOk / hardN}`);
});

function tiny(): { split: Split; shape: [number, number, number] } {
  // 4 images of 2×2×1 with labels 0,1,0,1
  const images = Uint8Array.from([0, 255, 0, 255, 10, 20, 30, 40, 255, 255, 255, 255, 0, 0, 0, 0]);
  return { split: { images, labels: Uint8Array.from([0, 1, 0, 1]), count: 4 }, shape: [2, 2, 1] };
}

test('channelStats and toFloatBatch without augmentation', () => {
  const { split, shape } = tiny();
  const { mean, std } = channelStats(split, shape);
  const px = [...split.images].map((v) => v / 255);
  const m = px.reduce((a, b) => a + b, 0) / px.length;
  const s = Math.sqrt(px.reduce((a, b) => a + (b - m) ** 2, 0) / px.length);
  assert.ok(Math.abs(mean[0] - m) < 1e-9 && Math.abs(std[0] - s) < 1e-9);
  const out = toFloatBatch(split, shape, [1, 3], { mean, std });
  assert.equal(out.length, 8);
  assert.ok(Math.abs(out[0] - (10 / 255 - m) / s) < 1e-5);
  assert.ok(Math.abs(out[4] - (0 - m) / s) < 1e-5);
  // colour stats per channel
  const ds = generateSynthetic(200, 3);
  const st = channelStats(ds, [32, 32, 3]);
  assert.equal(st.mean.length, 3);
  const f = toFloatBatch(ds, [32, 32, 3], Array.from({ length: 200 }, (_, i) => i), st);
  for (let c = 0; c < 3; c++) {
    let sum = 0, sq = 0;
    for (let i = c; i < f.length; i += 3) { sum += f[i]; sq += f[i] * f[i]; }
    const n = f.length / 3;
    assert.ok(Math.abs(sum / n) < 1e-3 && Math.abs(sq / n - 1) < 1e-3, `channel ${c}`);
  }
});

test('augmentation: seeded crop with zero padding and horizontal flip, 32×32×3 only', () => {
  const ds = generateSynthetic(4, 9);
  const shape: [number, number, number] = [32, 32, 3];
  const norm = { mean: [0, 0, 0], std: [1, 1, 1] };
  const plain = toFloatBatch(ds, shape, [2], norm);
  // rng 0.5 → offsets (floor(4.5) − 4 = 0) and no flip: identical
  assert.deepEqual(toFloatBatch(ds, shape, [2], { ...norm, augment: true, rng: () => 0.5 }), plain);
  // offsets 0, flip
  const seq = [0.5, 0.5, 0.1];
  let k = 0;
  const flipped = toFloatBatch(ds, shape, [2], { ...norm, augment: true, rng: () => seq[k++] });
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) {
    assert.equal(flipped[(y * 32 + x) * 3 + c], plain[(y * 32 + 31 - x) * 3 + c]);
  }
  // rng 0, 0 → shift by −4 in both axes (top-left 4 rows/cols are zero padding); 0.9 → no flip
  const seq2 = [0, 0, 0.9];
  let k2 = 0;
  const shifted = toFloatBatch(ds, shape, [2], { ...norm, augment: true, rng: () => seq2[k2++] });
  assert.equal(shifted[0], 0);
  assert.equal(shifted[(4 * 32 + 4) * 3], plain[0]);
  assert.equal(shifted[(31 * 32 + 31) * 3 + 2], plain[(27 * 32 + 27) * 3 + 2]);
  // same seed, same batch
  const a = toFloatBatch(ds, shape, [0, 1, 2, 3], { ...norm, augment: true, rng: mulberry32(5) });
  const b = toFloatBatch(ds, shape, [0, 1, 2, 3], { ...norm, augment: true, rng: mulberry32(5) });
  assert.deepEqual(a, b);
  // not for other shapes
  const { split, shape: s2 } = tiny();
  assert.deepEqual(toFloatBatch(split, s2, [0], { mean: [0], std: [1], augment: true, rng: () => 0 }), toFloatBatch(split, s2, [0], { mean: [0], std: [1] }));
});

test('splitValidation is stratified, seeded and disjoint', () => {
  const ds = generateSynthetic(1000, 4);
  const { train, validation } = splitValidation(ds, 0.1, 7);
  assert.equal(train.count + validation.count, 1000);
  assert.deepEqual(classCounts(validation, 10), new Array(10).fill(10));
  const again = splitValidation(ds, 0.1, 7);
  assert.deepEqual(again.validation.images, validation.images);
  assert.notDeepEqual(splitValidation(ds, 0.1, 8).validation.images, validation.images);
  const key = (s: Split, i: number) => Buffer.from(s.images.subarray(i * 3072, (i + 1) * 3072)).toString('base64');
  const inVal = new Set(Array.from({ length: validation.count }, (_, i) => key(validation, i)));
  for (let i = 0; i < train.count; i++) assert.ok(!inVal.has(key(train, i)));
  assert.equal(splitValidation(ds, 0, 1).validation.count, 0);
});

test('balancedLimit takes an equal share per class (and fills from others when one is short)', async () => {
  const ds = generateSynthetic(1000, 5);
  const sub = balancedLimit(ds, 205, 1, 10);
  assert.equal(sub.count, 205);
  assert.deepEqual(classCounts(sub, 10), [21, 21, 21, 21, 21, 20, 20, 20, 20, 20]);
  assert.deepEqual(balancedLimit(ds, 205, 1, 10).images, sub.images);
  // class 0 has only 3 images
  const labels = Uint8Array.from({ length: 103 }, (_, i) => (i < 3 ? 0 : 1 + (i % 2)));
  const s: Split = { images: new Uint8Array(103), labels, count: 103 };
  const lim = balancedLimit(s, 30, 0, 3);
  assert.equal(lim.count, 30);
  assert.equal(classCounts(lim, 3)[0], 3);
  // through loadDataset
  const l = await loadDataset(validateDatasetSpec({ syntheticTrain: 300, syntheticTest: 50, limit: 100 }));
  assert.deepEqual(classCounts(l.train, 10), new Array(10).fill(10));
});
