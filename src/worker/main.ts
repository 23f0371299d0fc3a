/**
 * The training worker: a Node child process forked by the CLI or the extension host
 * (`child_process.fork(dist/worker.js)`). Speaks the protocol in src/protocol/worker.ts.
 * A "stop" message (or SIGTERM/SIGINT) stops cooperatively after the current step.
 */
import type { FromWorker, ToWorker } from '../protocol/worker';
import { runTraining } from './run';

let stopRequested = false;
let started = false;

function send(m: FromWorker): void {
  if (process.send) process.send(m);
  else if (m.type !== 'progress') process.stdout.write(JSON.stringify(m) + '\n');
}

process.on('SIGTERM', () => { stopRequested = true; });
process.on('SIGINT', () => { stopRequested = true; });
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
