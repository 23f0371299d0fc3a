/**
 * `npm run test:install` (scripts/install-test-deps.sh) reinstalls node_modules only when it is not
 * what package-lock.json describes: run twice, the second run skips `npm ci` (it took ~52 s each
 * time). Checked on a copy of the script in a scratch checkout with a stand-in `npm` on PATH.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { ROOT } from '../../paths';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ees-install-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('install-test-deps runs npm ci once, then only when package-lock.json (or Node) changes', () => {
  const repo = path.join(tmp, 'checkout');
  fs.mkdirSync(path.join(repo, 'scripts'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'scripts/install-test-deps.sh'), path.join(repo, 'scripts/install-test-deps.sh'));
  fs.writeFileSync(path.join(repo, 'scripts/install-code-server.sh'), 'echo code-server ok\n');
  fs.writeFileSync(path.join(repo, 'scripts/install-vulkan.sh'), 'echo vulkan ok\n');
  fs.writeFileSync(path.join(repo, 'package-lock.json'), '{"lockfileVersion": 3, "packages": {}}\n');
  // a stand-in npm: records its arguments and does what `npm ci` does to node_modules (wipes it, fills it)
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  const calls = path.join(tmp, 'npm-calls.txt');
  fs.writeFileSync(path.join(bin, 'npm'), `#!/bin/sh\necho "$@" >> "${calls}"\nrm -rf node_modules && mkdir -p node_modules/some-package\n`, { mode: 0o755 });
  const run = () => {
    const r = spawnSync('bash', [path.join(repo, 'scripts/install-test-deps.sh')], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const npmCalls = () => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : []);

  run();
  assert.deepEqual(npmCalls(), ['ci --no-audit --no-fund'], 'a fresh checkout installs');
  const again = run();
  assert.deepEqual(npmCalls(), ['ci --no-audit --no-fund'], 'nothing changed: no second npm ci');
  assert.match(again, /node_modules is up to date with package-lock\.json .*; skipping npm ci/);
  assert.match(again, /vulkan ok\ncode-server ok/, 'the apt steps still run (each checks what is installed itself)');

  fs.appendFileSync(path.join(repo, 'package-lock.json'), '\n');
  run();
  assert.equal(npmCalls().length, 2, 'package-lock.json changed: npm ci again');
  fs.rmSync(path.join(repo, 'node_modules'), { recursive: true });
  run();
  assert.equal(npmCalls().length, 3, 'node_modules gone: npm ci again');
});
