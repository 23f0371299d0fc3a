/**
 * The one place that touches tfjs's private internals: the wasm backend object and its emscripten
 * module, the cpu backend's data store, Adam's private state, the engine's backend registry, the
 * pthread pool, the process-wide kernel and gradient registries we add to, and the browser globals
 * tfjs-backend-webgpu looks for. Everything else in the acceleration tier goes through the
 * accessors here.
 *
 * `checkTfjsInternals` verifies at start-up, against the tfjs that is installed, that every
 * assumption below holds; backend selection turns off each part whose assumption does not, and
 * says why on the backend line, so a tfjs upgrade degrades to the stock path instead of failing
 * mid-run. test/unit/accel/tfjs-internals.test.ts fails, naming the check, when the pinned tfjs
 * no longer matches.
 */
import * as tf from '@tensorflow/tfjs-core';
// The engine runs on tfjs-core with the cpu and wasm backends, never the whole @tensorflow/tfjs
// (which would also load the WebGL backend, layers, converter and data: none of them used in Node).
// tfjs-core's Node entry leaves out the gradients and the chained tensor methods that the whole
// package registers: they are registered here (the build bundles these two from tfjs-core's files).
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import type { AccelPart } from '../spec/accel-parts';

/** The parts of the WebAssembly JS API used here (this project compiles without the DOM lib). */
export interface WasmMemory { readonly buffer: ArrayBuffer | SharedArrayBuffer }

