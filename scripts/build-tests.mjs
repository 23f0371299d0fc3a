// Bundles the VS Code integration suite (test/vscode-suite) for the extension host:
// index.js (the `run()` entry) and one <name>.test.js per test file, `vscode` and mocha external.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';

const dir = 'test/vscode-suite';
const entryPoints = readdirSync(dir).filter((f) => f === 'index.ts' || f.endsWith('.test.ts')).map((f) => `${dir}/${f}`);
await build({
  entryPoints,
  outdir: 'dist/test/vscode-suite',
  bundle: true,
  sourcemap: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  external: ['vscode', 'mocha'],
});
