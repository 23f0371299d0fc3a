/**
 * File-system access with the failures people meet, said once: reading a file that must be an
 * ordinary file of bounded size (never a device, a pipe or a folder, so a read can never block or
 * run forever), creating folders without ever spinning (Node's recursive mkdir loops on some
 * special file systems, e.g. under /proc), and reading the JSON files of a run folder so that a
 * missing or damaged one names the file and what to do (spec/run-files.ts).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoCode, errnoFix, errnoPhrase, errnoWords } from '../spec/errno';
import { ValidationError } from '../spec/errors';
import { decodeJsonBytes, parseJsonText } from '../spec/json-text';
import { RunFileError, runFileFix } from '../spec/run-files';

/** What a path is when it is not an ordinary file or folder. */
function kindOfNode(st: fs.Stats): string {
  if (st.isFIFO()) return 'a pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  return 'not an ordinary file';
}

/**
 * Reads an ordinary file of at most `maxBytes`. A folder, device, pipe or socket, a file that is
 * too large or cannot be read is a ValidationError `<label>: …` saying which; nothing is read from
 * a device or a pipe (which could block or never end).
 */
export function readOrdinaryFile(file: string, maxBytes: number, label = file): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new ValidationError(`${label}: ${errnoCode(e) === 'ENOENT' ? 'no such file' : errnoPhrase(e, 'read')}`, label);
  }
  if (!st.isFile()) throw new ValidationError(`${label}: is ${kindOfNode(st)}, not a file`, label);
  if (st.size > maxBytes) throw new ValidationError(`${label}: is ${st.size.toLocaleString('en-US')} bytes, more than the ${maxBytes.toLocaleString('en-US')} bytes such a file can have; is it the right file?`, label);
  let fd: number | undefined;
  try {
    // O_NONBLOCK: should the path have been replaced by a pipe since the stat, opening it does not wait
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    const now = fs.fstatSync(fd);
    if (!now.isFile()) throw new ValidationError(`${label}: is ${kindOfNode(now)}, not a file`, label);
    const buf = Buffer.alloc(Math.min(now.size, maxBytes));
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } catch (e) {
    if (e instanceof ValidationError) throw e;
    throw new ValidationError(`${label}: ${errnoPhrase(e, 'read')}`, label);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * `mkdir -p` that fails at once with a clear message instead of looping: finds the deepest part
 * of `dir` that exists, checks it is a folder, then creates each missing folder in turn. `label`
 * names what the folder is for ("--out", "runs folder").
 */
export function makeDirs(dir: string, label: string): void {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  let cur = abs;
  for (;;) {
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(cur);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOTDIR') throw new ValidationError(`${label}: ${abs}: a part of the path is a file, not a folder`, label);
      if (code !== 'ENOENT') throw new ValidationError(`${label}: ${cur}: ${errnoPhrase(e, 'use it')}`, label);
    }
    if (st) {
      if (!st.isDirectory()) {
        throw new ValidationError(cur === abs
          ? `${label}: ${abs} is ${kindOfNode(st) === 'not an ordinary file' ? 'a file' : kindOfNode(st)}, not a folder; give a folder`
          : `${label}: ${abs}: ${cur} is a file, not a folder`, label);
      }
      break;
    }
    missing.unshift(cur);
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'EEXIST' && fs.statSync(d).isDirectory()) continue; // made by someone else meanwhile
      const fix = errnoFix(code);
      throw new ValidationError(`${label}: cannot create ${d} (${errnoWords(code) ? `${errnoWords(code)}, ${code}` : (e as Error).message})${fix ? `; ${fix}` : ''}`, label);
    }
  }
}

/** Checks that files can be created in the folder `dir` (which exists); a ValidationError naming it otherwise. */
export function checkWritableDir(dir: string, label: string): void {
  const probe = path.join(dir, `.early-exit-write-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    fs.writeFileSync(probe, '', { flag: 'wx' });
    fs.rmSync(probe, { force: true });
  } catch (e) {
    const code = errnoCode(e);
    const fix = errnoFix(code);
    throw new ValidationError(`${label}: cannot write in ${dir} (${errnoWords(code) ? `${errnoWords(code)}, ${code}` : (e as Error).message})${fix ? `; ${fix}` : ''}`, label);
  }
}

/** Run-folder JSON files are small but for the per-sample records: this bounds a damaged one. */
export const MAX_RUN_FILE_BYTES = 1 << 30;

/**
 * Reads and parses the JSON file `name` of run folder `dir`, then checks it with `problem`
 * (spec/run-files.ts). Missing, unreadable, empty, not JSON, or not of its kind: a RunFileError
 * naming the file and the fix.
 */
export function readRunJson<T>(dir: string, name: string, problem: (v: unknown) => string | null = () => null, sha256?: { value: string; from: string }): T {
  const file = path.join(dir, name);
  const fail = (what: string): never => { throw new RunFileError(file, what, runFileFix(dir, name)); };
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    return fail(errnoCode(e) === 'ENOENT' ? 'missing' : errnoPhrase(e, 'read'));
  }
  if (!st.isFile()) fail(`is ${kindOfNode(st)}, not a file`);
  if (st.size === 0) fail('empty (0 bytes): it was cut off while being written');
  let bytes: Buffer;
  try {
    bytes = readOrdinaryFile(file, MAX_RUN_FILE_BYTES);
  } catch (e) {
    return fail((e as Error).message.slice(file.length + 2));
  }
  let value: unknown;
  try {
    value = parseJsonText(decodeJsonBytes(bytes, name).text, name);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return fail(`${e.message.slice(name.length + 2)} (${bytes.length} byte${bytes.length === 1 ? '' : 's'}: cut off or overwritten)`);
  }
  const p = problem(value);
  if (p) fail(`not a valid ${name} (${p})`);
  // a file that parses and has the right shape may still hold other values than were written
  if (sha256 && createHash('sha256').update(bytes).digest('hex') !== sha256.value) {
    fail(`its bytes do not match the SHA-256 that ${sha256.from} recorded for it (the file was damaged or replaced)`);
  }
  return value as T;
}
