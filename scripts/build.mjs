// Bundles the parts with esbuild: CLI, worker and tier process (Node, tfjs external), extension host
// (Node, `vscode` external, never tfjs) and the webview (browser IIFE).
import { build } from 'esbuild';
import { existsSync, mkdirSync, copyFileSync } from 'node:fs';

const common = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'node20' };
// tfjs, the native/wasm backends and Dawn's binding (webgpu) stay external: they load binaries
// relative to their package.
const nodeExternal = ['@tensorflow/*', 'webgpu', 'jpeg-js', 'pngjs'];

/**
 * The extension host and the webview never load an engine: a tfjs import reached from their entry
 * fails the build, naming the importing file (marking tfjs external alone would ship a require).
 */
const noEngine = (part) => ({
  name: 'no-engine',
  setup(b) {
    b.onResolve({ filter: /^(@tensorflow\/|webgpu$)/ }, (args) => ({
      errors: [{ text: `the ${part} bundle must not load tfjs, but ${args.importer} imports ${args.path} (only the worker and the CLI may)` }],
    }));
  },
});

const entries = [
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', external: nodeExternal },
  { entryPoints: ['src/worker/main.ts'], outfile: 'dist/worker.js', platform: 'node', format: 'cjs', external: nodeExternal },
  { entryPoints: ['src/deploy/tier-main.ts'], outfile: 'dist/tier.js', platform: 'node', format: 'cjs', external: nodeExternal },
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', external: ['vscode'], plugins: [noEngine('extension')] },
  { entryPoints: ['webview/results/main.ts'], outfile: 'dist/webview/results.js', platform: 'browser', format: 'iife', target: 'es2022', minify: true, plugins: [noEngine('webview')] },
];

mkdirSync('dist', { recursive: true });
await Promise.all(
  entries
    .filter((e) => existsSync(e.entryPoints[0]))
    .map((e) => build({ ...common, ...e })),
);
for (const css of ['media/results.css']) if (existsSync(css)) { mkdirSync('dist/webview', { recursive: true }); copyFileSync(css, 'dist/webview/' + css.split('/').pop()); }
