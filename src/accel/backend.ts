/**
 * Run-time selection of the TF.js backend, fastest first:
 *   tfjs-node-gpu (CUDA) → tfjs-node (native libtensorflow) → wasm (XNNPACK, SIMD) → cpu (pure JS).
 * The native packages are optionalDependencies: they are skipped when missing (MODULE_NOT_FOUND,
 * e.g. their install could not download libtensorflow) or present but broken (missing
 * tfjs_binding.node, ERR_DLOPEN_FAILED, CUDA libraries not found). The chosen backend and why
 * every faster one was skipped are reported to the user.
 */
import * as tf from '@tensorflow/tfjs';
import { installBatchNormGradient } from './batchnorm-grad';
import { installConv2dGradient } from './conv2d-grad';
import { installFusedAdam } from './fused-adam';
import { installFusedBatchNorm } from './fused-bn';
import { installZeroCopyIdentity } from './identity-kernel';
import { setWasmSimdThreads, wasmSimdUnavailable, type WasmBackendLike } from './wasm-simd';
import { installPoolGradients } from './pool-grad';
import { ValidationError } from '../spec/errors';
import { prepareThreadedWasm, unrefPoolThreads, wantedWasmThreads, type ThreadedWasmPatch } from './wasm-threads';

import { BACKEND_PREFERENCES, type BackendPreference } from '../spec/backend-names';

export { BACKEND_PREFERENCES, type BackendPreference };

export interface BackendChoice {
  /** The preference that won: 'gpu' | 'native-cpu' | 'wasm' | 'cpu'. */
  kind: Exclude<BackendPreference, 'auto'>;
  /** tfjs backend name ("tensorflow", "wasm", "cpu"). */
  tfBackend: string;
  /** A one-line description for logs and status.json. */
  description: string;
  /** Faster backends that were tried and skipped, with the reason. */
  skipped: { kind: string; reason: string }[];
  /** True when the Conv2D gradient replacement was installed. */
  conv2dGradientReplaced: boolean;
  /** wasm only: XNNPACK threads (1 = the single-threaded binary). */
  threads?: number;
}

interface WasmPackage { setThreadsCount(n: number): void; getThreadsCount(): number; setWasmPaths(paths: Record<string, string>): void }

/**
 * Initialises the wasm backend, multithreaded when more than one core is wanted (see
 * wasm-threads.ts). If the threaded binary cannot be set up or does not come up with the threads
 * asked for, the backend is initialised single-threaded and the reason is returned.
 */
async function initWasm(wasmPkg: WasmPackage, requireFn: NodeRequire): Promise<{ count: number; why?: string }> {
  const before = { uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection') };
  try {
    return await initWasmBinary(wasmPkg, requireFn);
  } finally {
    // emscripten's module installs process handlers that rethrow every uncaught error from inside
    // its one-line minified source, so Node prints ~40-60 KB of wasm glue code with the error: drop them.
    for (const l of process.listeners('uncaughtException')) if (!before.uncaughtException.includes(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!before.unhandledRejection.includes(l)) process.removeListener('unhandledRejection', l);
  }
}

async function initWasmBinary(wasmPkg: WasmPackage, requireFn: NodeRequire): Promise<{ count: number; why?: string }> {
  const wanted = wantedWasmThreads();
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
    const registration = (tf.engine() as unknown as { registryFactory: Record<string, { factory: () => Promise<tf.KernelBackend>; priority: number }> }).registryFactory.wasm;
    if (tf.findBackend('wasm') && registration) {
      tf.removeBackend('wasm');
      tf.registerBackend('wasm', registration.factory, registration.priority);
    }
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
  await tf.ready();
  return { count: 1, why };
}

const ORDER: Exclude<BackendPreference, 'auto'>[] = ['gpu', 'native-cpu', 'wasm', 'cpu'];

/** Shortens a load error to its cause. */
export function explainLoadError(pkg: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException & { message?: string };
  const msg = String(e?.message ?? err).split('\n')[0];
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
): Promise<BackendChoice> {
  if (!BACKEND_PREFERENCES.includes(preference)) {
    throw new ValidationError(`backend: unknown backend "${preference}"; allowed: ${BACKEND_PREFERENCES.join(', ')}`, 'backend');
  }
  wantedWasmThreads(); // a bad EARLY_EXIT_WASM_THREADS fails here, rather than making `auto` skip wasm
  const candidates = preference === 'auto' ? ORDER : [preference];
  const skipped: BackendChoice['skipped'] = [];
  for (const kind of candidates) {
    try {
      let description: string;
      let wasmThreads: number | undefined;
      switch (kind) {
        case 'gpu':
          description = await tryGpu(requireFn);
          break;
        case 'native-cpu':
          await tryNative('@tensorflow/tfjs-node', requireFn);
          description = 'tfjs-node (native libtensorflow, CPU)';
          break;
        case 'wasm': {
          const wasmPkg = requireFn('@tensorflow/tfjs-backend-wasm') as WasmPackage;
          const threads = await initWasm(wasmPkg, requireFn);
          const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
          const threadText = `${threads.count > 1 ? `${threads.count} threads` : 'single thread'}${threads.why ? ` (${threads.why})` : ''}`;
          setWasmSimdThreads(threads.count);
          const ownKernels = wasmSimdUnavailable(tf.backend() as unknown as WasmBackendLike);
          description = `wasm (XNNPACK${simd ? ', SIMD' : ''}, ${threadText}${ownKernels ? `; own SIMD kernels off, tfjs ops instead: ${ownKernels}` : ''})`;
          wasmThreads = threads.count;
          break;
        }
        case 'cpu':
          if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
          await tf.ready();
          description = 'cpu (pure JavaScript, slow)';
          break;
      }
      const replaced = kind === 'wasm' || kind === 'cpu';
      if (replaced) { installConv2dGradient(); installBatchNormGradient(); installPoolGradients(); installFusedBatchNorm(); }
      if (kind === 'wasm') { installZeroCopyIdentity(); installFusedAdam(); }
      return { kind, tfBackend: tf.getBackend(), description, skipped, conv2dGradientReplaced: replaced, ...(wasmThreads ? { threads: wasmThreads } : {}) };
    } catch (err) {
      const pkg = kind === 'gpu' ? '@tensorflow/tfjs-node-gpu' : kind === 'native-cpu' ? '@tensorflow/tfjs-node' : kind === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : 'cpu';
      const reason = explainLoadError(pkg, err);
      if (preference !== 'auto') {
        throw new Error(`backend "${preference}" is not available: ${reason}`, { cause: err });
      }
      skipped.push({ kind, reason });
    }
  }
  throw new Error(`no TF.js backend could be initialised:\n${skipped.map((s) => `  ${s.kind}: ${s.reason}`).join('\n')}`);
}

/** "wasm (XNNPACK, SIMD, single thread); skipped gpu: …; native-cpu: …" */
export function describeChoice(c: BackendChoice): string {
  const skipped = c.skipped.map((s) => `${s.kind}: ${s.reason}`).join('; ');
  return skipped ? `${c.description}; skipped ${skipped}` : c.description;
}
