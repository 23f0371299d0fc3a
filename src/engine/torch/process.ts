/**
 * The PyTorch engine's processes, seen from the worker: `python -m early_exit_torch` with the
 * package's python/ folder on PYTHONPATH, one per rank, speaking src/protocol/torch.ts over stdio.
 * Rank 0 is started (and shakes hands) first; more ranks join for DistributedDataParallel, each
 * started like torchrun starts one (MASTER_ADDR / MASTER_PORT / RANK / WORLD_SIZE / LOCAL_RANK).
 * Every request goes to every rank and resolves with rank 0's reply once all have answered. A rank
 * that dies fails what is pending and takes the others down (a collective would wait forever).
 * The engine's stderr goes to worker.log, never to the user.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { FromTorch, ToTorch, TorchHello } from '../../protocol/torch';
import { EngineError } from '../engine';

/** The protocol version this side speaks; python/early_exit_torch/__init__.py PROTOCOL_VERSION must equal it. */
export const TORCH_PROTOCOL_VERSION = 1;

/** Which Python runs the engine and where that choice came from (for the backend line). */
export interface PythonChoice {
  command: string;
  /** "earlyExit.pythonPath", "EARLY_EXIT_PYTHON", "the Python extension's interpreter", "python3 on PATH" */
  source: string;
}

/** The folder holding early_exit_torch/ (python/ at the package root, from src/ or dist/). */
export function pythonPackageRoot(from = __dirname): string {
  for (let d = from; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'python', 'early_exit_torch', '__init__.py'))) return path.join(d, 'python');
    if (path.dirname(d) === d) throw new EngineError(`the torch engine's Python package (python/early_exit_torch) is missing from this installation (looked above ${from})`);
  }
}

/** What to install, said once for every "no torch" path. */
export const INSTALL_TORCH = 'install PyTorch for it (Debian/Ubuntu: apt install python3-torch for /usr/bin/python3, elsewhere: pip install torch) or set earlyExit.pythonPath / EARLY_EXIT_PYTHON to a Python that has it';

/** A reply to a request (everything but the hello and progress lines). */
export type Reply = Exclude<FromTorch, TorchHello | { type: 'progress' }>;
type Request = Exclude<ToTorch, { type: 'stop' }>;
type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;
export type TorchRequest = Distribute<Request>;

export interface ProcessOptions {
  /** a line for worker.log (stderr of the engine, tracebacks) */
  log(line: string): void;
  /** ms to wait for the hello (importing torch can take a while on a cold disk) */
  helloTimeoutMs?: number;
}

