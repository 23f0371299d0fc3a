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

/** The largest image decoded: 64 Mpx (256 MB as RGBA), the same bound for PNG and JPEG. */
export const MAX_IMAGE_PIXELS = 64 * 1024 * 1024;

/** What an image's header says, read without decoding its pixels. */
export interface ImageInfo {
  format: 'PNG' | 'JPEG';
  width: number;
  height: number;
  /** 1 for grey (grey PNG, grey palette, one-component JPEG), else 3. */
  channels: 1 | 3;
  /** The image has transparency (an alpha channel or a tRNS chunk), which is dropped. */
  alpha: boolean;
  /** JPEG EXIF orientation (1 = as stored); pixels are used as stored, not rotated. */
  orientation: number;
}

const fail = (file: string, what: string): never => { throw new ValidationError(`${file}: cannot decode image (${what})`, file); };
const be16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const be32 = (b: Uint8Array, o: number) => ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];

function checkSize(file: string, format: string, width: number, height: number): void {
  if (width === 0 || height === 0) fail(file, `${format} image of ${width}×${height} has no pixels`);
  if (width * height > MAX_IMAGE_PIXELS) {
    fail(file, `${format} image is ${width}×${height} (${Math.round((width * height) / 1e6)} Mpx), more than the ${MAX_IMAGE_PIXELS / 1024 / 1024} Mpx an image may have; it is refused before decoding`);
  }
}

/** PNG structure: IHDR, every chunk inside the file up to IEND. `full`: the whole file is here (else a prefix). */
function pngInfo(b: Uint8Array, file: string, full: boolean): ImageInfo {
  if (b.length < 33) fail(file, full ? `truncated PNG: ${b.length} bytes, the file ends inside its header` : 'truncated PNG: the file ends inside its header');
  if (be32(b, 8) !== 13 || String.fromCharCode(b[12], b[13], b[14], b[15]) !== 'IHDR') fail(file, 'damaged PNG: its first chunk is not IHDR');
  const width = be32(b, 16), height = be32(b, 20), depth = b[24], colour = b[25], interlace = b[28];
  const depths: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
  if (!depths[colour]?.includes(depth)) fail(file, `unsupported PNG: colour type ${colour} with bit depth ${depth} is not a valid combination`);
  if (interlace > 1) fail(file, `damaged PNG: interlace method ${interlace}`);
  checkSize(file, 'PNG', width, height);
  let alpha = colour === 4 || colour === 6;
  let grey = colour === 0 || colour === 4;
  let o = 8, idat = false, end = false;
  while (o < b.length) {
    if (o + 8 > b.length) { if (full) fail(file, `truncated PNG: ${b.length} bytes, the file ends inside a chunk header`); break; }
    const len = be32(b, o);
    const type = String.fromCharCode(b[o + 4], b[o + 5], b[o + 6], b[o + 7]);
    if (!/^[A-Za-z]{4}$/.test(type)) fail(file, `damaged PNG: a chunk at byte ${o} has no valid type`);
    if (o + 12 + len > b.length) {
      if (full) fail(file, `truncated PNG: ${b.length} bytes, the file ends inside its ${type} chunk`);
      break;
    }
    if (type === 'IDAT') idat = true;
    if (type === 'tRNS') alpha = true;
    if (type === 'PLTE' && colour === 3) {
      grey = true;
      for (let k = o + 8; k + 2 < o + 8 + len; k += 3) if (b[k] !== b[k + 1] || b[k] !== b[k + 2]) { grey = false; break; }
    }
    o += 12 + len;
    if (type === 'IEND') { end = true; break; }
  }
  if (full && !end) fail(file, `truncated PNG: ${b.length} bytes, the file ends before its IEND chunk`);
  if (full && !idat) fail(file, 'damaged PNG: it has no IDAT chunk, so no image data');
  return { format: 'PNG', width, height, channels: grey ? 1 : 3, alpha, orientation: 1 };
}

