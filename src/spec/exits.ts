/**
 * Exits as an experiment places them, and their validation. No tfjs here: the experiment parser
 * (and through it the extension host) uses this; the network itself is built in model.ts.
 */
import { buildBackboneIR, type BackboneConfig } from './backbones';
import { ValidationError } from './errors';

export type HeadKind = 'pool' | 'conv-pool' | 'pool-mlp';
export const HEAD_KINDS: readonly HeadKind[] = ['pool', 'conv-pool', 'pool-mlp'];

/**
 * Default pooling grid of a head: features are average-pooled to at most 4×4 cells before the
 * dense layer (1 would be a global average pool).
 */
export const DEFAULT_HEAD_GRID = 4;

/** An exit placed at a backbone point. */
export interface ExitConfig {
  point: string;
  /** f_b: "pool" = average pool to head.grid² cells (default 4×4; 1 = global) + dense; "conv-pool" = conv3×3 + BN + ReLU + pool + dense; "pool-mlp" = pool + dense-ReLU + dense. */
  head: { kind: HeadKind; channels?: number; grid?: number };
  /** g_b: sigmoid of a dense layer on the head's features (with an optional hidden ReLU layer). */
  gate: { hidden: number };
}

/** Validates exits against the backbone: known points, no duplicates, known heads. */
export function validateExits(backbone: BackboneConfig, exits: ExitConfig[], path = 'exits'): void {
  const ids = buildBackboneIR(backbone).blocks.map((b) => b.id);
  const seen = new Set<string>();
  exits.forEach((e, i) => {
    if (!ids.includes(e.point)) {
      throw new ValidationError(`${path}[${i}].point: "${e.point}" is not a point of ${backbone.name}; allowed: ${ids.join(', ')}`, `${path}[${i}].point`);
    }
    if (seen.has(e.point)) throw new ValidationError(`${path}[${i}].point: duplicate exit at "${e.point}"`, `${path}[${i}].point`);
    seen.add(e.point);
    if (!HEAD_KINDS.includes(e.head?.kind)) {
      throw new ValidationError(`${path}[${i}].head.kind: unknown head "${e.head?.kind}"; allowed: ${HEAD_KINDS.join(', ')}`, `${path}[${i}].head.kind`);
    }
    if (e.head.channels !== undefined && !(Number.isInteger(e.head.channels) && e.head.channels > 0)) {
      throw new ValidationError(`${path}[${i}].head.channels: must be a positive integer`, `${path}[${i}].head.channels`);
    }
    if (e.head.grid !== undefined && !(Number.isInteger(e.head.grid) && e.head.grid >= 1 && e.head.grid <= 32)) {
      throw new ValidationError(`${path}[${i}].head.grid: must be an integer from 1 (global average pool) to 32`, `${path}[${i}].head.grid`);
    }
    if (!(Number.isInteger(e.gate?.hidden) && e.gate.hidden >= 0)) {
      throw new ValidationError(`${path}[${i}].gate.hidden: must be an integer ≥ 0 (0 = a single dense layer)`, `${path}[${i}].gate.hidden`);
    }
  });
}
