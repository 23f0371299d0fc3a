// The README a newcomer reads first: the quick start (two commands, what they need), the VS Code
// section right after it with the screenshots the integration suite takes (light and dark, every
// one there), and the demo's output in the wording the CLI prints.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { README_SHOTS, README_SHOTS_DIR } from '../../vscode-suite/readme-shots';
import { ROOT } from '../../paths';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const sections = readme.split(/^## /m).slice(1).map((s) => ({ title: s.split('\n')[0], body: s }));

test('the quick start is two commands and says it needs Node ≥ 20 and root or sudo for apt', () => {
  const qs = sections[0];
  assert.equal(qs.title, 'Quick start');
  const commands = /```sh\n([\s\S]*?)```/.exec(qs.body)![1].trim().split('\n');
  assert.deepEqual(commands.map((c) => c.split('#')[0].trim()), ['npm install && npm run demo', 'npm run test:install && npm test']);
  assert.match(qs.body, /Node\.js ≥ 20/);
  assert.match(qs.body, /root or where `sudo` works/);
});

test('"Use it in VS Code" comes right after the quick start and shows every suite screenshot, light and dark', () => {
  assert.equal(sections[1].title, 'Use it in VS Code');
  const shown = [...sections[1].body.matchAll(/(?:src|srcset)="([^"]+\.png)"/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(shown)].sort(), README_SHOTS.map((f) => `${README_SHOTS_DIR}/${f}`).sort());
  for (const f of README_SHOTS) {
    const file = path.join(ROOT, README_SHOTS_DIR, f);
    assert.ok(fs.existsSync(file), `${file} is missing: npm run screenshots`);
    assert.deepEqual([...fs.readFileSync(file).subarray(1, 4)], [0x50, 0x4e, 0x47], `${f} is a PNG`);
  }
  for (const step of ['Install from VSIX', 'New Experiment', 'tick a point', 'Train multi-exit model', 'Open Results', 'Compare Runs', 'Resume']) {
    assert.ok(sections[1].body.includes(step), `the VS Code section does not mention ${step}`);
  }
});

test('the VSIX budget the README states is the one npm run package enforces', async () => {
  const { VSIX_BUDGET_BYTES } = await import(path.join(ROOT, 'scripts/package.mjs'));
  assert.match(sections[1].body, new RegExp(`budget ${VSIX_BUDGET_BYTES / 1024 / 1024} MiB`));
});

test('the demo output in the README is in the words the CLI prints (header, table, latency line)', () => {
  const block = /```\n(ResNet-18[\s\S]*?)```/.exec(sections[0].body)![1];
  assert.match(block, /^ResNet-18 ×0\.0625, proposed λ=1, fashion-mnist-mini, 3 epochs on wasm in \d+s$/m);
  assert.match(block, /^soft output \(Option 1\): \d+\.\d\d% {3}final classifier alone: \d+\.\d\d% {3}full network 1\.81 M MACs$/m);
  assert.match(block, /^exit\s+MACs\s+% full\s+inputs\s+share\s+acc\. leaving\s+standalone$/m);
  assert.match(block, /^final \(#9\)/m);
  assert.match(block, /^batch-1 latency: full network \d\.\d\d ms, hard exits \d\.\d\d ms → speed-up ×\d\.\d\d \(\d+% less time\) on wasm$/m);
});
