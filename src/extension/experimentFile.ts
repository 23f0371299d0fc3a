/**
 * Experiment files (`*.exits.json`) as the extension sees them: the core parser (the one used by
 * the CLI and the worker) for the typed experiment, plus the raw JSON object that tree edits
 * rewrite, so fields the user wrote stay exactly as written.
 */
import type { BackboneName } from '../spec/backbones';
import { ValidationError } from '../spec/errors';
import { defaultExperiment, parseExperiment, type Experiment } from '../spec/experiment';
import type { ExitConfig } from '../spec/exits';

/** One placed exit as the file stores it. */
export interface PlacedExit {
  point: string;
  [field: string]: unknown;
}

export type ReadResult =
  | { ok: true; value: Experiment; json: Record<string, unknown> }
  /** `field` is the JSON path the error is about ("training.batchSize"), when the parser knows it. */
  | { ok: false; error: string; field?: string };

/** Parses and validates the text of an experiment file; errors name the JSON path. */
export function readExperiment(text: string, file = 'experiment.exits.json'): ReadResult {
  try {
    const value = parseExperiment(text, file);
    return { ok: true, value, json: JSON.parse(text) as Record<string, unknown> };
  } catch (e) {
    if (!(e instanceof ValidationError)) return { ok: false, error: (e as Error).message };
    // The parser prefixes the file name; the editor already shows which file it is.
    const error = e.message.startsWith(`${file}: `) ? e.message.slice(file.length + 2) : e.message;
    return { ok: false, error, field: e.field === file ? undefined : e.field };
  }
}

/** The file text for `json`: two-space JSON with a final newline (the format `early-exit init` writes). */
export function formatExperiment(json: unknown): string {
  return JSON.stringify(json, null, 2) + '\n';
}

/** A new experiment for `backbone`: the complete default experiment, as `early-exit init` writes it. */
export function newExperimentJson(backbone: BackboneName, name: string): Experiment {
  return defaultExperiment(backbone, name);
}

/** A complete exit at `point` with the default head and gate. */
export function newExit(point: string): ExitConfig & PlacedExit {
  return { point, head: { kind: 'pool' }, gate: { hidden: 0 } };
}

/** `json` with the exit at `point` placed (`on`) or removed, keeping exits in backbone order. */
export function withExit(json: Record<string, unknown>, point: string, on: boolean, order: readonly string[]): Record<string, unknown> {
  const exits = (Array.isArray(json.exits) ? json.exits : []) as PlacedExit[];
  const others = exits.filter((e) => e.point !== point);
  const next = on ? [...others, exits.find((e) => e.point === point) ?? newExit(point)] : others;
  next.sort((a, b) => order.indexOf(a.point) - order.indexOf(b.point));
  return { ...json, exits: next };
}

/**
 * Where `field` (a JSON path such as "exits[1].head.kind" or "training.batchSize") sits in `text`:
 * the offsets of the deepest property or array element found, or undefined.
 */
export function locateField(text: string, field: string | undefined): { start: number; end: number } | undefined {
  if (!field) return undefined;
  const parts = field.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean);
  let found: { start: number; end: number } | undefined;
  let pos = skipWs(text, 0);
  for (const part of parts) {
    const ch = text[pos];
    if (ch === '{') {
      const hit = findKey(text, pos, part);
      if (!hit) break;
      found = { start: hit.keyStart, end: hit.keyEnd };
      pos = hit.valueStart;
    } else if (ch === '[' && /^\d+$/.test(part)) {
      const at = findElement(text, pos, Number(part));
      if (at === undefined) break;
      found = { start: at, end: skipValue(text, at) };
      pos = at;
    } else break;
  }
  return found;
}

function skipWs(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i])) i++;
  return i;
}

/** The offset just after the JSON value starting at `i` (tolerates nothing: the text parsed). */
function skipValue(text: string, i: number): number {
  const ch = text[i];
  if (ch === '"') {
    for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    return i + 1;
  }
  if (ch === '{' || ch === '[') {
    let depth = 0;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '"') i = skipValue(text, i) - 1;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') if (--depth === 0) return i + 1;
    }
    return i;
  }
  while (i < text.length && !/[\s,\]}]/.test(text[i])) i++;
  return i;
}

function findKey(text: string, objStart: number, key: string): { keyStart: number; keyEnd: number; valueStart: number } | undefined {
  let i = skipWs(text, objStart + 1);
  while (i < text.length && text[i] === '"') {
    const keyEnd = skipValue(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    const valueStart = skipWs(text, skipWs(text, keyEnd) + 1); // past ':'
    if (name === key) return { keyStart: i, keyEnd, valueStart };
    i = skipWs(text, skipValue(text, valueStart));
    if (text[i] !== ',') return undefined;
    i = skipWs(text, i + 1);
  }
  return undefined;
}

function findElement(text: string, arrStart: number, index: number): number | undefined {
  let i = skipWs(text, arrStart + 1);
  for (let n = 0; i < text.length && text[i] !== ']'; n++) {
    if (n === index) return i;
    i = skipWs(text, skipValue(text, i));
    if (text[i] !== ',') return undefined;
    i = skipWs(text, i + 1);
  }
  return undefined;
}
