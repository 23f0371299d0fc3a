/**
 * MNIST-style IDX files (`.gz` or raw): idx3 images (magic 0x00000803) and idx1 labels (0x00000801).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ValidationError } from '../spec/errors';
import { MAX_DATA_FILE_BYTES, readDataFile } from './files';
import type { Dataset, Split } from './types';

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Reads a file, gunzipping it when it starts with the gzip magic. */
export function readMaybeGzip(file: string): Buffer {
  const raw = readDataFile(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      // bounded: a gzip bomb is an error, not a process that runs out of memory
      return zlib.gunzipSync(raw, { maxOutputLength: MAX_DATA_FILE_BYTES });
    } catch (err) {
      throw new ValidationError(`${file}: corrupt gzip data (${(err as Error).message})`, file);
    }
  }
  return raw;
}

/** Parses an IDX file of unsigned bytes. Returns its dimensions and data. */
export function parseIdx(buf: Uint8Array, file: string, expectDims: 1 | 3): { dims: number[]; data: Uint8Array } {
  if (buf.length < 4) throw new ValidationError(`${file}: too short for an IDX file`, file);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = dv.getUint32(0);
  const expected = 0x800 + expectDims;
  if (magic !== expected) {
    throw new ValidationError(
      `${file}: wrong IDX magic number 0x${magic.toString(16).padStart(8, '0')}, expected 0x${expected.toString(16).padStart(8, '0')} (${expectDims === 3 ? 'images' : 'labels'})`,
      file,
    );
  }
  if (buf.length < 4 + 4 * expectDims) throw new ValidationError(`${file}: ${buf.length} bytes, too short for an IDX header`, file);
  const dims: number[] = [];
  for (let i = 0; i < expectDims; i++) dims.push(dv.getUint32(4 + 4 * i));
  const off = 4 + 4 * expectDims;
  const size = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== off + size) {
    throw new ValidationError(`${file}: ${buf.length - off} data bytes, header says ${size} (${dims.join('×')})`, file);
  }
  return { dims, data: buf.subarray(off) };
}

function findIdx(dir: string, base: string): string {
  for (const f of [`${base}.gz`, base, base.replace(/-idx(\d)-/, '.idx$1-')]) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) return p;
  }
  throw new ValidationError(`${dir}: no ${base}.gz or ${base}`, dir);
}

/** Reads one images+labels pair into a Split. */
export function readIdxPair(imagesFile: string, labelsFile: string, classes: number): { split: Split; shape: [number, number, number] } {
  const img = parseIdx(readMaybeGzip(imagesFile), imagesFile, 3);
  const lab = parseIdx(readMaybeGzip(labelsFile), labelsFile, 1);
  const [n, h, w] = img.dims;
  if (lab.dims[0] !== n) {
    throw new ValidationError(`${labelsFile}: ${lab.dims[0]} labels but ${imagesFile} has ${n} images`, labelsFile);
  }
  for (let i = 0; i < n; i++) {
    if (lab.data[i] >= classes) {
      throw new ValidationError(`${labelsFile}: item ${i} has label ${lab.data[i]}, outside 0..${classes - 1}`, labelsFile);
    }
  }
  return { split: { images: new Uint8Array(img.data), labels: new Uint8Array(lab.data), count: n }, shape: [h, w, 1] };
}

/** Reads the four MNIST-layout IDX files from `dir`. */
export function readMnistDir(dir: string, fashion: boolean): Dataset {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ValidationError(`${dir}: not a folder with IDX files`, dir);
  const tr = readIdxPair(findIdx(dir, 'train-images-idx3-ubyte'), findIdx(dir, 'train-labels-idx1-ubyte'), 10);
  const te = readIdxPair(findIdx(dir, 't10k-images-idx3-ubyte'), findIdx(dir, 't10k-labels-idx1-ubyte'), 10);
  return {
    name: fashion ? 'fashion-mnist' : 'mnist',
    format: 'IDX',
    classes: fashion ? FASHION_MNIST_CLASSES : MNIST_CLASSES,
    shape: tr.shape,
    train: tr.split,
    test: te.split,
  };
}