/** EXIF orientation from an APP1 segment's bytes (TIFF header after "Exif\0\0"), 1 when absent. */
function exifOrientation(b: Uint8Array, start: number, end: number): number {
  const t = start + 6;
  if (end - t < 8) return 1;
  const le = b[t] === 0x49 && b[t + 1] === 0x49;
  const u16 = (o: number) => (le ? b[o] | (b[o + 1] << 8) : be16(b, o));
  const u32 = (o: number) => (le ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 2 ** 24 : be32(b, o));
  const ifd = t + u32(t + 4);
  if (ifd + 2 > end) return 1;
  const n = u16(ifd);
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + 12 * k;
    if (e + 12 > end) return 1;
    if (u16(e) === 0x0112) { const v = u16(e + 8); return v >= 1 && v <= 8 ? v : 1; }
  }
  return 1;
}

const JPEG_UNSUPPORTED: Record<number, string> = {
  0xc3: 'lossless', 0xc5: 'hierarchical', 0xc6: 'hierarchical', 0xc7: 'hierarchical',
  0xc9: 'arithmetic-coded', 0xca: 'arithmetic-coded', 0xcb: 'arithmetic-coded', 0xcd: 'arithmetic-coded', 0xce: 'arithmetic-coded', 0xcf: 'arithmetic-coded',
};

/** JPEG structure: markers up to the frame header; with `full`, every segment and scan up to the end marker. */
function jpegInfo(b: Uint8Array, file: string, full: boolean): ImageInfo {
  let o = 2;
  let info: ImageInfo | null = null;
  let orientation = 1;
  const truncated = (where: string) => fail(file, `truncated JPEG: ${b.length} bytes, the file ends ${where}`);
  for (;;) {
    if (o >= b.length) { if (!full && info) return info; return truncated(info ? 'before its end marker' : 'before its frame header'); }
    if (b[o] !== 0xff) fail(file, `damaged JPEG: no marker at byte ${o}`);
    while (b[o] === 0xff && o < b.length) o++; // fill bytes
    if (o >= b.length) return truncated('inside a marker');
    const m = b[o++];
    if (m === 0x00) fail(file, `damaged JPEG: no valid marker at byte ${o - 2}`);
    if (m === 0xd9) {
      if (!info) fail(file, 'damaged JPEG: it ends before a frame header, so no image data');
      return { ...info!, orientation };
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue;
    if (o + 2 > b.length) { if (!full && info) return info; return truncated('inside a segment header'); }
    const len = be16(b, o);
    if (len < 2) fail(file, `damaged JPEG: a segment of length ${len} at byte ${o}`);
    if (o + len > b.length && (full || !info)) {
      if (!full && m !== 0xc0 && m !== 0xc1 && m !== 0xc2) { o += len; continue; }
      return truncated(`inside a segment that needs ${len} bytes`);
    }
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (JPEG_UNSUPPORTED[m]) fail(file, `unsupported JPEG: ${JPEG_UNSUPPORTED[m]}; save it as a baseline or progressive JPEG, or as PNG`);
      const precision = b[o + 2], height = be16(b, o + 3), width = be16(b, o + 5), comps = b[o + 7];
      if (precision !== 8) fail(file, `unsupported JPEG: ${precision}-bit samples; save it with 8-bit samples, or as PNG`);
      if (comps !== 1 && comps !== 3 && comps !== 4) fail(file, `damaged JPEG: ${comps} colour components`);
      checkSize(file, 'JPEG', width, height);
      info = { format: 'JPEG', width, height, channels: comps === 1 ? 1 : 3, alpha: false, orientation };
      if (!full) return { ...info, orientation };
    }
    if (m === 0xe1 && String.fromCharCode(...b.subarray(o + 2, o + 6)) === 'Exif') orientation = exifOrientation(b, o + 2, Math.min(b.length, o + len));
    o += len;
    if (m === 0xda) {
      // entropy-coded data: up to the next marker that is not a stuffed 0xFF00 or a restart marker
      while (o < b.length) {
        if (b[o] === 0xff && o + 1 < b.length && b[o + 1] !== 0 && !(b[o + 1] >= 0xd0 && b[o + 1] <= 0xd7) && b[o + 1] !== 0xff) break;
        o++;
      }
      if (o >= b.length - 1) return truncated('inside its image data');
    }
  }
}

