/** A CLI sub-command. Each lives in its own file under src/cli/commands and registers here. */
export interface CliCommand {
  /** e.g. "macs" or "data inspect" (multi-word names are matched greedily). */
  name: string;
  /** One-line usage, e.g. "macs <backbone> [--width W] [--json]". */
  usage: string;
  summary: string;
  /** Longer help printed by `early-exit help <name>` / `<name> --help`. */
  help?: string;
  run(args: ParsedArgs): Promise<number>;
}

/** Positional arguments and `--flag value` / `--flag` options; repeated flags collect into arrays. */
export interface ParsedArgs {
  positional: string[];
  flags: Record<string, string | boolean | string[]>;
}

/** An error whose message is shown to the user without a stack trace (exit code 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

const BOOLEAN_FLAGS = new Set(['json', 'help', 'measure', 'quick', 'no-color', 'force', 'download', 'verbose', 'int8', 'sweep', 'no-shape', 'remeasure']);
const SHORT: Record<string, string> = { o: 'out', h: 'help' };

export function parseArgs(argv: string[]): ParsedArgs {
  const positional: string[] = [];
  const flags: ParsedArgs['flags'] = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { positional.push(...argv.slice(i + 1)); break; }
    let key: string | undefined;
    let value: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) { key = a.slice(2, eq); value = a.slice(eq + 1); } else key = a.slice(2);
    } else if (/^-[a-zA-Z]$/.test(a)) {
      key = SHORT[a[1]] ?? a[1];
    }
    if (key === undefined) { positional.push(a); continue; }
    if (value === undefined) {
      if (BOOLEAN_FLAGS.has(key)) value = 'true';
      else {
        if (i + 1 >= argv.length) throw new UsageError(`--${key} needs a value`);
        value = argv[++i];
      }
    }
    const prev = flags[key];
    const v: string | boolean = value === 'true' && BOOLEAN_FLAGS.has(key) ? true : value;
    if (prev === undefined) flags[key] = v;
    else flags[key] = ([] as string[]).concat(prev as any, String(v));
  }
  return { positional, flags };
}

/** The value of a single-valued string flag, or undefined. */
export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  if (v === undefined || typeof v === 'boolean') return v === true ? 'true' : undefined;
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** All values of a repeatable flag. */
export function flagList(args: ParsedArgs, name: string): string[] {
  const v = args.flags[name];
  if (v === undefined || typeof v === 'boolean') return [];
  return Array.isArray(v) ? v : [v];
}

/** A numeric flag; a non-number is a UsageError naming the flag. */
export function flagNumber(args: ParsedArgs, name: string): number | undefined {
  const s = flagString(args, name);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${s}"`);
  return n;
}