/** tfjs-backend-wasm's emscripten module: its memory and allocator. */
export interface WasmModuleLike {
  wasmMemory?: WasmMemory;
  asm?: { memory?: WasmMemory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  PThread?: { runningWorkers?: { unref?: () => void }[] };
}

/** What our kernels need from tfjs's wasm backend (BackendWasm). */
export interface WasmBackendLike {
  wasm: WasmModuleLike;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  getMemoryOffset(dataId: object): number;
}

/** What our cpu kernels need from tfjs's cpu backend (MathBackendCPU). */
export interface CpuBackendLike {
  readSync(dataId: object): Float32Array;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** tfjs's AdamOptimizer state (TypeScript marks it private or protected). */
export interface AdamState {
  beta1: number; beta2: number; epsilon: number; learningRate: number;
  accBeta1: tf.Variable; accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

/** The wasm backend behind a kernel's `backend` argument or `tf.backend()`. */
export function wasmBackend(backend: unknown): WasmBackendLike {
  return backend as WasmBackendLike;
}

/** The cpu backend behind a kernel's `backend` argument. */
export function cpuBackend(backend: unknown): CpuBackendLike {
  return backend as CpuBackendLike;
}

/** An Adam optimizer's private state, updated by EarlyExitAdam as tfjs's own update does. */
export function adamState(optimizer: tf.AdamOptimizer): AdamState {
  return optimizer as unknown as AdamState;
}

/** Shares a tensor's data with one more reference (the wasm backend's own Reshape does this). */
export function incRef(backend: unknown, dataId: object): void {
  (backend as { incRef(dataId: object): void }).incRef(dataId);
}

/** The wasm memory of an emscripten module, or null where it is not reachable. */
export function wasmMemoryOf(module: WasmModuleLike): WasmMemory | null {
  return module.wasmMemory ?? module.asm?.memory ?? null;
}

/** The registration of a backend (its factory and priority), to register it afresh. */
export function backendRegistration(name: string): { factory: () => Promise<tf.KernelBackend>; priority: number } | undefined {
  return (tf.engine() as unknown as { registryFactory?: Record<string, { factory: () => Promise<tf.KernelBackend>; priority: number }> }).registryFactory?.[name];
}

/**
 * tfjs's cpu backend greets every Node process with a banner on its first tensor ("Hi, looks like
 * you are running TensorFlow.js in Node.js…"): once per test process, and on every `cpu` run. The
 * backend line already says which backend runs and why faster ones were skipped, so the backend
 * is created as already used (its private `firstUse`). Runs when this module loads.
 */
export function quietCpuBanner(): void {
  const registration = backendRegistration('cpu') as { factory: () => unknown; quiet?: true } | undefined;
  if (!registration || registration.quiet) return;
  const make = registration.factory;
  registration.factory = () => {
    const backend = make();
    if (backend && typeof backend === 'object' && 'firstUse' in backend) (backend as { firstUse: boolean }).firstUse = false;
    return backend;
  };
  registration.quiet = true;
}
quietCpuBanner();

/**
 * XNNPACK's pool threads run for the life of the process, and emscripten keeps a Node worker
 * referenced while its pthread runs: without this a CLI run would never exit on its own.
 */
export function unrefPoolThreads(backend: unknown): void {
  for (const w of (backend as Partial<WasmBackendLike>)?.wasm?.PThread?.runningWorkers ?? []) w.unref?.();
}

/**
 * tfjs-backend-webgpu registers its backend at import only where `globalThis.navigator.gpu` exists
 * (a browser), and its kernels read WebGPU's constants (GPUBufferUsage, GPUMapMode,
 * GPUTextureUsage) as globals. Node has neither (Node ≥ 21 has a `navigator`, without `gpu`). This
 * provides Dawn's GPU object as `navigator.gpu` and the WebGPU globals Node lacks (none that exists
 * is replaced), before the import and for the backend's life. Returns the undo, for when the
 * backend is not taken after all. Checked by `webgpuRegistered` after the import.
 */
export function provideNavigatorGpu(gpu: object, globals: Record<string, unknown>): () => void {
  const g = globalThis as Record<string, unknown>;
  const added: string[] = [];
  for (const [k, v] of Object.entries(globals)) if (!(k in g)) { g[k] = v; added.push(k); }
  const hadNavigator = 'navigator' in g && g.navigator != null;
  const nav = (hadNavigator ? g.navigator : {}) as Record<string, unknown>;
  const hadGpu = Object.prototype.hasOwnProperty.call(nav, 'gpu');
  const oldGpu = nav.gpu;
  Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true, enumerable: true });
  if (!hadNavigator) Object.defineProperty(g, 'navigator', { value: nav, configurable: true, writable: true, enumerable: false });
  return () => {
    if (hadGpu) nav.gpu = oldGpu; else delete nav.gpu;
    if (!hadNavigator) delete g.navigator;
    for (const k of added) delete g[k];
  };
}

/**
 * Null when tfjs-backend-webgpu, imported after `provideNavigatorGpu`, registered its backend;
 * else what is missing. Without it (a tfjs that detects WebGPU another way, or a package imported
 * before the globals were there) the backend is skipped with this reason and `auto` goes on to the
 * next one.
 */
export function webgpuRegistered(): string | null {
  if (tf.findBackendFactory('webgpu')) return null;
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  return `tfjs ${tf.version_core}: @tensorflow/tfjs-backend-webgpu did not register its backend `
    + `(it registers at import when globalThis.navigator.gpu exists; navigator.gpu is ${nav?.gpu ? 'set' : 'missing'}, so the package was probably imported before it was provided)`;
}

/** What we use of the GPUDevice behind tfjs's webgpu backend. */
export interface GpuDeviceLike {
  addEventListener(type: 'uncapturederror', listener: (e: { error?: { message?: string } }) => void): void;
  lost?: Promise<{ reason?: string; message?: string }>;
}

/** The GPUDevice of tfjs's WebGPUBackend (its `device` field), or null where it is not there. */
export function webgpuDevice(backend: unknown): GpuDeviceLike | null {
  const d = (backend as { device?: Partial<GpuDeviceLike> })?.device;
  return d && typeof d.addEventListener === 'function' ? d as GpuDeviceLike : null;
}

/** Backends our replaced gradients apply to; on any other (webgpu, tfjs-node) tfjs's own runs. */
const gradientBackends = new Set<string>();

/** Our replacement gradients run on `backend` from now on. */
export function enableReplacedGradients(backend: string): void {
  gradientBackends.add(backend);
}

/** tfjs's own gradients, as they were before we first registered ours. */
const stockGradients = new Map<string, tf.GradConfig | undefined>();

/**
 * Makes `config` the gradient of its kernel (`on`), for the backends enabled with
 * `enableReplacedGradients` only: elsewhere tfjs's own still runs. `on` false puts tfjs's own
 * back. Both must save the same inputs and outputs (checked: the engine records them before it
 * knows which gradient runs); throws naming the kernel when they do not.
 */
export function useOurGradient(config: tf.GradConfig, on: boolean): void {
  const name = config.kernelName;
  if (!stockGradients.has(name)) stockGradients.set(name, tf.getGradient(name));
  const stock = stockGradients.get(name);
  if (!on) {
    if (stock) tf.registerGradient(stock);
    return;
  }
  if (stock) {
    const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    if (!same(stock.inputsToSave, config.inputsToSave) || !same(stock.outputsToSave, config.outputsToSave)) {
      throw new Error(`${name}: tfjs's gradient saves ${JSON.stringify(stock.inputsToSave)} / ${JSON.stringify(stock.outputsToSave ?? [])}, ours ${JSON.stringify(config.inputsToSave)} / ${JSON.stringify(config.outputsToSave ?? [])}`);
    }
  }
  tf.registerGradient({
    ...config,
    gradFunc: (dy, saved, attrs) => (stock && !gradientBackends.has(tf.getBackend()) ? stock : config).gradFunc(dy, saved, attrs),
  });
}

/** Registers (`on`) or unregisters one of our own kernels (a name tfjs does not have). */
export function useOurKernel(config: tf.KernelConfig, on: boolean): void {
  const has = tf.getKernel(config.kernelName, config.backendName) !== undefined;
  if (on && !has) tf.registerKernel(config);
  if (!on && has) tf.unregisterKernel(config.kernelName, config.backendName);
}

/** tfjs's own kernels that one of ours replaced, by "backend/name". */
const stockKernels = new Map<string, tf.KernelConfig>();

/**
 * Replaces tfjs's kernel `name` on `backend` with `make(stock)` (`on`), or puts tfjs's back. False
 * when tfjs has no such kernel there.
 */
export function replaceKernel(name: string, backend: string, on: boolean, make: (stock: tf.KernelConfig) => tf.KernelConfig): boolean {
  const key = `${backend}/${name}`;
  if (!stockKernels.has(key)) {
    const k = tf.getKernel(name, backend);
    if (!k) return false;
    stockKernels.set(key, k);
  }
  const stock = stockKernels.get(key)!;
  if (tf.getKernel(name, backend)) tf.unregisterKernel(name, backend);
  tf.registerKernel(on ? make(stock) : stock);
  return true;
}

/**
 * Checks, for the backend now active, every internal the acceleration tier relies on. Returns the
 * parts whose assumptions do not hold, each with what is missing (empty when all hold).
 */
export function checkTfjsInternals(): Map<AccelPart, string> {
  const off = new Map<AccelPart, string>();
  const version = `tfjs ${tf.version_core}`;
  const fail = (parts: AccelPart[], what: string) => { for (const p of parts) if (!off.has(p)) off.set(p, `${version}: ${what}`); };
  const backendName = tf.getBackend();
  const backend = tf.backend() as unknown as Record<string, unknown>;
  if (backendName === 'wasm') {
    const b = backend as unknown as Partial<WasmBackendLike>;
    const simdParts: AccelPart[] = ['fused-bn', 'conv-filter-grad', 'conv-input-grad', 'pool-grad', 'adam', 'simd-helpers'];
    for (const m of ['makeOutput', 'typedArrayFromHeap', 'getMemoryOffset'] as const) {
      if (typeof b[m] !== 'function') fail(simdParts, `the wasm backend has no ${m}()`);
    }
    const mod = b.wasm;
    if (!mod || typeof mod._malloc !== 'function' || typeof mod._free !== 'function') fail(simdParts, "the wasm backend's module has no _malloc/_free");
    else if (!wasmMemoryOf(mod)) fail(simdParts, "the wasm backend's memory is not reachable (wasmMemory / asm.memory)");
    if (typeof (backend as { incRef?: unknown }).incRef !== 'function') fail(['identity'], 'the wasm backend has no incRef()');
    if (!tf.getKernel('Identity', 'wasm')) fail(['identity'], "wasm's Identity kernel is not registered");
    if (!backendRegistration('wasm')) fail(['wasm-threads'], "the engine's backend registry (registryFactory.wasm) is not reachable");
  }
  if (backendName === 'cpu') {
    const b = backend as unknown as Partial<CpuBackendLike>;
    if (typeof b.readSync !== 'function' || typeof b.makeTensorInfo !== 'function') fail(['fused-bn'], 'the cpu backend has no readSync()/makeTensorInfo()');
  }
  if (backendName === 'wasm' || backendName === 'cpu') {
    // Adam's private state, as EarlyExitAdam reads and updates it
    const probe = new tf.AdamOptimizer(0.1, 0.9, 0.999);
    try {
      const s = adamState(probe);
      const ok = typeof s.beta1 === 'number' && typeof s.epsilon === 'number' && typeof s.learningRate === 'number'
        && s.accBeta1 instanceof tf.Variable && s.accBeta2 instanceof tf.Variable
        && Array.isArray(s.accumulatedFirstMoment) && Array.isArray(s.accumulatedSecondMoment);
      if (!ok) fail(['adam'], "AdamOptimizer's state (accBeta1/2, accumulatedFirst/SecondMoment, beta1/2, epsilon) is not where it was");
    } finally {
      probe.dispose();
    }
  }
  return off;
}
