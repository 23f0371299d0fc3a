/**
 * The split execution (`early-exit deploy run`): the run's network cut into tiers, each tier a
 * process of its own on this machine (tier-main.ts), tier k talking to tier k + 1 over HTTP/2 on
 * 127.0.0.1, optionally through a shaper that gives the link its profile's rate and RTT. The
 * device tier drives the first test images one at a time; every tier reports what it computed;
 * the result is set beside the estimate for the same inputs, links and speeds measured here
 * (src/spec/split-results.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DeviceRecord, FromTier, TierConfig, TierLogEntry, ToTier } from '../protocol/deploy';
import { readResults, readSamples } from '../runs/store';
import type { ExitRule } from '../spec/results';
import { firstRecords, type SplitInput, type SplitMeasurement } from '../spec/split-results';
import { estimateDeployment, networkCostsOf, tierTimes, type MeasuredSpeed } from '../spec/tier-estimate';
import { cutNames, tierOfBlock, tierRanges, type MeasureBackend, type Quantization, type TierProfile } from '../spec/tiers';
import { startShaper, type Shaper } from './shaper';

export interface SplitOptions {
  runDir: string;
  /** the profile whose links are shaped (its compute figures are not used: every tier computes here) */
  tiers: TierProfile[];
  /** the profile's name, as recorded */
  profile: string;
  /** cuts as block counts */
  cuts: number[];
  quantization: Quantization;
  rule?: ExitRule;
  thresholds?: number[];
  /** tfjs backend of every tier process */
  backend: string;
  /** the per-part speed measured here on `backend`, for the estimate */
  speed: MeasuredSpeed;
  /** timed inputs (the first test images) */
  images: number;
  /** untimed inputs first, through the whole chain */
  warmup?: number;
  /** shape the links to the profile's rate and RTT (default); false: raw loopback */
  shape?: boolean;
  /** the tier process's entry (default: tier.js beside this bundle, else the TypeScript source under tsx) */
  tierEntry?: string;
  onProgress?(done: number, total: number): void;
  /** the tier processes, once started (their pids: for tests that kill one) */
  onStart?(tiers: { name: string; pid: number }[]): void;
  signal?: AbortSignal;
}

/** Where the tier process's code is: dist/tier.js next to the CLI bundle, or the source (tests, tsx). */
export function tierEntry(file?: string): { file: string; execArgv: string[] } {
  if (file) return { file, execArgv: file.endsWith('.ts') ? ['--import', 'tsx'] : [] };
  const bundled = path.join(__dirname, 'tier.js');
  if (fs.existsSync(bundled)) return { file: bundled, execArgv: [] };
  const source = path.join(__dirname, 'tier-main.ts');
  if (fs.existsSync(source)) return { file: source, execArgv: ['--import', 'tsx'] };
  const dist = path.resolve(__dirname, '../../dist/tier.js');
  if (fs.existsSync(dist)) return { file: dist, execArgv: [] };
  throw new Error(`the tier process is missing (${bundled}); run "npm run build"`);
}

/** A tier process and its messages, awaited one type at a time. */
class TierProcess {
  private readonly inbox: FromTier[] = [];
  private waiting: { types: FromTier['type'][]; resolve: (m: FromTier) => void; reject: (e: Error) => void } | null = null;
  private exited: Error | null = null;
  onProgress?: (done: number, total: number) => void;

  constructor(readonly name: string, readonly child: ChildProcess) {
    child.on('message', (m: FromTier) => {
      if (m.type === 'progress') { this.onProgress?.(m.done, m.total); return; }
      if (m.type === 'error') { this.fail(new Error(`tier "${name}": ${m.message}`)); return; }
      this.inbox.push(m);
      this.deliver();
    });
    child.on('exit', (code, signal) => this.fail(new Error(`tier "${name}" exited (${signal ?? `code ${code}`})`)));
    // a message to a tier that just died fails with EPIPE: the exit says why, not this
    child.on('error', (e) => this.fail(new Error(`tier "${name}": ${e.message}`)));
  }

