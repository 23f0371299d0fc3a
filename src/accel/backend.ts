/**
 * Run-time selection of the TF.js backend, fastest first:
 *   tfjs-node-gpu (CUDA) → webgpu (Dawn: Vulkan/Metal/D3D12, hardware adapters only) →
 *   tfjs-node (native libtensorflow) → wasm (XNNPACK, SIMD) → cpu (pure JS).
 * The native packages are optionalDependencies: they are skipped when missing (MODULE_NOT_FOUND,
 * e.g. their install could not download libtensorflow) or present but broken (missing
 * tfjs_binding.node, ERR_DLOPEN_FAILED, CUDA libraries not found). The chosen backend and why
 * every faster one was skipped are reported to the user.
 */
import * as tf from '@tensorflow/tfjs-core';
import { installBatchNormGradient } from './batchnorm-grad';
import { installConv2dGradient } from './conv2d-grad';
import { installFusedAdam } from './fused-adam';
import { installFusedBatchNorm } from './fused-bn';
import { installZeroCopyIdentity } from './identity-kernel';
import { setWasmSimdThreads, wasmSimdUnavailable } from './wasm-simd';
import { installPoolGradients } from './pool-grad';
import { ValidationError } from '../spec/errors';
import { ACCEL_PARTS, parseStock, type AccelPart } from '../spec/accel-parts';
import { backendRegistration, checkTfjsInternals, enableReplacedGradients, unrefPoolThreads, wasmBackend } from './tfjs-internals';
import { prepareThreadedWasm, wantedWasmThreads, type ThreadedWasmPatch } from './wasm-threads';
import { adapterLabel, explainWebgpuLoadError, initWebgpu, WEBGPU_PACKAGE, type WebGpuAdapter } from './webgpu';

// the TF.js backends only: `torch` is another engine (src/engine/torch), chosen before tfjs loads
import { TFJS_BACKEND_PREFERENCES as BACKEND_PREFERENCES, type TfjsBackendPreference as BackendPreference } from '../spec/backend-names';

export { BACKEND_PREFERENCES, type BackendPreference };

export interface BackendChoice {
  /** The preference that won: 'gpu' | 'webgpu' | 'native-cpu' | 'wasm' | 'cpu'. */
  kind: Exclude<BackendPreference, 'auto'>;
  /** tfjs backend name ("tensorflow", "wasm", "cpu"). */
  tfBackend: string;
  /** A one-line description for logs and status.json. */
  description: string;
  /** Faster backends that were tried and skipped, with the reason. */
  skipped: { kind: string; reason: string }[];
  /** Parts of our acceleration that are off on this backend, each with why (stock requested, a failed check, n/a). */
  stock: Map<AccelPart, string>;
  /** wasm only: XNNPACK threads (1 = the single-threaded binary). */
  threads?: number;
  /** webgpu only: the adapter it runs on. */
  adapter?: WebGpuAdapter;
}

/** Which parts apply to a backend at all. */
const APPLIES: Record<'wasm' | 'cpu', readonly AccelPart[]> = {
  wasm: ACCEL_PARTS,
  cpu: ['conv-grad', 'bn-grad', 'pool-grad', 'fused-bn', 'host-heads'],
};

interface WasmPackage { setThreadsCount(n: number): void; getThreadsCount(): number; setWasmPaths(paths: Record<string, string>): void }

/**
 * Initialises the wasm backend, multithreaded when more than one core is wanted (see
 * wasm-threads.ts). If the threaded binary cannot be set up or does not come up with the threads
 * asked for, the backend is initialised single-threaded and the reason is returned.
 */
