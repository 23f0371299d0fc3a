/**
 * tfjs's cpu backend prints a banner on its first tensor in every Node process ("Hi, looks like you
 * are running TensorFlow.js in Node.js…"): nine times in a test run, and on every `cpu` run's stderr
 * (now the run's worker.log and the output channel). Loading the engine's tfjs turns it off.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { FIXTURES } from '../../paths';

test('computing on the cpu backend prints no tfjs banner', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'tfjs-cpu-child.ts')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'cpu 6');
  assert.doesNotMatch(r.stderr, /Hi, looks like you are running TensorFlow\.js|tfjs-node/);
  assert.equal(r.stderr.trim(), '');
});
