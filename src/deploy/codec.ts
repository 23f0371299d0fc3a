/**
 * Feature maps as they cross a link: the body of an HTTP/2 request is the map's values, float32
 * little-endian or 8-bit (per-tensor affine: q = round((x − min) / scale), x ≈ min + q·scale); the
 * shape, kind, min and scale travel as request headers. A raw input (cut at "input") is the
 * captured 8-bit image as it is.
 */
import { toFloatBatch } from '../data/preprocess';
import type { Shape3 } from '../spec/backbones';
import type { Quantization } from '../spec/tiers';

export type MapKind = 'float32' | 'int8' | 'image';

export interface EncodedMap {
  body: Uint8Array;
  headers: Record<string, string>;
}

export const HEADER = { kind: 'x-ee-kind', shape: 'x-ee-shape', min: 'x-ee-min', scale: 'x-ee-scale', sample: 'x-ee-sample' } as const;

/** A map's values [H·W·C] (one input) for the link. */
export function encodeMap(values: Float32Array, shape: Shape3, q: Quantization): EncodedMap {
  const headers: Record<string, string> = { [HEADER.kind]: q, [HEADER.shape]: shape.join(',') };
  if (q === 'float32') return { body: new Uint8Array(values.buffer, values.byteOffset, values.byteLength), headers };
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) { const v = values[i]; if (v < min) min = v; if (v > max) max = v; }
  if (!Number.isFinite(min)) { min = 0; max = 0; }
  const scale = max > min ? (max - min) / 255 : 1;
  const body = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) body[i] = Math.round((values[i] - min) / scale);
  // the exact float32 bits, so the receiver dequantises with the sender's numbers
  headers[HEADER.min] = String(Math.fround(min));
  headers[HEADER.scale] = String(Math.fround(scale));
  return { body, headers };
}

/** The raw 8-bit input image for the link. */
export function encodeImage(pixels: Uint8Array, shape: Shape3): EncodedMap {
  return { body: pixels, headers: { [HEADER.kind]: 'image', [HEADER.shape]: shape.join(',') } };
}

/** What arrived, as float values [H·W·C]; raw images are normalised with the training split's statistics. */
export function decodeMap(body: Uint8Array, headers: Record<string, string | string[] | undefined>, norm: { mean: number[]; std: number[] }): { values: Float32Array; shape: Shape3 } {
  const get = (k: string) => { const v = headers[k]; return Array.isArray(v) ? v[0] : v; };
  const kind = get(HEADER.kind) as MapKind | undefined;
  const shape = (get(HEADER.shape) ?? '').split(',').map(Number) as Shape3;
  if (shape.length !== 3 || shape.some((d) => !(Number.isInteger(d) && d > 0))) throw new Error(`bad ${HEADER.shape} header "${get(HEADER.shape)}"`);
  const size = shape[0] * shape[1] * shape[2];
  const want = kind === 'float32' ? 4 * size : size;
  if (body.byteLength !== want) throw new Error(`${kind} map of [${shape}] needs ${want} bytes, got ${body.byteLength}`);
  if (kind === 'float32') {
    // copy: the body's offset need not be 4-aligned
    const values = new Float32Array(size);
    new Uint8Array(values.buffer).set(body);
    return { values, shape };
  }
  if (kind === 'int8') {
    const min = Number(get(HEADER.min)), scale = Number(get(HEADER.scale));
    if (!Number.isFinite(min) || !Number.isFinite(scale)) throw new Error(`int8 map without a valid ${HEADER.min} / ${HEADER.scale}`);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = min + body[i] * scale;
    return { values, shape };
  }
  if (kind === 'image') {
    // the same normalisation as training and the records (preprocess.ts), to the bit
    return { values: toFloatBatch({ images: body, labels: new Uint8Array(1), count: 1 }, shape, [0], norm), shape };
  }
  throw new Error(`unknown ${HEADER.kind} "${kind}"`);
}
