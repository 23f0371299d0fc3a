// `npm run package`: builds the bundles and packs the VSIX a user installs in one step
// (out/early-exit-studio-<version>.vsix), offline. Only what runs goes in: the bundles (no source
// maps), the engine's runtime packages with the wasm binaries tfjs-backend-wasm loads, the schema,
// media, the bundled dataset, the Python engine folder when there is one, the README with its
// screenshots, and the licences. It is assembled in out/vsix/ (an allowlist: nothing else can slip
// in) and packed there by vsce; .vscodeignore is applied to that folder as a second net. Fails when
// the VSIX is over its size budget or holds something it must not (maps, the WebGL backend, tests).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STAGE = join(ROOT, 'out/vsix');
/** The budget the VSIX must stay within (README "Use it in VS Code"). */
export const VSIX_BUDGET_BYTES = 6 * 1024 * 1024;

/**
 * What dist/worker.js loads at run time and is not bundled into it: tfjs-core and the cpu and wasm
 * backends stay packages because the wasm backend loads its binaries (and its pthread worker code)
 * from its own folder, and all three must share one tfjs-core. Each is copied with its licence and
 * only the files listed (its Node entry, the wasm binaries). The native backends (tfjs-node,
 * tfjs-node-gpu) are optional downloads and are not shipped: the VSIX trains on wasm or cpu.
 */
const RUNTIME_PACKAGES = {
  '@tensorflow/tfjs-core': ['dist/tf-core.node.js'],
  '@tensorflow/tfjs-backend-cpu': ['dist/tf-backend-cpu.node.js'],
  '@tensorflow/tfjs-backend-wasm': ['dist/tf-backend-wasm.node.js', 'dist/tfjs-backend-wasm.wasm', 'dist/tfjs-backend-wasm-simd.wasm', 'dist/tfjs-backend-wasm-threaded-simd.wasm'],
  seedrandom: ['index.js', 'seedrandom.js', 'lib/alea.js', 'lib/tychei.js', 'lib/xor128.js', 'lib/xor4096.js', 'lib/xorshift7.js', 'lib/xorwow.js'],
};

/** Files of the repository that ship, relative to the root (folders copied whole, minus .vscodeignore's list). */
const SHIPPED = [
  'dist/extension.js',
  'dist/worker.js',
  'dist/webview/results.js',
  'dist/webview/results.css',
  'media/early-exit.svg',
  'schema',
  'datasets',
  'docs/screenshots',
  'README.md',
  'LICENSE',
  'python', // the PyTorch engine, where the checkout has one
];

