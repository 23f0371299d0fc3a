/**
 * A worker that dies at start-up is diagnosable: the real worker bundle, copied where its runtime
 * packages cannot be found (a broken installation), fails with a status line naming the missing
 * module; its stderr (the require stack) is in the run's worker.log and reaches listeners (the
 * extension's output channel); nothing in the message is a stack trace or a CLI flag. The CLI
 * offers `--resume` only for a run with a checkpoint.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { defaultExperiment } from '../../../src/spec/experiment';
import { createRunsFor, TrainingRun } from '../../../src/runs/manager';
import type { FromWorker } from '../../../src/protocol/worker';
import { readStatus, RUN_FILES } from '../../../src/runs/store';
import { ROOT } from '../../paths';

let tmp = '';
before(() => {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist/worker.js')), 'dist/worker.js missing: run `npm run build` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ees-startup-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('a worker that cannot load tfjs fails naming the missing module; its stderr goes to worker.log and to listeners', async () => {
  // dist/worker.js alone, far from any node_modules: what a VSIX without its runtime packages would do
  const broken = path.join(tmp, 'broken-install');
  fs.mkdirSync(broken);
  fs.copyFileSync(path.join(ROOT, 'dist/worker.js'), path.join(broken, 'worker.js'));
  const runsDir = path.join(tmp, 'runs');
  const [r] = createRunsFor(runsDir, defaultExperiment('resnet18', 'broken', 'synthetic'));
  const run = new TrainingRun(r.dir, { runsDir, workerPath: path.join(broken, 'worker.js'), killAfterMs: 10_000 }, false);
  const messages: FromWorker[] = [];
  let stderr = '';
  run.on('message', (m) => messages.push(m));
  run.on('stderr', (t) => { stderr += t; });
  assert.equal(await run.run(), 'failed');

  const status = readStatus(r.dir);
  assert.equal(status.error, "worker could not start: the module @tensorflow/tfjs-core is missing (the installation is incomplete: reinstall the extension, or run npm install in a checkout) (its output is in the run's worker.log)");
  const failed = messages.find((m) => m.type === 'failed');
  assert.equal(failed?.type === 'failed' && failed.error, status.error, 'listeners get the same line');
  assert.match(stderr, /Cannot find module '@tensorflow\/tfjs-core'/, 'the raw stderr reaches listeners (the output channel)');
  const log = fs.readFileSync(path.join(r.dir, RUN_FILES.log), 'utf8');
  assert.match(log, /Cannot find module '@tensorflow\/tfjs-core'[\s\S]*Require stack/, 'worker.log keeps the whole stderr');
});

test('the CLI: a failed start says why and offers no --resume when there is no checkpoint', () => {
  const cwd = path.join(tmp, 'cli');
  fs.mkdirSync(cwd);
  const file = path.join(cwd, 'x.exits.json');
  const x = defaultExperiment('resnet18', 'x', 'synthetic');
  fs.writeFileSync(file, JSON.stringify({ ...x, training: { ...x.training, backend: 'gpu' } }));
  // an explicit backend that is not installed: the worker starts, then fails with the reason
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/early-exit.js'), 'train', file, '--out', path.join(cwd, 'runs')], { cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /failed: (Error: )?backend "gpu" is not available: @tensorflow\/tfjs-node-gpu is not installed/);
  assert.doesNotMatch(r.stderr, /--resume/, 'nothing to resume: no epoch finished');
});
