/**
 * Verified downloads into the per-user cache. A file is streamed to `<file>.part`, checked against
 * its published MD5 and only then renamed to its final name, so a file under its final name is
 * always complete and verified (a cache hit makes no request). An interrupted transfer resumes
 * from the .part with an HTTP Range request when the server supports it, else restarts cleanly.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { ValidationError } from '../spec/errors';

export type Progress = (p: { phase: string; done: number; total?: number; file?: string }) => void;

/** A failed or unverifiable download. Its message names the file (shown without a stack trace). */
export class DownloadError extends ValidationError {
  override name = 'DownloadError';
}

export interface RemoteFile {
  /** File name in the cache folder (and under a mirror's base URL). */
  file: string;
  url: string;
  /** Published MD5 of the file as distributed. */
  md5?: string;
  /**
   * MD5 of the decompressed bytes of a .gz file, accepted when a mirror re-compressed the file
   * (so the archive MD5 differs but the content is identical).
   */
  contentMd5?: string;
}

const MNIST_BASE = 'https://ossci-datasets.s3.amazonaws.com/mnist/';
const FASHION_BASE = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

/**
 * Official addresses and published checksums. MNIST archive MD5s are the ones published with
 * torchvision (for yann.lecun.com and its S3 mirror); Fashion-MNIST's are from its README. The
 * contentMd5 values are the MD5s of the decompressed IDX files, measured on the copies in
 * ../shared/datasets (those copies are re-gzipped, so their archive MD5s differ).
 * CINIC-10: its publisher (datashare.ed.ac.uk) gives no checksum we could confirm, so none is
 * checked — the download is reported as unverified rather than checked against an invented value.
 */
export const DOWNLOADS: Record<'cifar10' | 'cifar100' | 'mnist' | 'fashion-mnist' | 'cinic10', RemoteFile[]> = {
  cifar10: [{ file: 'cifar-10-binary.tar.gz', url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530' }],
  cifar100: [{ file: 'cifar-100-binary.tar.gz', url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz', md5: '03b5dce01913d631647c71ecec9e9cb8' }],
  mnist: [
    { file: 'train-images-idx3-ubyte.gz', url: `${MNIST_BASE}train-images-idx3-ubyte.gz`, md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873', contentMd5: '6bbc9ace898e44ae57da46a324031adb' },
    { file: 'train-labels-idx1-ubyte.gz', url: `${MNIST_BASE}train-labels-idx1-ubyte.gz`, md5: 'd53e105ee54ea40749a09fcbcd1e9432', contentMd5: 'a25bea736e30d166cdddb491f175f624' },
    { file: 't10k-images-idx3-ubyte.gz', url: `${MNIST_BASE}t10k-images-idx3-ubyte.gz`, md5: '9fb629c4189551a2d022fa330f9573f3', contentMd5: '2646ac647ad5339dbf082846283269ea' },
    { file: 't10k-labels-idx1-ubyte.gz', url: `${MNIST_BASE}t10k-labels-idx1-ubyte.gz`, md5: 'ec29112dd5afa0611ce80d1b7f02629c', contentMd5: '27ae3e4e09519cfbb04c329615203637' },
  ],
  'fashion-mnist': [
    { file: 'train-images-idx3-ubyte.gz', url: `${FASHION_BASE}train-images-idx3-ubyte.gz`, md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d', contentMd5: 'f4a8712d7a061bf5bd6d2ca38dc4d50a' },
    { file: 'train-labels-idx1-ubyte.gz', url: `${FASHION_BASE}train-labels-idx1-ubyte.gz`, md5: '25c81989df183df01b3e8a0aad5dffbe', contentMd5: '9018921c3c673c538a1fc5bad174d6f9' },
    { file: 't10k-images-idx3-ubyte.gz', url: `${FASHION_BASE}t10k-images-idx3-ubyte.gz`, md5: 'bef4ecab320f06d8554ea6380940ec79', contentMd5: '8181f5470baa50b63fa0f6fddb340f0a' },
    { file: 't10k-labels-idx1-ubyte.gz', url: `${FASHION_BASE}t10k-labels-idx1-ubyte.gz`, md5: 'bb300cfdad3c16e7a12a480ee83cd310', contentMd5: '15d484375f8d13e6eb1aabb0c3f46965' },
  ],
  cinic10: [{ file: 'CINIC-10.tar.gz', url: 'https://datashare.ed.ac.uk/bitstream/handle/10283/3192/CINIC-10.tar.gz' }],
};

/** `$EARLY_EXIT_CACHE` or `~/.cache/early-exit-studio`. */
export function defaultCacheDir(): string {
  return process.env.EARLY_EXIT_CACHE || path.join(os.homedir(), '.cache', 'early-exit-studio');
}

/** The URL to fetch: `<mirror>/<file>` when a mirror (option or `$EARLY_EXIT_MIRROR`) is set. */
export function resolveUrl(rf: RemoteFile, mirror = process.env.EARLY_EXIT_MIRROR): string {
  return mirror ? `${mirror.replace(/\/+$/, '')}/${rf.file}` : rf.url;
}

export async function md5File(file: string, gunzip = false): Promise<string> {
  const h = crypto.createHash('md5');
  const src = fs.createReadStream(file);
  if (gunzip) await pipeline(src, zlib.createGunzip(), h);
  else await pipeline(src, h);
  return h.digest('hex');
}

class HttpStatusError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** One GET into `part` (appending from `have` bytes when the server honours Range). */
function fetchOnce(url: string, part: string, have: number, file: string, onProgress?: Progress, redirects = 5): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const headers: Record<string, string> = { 'user-agent': 'early-exit-studio' };
    if (have > 0) headers.range = `bytes=${have}-`;
    const req = mod.get(url, { headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects <= 0) return reject(new DownloadError(`${file}: too many redirects from ${url}`, file));
        return fetchOnce(new URL(res.headers.location, url).toString(), part, have, file, onProgress, redirects - 1).then(resolve, reject);
      }
      if (status === 416) {
        res.resume();
        fs.rmSync(part, { force: true });
        return reject(new HttpStatusError(416, `${file}: server refused the resume range`));
      }
      if (status !== 200 && status !== 206) {
        res.resume();
        return reject(new HttpStatusError(status, `${file}: HTTP ${status} from ${url}`));
      }
      let start = 0;
      if (status === 206) {
        const m = /bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
        start = m ? Number(m[1]) : -1;
        if (start !== have) {
          res.resume();
          fs.rmSync(part, { force: true });
          return reject(new HttpStatusError(416, `${file}: unexpected Content-Range ${res.headers['content-range']}`));
        }
      }
      const len = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
      const total = len !== undefined ? start + len : undefined;
      let done = start;
      onProgress?.({ phase: 'download', done, total, file });
      const out = fs.createWriteStream(part, { flags: start > 0 ? 'a' : 'w' });
      res.on('data', (chunk: Buffer) => {
        done += chunk.length;
        onProgress?.({ phase: 'download', done, total, file });
      });
      pipeline(res, out).then(() => {
        if (total !== undefined && done !== total) reject(new Error(`${file}: connection closed after ${done} of ${total} bytes`));
        else resolve();
      }, (err) => reject(new Error(`${file}: transfer interrupted after ${done}${total ? ` of ${total}` : ''} bytes (${err.message})`)));
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`${file}: no data from ${url} for 60 s`)));
    req.on('error', (err) => reject(err));
  });
}

