/**
 * Whether parsed JSON has the shape the views read from a results.json (exit table, costs,
 * points, sweep, backbone, dataset): the run store checks files with it, the results webview
 * checks what its host sends. Pure, no Node.
 */

const isObj = (x: unknown): x is Record<string, any> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Why `x` is not a results file the views can show, or null when it is. */
export function resultsProblem(x: unknown): string | null {
  const r = x as Record<string, any> | null;
  const ok = isObj(r) && typeof r.method === 'string' && Array.isArray(r.hard?.rows) && typeof r.hard?.accuracy === 'number'
    && typeof r.costs?.full === 'number' && Array.isArray(r.costs?.exits) && Array.isArray(r.points) && Array.isArray(r.sweep)
    && Array.isArray(r.thresholds) && typeof r.backbone?.label === 'string' && typeof r.dataset?.name === 'string'
    && r.hard.rows.every((row: unknown) => isObj(row) && typeof row.point === 'string' && typeof row.position === 'number' && typeof row.macs === 'number');
  return ok ? null : 'not a results file (method, hard exits, costs, points, thresholds, sweep, backbone or dataset missing or of the wrong type)';
}

/** Why `x` is not a set of per-sample records (samples.json), or null when it is. */
export function samplesProblem(x: unknown): string | null {
  const s = x as Record<string, any> | null;
  const n = s?.count;
  const column = (c: unknown) => Array.isArray(c) && c.length === n;
  const ok = isObj(s) && typeof n === 'number' && column(s.labels) && Array.isArray(s.exits)
    && s.exits.every((e: any) => isObj(e) && typeof e.point === 'string' && column(e.pred) && column(e.conf) && column(e.entropy) && (e.gate === null || column(e.gate)))
    && isObj(s.final) && column(s.final.pred) && (s.softPred === null || column(s.softPred));
  return ok ? null : 'not per-sample records (count, labels, exits, final or softPred missing, of the wrong type or of another length)';
}
