/**
 * Our own WebAssembly SIMD kernels (src/accel/kernels/simd.wat), instantiated on the tfjs wasm
 * backend's memory so that they read and write tfjs tensors in place, with a scratch area from the
 * backend's allocator. One instance per tfjs wasm module; null where the memory is not reachable
 * or SIMD is off (callers then use their JavaScript or tfjs-op versions).
 *
 * On tfjs's threaded binary (shared memory) the kernels also run on helper threads: `run` splits
 * a call by rows, images or element ranges between this thread and one helper per extra XNNPACK
 * thread, each a Node worker with its own instance of the same module on the same memory, woken
 * through a shared Int32Array. XNNPACK's kernels are the only ones tfjs runs on more than one
 * thread; these are the batch-norm passes, the filter gradient, the max-pool gradient, the
 * interleave of a strided input gradient's phases and the Adam update (≈ half of a ResNet-18 step).
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { PLAIN_MEMORY_WASM, SHARED_MEMORY_WASM } from './kernels/simd-wasm';
import { wasmBackend, wasmMemoryOf, type WasmBackendLike, type WasmMemory, type WasmModuleLike } from './tfjs-internals';

/** The parts of the WebAssembly JS API used here (this project compiles without the DOM lib). */
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;


/** simd.wat's exports; every pointer is a byte offset in the backend's memory. */
export interface SimdExports {
  moments(x: number, M: number, C: number, shift: number, acc32: number, acc64: number): void;
  affine(x: number, z: number, y: number, M: number, C: number, a: number, b: number, relu: number): void;
  gradSums(dy: number, x: number, y: number, dz: number, M: number, C: number, mean: number, acc32: number, acc64: number): void;
  gradApply(dy: number, x: number, y: number, dx: number, M: number, C: number, k1: number, k2: number, k3: number): void;
  convFilterGrad(x: number, dy: number, dF: number, b0: number, b1: number, H: number, W: number, Cin: number, oH: number, oW: number,
    Cout: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number): void;
  maxPoolGrad(x: number, y: number, dy: number, dx: number, B: number, oH: number, oW: number, C: number, kh: number, kw: number): void;
  interleave(src: number, dst: number, b0: number, b1: number, Hp: number, Wp: number, C: number, H: number, W: number, s: number, py: number, px: number): void;
  adam(w: number, m: number, v: number, g: number, w2: number, m2: number, v2: number, lo: number, hi: number, k: number): void;
  addInto(a: number, b: number, n: number): void;
}

export type SimdKernel = Exclude<keyof SimdExports, 'addInto'>;
const HELPER_KERNELS: SimdKernel[] = ['moments', 'affine', 'gradSums', 'gradApply', 'convFilterGrad', 'maxPoolGrad', 'interleave', 'adam'];

/**
 * A helper thread's script: instantiates simd.wat on the shared memory and runs one kernel call
 * per job. Jobs go through a shared Int32Array: [0] job number (−1 = stop), [1] the last job done
 * (negated when it threw), [2] the kernel's index in `names`, [3…] its arguments.
 */