/**
 * The PNG without its tRNS chunk, when it has one on a grey or RGB image: the decoder would turn
 * the keyed colour into black (all four channels 0); without the chunk the colour is kept as stored,
 * like the colour under an alpha channel.
 */
function withoutColourKey(b: Uint8Array): Uint8Array {
  if (b[25] !== 0 && b[25] !== 2) return b;
  let o = 8;
  while (o + 12 <= b.length) {
    const len = be32(b, o);
    if (String.fromCharCode(b[o + 4], b[o + 5], b[o + 6], b[o + 7]) === 'tRNS') {
      const out = new Uint8Array(b.length - (12 + len));
      out.set(b.subarray(0, o));
      out.set(b.subarray(o + 12 + len), o);
      return out;
    }
    o += 12 + len;
  }
  return b;
}

/**
 * Reads an image's header (and, with `full`, checks its structure to the end) without decoding
 * pixels: format, size, channels, transparency, orientation. A truncated, damaged, unsupported or
 * oversized image is a ValidationError naming `file` and saying which, in words.
 */
export function imageInfo(bytes: Uint8Array, file: string, full = true): ImageInfo {
  if (bytes.length === 0) fail(file, 'empty file, 0 bytes');
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) {
    return pngInfo(bytes, file, full);
  }
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8) return jpegInfo(bytes, file, full);
  if (bytes.length >= 4 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) fail(file, 'damaged PNG: its signature is altered');
  const kind = bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46 ? 'a GIF' : bytes[0] === 0x42 && bytes[1] === 0x4d ? 'a BMP'
    : bytes.length >= 12 && String.fromCharCode(...bytes.subarray(8, 12)) === 'WEBP' ? 'a WebP' : (bytes[0] === 0x49 && bytes[1] === 0x49) || (bytes[0] === 0x4d && bytes[1] === 0x4d) ? 'a TIFF' : 'not a PNG or JPEG';
  return fail(file, `${kind === 'not a PNG or JPEG' ? kind : `${kind} image, not a PNG or JPEG`}; only PNG and JPEG are read`);
}

/**
 * Decodes a PNG or JPEG (sniffed from its bytes). Its structure is checked first (imageInfo), so a
 * truncated, damaged, unsupported or oversized file is named as such; errors name `file`.
 */
export function decodeImage(bytes: Uint8Array, file: string): DecodedImage {
  const info = imageInfo(bytes, file);
  const n = info.width * info.height;
  try {
    if (info.format === 'PNG') {
      const src = info.alpha ? withoutColourKey(bytes) : bytes;
      const png = PNG.sync.read(Buffer.from(src.buffer, src.byteOffset, src.byteLength));
      const rgba = png.data;
      if (png.width !== info.width || png.height !== info.height || rgba.length < n * 4) throw new Error('decoded size differs from the header');
      if (info.channels === 1) {
        const data = new Uint8Array(n);
        for (let i = 0; i < n; i++) data[i] = rgba[i * 4];
        return { width: info.width, height: info.height, channels: 1, data };
      }
      const data = new Uint8Array(n * 3);
      for (let i = 0; i < n; i++) {
        data[i * 3] = rgba[i * 4];
        data[i * 3 + 1] = rgba[i * 4 + 1];
        data[i * 3 + 2] = rgba[i * 4 + 2];
      }
      return { width: info.width, height: info.height, channels: 3, data };
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxMemoryUsageInMB: 512 });
    if (img.width !== info.width || img.height !== info.height || img.data.length < n * 3) throw new Error('decoded size differs from the header');
    if (info.channels === 1) {
      const data = new Uint8Array(n);
      for (let i = 0; i < n; i++) data[i] = img.data[i * 3];
      return { width: info.width, height: info.height, channels: 1, data };
    }
    return { width: info.width, height: info.height, channels: 3, data: img.data.subarray(0, n * 3) };
  } catch (err) {
    const raw = String((err as Error)?.message ?? err).slice(0, 120);
    throw new ValidationError(`${file}: cannot decode image (damaged ${info.format} image data: ${raw})`, file);
  }
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
