/**
 * A small streaming reader for ustar / GNU tar archives, optionally gzip-compressed (node:zlib).
 * Entries are visited in archive order; only the members the caller asks for are held in memory.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { ValidationError } from '../spec/errors';
import { fileError, MAX_DATA_FILE_BYTES } from './files';

export interface TarEntry {
  /** Path inside the archive, without a leading "./" and without a trailing "/". */
  name: string;
  /** "file", "dir" or "other" (links, devices…). */
  type: 'file' | 'dir' | 'other';
  size: number;
}

/** True when the file starts with the gzip magic bytes. */
export function isGzipFile(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw fileError(e, file);
  }
  try {
    const b = Buffer.alloc(2);
    const n = fs.readSync(fd, b, 0, 2, 0);
    return n === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    fs.closeSync(fd);
  }
}

class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    if (b.length) { this.chunks.push(b); this.length += b.length; }
  }
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift(); else this.chunks[0] = first.subarray(n);
      this.length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift(); else this.chunks[0] = c.subarray(k);
    }
    this.length -= n;
    return out;
  }
  skip(n: number): void {
    while (n > 0) {
      const c = this.chunks[0];
      if (c.length <= n) { n -= c.length; this.length -= c.length; this.chunks.shift(); } else {
        this.chunks[0] = c.subarray(n); this.length -= n; n = 0;
      }
    }
  }
}

function cstr(b: Buffer, start: number, len: number): string {
  const s = b.subarray(start, start + len);
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? s.length : z).toString('utf8');
}

function octal(b: Buffer, start: number, len: number): number {
  if (b[start] & 0x80) {
    // GNU base-256 encoding for large sizes
    let v = 0;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + b[i];
    return v;
  }
  const s = cstr(b, start, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function headerChecksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  return sum === octal(h, 148, 8);
}

function cleanName(n: string): string {
  return n.replace(/^\.\//, '').replace(/\/+$/, '');
}

/**
 * Visits every entry of a (gzipped) tar file. `visit` gets the header and, when `want(entry)`
 * returned true, the member's bytes. Return "stop" from `visit` to end early.
 */
export async function walkTar(
  file: string,
  want: (e: TarEntry) => boolean,
  visit: (e: TarEntry, data?: Buffer) => void | 'stop' | Promise<void | 'stop'>,
): Promise<void> {
  // sniff first: a file that cannot be opened fails here, before a stream exists whose 'error'
  // event nobody would listen to (that would crash the process)
  const gzip = isGzipFile(file);
  let input: Readable;
  try {
    input = fs.createReadStream(file);
  } catch (err) {
    throw new ValidationError(`${file}: cannot open (${(err as Error).message})`, file);
  }
  const src: Readable = gzip ? input.pipe(zlib.createGunzip()) : input;
  input.on('error', (e) => src.destroy(e));
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const q = new ByteQueue();
  let ended = false;
  const fill = async (n: number): Promise<boolean> => {
    while (q.length < n && !ended) {
      let r: IteratorResult<Buffer>;
      try {
        r = await it.next();
      } catch (err) {
        throw new ValidationError(`${file}: not a readable tar archive (${(err as Error).message})`, file);
      }
      if (r.done) ended = true; else q.push(r.value);
    }
    return q.length >= n;
  };
  let longName: string | undefined;
  let paxPath: string | undefined;
  let first = true;
  try {
    for (;;) {
      if (!(await fill(512))) {
        if (q.length === 0 && !first) return; // archive without the end-of-archive blocks
        throw new ValidationError(`${file}: truncated tar archive`, file);
      }
      const h = q.take(512);
      if (h.every((x) => x === 0)) return; // end of archive
      if (!headerChecksumOk(h)) throw new ValidationError(`${file}: not a tar archive (bad header checksum)`, file);
      first = false;
      const size = octal(h, 124, 12);
      const flag = String.fromCharCode(h[156] || 48);
      const padded = Math.ceil(size / 512) * 512;
      if (flag === 'L' || flag === 'x') {
        if (!(await fill(padded))) throw new ValidationError(`${file}: truncated tar archive`, file);
        const body = q.take(padded).subarray(0, size);
        if (flag === 'L') longName = cstr(body, 0, body.length);
        else {
          const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
          if (m) paxPath = m[1];
        }
        continue;
      }
      let name = cstr(h, 0, 100);
      const magic = cstr(h, 257, 6);
      if (magic.startsWith('ustar')) {
        const prefix = cstr(h, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      if (longName !== undefined) { name = longName; longName = undefined; }
      if (paxPath !== undefined) { name = paxPath; paxPath = undefined; }
      const type: TarEntry['type'] = flag === '0' || flag === '7' ? 'file' : flag === '5' ? 'dir' : 'other';
      const entry: TarEntry = { name: cleanName(name), type, size };
      let data: Buffer | undefined;
      if (type === 'file' && want(entry)) {
        if (!(size <= MAX_DATA_FILE_BYTES)) throw new ValidationError(`${file}: member ${entry.name} claims ${size} bytes, too large to read`, file);
        if (!(await fill(padded))) throw new ValidationError(`${file}: truncated tar archive (member ${entry.name})`, file);
        data = q.take(padded).subarray(0, size);
      } else {
        let left = padded;
        while (left > 0) {
          if (q.length === 0 && !(await fill(1))) throw new ValidationError(`${file}: truncated tar archive (member ${entry.name})`, file);
          const k = Math.min(left, q.length);
          q.skip(k);
          left -= k;
        }
      }
      if ((await visit(entry, data)) === 'stop') return;
    }
  } finally {
    src.destroy();
    input.destroy();
  }
}

/** Lists the entries of a tar file (optionally keeping the first `keepFirst` matching members' bytes). */
export async function listTar(file: string): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  await walkTar(file, () => false, (e) => { out.push(e); });
  return out;
}
