/**
 * Multithreaded XNNPACK for the wasm backend in Node.
 *
 * tfjs-backend-wasm ships a threaded SIMD binary (emscripten pthreads) but never uses it in Node:
 *  1. the flag WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to false when IS_NODE;
 *  2. the pthread worker script and the module factory are handed to emscripten as Blob URLs,
 *     which Node's `worker_threads.Worker` and the worker's `importScripts` (fs.readFileSync)
 *     cannot open;
 *  3. the factory, copied into each worker as source text, refers to the Node bundle's
 *     module-level `require$$N` / `commonjsGlobal` variables, which do not exist in the worker;
 *  4. the C++ side caps the pool at `emscripten_num_logical_cores() / 2` (it assumes two
 *     hyper-threads per core), i.e. one thread on a 2-core machine.
 * And one for our own kernels' helper threads (wasm-simd.ts):
 *  5. after every XNNPACK operation its pool threads spin-wait for the next one for 1 000 000
 *     iterations (~2–4 ms, pthreadpool's PTHREADPOOL_SPIN_WAIT_ITERATIONS) before sleeping, which
 *     keeps the other core busy doing nothing; `shortenPoolSpin` loads a copy of the binary with
 *     1 000 iterations (XNNPACK's own speed is unchanged; threads then sleep between operations).
 *
 * `prepareThreadedWasm` works around all five for the duration of `tf.setBackend('wasm')` only:
 * it sets the flag, writes the worker script and the factory (with the missing variables defined)
 * to files in the temp folder, hands out those paths instead of Blob URLs, reports the real core
 * count to the C++ side, and points tfjs at the spin-shortened binary. Everything it patches is
 * restored by `restore()`. Every step checks that the tfjs text it relies on is there; when one is
 * not, it throws (before patching, or through `error()` during initialisation) and the caller stays
 * on the single-threaded binary — except the spin-wait patch, which threads work without: it is
 * skipped and `spinNote` says why.
 */
import * as crypto from 'node:crypto';
import type * as NodeOs from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from '../spec/errors';

// The module object itself (not an ES namespace copy): tfjs's bundle calls `os.cpus()` on it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const os: typeof NodeOs = require('node:os');

/** Emscripten's pthread pool in tfjs is pre-created with 8 workers; XNNPACK uses at most that. */
export const MAX_WASM_THREADS = 8;

/** Where the worker loads the factory from (emscripten's worker script, as tfjs 4.22 ships it). */
const WORKER_LOAD_FACTORY = 'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';
const FACTORY_PREFIX = 'var WasmBackendModuleThreadedSimd';

/**
 * Threads to use: `EARLY_EXIT_WASM_THREADS` (1 = the single-threaded binary) or the number of
 * cores, at most 8.
 */
export function wantedWasmThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.EARLY_EXIT_WASM_THREADS;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) {
      throw new ValidationError(`EARLY_EXIT_WASM_THREADS: expected a whole number ≥ 1, got "${raw}"`, 'EARLY_EXIT_WASM_THREADS');
    }
    return Math.min(n, MAX_WASM_THREADS);
  }
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(cores, MAX_WASM_THREADS));
}

/** `var require$$0 = require('fs');` lines of the tfjs Node bundle: the names the factory uses. */
export function bundleRequires(bundleSource: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of bundleSource.matchAll(/^var (require\$\$\d+) = require\('([^']+)'\);$/gm)) out.set(m[1], m[2]);
  return out;
}

/** The factory's source, runnable on its own: the bundle variables it refers to, then the text. */
export function standaloneFactory(factoryText: string, requires: Map<string, string>): string {
  const used = [...new Set(factoryText.match(/require\$\$\d+/g) ?? [])];
  const missing = used.filter((name) => !requires.has(name));
  if (missing.length) throw new Error(`the threaded wasm factory uses ${missing.join(', ')}, which the tfjs bundle does not define`);
  const decls = used.map((name) => `${name}=require(${JSON.stringify(requires.get(name))})`);
  decls.push('commonjsGlobal=globalThis');
  return `var ${decls.join(',')};\n${factoryText}`;
}

/** emscripten's worker script, loading the factory from `factoryPath` instead of a Blob URL. */
export function nodeWorkerScript(workerText: string, factoryPath: string): string {
  if (!workerText.includes(WORKER_LOAD_FACTORY)) throw new Error('the tfjs pthread worker script is not the one this workaround knows (tfjs version changed?)');
  return workerText.replace(WORKER_LOAD_FACTORY, `importScripts(${JSON.stringify(factoryPath)});`);
}

/** Writes `text` once under a name derived from its content (atomic rename; shared by processes). */
function writeCached(dir: string, stem: string, text: string | Uint8Array, ext = '.js'): string {
  const hash = crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
  const file = path.join(dir, `${stem}-${hash}${ext}`);
  if (fs.existsSync(file) && Buffer.from(fs.readFileSync(file)).equals(Buffer.from(text))) return file;
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return file;
}

/** `i32.const 1000000; local.set`: the counters of pthreadpool's spin-wait loops in the threaded binary. */
const SPIN_LOOP = [0x41, 0xc0, 0x84, 0x3d, 0x21];
/** `i32.const 1000` in the same three LEB128 bytes (padded encodings are valid WebAssembly). */
const SHORT_SPIN = [0x41, 0xe8, 0x87, 0x00];
/** The spin loops tfjs 4.22's threaded binary has: the pool's wait for work, and two waits for the workers. */
export const POOL_SPIN_LOOPS = 3;