/** Paths that must never be in the VSIX, whatever the lists above say. */
const FORBIDDEN = [/\.map$/, /tfjs-backend-webgl/, /(^|\/)test(s)?\//, /\.test\.[jt]s$/, /(^|\/)test_[^/]*\.py$/, /(^|\/)__pycache__\//, /(^|\/)coverage\//, /\.ts$/];

const log = (m) => process.stdout.write(`[package] ${m}\n`);

function files(dir) {
  const out = [];
  const walk = (d) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The manifest as the VSIX carries it: no scripts, dev tooling or npm install metadata. */
function shippedManifest() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  for (const k of ['scripts', 'devDependencies', 'dependencies', 'optionalDependencies', 'bin']) delete pkg[k];
  return pkg;
}

function stage() {
  rmSync(STAGE, { recursive: true, force: true });
  mkdirSync(STAGE, { recursive: true });
  for (const rel of SHIPPED) {
    const from = join(ROOT, rel);
    if (!existsSync(from)) {
      if (rel === 'python' || rel === 'docs/screenshots') continue;
      throw new Error(`${rel} is missing (npm run build first?)`);
    }
    // tested on the path inside the checkout: a checkout in a folder named test or tests ships too
    cpSync(from, join(STAGE, rel), { recursive: true, filter: (src) => !/(__pycache__|\.pyc$|\.map$|\/tests?(\/|$)|\/test_[^/]*\.py$|\/conftest\.py$)/.test(`/${relative(ROOT, src)}`) });
  }
  writeFileSync(join(STAGE, 'package.json'), JSON.stringify(shippedManifest(), null, 2) + '\n');
  cpSync(join(ROOT, '.vscodeignore'), join(STAGE, '.vscodeignore'));
  const notices = ['# Third-party software in this extension', '', 'Shipped as packages in dist/node_modules (each with its licence file where it has one):', ''];
  for (const [name, list] of Object.entries(RUNTIME_PACKAGES)) {
    const src = dirname(resolvePackageJson(name));
    const dest = join(STAGE, 'dist/node_modules', name);
    const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
    for (const f of ['package.json', ...list, ...readdirSync(src).filter((f) => /^(LICEN[CS]E|NOTICE)/i.test(f))]) {
      mkdirSync(dirname(join(dest, f)), { recursive: true });
      cpSync(join(src, f), join(dest, f));
    }
    notices.push(`- ${pkg.name} ${pkg.version} — ${pkg.license}${pkg.homepage ? ` — ${pkg.homepage}` : ''}`);
  }
  // tfjs's packages carry no licence file of their own: ship the Apache-2.0 text they are under.
  const apache = ['/usr/share/common-licenses/Apache-2.0'].find((f) => existsSync(f));
  if (apache) {
    cpSync(apache, join(STAGE, 'dist/node_modules/@tensorflow/LICENSE-Apache-2.0.txt'));
    notices.push('', 'The Apache License 2.0 text: dist/node_modules/@tensorflow/LICENSE-Apache-2.0.txt.');
  } else notices.push('', 'The Apache License 2.0 text: https://www.apache.org/licenses/LICENSE-2.0.txt');
  notices.push('', 'Bundled into dist/webview/results.js: chart.js (MIT), @vscode-elements/elements (MIT), lit (BSD-3-Clause).',
    'Bundled into dist/worker.js: jpeg-js (BSD-3-Clause), pngjs (MIT).', '',
    'The Fashion-MNIST subset in datasets/ is © Zalando SE, MIT licence (datasets/fashion-mnist-mini/LICENSE).', '');
  writeFileSync(join(STAGE, 'THIRD-PARTY-NOTICES.md'), notices.join('\n'));
}

/** package.json of a runtime package as the worker would find it from the repository root. */
function resolvePackageJson(name) {
  const p = join(ROOT, 'node_modules', name, 'package.json');
  if (!existsSync(p)) throw new Error(`${name} is not installed (npm install)`);
  return p;
}

/** Every file the worker's own requires need is in the stage (the check that needs no network or VS Code). */
function checkStage() {
  const all = files(STAGE).map((f) => relative(STAGE, f));
  const bad = all.filter((f) => FORBIDDEN.some((re) => re.test(f)));
  if (bad.length) throw new Error(`the VSIX would ship files it must not: ${bad.slice(0, 10).join(', ')}`);
  for (const [name, list] of Object.entries(RUNTIME_PACKAGES)) {
    const main = JSON.parse(readFileSync(join(STAGE, 'dist/node_modules', name, 'package.json'), 'utf8')).main ?? 'index.js';
    if (!list.includes(main.replace(/^\.\//, ''))) throw new Error(`${name}: its entry ${main} is not among the files shipped`);
  }
  const worker = readFileSync(join(STAGE, 'dist/worker.js'), 'utf8');
  const required = new Set([...worker.matchAll(/require\("([^".][^"]*)"\)/g)].map((m) => m[1]).filter((m) => !m.startsWith('node:')));
  const builtins = new Set(['fs', 'path', 'os', 'crypto', 'zlib', 'stream', 'util', 'events', 'assert', 'buffer', 'worker_threads', 'child_process', 'http', 'https', 'url', 'perf_hooks']);
  const optional = new Set(['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']);
  const missing = [...required].filter((m) => !builtins.has(m) && !optional.has(m) && !(m in RUNTIME_PACKAGES));
  if (missing.length) throw new Error(`dist/worker.js requires ${missing.join(', ')}, which the VSIX does not ship (add it to RUNTIME_PACKAGES in scripts/package.mjs or bundle it)`);
  return all.length;
}

export async function packageVsix() {
  const started = Date.now();
  log('building the bundles');
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  stage();
  const count = checkStage();
  const { name, version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const out = join(ROOT, 'out', `${name}-${version}.vsix`);
  rmSync(out, { force: true });
  const { createVSIX } = await import('@vscode/vsce');
  // No repository is published yet: relative links stay relative (the README's screenshots ship
  // in docs/screenshots, so VS Code's extension page shows them), and none is required.
  await createVSIX({ cwd: STAGE, packagePath: out, dependencies: false, rewriteRelativeLinks: false, allowMissingRepository: true });
  const size = statSync(out).size;
  const mib = (b) => `${(b / 1024 / 1024).toFixed(2)} MiB`;
  if (size > VSIX_BUDGET_BYTES) throw new Error(`${relative(ROOT, out)} is ${mib(size)}, over its budget of ${mib(VSIX_BUDGET_BYTES)}`);
  log(`${relative(ROOT, out)}: ${count} files, ${mib(size)} (budget ${mib(VSIX_BUDGET_BYTES)}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  packageVsix().catch((e) => {
    process.stderr.write(`[package] failed: ${e?.message ?? e}\n`);
    process.exit(1);
  });
}
