// How a dead worker is explained (src/runs/messages.ts): one line naming the cause, no stack trace,
// no CLI flag; and what a stopped run keeps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keptAfterStop, workerDeathMessage } from '../../../src/runs/messages';

const stack = (first: string) => `${first}\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1207:15)\n    at Object.<anonymous> (/ext/dist/worker.js:12:3)\n`;

test('a worker that dies at start-up on a missing module names the module and says what to do', () => {
  const m = workerDeathMessage({
    code: 1, signal: null, started: false, epoch: 0,
    stderr: `node:internal/modules/cjs/loader:1207\n  throw err;\n  ^\n\n${stack("Error: Cannot find module '@tensorflow/tfjs-core'")}Require stack:\n- /ext/dist/worker.js {\n  code: 'MODULE_NOT_FOUND'\n}\n`,
  });
  assert.equal(m, "worker could not start: the module @tensorflow/tfjs-core is missing (the installation is incomplete: reinstall the extension, or run npm install in a checkout) (its output is in the run's worker.log)");
});

test('another crash: the error line Node printed, when it happened, what is kept — no stack, no flag', () => {
  const m = workerDeathMessage({ code: 1, signal: null, started: true, epoch: 2, stderr: stack('TypeError: Cannot read properties of undefined (reading \'shape\')') });
  assert.equal(m, "worker exited with code 1 before finishing: TypeError: Cannot read properties of undefined (reading 'shape'); finished epochs and the checkpoint of epoch 2 are kept (its output is in the run's worker.log)");
  assert.doesNotMatch(m, /\n|\bat |--resume/);
  assert.equal(workerDeathMessage({ code: null, signal: 'SIGKILL', started: true, epoch: 1, stderr: '' }), 'worker killed by SIGKILL before finishing; finished epochs and the checkpoint of epoch 1 are kept');
  assert.equal(workerDeathMessage({ code: 3, signal: null, started: false, epoch: 0, stderr: 'libfoo.so: cannot open shared object file\n' }), "worker exited with code 3 while starting, before training began: libfoo.so: cannot open shared object file (its output is in the run's worker.log)");
  assert.match(workerDeathMessage({ code: 134, signal: null, started: true, epoch: 0, stderr: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory' }), /^worker ran out of memory \(exited with code 134; try a smaller batch size or width\)$/);
});

test('what a stopped run keeps, from its last finished epoch', () => {
  assert.equal(keptAfterStop(0, 3), 'no epoch had finished, so there is no checkpoint to resume from');
  assert.equal(keptAfterStop(2, 3), 'the checkpoint of epoch 2 of 3 is kept');
  assert.equal(keptAfterStop(1), 'the checkpoint of epoch 1 is kept');
});
