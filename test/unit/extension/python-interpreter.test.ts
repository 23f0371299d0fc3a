// The Python extension's selected interpreter through its public API (src/extension/python-interpreter.ts):
// the current environments API, the older execution-details API, and everything that means "none".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpreterFromPythonExtension, type ExtensionLike } from '../../../src/extension/python-interpreter';

const ext = (exports: unknown, isActive = true): ExtensionLike & { activations: number } => {
  const e = { isActive, exports: isActive ? exports : undefined, activations: 0, activate: async () => { e.activations++; return exports; } };
  return e;
};

test('environments API: the resolved executable of the active environment for the resource', async () => {
  const seen: unknown[] = [];
  const api = {
    environments: {
      getActiveEnvironmentPath: (r: unknown) => { seen.push(r); return { id: 'venv', path: '/ws/.venv' }; },
      resolveEnvironment: async (e: { path: string }) => ({ executable: { uri: { fsPath: `${e.path}/bin/python` } } }),
    },
  };
  assert.equal(await interpreterFromPythonExtension(ext(api), 'the-resource'), '/ws/.venv/bin/python');
  assert.deepEqual(seen, ['the-resource']);
  // not resolvable: the path the extension reports
  const unresolved = { environments: { getActiveEnvironmentPath: () => ({ path: '/usr/bin/python3' }), resolveEnvironment: async () => undefined } };
  assert.equal(await interpreterFromPythonExtension(ext(unresolved)), '/usr/bin/python3');
});

test('an inactive extension is activated first; the older API gives a single executable', async () => {
  const e = ext({ settings: { getExecutionDetails: () => ({ execCommand: ['/opt/py/bin/python3'] }) } }, false);
  assert.equal(await interpreterFromPythonExtension(e), '/opt/py/bin/python3');
  assert.equal(e.activations, 1);
  // a launcher with arguments (conda run -n x python) is not an interpreter path
  assert.equal(await interpreterFromPythonExtension(ext({ settings: { getExecutionDetails: () => ({ execCommand: ['conda', 'run', '-n', 'x', 'python'] }) } })), undefined);
});

test('not installed, no API, a throwing or hanging API: no interpreter from there', async () => {
  assert.equal(await interpreterFromPythonExtension(undefined), undefined);
  assert.equal(await interpreterFromPythonExtension(ext({})), undefined);
  assert.equal(await interpreterFromPythonExtension(ext({ environments: { getActiveEnvironmentPath: () => { throw new Error('boom'); } } })), undefined);
  const hanging: ExtensionLike = { isActive: false, exports: undefined, activate: () => new Promise(() => {}) };
  const t0 = Date.now();
  assert.equal(await interpreterFromPythonExtension(hanging, undefined, 100), undefined);
  assert.ok(Date.now() - t0 < 2_000);
});
