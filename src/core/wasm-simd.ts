/**
 * Our own WebAssembly SIMD kernels (src/core/kernels/simd.wat), instantiated on the tfjs wasm
 * backend's memory so that they read and write tfjs tensors in place, with a scratch area from the
 * backend's allocator. One instance per tfjs wasm module; null where the memory is not reachable
 * or SIMD is off (callers then use their JavaScript or tfjs-op versions).
 */
import * as tf from '@tensorflow/tfjs';
import { PLAIN_MEMORY_WASM, SHARED_MEMORY_WASM } from './kernels/simd-wasm';

/** The parts of the WebAssembly JS API used here (this project compiles without the DOM lib). */
interface WasmMemory { readonly buffer: ArrayBuffer | SharedArrayBuffer }
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface WasmModuleLike {
  wasmMemory?: WasmMemory;
  asm?: { memory?: WasmMemory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

/** What the kernels need from tfjs's wasm backend. */
export interface WasmBackendLike {
  wasm: WasmModuleLike;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  getMemoryOffset(dataId: object): number;
}

/** simd.wat's exports; every pointer is a byte offset in the backend's memory. */
export interface SimdExports {
  moments(x: number, M: number, C: number, shift: number, acc32: number, acc64: number): void;
  affine(x: number, z: number, y: number, M: number, C: number, a: number, b: number, relu: number): void;
  gradSums(dy: number, x: number, y: number, dz: number, M: number, C: number, mean: number, acc32: number, acc64: number): void;
  gradApply(dy: number, x: number, y: number, dx: number, M: number, C: number, k1: number, k2: number, k3: number): void;
  convFilterGrad(x: number, dy: number, dF: number, b0: number, b1: number, H: number, W: number, Cin: number, oH: number, oW: number,
    Cout: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number): void;
  maxPoolGrad(x: number, y: number, dy: number, dx: number, B: number, oH: number, oW: number, C: number, kh: number, kw: number): void;
}

export class WasmSimd {
  private scratchPtr = 0;
  private scratchBytes = 0;
  private constructor(private readonly module: WasmModuleLike, private readonly memory: WasmMemory, readonly k: SimdExports) {}

  static create(module: WasmModuleLike): WasmSimd | null {
    const memory = module.wasmMemory ?? module.asm?.memory;
    if (!(memory instanceof WebAssemblyApi.Memory)) return null;
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = Buffer.from(shared ? SHARED_MEMORY_WASM : PLAIN_MEMORY_WASM, 'base64');
    const instance = new WebAssemblyApi.Instance(new WebAssemblyApi.Module(bytes), { env: { memory } });
    return new WasmSimd(module, memory, instance.exports as unknown as SimdExports);
  }

  /**
   * A scratch area of at least `bytes` (reused; contents undefined). Take it before any view of the
   * heap: the allocation may grow the memory, which detaches views taken earlier.
   */
  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratchPtr) this.module._free(this.scratchPtr);
      this.scratchBytes = Math.max(bytes, 64 * 1024);
      this.scratchPtr = this.module._malloc(this.scratchBytes);
    }
    return this.scratchPtr;
  }

  f32(offset: number, n: number): Float32Array { return new Float32Array(this.memory.buffer, offset, n); }
  f64(offset: number, n: number): Float64Array { return new Float64Array(this.memory.buffer, offset, n); }
}

const byModule = new WeakMap<WasmModuleLike, { simd: WasmSimd | null; why?: string }>();

function load(backend: WasmBackendLike): { simd: WasmSimd | null; why?: string } {
  let entry = byModule.get(backend.wasm);
  if (!entry) {
    try {
      if (!tf.env().getBool('WASM_HAS_SIMD_SUPPORT')) entry = { simd: null, why: 'this runtime has no WebAssembly SIMD' };
      else {
        const simd = WasmSimd.create(backend.wasm);
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
