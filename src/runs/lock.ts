/**
 * Who is alive, and the one lock implementation of the run store (the queue's slots in
 * `<runs>/.locks`). A process is named by pid + start time + host, so a pid that the system has
 * given to another program since is not mistaken for ours; a lock also carries a heartbeat (its
 * mtime, touched while held), so a lock whose holder cannot be verified (another machine sharing
 * the folder, a system without process start times) expires when the heartbeat stops. An empty,
 * unreadable or foreign lock expires the same way; a waiter says what it waits for.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errnoCode } from '../spec/errno';
import type { ProcessIdentity } from '../spec/run-types';
import { makeDirs } from './files';

export type { ProcessIdentity } from '../spec/run-types';


/** How often a held lock's heartbeat is written. */
export const HEARTBEAT_MS = 2_000;
/** A lock whose holder cannot be verified is stale once its heartbeat is this old. */
export const STALE_MS = 20_000;

/** The start time of process `pid` (Linux /proc), or null where the system does not say. */
export function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may contain spaces and parentheses: fields start after its last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export function thisProcess(): ProcessIdentity {
  return { pid: process.pid, start: processStart(process.pid), host: os.hostname() };
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

/**
 * 'alive': the very process (same pid and start time) runs on this machine; 'gone': it does not
 * (no such pid, or the pid now belongs to a process started at another time); 'unknown': it
 * cannot be told from here (another host, or no start time recorded or readable).
 */
export function processState(p: ProcessIdentity): 'alive' | 'gone' | 'unknown' {
  if (p.host !== os.hostname()) return 'unknown';
  if (!pidAlive(p.pid)) return 'gone';
  const now = processStart(p.pid);
  if (p.start === null || now === null) return 'unknown';
  return now === p.start ? 'alive' : 'gone';
}

/** Why the process `p` is not running, in words; null when it may be. */
export function goneReason(p: ProcessIdentity): string | null {
  if (processState(p) !== 'gone') return null;
  return pidAlive(p.pid) ? `process ${p.pid} is another program now (its process id was reused)` : `process ${p.pid} is gone`;
}

interface LockContent {
  version: 1;
  owner: ProcessIdentity;
  /** What holds the slot, for the waiters' message (run id and folder). */
  label: string;
  since: string;
  token: string;
}

function isLockContent(v: unknown): v is LockContent {
  const o = v as LockContent | null;
  return !!o && o.version === 1 && typeof o.label === 'string' && typeof o.token === 'string' && typeof o.since === 'string'
    && !!o.owner && Number.isInteger(o.owner.pid) && typeof o.owner.host === 'string' && (o.owner.start === null || typeof o.owner.start === 'string');
}

/** What a lock file says about its holder: live (wait), or stale with the reason (take it over). */
export interface LockView {
  file: string;
  /** The raw bytes judged, so a takeover removes only what was judged. */
  raw: string;
  mtimeMs: number;
  content: LockContent | null;
  stale: string | null;
  /** One line for a waiter. */
  describe: string;
}

const age = (ms: number) => (ms < 2000 ? 'just now' : `${Math.round(ms / 1000)} s ago`);

/** Reads and judges one lock file; null when there is none. */
export function inspectLock(file: string, now = Date.now()): LockView | null {
  let raw: string, mtimeMs: number;
  try {
    raw = fs.readFileSync(file, 'utf8');
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw e;
  }
  let content: LockContent | null = null;
  try {
    const v = JSON.parse(raw);
    if (isLockContent(v)) content = v;
  } catch { /* judged below */ }
  const beat = now - mtimeMs;
  const name = path.basename(file);
  if (!content) {
    const what = raw.trim() === '' ? 'empty' : 'not a lock this version of Early Exit Studio wrote';
    return {
      file, raw, mtimeMs, content, stale: beat > STALE_MS ? `${name} was ${what} and untouched for ${Math.round(beat / 1000)} s` : null,
      describe: `${name} is ${what} (written ${age(beat)}; it is taken over ${Math.round(STALE_MS / 1000)} s after its last change)`,
    };
  }
  const o = content.owner;
  const where = o.host === os.hostname() ? 'on this machine' : `on ${o.host}`;
  const holder = `run ${content.label} (process ${o.pid} ${where}, since ${content.since})`;
  const state = processState(o);
  let stale: string | null = null;
  if (state === 'gone') stale = `${name} was held by ${holder}, but ${goneReason(o)}`;
  else if (state === 'unknown' && beat > STALE_MS) stale = `${name} was held by ${holder}, whose heartbeat stopped ${Math.round(beat / 1000)} s ago`;
  const heartbeat = beat > 3 * HEARTBEAT_MS ? `; its heartbeat is ${Math.round(beat / 1000)} s old${state === 'alive' ? ' — the process runs but may be stopped (kill -CONT) or busy' : ''}` : '';
  return { file, raw, mtimeMs, content, stale, describe: `held by ${holder}${heartbeat}` };
}

/** Creates `file` with `text` only if it does not exist; the file is complete the moment it appears. */
function createExclusive(file: string, text: string): boolean {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  fs.writeFileSync(tmp, text);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
    // a file system without hard links: exclusive create, then write (a reader may briefly see it empty)
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, text);
      fs.closeSync(fd);
      return true;
    } catch (e2) {
      if (errnoCode(e2) === 'EEXIST') return false;
      throw e2;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export interface AcquireOptions {
  /** Set `cancelled` to give up waiting (throws "cancelled while queued"). */
  signal?: { cancelled: boolean };
  pollMs?: number;
  /** Told, in one line, what the caller waits for (when it starts waiting and when that changes) and which stale locks it took over. */
  onWait?: (text: string) => void;
}

/**
 * A cross-process queue slot: one of `slots` lock files `<runsDir>/.locks/slot-K.lock`. Two CLIs
 * or VS Code windows on one runs folder share them, so runs execute one after the other (or up to
 * `slots` at once). Resolves with the release function; while held, the lock's heartbeat is kept.
 * Its `slot` (0…slots−1) picks the GPUs of a run when runs go side by side, one per GPU (gpus.ts).
 */
export async function acquireSlot(runsDir: string, slots: number, label: string, opts: AcquireOptions = {}): Promise<(() => void) & { slot: number }> {
  const lockDir = path.join(runsDir, '.locks');
  makeDirs(lockDir, 'runs folder');
  const pollMs = opts.pollMs ?? 300;
  let told = '';
  for (;;) {
    const held: string[] = [];
    for (let k = 0; k < slots; k++) {
      const file = path.join(lockDir, `slot-${k}.lock`);
      const content: LockContent = { version: 1, owner: thisProcess(), label, since: new Date().toISOString(), token: Math.random().toString(36).slice(2) };
      if (createExclusive(file, JSON.stringify(content))) return Object.assign(holdLock(file, content.token), { slot: k });
      const view = inspectLock(file);
      if (!view) { k--; continue; } // released meanwhile: try this slot again
      if (view.stale) {
        // remove only the lock that was judged (not one another waiter has just created)
        const again = inspectLock(file);
        if (again && again.raw === view.raw && again.mtimeMs === view.mtimeMs) {
          fs.rmSync(file, { force: true });
          opts.onWait?.(`took over a stale queue slot: ${view.stale}`);
        }
        k--;
        continue;
      }
      held.push(`slot ${k} is ${view.describe}`);
    }
    if (opts.signal?.cancelled) throw new Error('cancelled while queued');
    const text = `queued: waiting for a free slot of ${runsDir} (${slots === 1 ? 'one run at a time' : `${slots} runs at a time`}): ${held.join('; ')}`;
    if (text !== told) {
      told = text;
      opts.onWait?.(text);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Keeps the heartbeat of a held lock; the returned function releases it (only if it is still ours). */
function holdLock(file: string, token: string): () => void {
  const beat = setInterval(() => {
    const now = new Date();
    try { fs.utimesSync(file, now, now); } catch { /* removed: nothing to keep */ }
  }, HEARTBEAT_MS);
  beat.unref();
  return () => {
    clearInterval(beat);
    try {
      const v = JSON.parse(fs.readFileSync(file, 'utf8')) as LockContent;
      if (v.token === token) fs.rmSync(file, { force: true });
    } catch { /* already gone */ }
  };
}
