/**
 * Image decoding (PNG via pngjs, JPEG via jpeg-js) and bilinear resizing, into HWC bytes.
 */
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ValidationError } from '../spec/errors';

export interface DecodedImage {
  width: number;
  height: number;
  /** 1 (grey) or 3 (RGB). */
  channels: 1 | 3;
  /** HWC bytes. */
  data: Uint8Array;
}

export const IMAGE_EXT = /\.(png|jpe?g)$/i;

/** Decodes a PNG or JPEG (sniffed from its bytes). Errors name `file`. */
export function decodeImage(bytes: Uint8Array, file: string): DecodedImage {
  const isPng = bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8;
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      const { width, height } = png;
      const rgba = png.data;
      const grey = (png as unknown as { colorType?: number }).colorType === 0 || (png as unknown as { colorType?: number }).colorType === 4;
      const n = width * height;
      if (grey) {
        const data = new Uint8Array(n);
        for (let i = 0; i < n; i++) data[i] = rgba[i * 4];
        return { width, height, channels: 1, data };
      }
      const data = new Uint8Array(n * 3);
      for (let i = 0; i < n; i++) {
        data[i * 3] = rgba[i * 4];
        data[i * 3 + 1] = rgba[i * 4 + 1];
        data[i * 3 + 2] = rgba[i * 4 + 2];
      }
      return { width, height, channels: 3, data };
    }
    if (isJpeg) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxMemoryUsageInMB: 256 });
      if (!img.width || !img.height) throw new Error('no image data');
      return { width: img.width, height: img.height, channels: 3, data: img.data };
    }
  } catch (err) {
    throw new ValidationError(`${file}: cannot decode image (${(err as Error).message})`, file);
  }
  throw new ValidationError(`${file}: cannot decode image (not a PNG or JPEG)`, file);
}

/** Converts to `channels` (grey → replicated RGB, RGB → luma). */
export function convertChannels(img: DecodedImage, channels: 1 | 3): DecodedImage {
  if (img.channels === channels) return img;
  const n = img.width * img.height;
  if (channels === 3) {
    const data = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = img.data[i];
    return { ...img, channels: 3, data };
  }
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    data[i] = Math.round(0.299 * img.data[i * 3] + 0.587 * img.data[i * 3 + 1] + 0.114 * img.data[i * 3 + 2]);
  }
  return { ...img, channels: 1, data };
}

/** Bilinear resize of HWC bytes (pixel-centre aligned, like align_corners=false). */
export function resizeBilinear(src: Uint8Array, h: number, w: number, c: number, oh: number, ow: number): Uint8Array {
  if (h === oh && w === ow) return src;
  const out = new Uint8Array(oh * ow * c);
  const sy = h / oh;
  const sx = w / ow;
  for (let y = 0; y < oh; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    const y0 = Math.min(Math.floor(fy), h - 1);
    const y1 = Math.min(y0 + 1, h - 1);
    const dy = fy - y0;
    for (let x = 0; x < ow; x++) {
      let fx = (x + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      const x0 = Math.min(Math.floor(fx), w - 1);
      const x1 = Math.min(x0 + 1, w - 1);
      const dx = fx - x0;
      for (let k = 0; k < c; k++) {
        const a = src[(y0 * w + x0) * c + k];
        const b = src[(y0 * w + x1) * c + k];
        const d = src[(y1 * w + x0) * c + k];
        const e = src[(y1 * w + x1) * c + k];
        const top = a + (b - a) * dx;
        const bot = d + (e - d) * dx;
        out[(y * ow + x) * c + k] = Math.round(top + (bot - top) * dy);
      }
    }
  }
  return out;
}

/**
 * Decodes `bytes` and fits it to `shape` [h, w, c]: converts channels; a size mismatch is an error
 * naming the file unless `resize` is true.
 */
export function decodeInto(bytes: Uint8Array, file: string, shape: [number, number, number], resize: boolean): Uint8Array {
  let img = decodeImage(bytes, file);
  img = convertChannels(img, shape[2] as 1 | 3);
  if (img.height !== shape[0] || img.width !== shape[1]) {
    if (!resize) {
      throw new ValidationError(
        `${file}: image is ${img.width}×${img.height}, expected ${shape[1]}×${shape[0]} like the others (set dataset.resize to resize)`,
        file,
      );
    }
    return resizeBilinear(img.data, img.height, img.width, shape[2], shape[0], shape[1]);
  }
  return img.data;
}
