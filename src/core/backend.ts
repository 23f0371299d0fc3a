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
import { installAvgPoolGradient } from './pool-grad';
import { ValidationError } from './errors';

import { BACKEND_PREFERENCES, type BackendPreference } from './backend-names';

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
  const candidates = preference === 'auto' ? ORDER : [preference];
  const skipped: BackendChoice['skipped'] = [];
  for (const kind of candidates) {
    try {
      let description: string;
      switch (kind) {
        case 'gpu':
          description = await tryGpu(requireFn);
          break;
        case 'native-cpu':
          await tryNative('@tensorflow/tfjs-node', requireFn);
          description = 'tfjs-node (native libtensorflow, CPU)';
          break;
        case 'wasm': {
          requireFn('@tensorflow/tfjs-backend-wasm');
          if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
          await tf.ready();
          const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
          description = `wasm (XNNPACK${simd ? ', SIMD' : ''}, single thread)`;
          break;
        }
        case 'cpu':
          if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
          await tf.ready();
          description = 'cpu (pure JavaScript, slow)';
          break;
      }
      const replaced = kind === 'wasm' || kind === 'cpu';
      if (replaced) { installConv2dGradient(); installBatchNormGradient(); installAvgPoolGradient(); }
      return { kind, tfBackend: tf.getBackend(), description, skipped, conv2dGradientReplaced: replaced };
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
