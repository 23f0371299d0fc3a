/**
 * The training worker: a Node child process forked by the CLI or the extension host
 * (`child_process.fork(dist/worker.js)`). Speaks the protocol in src/protocol/worker.ts.
 * A "stop" message (or SIGTERM/SIGINT/SIGHUP, or the parent going away) stops cooperatively after
 * the current step.
 */
import type { FromWorker, ToWorker } from '../protocol/worker';
import { runTraining } from './run';

let stopRequested = false;
let started = false;

/** To the parent while it listens; once it is gone (killed, terminal closed) the run still ends in status.json. */
function send(m: FromWorker): void {
  if (process.send) {
    if (!process.connected) return;
    try { process.send(m, undefined, {}, () => { /* a send error is a closed channel: nothing to tell */ }); } catch { /* channel closed */ }
  } else if (m.type !== 'progress') process.stdout.write(JSON.stringify(m) + '\n');
}

process.on('SIGTERM', () => { stopRequested = true; });
process.on('SIGINT', () => { stopRequested = true; });
// a closed terminal hangs up the whole process group: stop after the step like Ctrl-C, keeping the checkpoint
process.on('SIGHUP', () => { stopRequested = true; });
process.on('disconnect', () => { stopRequested = true; });

process.on('message', (raw: unknown) => {
  const m = raw as ToWorker;
  switch (m?.type) {
    case 'start':
      if (started) return;
      started = true;
      runTraining({ runDir: m.runDir, resume: m.resume, backend: m.backend, cacheDir: m.cacheDir, python: m.python, send, shouldStop: () => stopRequested })
        .finally(() => {
          // let the IPC channel flush, then exit (tfjs may keep timers alive)
          setTimeout(() => process.exit(0), 50);
        });
      break;
    case 'stop':
      stopRequested = true;
      break;
    default:
      send({ type: 'log', level: 'warn', message: `worker: ignored unknown message ${JSON.stringify(raw)?.slice(0, 200)}` });
  }
});
