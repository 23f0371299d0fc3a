/**
 * Our acceleration, part by part, so that any of it can be switched off and the product compared
 * with stock tfjs: `early-exit train --stock all` (or a list), `EARLY_EXIT_STOCK` for the worker.
 * A part also goes off by itself when its start-up check fails (src/accel/tfjs-internals.ts). The
 * names live in the spec tier, like the backend names, so the CLI and the extension can check them.
 */
import { ValidationError } from './errors';

export const ACCEL_PARTS = [
  /** the Conv2D gradient as forward convolutions (wasm has no Conv2DBackpropFilter: it stays on there, in its tfjs-op form) */
  'conv-grad',
  /** the filter gradient as one SIMD kernel (wasm) */
  'conv-filter-grad',
  /** strided input gradients as one convolution per phase + an interleave kernel (wasm) */
  'conv-input-grad',
  /** FusedBatchNorm's gradient without broadcasting copies */
  'bn-grad',
  /** AvgPool / MaxPool gradients for tiling windows (+ a SIMD max-pool kernel on wasm) */
  'pool-grad',
  /** training batch norm + residual + ReLU as one kernel each way (wasm SIMD, cpu JavaScript) */
  'fused-bn',
  /** wasm's Identity without a copy */
  'identity',
  /** Adam as one kernel per variable (wasm) */
  'adam',
  /** tfjs's threaded XNNPACK binary in Node (wasm) */
  'wasm-threads',
  /** helper threads for our SIMD kernels (wasm) */
  'simd-helpers',
  /** batch-1 exit heads and final classifier in JavaScript where cheaper (timing) */
  'host-heads',
] as const;

export type AccelPart = (typeof ACCEL_PARTS)[number];

/** Parts named by `--stock` / `EARLY_EXIT_STOCK`: "all", or a comma list; empty or undefined = none. */
export function parseStock(text: string | undefined, field = 'EARLY_EXIT_STOCK'): Set<AccelPart> {
  const names = (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (names.includes('all')) return new Set(ACCEL_PARTS);
  for (const n of names) {
    if (!(ACCEL_PARTS as readonly string[]).includes(n)) {
      throw new ValidationError(`${field}: unknown part "${n}"; allowed: all, ${ACCEL_PARTS.join(', ')}`, field);
    }
  }
  return new Set(names as AccelPart[]);
}
