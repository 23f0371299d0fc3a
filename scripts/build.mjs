// Bundles the parts with esbuild: CLI, worker and tier process (Node, tfjs external), extension host
// (Node, `vscode` external, never tfjs) and the webview (browser IIFE).
import { build } from 'esbuild';
import { existsSync, mkdirSync, copyFileSync } from 'node:fs';

const common = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'node20' };
// tfjs-core and the backends stay external: the wasm and native backends load binaries relative
// to their package and all must share one tfjs-core (scripts/package.mjs ships tfjs-core and the
// cpu and wasm backends beside the bundles). tfjs-core's gradients and chained ops, which its Node
// entry does not register, are bundled from its own files (src/accel/tfjs-internals.ts).
const tfjsExternal = {
  name: 'tfjs-external',
  setup(b) {
    b.onResolve({ filter: /^@tensorflow\// }, (args) => (/^@tensorflow\/tfjs-core\/dist\//.test(args.path) ? undefined : { path: args.path, external: true }));
  },
};
// Dawn's binding (the webgpu backend) loads its native addon relative to its package.
const nodeExternal = ['webgpu'];

/**
 * The worker and the CLI run on tfjs-core with the cpu and wasm backends. The whole
 * `@tensorflow/tfjs` would also load the WebGL backend, layers, converter and data, none of which
 * runs in Node here and none of which the VSIX ships: importing it fails the build.
 */
const coreOnly = {
  name: 'tfjs-core-only',
  setup(b) {
    b.onResolve({ filter: /^@tensorflow\/(tfjs|tfjs-backend-webgl|tfjs-layers|tfjs-converter|tfjs-data)$/ }, (args) => ({
      errors: [{ text: `${args.importer} imports ${args.path}; the engine imports @tensorflow/tfjs-core (and the backends it registers) only` }],
    }));
  },
};

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
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', external: nodeExternal, plugins: [coreOnly, tfjsExternal] },
  { entryPoints: ['src/worker/main.ts'], outfile: 'dist/worker.js', platform: 'node', format: 'cjs', external: nodeExternal, plugins: [coreOnly, tfjsExternal] },
  { entryPoints: ['src/deploy/tier-main.ts'], outfile: 'dist/tier.js', platform: 'node', format: 'cjs', external: nodeExternal, plugins: [coreOnly, tfjsExternal] },
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