  fail(e: Error): void {
    this.exited ??= e;
    if (this.waiting) { this.waiting.reject(this.exited); this.waiting = null; }
  }

  private deliver(): void {
    if (!this.waiting) return;
    const i = this.inbox.findIndex((m) => this.waiting!.types.includes(m.type));
    if (i < 0) return;
    const [m] = this.inbox.splice(i, 1);
    this.waiting.resolve(m);
    this.waiting = null;
  }

  send(m: ToTier): void {
    if (this.child.connected) this.child.send(m, () => undefined);
  }

  next<T extends FromTier['type']>(...types: T[]): Promise<Extract<FromTier, { type: T }>> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.waiting = { types, resolve: resolve as (m: FromTier) => void, reject };
      this.deliver();
    });
  }

  async stop(): Promise<void> {
    this.exited ??= new Error('stopped');
    this.send({ type: 'stop' });
    const gone = new Promise<void>((r) => { if (this.child.exitCode !== null || this.child.signalCode) r(); else this.child.once('exit', () => r()); });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}

/**
 * A tier process. Every tier (and the speed measurement) runs with one wasm thread, the same for
 * all, so that what `deploy measure` times is what the tiers compute at: the tiers run one after
 * another on one input, and threads spinning in an idle tier would take a core from the busy one.
 */
