/**
 * How a run is named where several are shown together (the Compare and Export pickers, the
 * comparison table and chart legends, the report): the facts that tell runs of one experiment
 * apart (λ, epochs, accuracy) and a short form of the run id. Pure: the extension, the webviews and
 * the CLI use it.
 */

/** A run's dataset as shown: its name, and "(synthetic)" when generated images stood in for it (not twice for the synthetic set itself). */
export function datasetText(d: { name: string; synthetic?: boolean }): string {
  return `${d.name}${d.synthetic && d.name !== 'synthetic' ? ' (synthetic)' : ''}`;
}

/** "1 epoch", "3 epochs". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * A run id without what its list already says: `20261130-132145-demo-wfqw` → `demo·wfqw` (the
 * experiment name and the random suffix that tells runs started in the same second apart); other
 * ids are returned as they are.
 */
export function shortRunId(id: string): string {
  const m = /^\d{8}-\d{6}-(.+?)(?:-([a-z0-9]{4}))?$/.exec(id);
  if (!m) return id;
  return m[2] ? `${m[1]}·${m[2]}` : m[1];
}

/** When a run id says it was created (`YYYYMMDD-HHMMSS-…`), in local time; undefined otherwise. */
export function runIdTime(id: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-/.exec(id);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  return new Date(y, mo - 1, d, h, mi, s);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "13:21:45" for a run created today, "Nov 29 13:21" otherwise; the id itself when it has no time. */
export function runTimeLabel(id: string, now = new Date()): string {
  const t = runIdTime(id);
  if (!t) return id;
  const p = (n: number) => String(n).padStart(2, '0');
  const today = t.getFullYear() === now.getFullYear() && t.getMonth() === now.getMonth() && t.getDate() === now.getDate();
  return today ? `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}` : `${MONTHS[t.getMonth()]} ${t.getDate()} ${p(t.getHours())}:${p(t.getMinutes())}`;
}

/** What tells one run from another: "λ = 0.5 · 3 epochs · 84.2 %" (parts that are unknown are left out). */
export function runFacts(r: { lambda?: number | null; epochs?: number | null; accuracy?: number | null }): string {
  const parts: string[] = [];
  if (r.lambda !== null && r.lambda !== undefined) parts.push(`λ = ${r.lambda}`);
  if (r.epochs) parts.push(plural(r.epochs, 'epoch'));
  if (r.accuracy !== null && r.accuracy !== undefined) parts.push(`${(100 * r.accuracy).toFixed(1)} %`);
  return parts.join(' · ');
}