/**
 * A copy of tfjs's threaded binary whose pthreadpool threads spin 1 000 instead of 1 000 000
 * iterations before they sleep. Throws when the binary does not have exactly the known loops.
 */
export function shortenPoolSpin(binary: Uint8Array): Uint8Array {
  const out = Uint8Array.from(binary);
  const at: number[] = [];
  for (let i = 0; i + SPIN_LOOP.length <= out.length; i++) {
    if (SPIN_LOOP.every((b, k) => out[i + k] === b)) at.push(i);
  }
  if (at.length !== POOL_SPIN_LOOPS) throw new Error(`expected ${POOL_SPIN_LOOPS} pthreadpool spin loops in the threaded wasm binary, found ${at.length} (tfjs version changed?)`);
  for (const i of at) out.set(SHORT_SPIN, i);
  return out;
}

export interface ThreadedWasmPatch {
  /** Undoes every global patch (call after `tf.setBackend('wasm')` settles). */
  restore(): void;
  /** Set when the worker files could not be written (reported instead of threads). */
  error(): Error | undefined;
  /** Why the pool's spin-wait was left as it is (undefined when shortened). */
  spinNote?: string;
}

/**
 * Prepares the next wasm backend initialisation to load the threaded binary with `threads`
 * XNNPACK threads. Throws (patching nothing) when the tfjs bundle is not the one this knows.
 */
export function prepareThreadedWasm(
  wasmPkg: { setThreadsCount(n: number): void; setWasmPaths(paths: Record<string, string>): void },
  threads: number,
  bundlePath: string,
  cacheDir = path.join(os.tmpdir(), 'early-exit-wasm-threads'),
): ThreadedWasmPatch {
  if (typeof SharedArrayBuffer === 'undefined') throw new Error('SharedArrayBuffer is not available in this Node');
  const requires = bundleRequires(fs.readFileSync(bundlePath, 'utf8'));
  if (!requires.size) throw new Error(`no require$$N declarations found in ${bundlePath} (tfjs version changed?)`);
  fs.mkdirSync(cacheDir, { recursive: true });

  const OrigBlob = globalThis.Blob;
  const origCreateObjectURL = URL.createObjectURL;
  const origCpus = os.cpus;
  let factoryPath: string | undefined;
  let failure: Error | undefined;

  class CapturingBlob extends OrigBlob {
    constructor(...args: ConstructorParameters<typeof Blob>) {
      super(...args);
      const parts: unknown[] = args[0] ?? [];
      const text = parts.every((p) => typeof p === 'string') ? (parts as string[]).join('') : '';
      if (text.startsWith(FACTORY_PREFIX)) {
        try { factoryPath = writeCached(cacheDir, 'tfjs-wasm-factory', standaloneFactory(text, requires)); } catch (e) { failure ??= e as Error; }
      }
      (this as unknown as { sourceText: string }).sourceText = text;
    }
  }
  globalThis.Blob = CapturingBlob as typeof Blob;
  URL.createObjectURL = (obj: Blob): string => {
    const text = (obj as unknown as { sourceText?: string }).sourceText;
    if (text && text.includes('WasmBackendModuleThreadedSimd(Module)')) {
      try {
        if (!factoryPath) throw new Error('the threaded wasm factory was not captured before its workers started');
        return writeCached(cacheDir, 'tfjs-wasm-pthread-worker', nodeWorkerScript(text, factoryPath));
      } catch (e) {
        failure ??= e as Error;
        throw e;
      }
    }
    return origCreateObjectURL(obj);
  };
  // tfjs sizes its pool as min(requested, logical cores / 2): report two "logical cores" per core.
  os.cpus = () => { const c = origCpus(); return c.length >= threads * 2 ? c : Array.from({ length: threads * 2 }, (_, i) => c[i % c.length]); };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasmPkg.setThreadsCount(threads);

  // 5: the threaded binary with a short pool spin-wait (the other two: tfjs's own files)
  const dist = path.dirname(bundlePath);
  const stockPaths = Object.fromEntries(['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'].map((f) => [f, path.join(dist, f)]));
  let spinNote: string | undefined;
  try {
    const patched = shortenPoolSpin(fs.readFileSync(stockPaths['tfjs-backend-wasm-threaded-simd.wasm']));
    wasmPkg.setWasmPaths({ ...stockPaths, 'tfjs-backend-wasm-threaded-simd.wasm': writeCached(cacheDir, 'tfjs-backend-wasm-threaded-simd', patched, '.wasm') });
  } catch (e) {
    spinNote = `pool spin-wait not shortened: ${String((e as Error)?.message ?? e).split('\n')[0]}`;
  }

  return {
    restore() {
      globalThis.Blob = OrigBlob;
      URL.createObjectURL = origCreateObjectURL;
      os.cpus = origCpus;
      try { wasmPkg.setWasmPaths(stockPaths); } catch { /* the backend failed to initialise: nothing loads a binary again */ }
    },
    error: () => failure,
    spinNote,
  };
}
