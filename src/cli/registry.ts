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

const BOOLEAN_FLAGS = new Set(['json', 'help', 'measure', 'force', 'download', 'int8', 'sweep', 'no-shape', 'remeasure', 'per-exit', 'compare-rules']);
const SHORT: Record<string, string> = { o: 'out', h: 'help' };

/** With `cmd`, an option it does not take is refused where it stands (before asking for its value). */
export function parseArgs(argv: string[], cmd?: CliCommand): ParsedArgs {
  const known = cmd && documentedFlags(cmd);
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
    if (cmd && known && !known.has(key)) throw unknownOption(cmd, known, a.startsWith('--') ? `--${key}` : a);
    if (value === undefined) {
      if (BOOLEAN_FLAGS.has(key)) value = 'true';
      else {
        if (i + 1 >= argv.length) throw new UsageError(`${a.startsWith('--') ? `--${key}` : a} needs a value`);
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

/**
 * The options a command takes are the ones its usage and help name (`--out`, `-o`): one list, so
 * `--help` cannot fall behind what is accepted. `--help` is everyone's.
 */
export function documentedFlags(cmd: CliCommand): Set<string> {
  const text = `${cmd.usage} ${cmd.help ?? ''}`;
  const long = [...text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => m[1]);
  const short = [...text.matchAll(/(?<![\w-])-([a-zA-Z])(?![\w-])/g)].map((m) => SHORT[m[1]] ?? m[1]);
  return new Set(['help', ...long, ...short]);
}

/**
 * An option the command does not take: a mistyped `--epoch` silently ignored would train with a
 * setting the user did not ask for. Names the nearest option when one is close.
 */
function unknownOption(cmd: CliCommand, known: Set<string>, shown: string): UsageError {
  const key = shown.replace(/^-+/, '');
  const near = [...known].map((k) => ({ k, d: editDistance(key, k) })).filter((x) => x.d <= 2).sort((a, b) => a.d - b.d)[0];
  const hint = near ? `did you mean --${near.k}? ` : known.has('set') ? 'experiment fields are set with --set path=value; ' : '';
  return new UsageError(`unknown option ${shown}: ${hint}early-exit ${cmd.name} --help lists its options`);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