async function initWasm(wasmPkg: WasmPackage, requireFn: NodeRequire, threaded: boolean): Promise<{ count: number; why?: string }> {
  const before = { uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection') };
  try {
    return await initWasmBinary(wasmPkg, requireFn, threaded);
  } finally {
    // emscripten's module installs process handlers that rethrow every uncaught error from inside
    // its one-line minified source, so Node prints ~40-60 KB of wasm glue code with the error: drop them.
    for (const l of process.listeners('uncaughtException')) if (!before.uncaughtException.includes(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!before.unhandledRejection.includes(l)) process.removeListener('unhandledRejection', l);
  }
}

async function initWasmBinary(wasmPkg: WasmPackage, requireFn: NodeRequire, threaded: boolean): Promise<{ count: number; why?: string }> {
  const wanted = threaded ? wantedWasmThreads() : 1;
  let why: string | undefined;
  if (wanted > 1) {
    let patch: ThreadedWasmPatch | undefined;
    try {
      patch = prepareThreadedWasm(wasmPkg, wanted, requireFn.resolve('@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js'));
      const ok = await tf.setBackend('wasm');
      const err = patch.error();
      if (err) throw err;
      if (!ok) throw new Error('the threaded wasm binary did not initialise');
      await tf.ready();
      unrefPoolThreads(tf.backend());
      const got = wasmPkg.getThreadsCount();
      if (got > 1) return { count: got, why: patch.spinNote };
      why = `the threaded binary came up with ${got} thread(s)`;
    } catch (e) {
      why = `threads unavailable: ${String((e as Error)?.message ?? e).split('\n')[0]}`;
    } finally {
      patch?.restore();
    }
    // Back to the single-threaded binary: a fresh backend instance with the flag off.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasmPkg.setThreadsCount(1);
    const registration = backendRegistration('wasm');
    if (tf.findBackend('wasm') && registration) {
      tf.removeBackend('wasm');
      tf.registerBackend('wasm', registration.factory, registration.priority);
    }
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  await tf.ready();
  return { count: 1, why };
}

/** The order `auto` tries the backends in. */
export const AUTO_ORDER: Exclude<BackendPreference, 'auto'>[] = ['gpu', 'webgpu', 'native-cpu', 'wasm', 'cpu'];

/** Shortens a load error to its cause. */
export function explainLoadError(pkg: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException & { message?: string };
  const msg = String(e?.message ?? err).split('\n')[0];
  if (pkg === WEBGPU_PACKAGE) return explainWebgpuLoadError(err) ?? msg;
  if (e?.code === 'MODULE_NOT_FOUND' && msg.includes(pkg)) {
    return `${pkg} is not installed (it is optional; its install downloads libtensorflow, which needs network access)`;
  }
  if (/tfjs_binding\.node/.test(msg)) return `${pkg} is installed but its native addon is missing (the libtensorflow download during install failed): ${msg}`;
  if (e?.code === 'ERR_DLOPEN_FAILED' || /\.so[.\d]*/.test(msg)) {
    const cuda = /cud|cublas|cufft|curand|cusolver|cusparse/i.test(msg)
      ? ' — tfjs-node-gpu 4.22 needs CUDA 11.2 and cuDNN 8.1 on the library path' : '';
    return `${pkg} is installed but its native library failed to load: ${msg}${cuda}`;
  }
  return `${pkg} failed to load: ${msg}`;
}

async function tryNative(pkg: string, requireFn: NodeRequire): Promise<void> {
  requireFn(pkg);
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but the "tensorflow" backend did not initialise`);
  await tf.ready();
}

async function tryGpu(requireFn: NodeRequire): Promise<string> {
  await tryNative('@tensorflow/tfjs-node-gpu', requireFn);
  // tfjs-node-gpu silently runs on the CPU when no CUDA device is visible; say so instead.
  const probe = tf.tidy(() => tf.matMul(tf.ones([4, 4]), tf.ones([4, 4])).dataSync()[0]);
  if (probe !== 4) throw new Error('GPU backend computed a wrong result');
  return 'tfjs-node-gpu (CUDA)';
}

/**
 * Selects and initialises a backend. With `auto`, tries every backend in order; with a specific
 * preference, uses that one or fails with the reason (never silently falls back).
 */
export async function selectBackend(
  preference: BackendPreference = 'auto',
  requireFn: NodeRequire = require,
  opts: { stock?: string } = {},
): Promise<BackendChoice> {
  if (!BACKEND_PREFERENCES.includes(preference)) {
    throw new ValidationError(`backend: unknown backend "${preference}"; allowed: ${BACKEND_PREFERENCES.join(', ')}`, 'backend');
  }
  const stock = parseStock(opts.stock ?? process.env.EARLY_EXIT_STOCK); // a bad list fails here, not mid-run
  wantedWasmThreads(); // a bad EARLY_EXIT_WASM_THREADS fails here, rather than making `auto` skip wasm
  const candidates = preference === 'auto' ? AUTO_ORDER : [preference];
  const skipped: BackendChoice['skipped'] = [];
  for (const kind of candidates) {
    try {
      let description: string;
      let wasmThreads: number | undefined;
      let adapter: WebGpuAdapter | undefined;
      switch (kind) {
        case 'gpu':
          description = await tryGpu(requireFn);
          break;
        case 'webgpu':
          adapter = await initWebgpu(requireFn, preference === 'webgpu');
          description = `webgpu (tfjs's own kernels, Dawn over ${adapter.api}: ${adapterLabel(adapter)}`
            + `${adapter.software ? `; ${adapter.software}, a correctness path, far slower than wasm` : ''}${adapter.watch ? `; ${adapter.watch}` : ''})`;
          break;
        case 'native-cpu':
          await tryNative('@tensorflow/tfjs-node', requireFn);
          description = 'tfjs-node (native libtensorflow, CPU)';
          break;
        case 'wasm': {
          const wasmPkg = requireFn('@tensorflow/tfjs-backend-wasm') as WasmPackage;
          const threads = await initWasm(wasmPkg, requireFn, !stock.has('wasm-threads'));
          const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
          const threadText = `${threads.count > 1 ? `${threads.count} threads` : 'single thread'}${threads.why ? ` (${threads.why})` : ''}`;
          setWasmSimdThreads(stock.has('simd-helpers') ? 1 : threads.count);
          description = `wasm (XNNPACK${simd ? ', SIMD' : ''}, ${threadText})`;
          wasmThreads = threads.count;
          break;
        }
        case 'cpu':
          if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
          await tf.ready();
          description = 'cpu (pure JavaScript, slow)';
          break;
      }
      const off = kind === 'wasm' || kind === 'cpu' ? accelerate(kind, stock) : new Map(ACCEL_PARTS.map((p) => [p, 'not used on this backend'] as const));
      const offText = describeOff(kind, off, stock);
      return {
        kind, tfBackend: tf.getBackend(), description: description + offText, skipped, stock: off,
        ...(wasmThreads ? { threads: wasmThreads } : {}), ...(adapter ? { adapter } : {}),
      };
    } catch (err) {
      const pkg = kind === 'gpu' ? '@tensorflow/tfjs-node-gpu' : kind === 'native-cpu' ? '@tensorflow/tfjs-node' : kind === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : kind === 'webgpu' ? WEBGPU_PACKAGE : 'cpu';
      const reason = explainLoadError(pkg, err);
      if (preference !== 'auto') {
        throw new Error(`backend "${preference}" is not available: ${reason}`, { cause: err });
      }
      skipped.push({ kind, reason });
    }
  }
  throw new Error(`no TF.js backend could be initialised:\n${skipped.map((s) => `  ${s.kind}: ${s.reason}`).join('\n')}`);
}

/**
 * Puts our acceleration under the active backend (wasm or cpu), part by part: off where asked
 * (`stock`), where it does not apply, or where its start-up check fails. Returns what is off and why.
 */
function accelerate(kind: 'wasm' | 'cpu', stock: Set<AccelPart>): Map<AccelPart, string> {
  const off = new Map<AccelPart, string>();
  for (const p of ACCEL_PARTS) {
    if (!APPLIES[kind].includes(p)) off.set(p, 'not used on this backend');
    else if (stock.has(p)) off.set(p, 'stock requested');
  }
  for (const [p, why] of checkTfjsInternals()) if (!off.has(p)) off.set(p, why);
  if (kind === 'wasm') {
    const why = wasmSimdUnavailable(wasmBackend(tf.backend()));
    if (why) for (const p of ['fused-bn', 'conv-filter-grad', 'conv-input-grad', 'adam', 'simd-helpers'] as const) if (!off.has(p)) off.set(p, why);
  }
  const on = (p: AccelPart) => !off.has(p);
  const attempt = (parts: AccelPart[], install: () => void) => {
    try { install(); } catch (e) { for (const p of parts) off.set(p, String((e as Error)?.message ?? e).split('\n')[0]); }
  };
  enableReplacedGradients(kind);
  // wasm has no Conv2DBackpropFilter/Input kernels: there the gradient stays ours (tfjs ops only when stock)
  attempt(['conv-grad', 'conv-filter-grad', 'conv-input-grad'], () => installConv2dGradient({
    gradient: on('conv-grad') || kind === 'wasm', filterKernel: kind === 'wasm' && on('conv-filter-grad'), interleave: kind === 'wasm' && on('conv-input-grad'),
  }));
  attempt(['bn-grad'], () => installBatchNormGradient(on('bn-grad')));
  attempt(['pool-grad'], () => installPoolGradients(on('pool-grad'), kind === 'wasm' && on('pool-grad')));
  attempt(['fused-bn'], () => installFusedBatchNorm(on('fused-bn')));
  if (kind === 'wasm') {
    attempt(['identity'], () => installZeroCopyIdentity(on('identity')));
    attempt(['adam'], () => installFusedAdam(on('adam')));
  }
  return off;
}

/** "; our kernels off: all (stock requested)" or "; off: adam (tfjs 4.23.0: …)"; empty when all apply. */
function describeOff(kind: string, off: Map<AccelPart, string>, stock: Set<AccelPart>): string {
  const relevant = [...off].filter(([, why]) => why !== 'not used on this backend');
  if (!relevant.length) return '';
  const requested = relevant.filter(([, why]) => why === 'stock requested').map(([p]) => p);
  const failed = relevant.filter(([, why]) => why !== 'stock requested');
  const parts: string[] = [];
  if (requested.length) parts.push(`stock tfjs for ${stock.size === ACCEL_PARTS.length ? 'all our acceleration' : requested.join(', ')}${kind === 'wasm' && requested.includes('conv-grad') ? ' (the Conv2D gradient stays as tfjs forward convolutions: wasm has no Conv2DBackpropFilter)' : ''}`);
  if (failed.length) parts.push(`off, tfjs's own instead: ${failed.map(([p, why]) => `${p} (${why})`).join('; ')}`);
  return `; ${parts.join('; ')}`;
}

/** "wasm (XNNPACK, SIMD, single thread); skipped gpu: …; native-cpu: …" */
export function describeChoice(c: BackendChoice): string {
  const skipped = c.skipped.map((s) => `${s.kind}: ${s.reason}`).join('; ');
  return skipped ? `${c.description}; skipped ${skipped}` : c.description;
}

/** One backend as `early-exit doctor` reports it. */
export interface BackendProbe {
  kind: Exclude<BackendPreference, 'auto'>;
  /** whether it initialises when asked for by name */
  available: boolean;
  /** whether `auto` may take it (a software WebGPU adapter is available by name only) */
  auto: boolean;
  /** the backend line when available, else why not */
  detail: string;
  adapter?: WebGpuAdapter;
}

/**
 * Every backend asked for by name, in `auto`'s order, then `auto` itself: what runs here and why
 * the rest does not. Leaves `auto`'s choice active. For diagnosis (`early-exit doctor`): it loads
 * every package that is installed.
 */
export async function probeBackends(requireFn: NodeRequire = require): Promise<{ backends: BackendProbe[]; auto: BackendChoice }> {
  const backends: BackendProbe[] = [];
  for (const kind of AUTO_ORDER) {
    try {
      const c = await selectBackend(kind, requireFn);
      backends.push({ kind, available: true, auto: !c.adapter?.software, detail: c.description, ...(c.adapter ? { adapter: c.adapter } : {}) });
    } catch (e) {
      backends.push({ kind, available: false, auto: false, detail: String((e as Error)?.message ?? e).replace(`backend "${kind}" is not available: `, '') });
    }
  }
  return { backends, auto: await selectBackend('auto', requireFn) };
}