const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, names, fault } = workerData;
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
const c = new Int32Array(control);
let seen = 0;
for (;;) {
  Atomics.wait(c, 0, seen);
  const job = Atomics.load(c, 0);
  if (job < 0) break;
  if (job === seen) continue;
  seen = job;
  let ok = true;
  try {
    if (fault) throw new Error('EARLY_EXIT_FAULT=simd-helper-throws');
    const f = k[names[c[2]]]; f(...Array.from(c.subarray(3, 3 + f.length)));
  } catch { ok = false; }
  Atomics.store(c, 1, ok ? job : -job);
  Atomics.notify(c, 1);
}
`;

/** How long a helper may take for one job before its part is redone here and the helper dropped. */
const HELPER_TIMEOUT_MS = 30_000;

/**
 * An area of the backend's memory that grows on demand (contents undefined after growing). Take it
 * before any view of the heap: the allocation may grow the memory, which detaches views taken earlier.
 */
class HeapArea {
  private ptr = 0;
  private bytes = 0;
  constructor(private readonly module: WasmModuleLike) {}

  /** The area's offset, at least `bytes` long. */
  get(bytes: number): number {
    if (bytes > this.bytes) {
      if (this.ptr) this.module._free(this.ptr);
      this.bytes = Math.max(bytes, 64 * 1024);
      this.ptr = this.module._malloc(this.bytes);
    }
    return this.ptr;
  }
}

class SimdHelper {
  private readonly worker: Worker;
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * 32));
  private job = 0;
  /** The helper's own area (for its part of a reduction). */
  readonly area: HeapArea;

  constructor(compiled: object, memory: WasmMemory, module: WasmModuleLike) {
    this.area = new HeapArea(module);
    // EARLY_EXIT_FAULT=simd-helper-throws: every job fails (the reliability test of the fallback below)
    const fault = process.env.EARLY_EXIT_FAULT === 'simd-helper-throws';
    this.worker = new Worker(HELPER_SOURCE, { eval: true, workerData: { module: compiled, memory, control: this.control.buffer, names: HELPER_KERNELS, fault } });
    this.worker.unref(); // never keeps the process alive
    // a helper that dies shows as a failed or timed-out job, whose part is then done on the caller's thread
    this.worker.on('error', () => undefined);
  }

  start(kernel: SimdKernel, args: number[]): void {
    this.control[2] = HELPER_KERNELS.indexOf(kernel);
    this.control.set(args, 3);
    this.job++;
    Atomics.store(this.control, 0, this.job);
    Atomics.notify(this.control, 0);
  }

  /** Blocks until the job posted last is done; false when it threw or timed out. */
  wait(): boolean {
    const deadline = Date.now() + HELPER_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(this.control, 1);
      if (done === this.job) return true;
      if (done === -this.job) return false;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.control, 1, done, left);
    }
  }

  stop(): void {
    Atomics.store(this.control, 0, -1);
    Atomics.notify(this.control, 0);
    void this.worker.terminate();
  }
}

/** Smallest piece of a split pass (floats): 128 KiB. */
const MIN_PART_VALUES = 32 * 1024;

export class WasmSimd {
  private helpers: SimdHelper[] = [];
  private readonly scratchArea: HeapArea;
  private constructor(module: WasmModuleLike, private readonly memory: WasmMemory, readonly k: SimdExports) {
    this.scratchArea = new HeapArea(module);
  }

  static create(module: WasmModuleLike, threads: number): WasmSimd | null {
    const memory = wasmMemoryOf(module);
    if (!(memory instanceof WebAssemblyApi.Memory)) return null;
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = Buffer.from(shared ? SHARED_MEMORY_WASM : PLAIN_MEMORY_WASM, 'base64');
    const compiled = new WebAssemblyApi.Module(bytes);
    const instance = new WebAssemblyApi.Instance(compiled, { env: { memory } });
    const simd = new WasmSimd(module, memory, instance.exports as unknown as SimdExports);
    if (shared) for (let i = 1; i < threads; i++) simd.helpers.push(new SimdHelper(compiled, memory, module));
    return simd;
  }

  /** Stops the helper threads: every later call runs on this thread only. */
  stopHelpers(): void {
    for (const h of this.helpers) h.stop();
    this.helpers = [];
  }

  /**
   * Pieces to split a pass over `values` floats into: one per thread, each at least
   * MIN_PART_VALUES (below that, waking a helper costs more than its share).
   */
  partsFor(values: number): number {
    return Math.max(1, Math.min(this.threads, Math.floor(values / MIN_PART_VALUES)));
  }

  /** Threads `run` splits a call between (this one and the helpers). */
  get threads(): number {
    return this.helpers.length + 1;
  }

  /**
   * An area of at least `bytes` for part `part` of a split call (0: this thread's scratch, see
   * `scratch`; others: that helper's own). Take every part's area before any view of the heap.
   */
  partArea(part: number, bytes: number): number {
    return part === 0 ? this.scratch(bytes) : this.helpers[part - 1].area.get(bytes);
  }

  /**
   * Runs `kernel` over [0, n) (rows, images or elements) in `parts` contiguous pieces, at most `threads`:
   * piece 0 on this thread, the others on helpers, each with the arguments `args(lo, hi, part)`
   * gives (all computed before any runs). Returns when every piece is done. A helper that fails or
   * times out is dropped and its piece redone here.
   */
  run(kernel: SimdKernel, n: number, parts: number, args: (lo: number, hi: number, part: number) => number[]): void {
    const p = Math.max(1, Math.min(parts, this.threads, n));
    const bound = (i: number) => Math.round((i * n) / p);
    const all = Array.from({ length: p }, (_, i) => args(bound(i), bound(i + 1), i));
    const used = this.helpers.slice(0, p - 1);
    used.forEach((h, i) => h.start(kernel, all[i + 1]));
    const call = (a: number[]) => (this.k[kernel] as (...v: number[]) => void)(...a);
    call(all[0]);
    used.forEach((h, i) => {
      if (h.wait()) return;
      this.helpers = this.helpers.filter((o) => o !== h);
      h.stop();
      call(all[i + 1]);
    });
  }

  /** This thread's scratch area of at least `bytes` (reused; see HeapArea). */
  scratch(bytes: number): number {
    return this.scratchArea.get(bytes);
  }

  f32(offset: number, n: number): Float32Array { return new Float32Array(this.memory.buffer, offset, n); }
  f64(offset: number, n: number): Float64Array { return new Float64Array(this.memory.buffer, offset, n); }
}

const byModule = new WeakMap<WasmModuleLike, { simd: WasmSimd | null; why?: string }>();
let wantedThreads = 1;

/** Threads for the kernels (backend selection sets the XNNPACK thread count); before the first use. */
export function setWasmSimdThreads(n: number): void {
  wantedThreads = Math.max(1, Math.floor(n));
}

function load(backend: WasmBackendLike): { simd: WasmSimd | null; why?: string } {
  let entry = byModule.get(backend.wasm);
  if (!entry) {
    try {
      if (!tf.env().getBool('WASM_HAS_SIMD_SUPPORT')) entry = { simd: null, why: 'this runtime has no WebAssembly SIMD' };
      else {
        const simd = WasmSimd.create(backend.wasm, wantedThreads);
        entry = simd ? { simd } : { simd: null, why: "tfjs's wasm memory is not reachable" };
      }
    } catch (err) {
      entry = { simd: null, why: `simd.wat did not instantiate: ${err instanceof Error ? err.message : String(err)}` };
    }
    byModule.set(backend.wasm, entry);
  }
  return entry;
}

/** The kernels for this backend, or null (no SIMD, or tfjs's memory is not reachable). */
export function wasmSimd(backend: WasmBackendLike): WasmSimd | null {
  return load(backend).simd;
}

/** Why `wasmSimd` is null for this backend (undefined when the kernels load). */
export function wasmSimdUnavailable(backend: WasmBackendLike): string | undefined {
  return load(backend).why;
}

/** True when our kernel `name` can run now: wasm is the backend, the kernel is registered there, and simd.wat loads. */
export function simdKernelReady(name: string): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(name, 'wasm') !== undefined && wasmSimd(wasmBackend(tf.backend())) !== null;
}

/** Inside kernel `name`'s function: the backend, its SIMD kernels (throws naming `name` when they are unavailable) and a tensor's byte offset. */
export function simdKernelContext(backend: unknown, name: string): { b: WasmBackendLike; simd: WasmSimd; off: (t: tf.TensorInfo) => number } {
  const b = wasmBackend(backend);
  const simd = wasmSimd(b);
  if (!simd) throw new Error(`${name}: wasm SIMD kernels are not available`);
  return { b, simd, off: (t) => b.getMemoryOffset(t.dataId) };
}
