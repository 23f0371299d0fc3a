/**
 * The flags that choose how a stored run's records are routed — `--rule` and `--threshold` — read
 * once for every command that takes them (eval, deploy plan / run), so each refuses the same
 * mistakes in the same words: an unknown rule, the gate rule on a run whose exits have no gates,
 * a τ outside [0, 1], a τ list that is not one per exit.
 */
import { rulesOf } from '../spec/routing';
import { ValidationError } from '../spec/errors';
import { EXIT_RULES, type ExitRule, type RunResults, type SampleRecords } from '../spec/results';
import { flagString, type ParsedArgs } from './registry';

/**
 * `--rule R` (default: the run's): the rules it names, which this run's `records` can apply.
 * `all` (where the command takes it, `opts.all`) is every rule the records allow.
 */
export function ruleFlag(args: ParsedArgs, results: RunResults, records: SampleRecords, opts: { all?: boolean } = {}): ExitRule[] {
  const flag = flagString(args, 'rule');
  const available = rulesOf(records);
  if (opts.all && flag === 'all') return available;
  const rule = (flag ?? results.rule) as ExitRule;
  const or = (names: readonly string[]) => `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
  const all = opts.all ? ['all'] : [];
  if (!EXIT_RULES.includes(rule)) throw new ValidationError(`--rule: "${rule}" is not allowed; allowed: ${[...EXIT_RULES, ...all].join(', ')}`, 'rule');
  if (!available.includes(rule)) {
    throw new ValidationError(`--rule: "${rule}" needs gates, and this run's exits have none (method ${results.method}); use ${or([...available, ...all])}`, 'rule');
  }
  return [rule];
}

/** `--threshold T`: one τ for every exit or a comma list of one per exit, each in [0, 1]; undefined when not given. */
export function thresholdFlag(args: ParsedArgs, exits: number): number[] | undefined {
  const text = flagString(args, 'threshold');
  if (text === undefined) return undefined;
  const taus = text.split(',').map((t) => (t.trim() === '' ? NaN : Number(t)));
  if (taus.some((t) => !(t >= 0 && t <= 1))) throw new ValidationError(`--threshold: every τ must be in [0, 1], got "${text}"`, 'threshold');
  if (taus.length !== 1 && taus.length !== exits) throw new ValidationError(`--threshold: one τ, or one per exit (${exits}), got ${taus.length}`, 'threshold');
  return taus.length === 1 ? new Array<number>(exits).fill(taus[0]) : taus;
}
