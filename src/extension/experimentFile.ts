/**
 * The slice of an experiment file (`*.exits.json`) the Branches tree needs: the backbone and the
 * placed exits. The complete parser/validator belongs to the run store (issue 4); until it lands
 * this reads only these two fields and reports what it cannot use, never guessing.
 */
import { BACKBONE_NAMES, type BackboneConfig, type BackboneName } from '../core/backbones';

/** One placed exit as the file stores it; only `point` is interpreted here. */
export interface PlacedExit {
  point: string;
  [field: string]: unknown;
}

export interface ExperimentSlice {
  backbone: BackboneConfig;
  exits: PlacedExit[];
}

export type ReadResult = { ok: true; value: ExperimentSlice; json: Record<string, unknown> } | { ok: false; error: string };

const DEFAULT_INPUT: [number, number, number] = [32, 32, 3];

/** Parses the text of an experiment file into the slice; errors name the JSON path. */
export function readExperiment(text: string): ReadResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `not valid JSON: ${(e as Error).message}` };
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return { ok: false, error: 'the file must hold a JSON object' };
  const obj = json as Record<string, unknown>;
  const b = obj.backbone as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object') return { ok: false, error: 'backbone: missing (e.g. { "name": "resnet18" })' };
  if (!BACKBONE_NAMES.includes(b.name as BackboneName)) {
    return { ok: false, error: `backbone.name: unknown backbone "${String(b.name)}"; allowed: ${BACKBONE_NAMES.join(', ')}` };
  }
  const backbone: BackboneConfig = {
    name: b.name as BackboneName,
    width: typeof b.width === 'number' ? b.width : 1,
    input: Array.isArray(b.input) ? (b.input as [number, number, number]) : DEFAULT_INPUT,
    classes: typeof b.classes === 'number' ? b.classes : 10,
  };
  const rawExits = obj.exits ?? [];
  if (!Array.isArray(rawExits)) return { ok: false, error: 'exits: must be a list of { "point": "<id>", … }' };
  const exits: PlacedExit[] = [];
  for (const [i, e] of rawExits.entries()) {
    if (!e || typeof e !== 'object' || typeof (e as PlacedExit).point !== 'string') {
      return { ok: false, error: `exits[${i}].point: must be the id of a candidate exit point` };
    }
    exits.push(e as PlacedExit);
  }
  return { ok: true, value: { backbone, exits }, json: obj };
}

/** The file text for `json`: two-space JSON with a final newline, the format the tree keeps. */
export function formatExperiment(json: unknown): string {
  return JSON.stringify(json, null, 2) + '\n';
}

/** A new experiment for `backbone`: CIFAR-sized input, ten classes, no exits placed yet. */
export function newExperimentJson(backbone: BackboneName): Record<string, unknown> {
  return {
    backbone: { name: backbone, width: 1, input: [...DEFAULT_INPUT], classes: 10 },
    exits: [],
  };
}

/** `json` with the exit at `point` placed (`on`) or removed, keeping exits in backbone order. */
export function withExit(json: Record<string, unknown>, point: string, on: boolean, order: readonly string[]): Record<string, unknown> {
  const exits = (Array.isArray(json.exits) ? json.exits : []) as PlacedExit[];
  const others = exits.filter((e) => e.point !== point);
  const next = on ? [...others, exits.find((e) => e.point === point) ?? { point }] : others;
  next.sort((a, b) => order.indexOf(a.point) - order.indexOf(b.point));
  return { ...json, exits: next };
}
