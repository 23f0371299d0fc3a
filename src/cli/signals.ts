/**
 * SIGINT, SIGTERM and SIGHUP for the CLI. A command that can stop gracefully (train: after the
 * current step, keeping the checkpoint) takes them with onStopSignal; otherwise the process ends
 * with one line saying which signal stopped it, and the shell's exit code for it.
 */
import { reportFailure, signalExitCode } from './errors';

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
const SIGNALS: StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

let handler: ((signal: StopSignal) => void) | null = null;

/** Routes stop signals to `h` until the returned function is called. */
export function onStopSignal(h: (signal: StopSignal) => void): () => void {
  handler = h;
  return () => { if (handler === h) handler = null; };
}

/** Installs the process's signal handlers once; `prefix` is "early-exit <command>". */
export function installSignalHandlers(prefix: () => string): void {
  for (const sig of SIGNALS) {
    process.on(sig, () => {
      if (handler) { handler(sig); return; }
      reportFailure(prefix(), { text: `stopped by ${sig}${sig === 'SIGINT' ? ' (Ctrl-C)' : sig === 'SIGHUP' ? ' (the terminal was closed)' : ''}`, code: signalExitCode(sig) });
      process.exit(signalExitCode(sig));
    });
  }
}
