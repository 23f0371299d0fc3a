/** Small helpers the bench scripts share: child processes, JSON lines, load average, files. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const DATASETS = path.resolve(ROOT, '../shared/datasets');
export const CIFAR5K = path.join(DATASETS, 'cifar10-5k');
export const CIFAR_JPG = path.join(DATASETS, 'cifar10-jpg.tar.gz');
/** Debian's python3 (where apt puts python3-torch), not a pyenv shim. */
export const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export const load1 = () => Math.round(os.loadavg()[0] * 100) / 100;

export function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)} load ${load1().toFixed(2)}] ${msg}\n`);
}

export interface Proc { code: number | null; stdout: string; stderr: string; ms: number }

export function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Proc {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: opts.timeoutMs ?? 20 * 60_000, maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : ''), ms: performance.now() - t0 };
}

/** The last line of stdout that parses as a JSON object. */
export function lastJson<T = Record<string, unknown>>(p: Proc, what: string): T {
  const lines = p.stdout.trim().split('\n').reverse();
  for (const l of lines) {
    if (!l.startsWith('{')) continue;
    try { return JSON.parse(l) as T; } catch { /* not this line */ }
  }
  throw new Error(`${what}: no JSON result (exit ${p.code}); stderr tail:\n${p.stderr.split('\n').slice(-15).join('\n')}`);
}

/** node --import tsx <script> args… → its JSON result. */
export function tsx(script: string, args: string[], timeoutMs?: number, env?: NodeJS.ProcessEnv): Record<string, unknown> {
  const p = run(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], { timeoutMs, env });
  return lastJson(p, `${script} ${args.join(' ')}`);
}

export function python(args: string[], timeoutMs?: number): Record<string, unknown> {
  return lastJson(run(PYTHON, args, { timeoutMs }), `python ${args.join(' ')}`);
}

/** Waits (up to maxMs, polling every 30 s) until the 1-min load average is below `limit`. */
export async function waitQuiet(limit: number, maxMs: number): Promise<{ waitedS: number; load: number }> {
  const t0 = Date.now();
  while (load1() >= limit && Date.now() - t0 < maxMs) {
    log(`waiting for a quiet machine (load ${load1()} ≥ ${limit})`);
    await new Promise((r) => setTimeout(r, 30_000));
  }
  return { waitedS: Math.round((Date.now() - t0) / 1000), load: load1() };
}

export function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ee-bench-${name}-`));
}

export const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
/** Median of the numbers among `a` (nulls skipped); null when there are none. */
export function median(a: (number | null)[]): number | null {
  const s = a.filter((x): x is number => x != null).sort((x, y) => x - y);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
export const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;