class Rank {
  readonly child: ChildProcess;
  readonly hello: Promise<TorchHello>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void; what: string }>();
  private stderrTail: string[] = [];
  onProgress: ((m: Extract<FromTorch, { type: 'progress' }>) => void) | null = null;
  onDeath: ((e: EngineError) => void) | null = null;
  dead: EngineError | null = null;

  constructor(readonly python: PythonChoice, readonly rank: number, env: Record<string, string>, private readonly o: ProcessOptions) {
    const root = pythonPackageRoot();
    this.child = spawn(python.command, ['-u', '-m', 'early_exit_torch'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...env,
        PYTHONPATH: [root, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
        // an installed extension's folder may be read-only; no __pycache__ there
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONUNBUFFERED: '1',
        // OpenMP threads that spin while they wait make a busy machine's CPU training many times
        // slower; passive waiting costs little when the machine is idle
        OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
      },
    });
    const tag = rank > 0 ? `torch[${rank}]` : 'torch';
    readline.createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.stderrTail = [...this.stderrTail.slice(-9), line];
      o.log(`${tag}: ${line}`);
    });
    let helloResolve!: (h: TorchHello) => void, helloReject!: (e: Error) => void;
    this.hello = new Promise((res, rej) => { helloResolve = res; helloReject = rej; });
    this.hello.then(() => { if (!this.pending.size) this.hold(false); }, () => { /* observed by whoever awaits it */ });
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let m: FromTorch;
      try { m = JSON.parse(line) as FromTorch; } catch { o.log(`${tag} (not protocol): ${line}`); return; }
      if (m.type === 'hello') { helloResolve(m); return; }
      if (m.type === 'progress') { this.onProgress?.(m); return; }
      const p = this.pending.get(m.id);
      if (!p) { o.log(`${tag}: reply to no request: ${line.slice(0, 200)}`); return; }
      this.pending.delete(m.id);
      p.resolve(m);
    });
    this.child.stdin!.on('error', () => { /* the process is gone: its exit reports why */ });
    this.exited = new Promise((resolve) => {
      const fail = (e: EngineError) => {
        this.dead = e;
        helloReject(e);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
        this.onDeath?.(e);
      };
      this.child.on('error', (err: NodeJS.ErrnoException) => {
        fail(new EngineError(err.code === 'ENOENT'
          ? `${python.command} (${python.source}) was not found: ${INSTALL_TORCH}`
          : `${python.command} (${python.source}) could not be started: ${err.message}`));
        resolve({ code: null, signal: null });
      });
      this.child.on('exit', (code, signal) => {
        const what = [...this.pending.values()][0]?.what;
        const how = signal ? `was killed by ${signal}${signal === 'SIGKILL' ? ' (the system may have run out of memory)' : ''}` : `exited with code ${code}`;
        const tail = this.stderrTail.slice(-3).join(' | ');
        fail(new EngineError(`the torch engine process${rank ? ` (rank ${rank})` : ''} ${how}${what ? ` during "${what}"` : ''}${tail ? `: ${tail}` : ''}`));
        resolve({ code, signal });
      });
    });
  }

  /**
   * Keeps Node's event loop alive only while a reply is awaited: an idle engine process never keeps
   * its parent running (a test or a CLI that is done exits, and the engine follows on EOF).
   */
  private hold(on: boolean): void {
    const handles = [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as unknown as ({ ref?(): void; unref?(): void } | null)[];
    for (const h of handles) { if (on) h?.ref?.(); else h?.unref?.(); }
  }

  send(m: ToTorch): void {
    if (this.dead || !this.child.stdin?.writable) return;
    this.child.stdin.write(JSON.stringify(m) + '\n');
  }

  request(id: number, m: TorchRequest): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    this.hold(true);
    const done = () => { if (!this.pending.size) this.hold(false); };
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, what: m.type });
      this.send({ ...m, id } as ToTorch);
    }).finally(done);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** A free TCP port on the loopback interface, for the ranks' rendezvous. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class TorchProcesses {
  private ranks: Rank[] = [];
  private nextId = 1;
  private progress: ((m: Extract<FromTorch, { type: 'progress' }>) => void) | null = null;
  private constructor(private readonly python: PythonChoice, private readonly o: ProcessOptions) {}

  /** Starts rank 0 and reads its hello; a Python without torch is an EngineError saying what to install. */
  static async start(python: PythonChoice, o: ProcessOptions): Promise<{ procs: TorchProcesses; hello: TorchHello }> {
    const procs = new TorchProcesses(python, o);
    const r = new Rank(python, 0, {}, o);
    procs.ranks = [r];
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = o.helloTimeoutMs ?? 120_000;
      const hello = await Promise.race([
        r.hello,
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new EngineError(`${python.command} (${python.source}) did not answer within ${timeout / 1000} s of starting the torch engine`)), timeout); }),
      ]);
      if (!hello.torch) throw new EngineError(`${python.command} (Python ${hello.python}, ${python.source}) has no PyTorch (${hello.error}): ${INSTALL_TORCH}`);
      if (hello.protocol !== TORCH_PROTOCOL_VERSION) {
        throw new EngineError(`the torch engine at ${pythonPackageRoot()} speaks protocol ${hello.protocol}, this worker ${TORCH_PROTOCOL_VERSION} (a mixed installation: reinstall the extension or rebuild)`);
      }
      return { procs, hello };
    } catch (e) {
      procs.kill();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  get size(): number { return this.ranks.length; }

  /**
   * Grows to `world` ranks (rank 0 included) for one DistributedDataParallel training; returns the
   * rendezvous every rank's `open` needs. Ranks 1… are started with torchrun's environment.
   */
  async spread(world: number): Promise<{ masterAddr: string; masterPort: number }> {
    const masterAddr = '127.0.0.1', masterPort = await freePort();
    for (let rank = 1; rank < world; rank++) {
      const env = { MASTER_ADDR: masterAddr, MASTER_PORT: String(masterPort), RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(world) };
      this.ranks.push(new Rank(this.python, rank, env, this.o));
    }
    const hellos = await Promise.all(this.ranks.map((r) => r.hello));
    for (const h of hellos) if (!h.torch) throw new EngineError(`a torch engine rank has no PyTorch (${h.error})`);
    const fatal = (e: EngineError) => { for (const r of this.ranks) { if (!r.dead) r.kill(); } this.o.log(`torch: ${e.message}; stopping every rank`); };
    for (const r of this.ranks) r.onDeath = fatal;
    this.ranks[0].onProgress = this.progress;
    return { masterAddr, masterPort };
  }

  onProgress(cb: (m: Extract<FromTorch, { type: 'progress' }>) => void): void {
    this.progress = cb;
    this.ranks[0].onProgress = cb;
  }

  /** Sends `m` to every rank; rank 0's reply once all have answered; an error reply rejects. */
  async request<T extends Reply['type']>(m: TorchRequest, expect: T): Promise<Extract<Reply, { type: T }>> {
    const id = this.nextId++;
    const replies = await Promise.all(this.ranks.map((r) => r.request(id, m)));
    const failed = replies.find((r) => r.type === 'error');
    if (failed) throw failed;
    const r0 = replies[0];
    if (r0.type !== expect) throw new EngineError(`the torch engine answered "${m.type}" with "${r0.type}"`);
    return r0 as Extract<Reply, { type: T }>;
  }

  /** Asks every rank to stop after its current step (out of band). */
  stop(): void {
    for (const r of this.ranks) r.send({ type: 'stop' });
  }

  /** Ends every rank: a polite close, then SIGKILL after `graceMs`. */
  async close(graceMs = 5_000): Promise<void> {
    const alive = this.ranks.filter((r) => !r.dead);
    for (const r of alive) void r.request(this.nextId, { type: 'close' }).catch(() => undefined);
    this.nextId++;
    const timer = setTimeout(() => this.kill(), graceMs);
    await Promise.all(alive.map((r) => r.exited));
    clearTimeout(timer);
  }

  kill(): void {
    for (const r of this.ranks) r.kill();
  }

  get pids(): number[] {
    return this.ranks.map((r) => r.child.pid ?? -1);
  }
}