function forkTier(name: string, entry: { file: string; execArgv: string[] }): TierProcess {
  const child = fork(entry.file, [], {
    // not this process's options (a test runner's, an inspector's): only what the entry needs
    execArgv: entry.execArgv,
    env: { ...process.env, EARLY_EXIT_WASM_THREADS: process.env.EARLY_EXIT_WASM_THREADS ?? '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new TierProcess(name, child);
}

/** Times every block, exit and the final classifier of a run's model here on `backend`, in a tier process (batch 1, medians). */
export async function measureSpeedHere(runDir: string, backend: string, opts: { images?: number; rounds?: number; tierEntry?: string } = {}): Promise<MeasuredSpeed> {
  const p = forkTier('measure', tierEntry(opts.tierEntry));
  try {
    p.send({ type: 'measure', runDir, backend, images: opts.images ?? 50, rounds: opts.rounds ?? 5 });
    return (await p.next('measured')).speed;
  } finally {
    await p.stop();
  }
}

/** Runs the split execution and returns the measurement with its estimate. Every process and shaper is gone when it settles. */
export async function runSplit(o: SplitOptions): Promise<SplitMeasurement> {
  const results = readResults(o.runDir);
  const records = readSamples(o.runDir, 'test');
  const net = networkCostsOf(results);
  const nBlocks = net.blocks.length;
  const rule = o.rule ?? results.rule, thresholds = o.thresholds ?? results.thresholds;
  const ranges = tierRanges(o.cuts, nBlocks);
  const lastTier = tierOfBlock(o.cuts, nBlocks - 1);
  const shape = o.shape !== false;
  const entry = tierEntry(o.tierEntry);
  const load0 = os.loadavg()[0];
  const procs: TierProcess[] = [];
  const shapers: Shaper[] = [];
  const abort = () => { for (const p of procs) p.fail(new Error('stopped by request')); for (const p of procs) p.child.kill('SIGKILL'); };
  o.signal?.addEventListener('abort', abort);
  try {
    // start every tier that can receive an input (tiers after the one running the last block never do)
    for (let t = 0; t <= lastTier; t++) {
      const p = forkTier(o.tiers[t].name, entry);
      procs.push(p);
      const config: TierConfig = {
        runDir: o.runDir, tier: t, name: o.tiers[t].name, from: ranges[t][0], to: ranges[t][1], last: t === lastTier,
        rule, thresholds, quantization: o.quantization, backend: o.backend,
      };
      p.send({ type: 'start', config });
    }
    o.onStart?.(procs.map((p) => ({ name: p.name, pid: p.child.pid ?? -1 })));
    const ready = await procs[0].next('ready');
    const ports: number[] = [0];
    for (let t = 1; t <= lastTier; t++) ports.push((await procs[t].next('listening')).port);
    // links from the last towards the device, each through its shaper when shaping
    for (let t = lastTier; t >= 0; t--) {
      let nextPort: number | null = null;
      if (t < lastTier) {
        const link = o.tiers[t].link!;
        if (shape) {
          const s = await startShaper({ targetPort: ports[t + 1], bitsPerSecond: link.bitsPerSecond, rttMs: link.rttMs });
          shapers[t] = s;
          nextPort = s.port;
        } else nextPort = ports[t + 1];
      }
      procs[t].send({ type: 'connect', nextPort, mean: ready.mean, std: ready.std });
      await procs[t].next('connected');
    }
    const count = Math.min(o.images, ready.count);
    procs[0].onProgress = o.onProgress;
    procs[0].send({ type: 'run', count, warmup: o.warmup ?? 20 });
    await procs[0].next('warmed');
    for (const s of shapers) s?.resetStats();
    procs[0].send({ type: 'go' });
    const done = await procs[0].next('done');
    const logs: TierLogEntry[][] = [[]];
    for (let t = 1; t <= lastTier; t++) {
      procs[t].send({ type: 'report' });
      logs.push((await procs[t].next('log')).entries);
    }
    const wireBytes = shape ? shapers.slice(0, lastTier).map((s) => s.stats()) : null;
    const tiersHere = o.tiers.map((t, i) => ({
      ...t, compute: { measure: o.backend as MeasureBackend },
      link: i < o.tiers.length - 1 ? (shape ? t.link : { name: 'loopback', bitsPerSecond: 1e15, rttMs: 0 }) : undefined,
    }));
    const sub = firstRecords(records, count);
    const estimate = estimateDeployment(sub, rule, thresholds, net, tiersHere, tierTimes(tiersHere, net, { [o.backend]: o.speed }), o.cuts, o.quantization);
    return {
      version: 1, tiers: tiersHere, profile: o.profile, cuts: o.cuts, cutNames: cutNames(o.cuts, net.blocks.map((b) => b.id)), quantization: o.quantization,
      rule, thresholds, backend: ready.backend, shaped: shape, warmup: o.warmup ?? 20,
      inputs: done.records.map((r) => splitInput(r, logs, o.tiers.length, o.cuts, net.exits.map((e) => e.block), nBlocks)),
      wireBytes, measuredAt: new Date().toISOString(), loadAverage: [load0, os.loadavg()[0]], estimate, speed: o.speed,
    };
  } finally {
    o.signal?.removeEventListener('abort', abort);
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(shapers.filter(Boolean).map((s) => s.close()));
  }
}

function splitInput(r: DeviceRecord, logs: TierLogEntry[][], T: number, cuts: number[], exitBlocks: number[], nBlocks: number): SplitInput {
  const tier = tierOfBlock(cuts, r.exit < exitBlocks.length ? exitBlocks[r.exit] : nBlocks - 1);
  const computeMs = new Array(T).fill(0), codecMs = new Array(T).fill(0), bytes = new Array(T - 1).fill(0);
  computeMs[0] = r.computeMs; codecMs[0] = r.codecMs;
  if (T > 1) bytes[0] = r.bytesOut;
  for (let t = 1; t < logs.length; t++) {
    const e = logs[t].find((x) => x.sample === r.sample);
    if (!e) continue;
    computeMs[t] = e.computeMs; codecMs[t] = e.codecMs; bytes[t - 1] = e.bytesIn;
  }
  return { sample: r.sample, label: r.label, exit: r.exit, pred: r.pred, tier, latencyMs: r.latencyMs, computeMs, codecMs, bytes };
}
