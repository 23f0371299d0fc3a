/**
 * The CLI's one error boundary: whatever ends a command — a user's mistake, a file the system
 * refuses, a signal, a bug — becomes one line on stderr and an exit code; a stack trace only with
 * `--debug` (or EARLY_EXIT_DEBUG=1). Used by main() for what a command throws and for what escapes
 * it (uncaught exceptions, rejected promises, signals).
 */
import { errnoCode, errnoFix, errnoPhrase } from '../spec/errno';
import { ValidationError } from '../spec/errors';
import { UsageError } from './registry';

/** Exit codes: 2 a mistake in what was asked (options, files, data), 1 anything else, 128 + n a signal. */
export const EXIT = { usage: 2, failure: 1 } as const;

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15, SIGPIPE: 13, SIGBREAK: 21 };

/** 128 + the signal's number: what a shell reports for a process a signal ended. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (SIGNAL_NUMBERS[signal] ?? 15);
}

/** What the system call of an errno error was doing, as a verb for "cannot …". */
const VERBS: Record<string, string> = {
  open: 'open', read: 'read', write: 'write', mkdir: 'create the folder', rmdir: 'remove the folder', unlink: 'remove', rename: 'move',
  scandir: 'list the folder', stat: 'read', lstat: 'read', access: 'use', copyfile: 'copy', link: 'create', symlink: 'create',
  chmod: 'change the permissions of', utime: 'update', fsync: 'write', spawn: 'start', kill: 'signal', realpath: 'resolve',
};

/** One line for an errno error: "<path>: cannot <verb> (<words>, CODE); <fix>". */
export function errnoLine(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  const where = e.path ? `${e.path}${e.dest ? ` → ${e.dest}` : ''}: ` : '';
  const fix = errnoFix(errnoCode(err)!);
  return `${where}${errnoPhrase(err, VERBS[e.syscall ?? ''] ?? 'do that')}${fix ? `; ${fix}` : ''}`;
}

export interface Failure {
  /** The line to print (without the "early-exit <command>: " prefix). */
  text: string;
  code: number;
  /** The stack, printed with --debug only. */
  stack?: string;
}

/** Turns anything thrown into one line and an exit code. */
export function describeFailure(err: unknown): Failure {
  if (err instanceof UsageError || err instanceof ValidationError) return { text: err.message, code: EXIT.usage, stack: err.stack };
  if (errnoCode(err)) return { text: errnoLine(err), code: EXIT.failure, stack: (err as Error).stack };
  const e = err as Error;
  const what = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(err);
  return {
    text: `internal error: ${what.split('\n')[0].slice(0, 500)} (this is a bug in Early Exit Studio; run the command again with --debug for the stack trace, and report it)`,
    code: EXIT.failure,
    stack: e instanceof Error ? e.stack : undefined,
  };
}

/** Whether stack traces are wanted (--debug, or EARLY_EXIT_DEBUG set to anything but 0). */
export const debugState = { on: !!process.env.EARLY_EXIT_DEBUG && process.env.EARLY_EXIT_DEBUG !== '0' };

/** Writes a failure: one line, then the stack with --debug. Never throws (stderr may be closed). */
export function reportFailure(prefix: string, f: Failure): void {
  try {
    console.error(`${prefix}: ${f.text}`);
    if (debugState.on && f.stack) console.error(f.stack);
  } catch { /* a closed terminal: the exit code still says it */ }
}
