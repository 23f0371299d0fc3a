/** Terminal formatting shared by the CLI commands: tables, MACs, progress bars. */
import { collapseWarning, gapText, routingOf, routingText, RULE_NAMES, splitText, tausText, tauText, type BudgetCell, type RuleComparison } from '../spec/analysis';
import { formatMacs } from '../spec/backbones';
import type { ExitTable, Timing } from '../spec/results';

import { pct } from '../runs/messages';

export { duration, pct } from '../runs/messages';

/** Left-aligned first column, right-aligned others. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The exit table in the paper's Table 2 layout, with a totals row. */
export function renderExitTable(t: ExitTable): string {
  const rows = t.rows.map((r) => [
    r.point === 'final' ? `final (#${r.position})` : `${r.point} (#${r.position})`,
    formatMacs(r.macs), `${r.macsPct.toFixed(1)}%`, String(r.count), pct(r.share, 1), pct(r.accuracy), pct(r.standalone),
  ]);
  rows.push(['total', formatMacs(t.averageMacs) + ' avg', `${t.averageMacsPct.toFixed(1)}%`, String(t.count), '100%', pct(t.accuracy), '']);
  const rule = t.rule === 'entropy' ? 'entropy ≤ τ' : t.rule === 'gate' ? 'gate ≥ τ' : 'confidence ≥ τ';
  const taus = new Set(t.thresholds).size === 1 ? tauText(t.thresholds[0]) : `[${t.thresholds.map(tauText).join(', ')}]`;
  return `exits fire when ${rule}, τ = ${taus}\n` + renderTable(['exit', 'MACs', '% full', 'inputs', 'share', 'acc. leaving', 'standalone'], rows);
}

/** "[#########-----------]  45%" */
export function bar(fraction: number, width = 24): string {
  const f = Math.max(0, Math.min(1, fraction));
  const n = Math.round(f * width);
  return `[${'#'.repeat(n)}${'-'.repeat(width - n)}] ${String(Math.round(f * 100)).padStart(3)}%`;
}

/** Redraws one status line on a TTY; on a pipe prints at most every `everyMs`. */
export class StatusLine {
  private lastPrint = 0;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly everyMs = 5000) {}
  update(text: string, force = false): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${text.slice(0, (this.stream.columns ?? 120) - 1)}`);
    } else if (force || Date.now() - this.lastPrint > this.everyMs) {
      this.stream.write(text + '\n');
      this.lastPrint = Date.now();
    }
  }
  done(text?: string): void {
    if (this.stream.isTTY) this.stream.write('\r\x1b[2K');
    if (text) this.stream.write(text + '\n');
  }
}

/** The routing line of an exit table, and the collapse warning when one exit takes ≥ 95 % of the inputs. */
export function renderRouting(t: ExitTable): string {
  const r = routingOf(t);
  const warning = collapseWarning(r);
  return `routing: ${routingText(r)}${warning ? `\nWARNING: ${warning}` : ''}`;
}

/** Every rule on the same network: the area between the learned gates' curve and each other rule's. */
export function renderRuleComparison(c: RuleComparison): string {
  const best = c.curves.map((k) => {
    const top = k.front[k.front.length - 1];
    return `${RULE_NAMES[k.rule]} ${top ? `${pct(top.accuracy)} at best (${top.averageMacsPct.toFixed(0)} % MACs)` : '—'}`;
  });
  return [`every rule on this network (one τ for all exits, swept 0…1): ${best.join('; ')}`, ...c.gaps.map((g) => `  ${gapText(g)}`)].join('\n');
}

/** The budget table: per budget and rule, τ picked on validation, the test accuracy, MACs, split (and measured time saved). */
export function renderBudgetTable(cells: readonly BudgetCell[], timings?: readonly (Timing | null)[]): string {
  const rows = cells.map((c, i) => {
    const t = c.calibration.test;
    const time = timings?.[i];
    return [
      `${Math.round(100 * c.share)} %`, RULE_NAMES[c.rule], tausText(c.calibration.thresholds),
      c.calibration.met ? 'yes' : 'NO', pct(t.accuracy), `${t.averageMacsPct.toFixed(1)}%`, splitText(c.routing) + (c.routing.collapsed ? ' (collapsed)' : ''),
      ...(timings ? [time ? `${time.timeSavedPct.toFixed(0)}%` : '—'] : []),
    ];
  });
  return renderTable(['budget', 'rule', 'τ', 'met', 'test acc.', 'avg MACs', 'split', ...(timings ? ['time saved'] : [])], rows);
}

/**
 * A MACs count as people write it (and as formatMacs prints it): "1500000", "1.5M", "1.5 M",
 * "800k", "2G"; undefined when it is not one.
 */
export function parseMacs(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kKmMgG]?)\s*(?:MACs?)?\s*$/.exec(text);
  if (!m) return undefined;
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * scale;
}