export interface DownloadOptions {
  onProgress?: Progress;
  /** Attempts after the first one for interrupted transfers (default 3). */
  retries?: number;
  mirror?: string;
}

/**
 * Downloads `rf` to `dest` unless `dest` already exists (no request then). Verifies the checksum
 * before the file gets its final name; a mismatch deletes it and throws naming both checksums.
 * Returns "cached", "downloaded" or "unverified" (no published checksum).
 */
export async function downloadFile(rf: RemoteFile, dest: string, opts: DownloadOptions = {}): Promise<'cached' | 'downloaded' | 'unverified'> {
  if (fs.existsSync(dest)) return 'cached';
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const url = resolveUrl(rf, opts.mirror);
  const part = `${dest}.part`;
  const retries = opts.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
    try {
      await fetchOnce(url, part, have, dest, opts.onProgress);
      break;
    } catch (err) {
      const status = err instanceof HttpStatusError ? err.status : undefined;
      const retriable = status === undefined || status === 416 || status >= 500;
      if (!retriable || attempt >= retries) {
        throw new DownloadError(
          `${dest}: download from ${url} failed: ${(err as Error).message}` +
            (fs.existsSync(part) ? ` (partial data kept in ${part} to resume)` : ''),
          dest,
        );
      }
    }
  }
  if (!rf.md5 && !rf.contentMd5) {
    fs.renameSync(part, dest);
    return 'unverified';
  }
  opts.onProgress?.({ phase: 'verify', done: 0, file: dest });
  const got = await md5File(part);
  let ok = rf.md5 !== undefined && got === rf.md5;
  let gotContent: string | undefined;
  if (!ok && rf.contentMd5) {
    try {
      gotContent = await md5File(part, true);
      ok = gotContent === rf.contentMd5;
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    fs.rmSync(part, { force: true });
    throw new DownloadError(
      `${dest}: checksum mismatch, expected md5 ${rf.md5 ?? rf.contentMd5} but got ${got}` +
        (gotContent ? ` (decompressed: expected ${rf.contentMd5}, got ${gotContent})` : '') +
        `; the file was deleted (source: ${url})`,
      dest,
    );
  }
  fs.renameSync(part, dest);
  return 'downloaded';
}

/**
 * Makes sure every file of a named dataset is in `<cacheDir>/<name>/`, downloading when `download`
 * is true. Returns the folder. Missing files without `download` are a ValidationError.
 */
export async function ensureDataset(
  name: keyof typeof DOWNLOADS,
  cacheDir: string,
  opts: DownloadOptions & { download?: boolean } = {},
): Promise<{ dir: string; unverified: string[] }> {
  const dir = path.join(cacheDir, name);
  const unverified: string[] = [];
  for (const rf of DOWNLOADS[name]) {
    const dest = path.join(dir, rf.file);
    if (fs.existsSync(dest)) continue;
    if (!opts.download) {
      throw new ValidationError(
        `${dest}: not in the cache; set dataset.download to true to fetch it, or set dataset.path to a local copy`,
        'dataset.download',
      );
    }
    if ((await downloadFile(rf, dest, opts)) === 'unverified') unverified.push(dest);
  }
  return { dir, unverified };
}
