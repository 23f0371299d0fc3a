/**
 * How the worker picks the torch engine's Python and whether `auto` takes the torch engine, without
 * starting Python: the interpreter's precedence, the no-CUDA fast path of `auto` (the zero-install
 * wasm default stays quick), and what the backend line then says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseInterpreter, noCudaDriver } from '../../../src/engine/torch';
import { engineFor } from '../../../src/worker/run';
import { tinyExperiment } from '../../fixtures/engine-data';

test('the interpreter: earlyExit.pythonPath, then EARLY_EXIT_PYTHON, then the Python extension, then python3 on PATH', () => {
  const env = { EARLY_EXIT_PYTHON: '/opt/env/bin/python' };
  assert.deepEqual(chooseInterpreter({ setting: '/s/python', pythonExtension: '/x/python', env }), { command: '/s/python', source: 'earlyExit.pythonPath' });
  assert.deepEqual(chooseInterpreter({ setting: '  ', pythonExtension: '/x/python', env }), { command: '/opt/env/bin/python', source: 'EARLY_EXIT_PYTHON' });
  assert.deepEqual(chooseInterpreter({ pythonExtension: '/x/python', env: {} }), { command: '/x/python', source: "the Python extension's selected interpreter" });
  assert.deepEqual(chooseInterpreter({ env: {}, platform: 'linux' }), { command: 'python3', source: 'python3 on PATH' });
  assert.deepEqual(chooseInterpreter({ env: {}, platform: 'win32' }), { command: 'python', source: 'python on PATH' });
});

test('no NVIDIA driver, or macOS: certainly no CUDA; otherwise Python is asked', () => {
  assert.equal(noCudaDriver('linux', () => false), 'no NVIDIA driver loaded');
  assert.equal(noCudaDriver('linux', (f) => f === '/proc/driver/nvidia/version'), null);
  assert.equal(noCudaDriver('linux', (f) => f === '/dev/dxg'), null, 'WSL exposes the GPU as /dev/dxg');
  assert.equal(noCudaDriver('darwin', () => true), 'macOS has no CUDA');
  assert.equal(noCudaDriver('win32', () => false), null);
});

test('auto without a CUDA driver picks tfjs without starting Python, and says why torch was skipped first', async () => {
  const x = tinyExperiment({ backbone: { name: 'resnet18', width: 1 / 32 }, exits: [], method: { name: 'baseline' }, training: { backend: 'auto' } });
  const t0 = performance.now();
  const { engine, device } = await engineFor('auto', x, { python: { setting: '/nonexistent/python' } });
  assert.equal(engine.name, 'tfjs');
  assert.ok(performance.now() - t0 < 30_000);
  if (noCudaDriver() !== null) {
    assert.match(device.description, /; skipped torch: no CUDA device \(no NVIDIA driver loaded\), and training.backend "torch" would train on the CPU; gpu: /);
  } else {
    // a machine with an NVIDIA driver: auto asks Python, and the missing interpreter is why torch was skipped
    assert.match(device.description, /; skipped torch: \/nonexistent\/python \(earlyExit.pythonPath\) was not found: install PyTorch/);
  }
  // a named torch with a missing interpreter is an error naming it, never a fallback
  await assert.rejects(engineFor('torch', x, { python: { setting: '/nonexistent/python' } }), /^EngineError: \/nonexistent\/python \(earlyExit.pythonPath\) was not found: install PyTorch/);
  // and `eval --measure` of a torch run times on the tfjs engine
  const m = await engineFor('torch', x, { tfjsOnly: true });
  assert.equal(m.engine.name, 'tfjs');
});
