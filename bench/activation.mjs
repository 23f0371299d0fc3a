#!/usr/bin/env node
// Activation time of the extension's own code: loading dist/extension.js (the esbuild bundle)
// and running its activate(). VS Code is not in this process: a stub `vscode` module (a Proxy that
// answers every call with another stub, injected through Module._load) stands in for the host, so
// what is timed is our module's top level and our activate() — not VS Code's extension host. The
// real activation inside code-server is reported by the integration suite (api.activationMs, see
// test/vscode-suite/extension.test.ts › "activates in a workspace with an experiment file").
//
//   npm run build && node bench/activation.mjs [--runs 15] [--json]
//
// Each run is a fresh Node process (a module loads once per process); the median is printed.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bundle = path.resolve(here, '../dist/extension.js');
const TARGET_MS = 50;

function stubVscode() {
  const cache = new Map();
  const make = (name) => {
    if (cache.has(name)) return cache.get(name);
    const fn = function () {};
    const proxy = new Proxy(fn, {
      get(_t, key) {
        if (key === 'then') return undefined; // not a thenable
        if (key === Symbol.toPrimitive) return () => name;
        if (key === Symbol.iterator) return function* () {};
        return make(`${name}.${String(key)}`);
      },
      set: () => true,
      apply: () => make(`${name}()`),
      construct: () => make(`new ${name}`),
    });
    cache.set(name, proxy);
    return proxy;
  };
  // esbuild's `import * as vscode` copies the module's own properties: give the stub, as own
  // properties, every name the bundle uses (vscode.window, vscode.EventEmitter, …).
  const names = new Set([...fs.readFileSync(bundle, 'utf8').matchAll(/\bvscode\d*\.([A-Za-z_$][\w$]*)/g)].map((m) => m[1]));
  const api = {};
  for (const n of names) api[n] = make(`vscode.${n}`);
  return api;
}

function once() {
  const require = createRequire(import.meta.url);
  const Module = require('node:module');
  const vscode = stubVscode();
  const load = Module._load;
  Module._load = function (request, ...rest) {
    return request === 'vscode' ? vscode : load.call(this, request, ...rest);
  };
  const root = path.resolve(here, '..');
  const context = {
    subscriptions: [],
    extensionPath: root,
    extensionUri: vscode.Uri.file(root),
    asAbsolutePath: (p) => path.join(root, p),
    globalState: vscode.globalState,
    workspaceState: vscode.workspaceState,
  };
  const t0 = performance.now();
  const ext = require(bundle);
  const t1 = performance.now();
  const api = ext.activate(context);
  const t2 = performance.now();
  if (!api || !api.branches || !api.runs) throw new Error('activate() did not return the API');
  return { loadMs: t1 - t0, activateMs: t2 - t1, totalMs: t2 - t0, reported: api.activationMs, subscriptions: context.subscriptions.length };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

if (process.argv.includes('--once')) {
  process.stdout.write(JSON.stringify(once()) + '\n');
  process.exit(0);
}

if (!fs.existsSync(bundle)) {
  console.error(`${bundle} is missing; run "npm run build" first`);
  process.exit(2);
}
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
const samples = [];
for (let i = 0; i < runs; i++) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--once'], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(r.stderr || r.stdout);
    process.exit(1);
  }
  samples.push(JSON.parse(r.stdout.trim().split('\n').pop()));
}
const summary = {
  runs,
  bundleKiB: Math.round(fs.statSync(bundle).size / 1024),
  loadMs: median(samples.map((s) => s.loadMs)),
  activateMs: median(samples.map((s) => s.activateMs)),
  totalMs: median(samples.map((s) => s.totalMs)),
  maxTotalMs: Math.max(...samples.map((s) => s.totalMs)),
  subscriptions: samples[0].subscriptions,
  targetMs: TARGET_MS,
};
if (process.argv.includes('--json')) console.log(JSON.stringify(summary));
else {
  const f = (x) => x.toFixed(1).padStart(6);
  console.log(`extension activation, ${runs} fresh processes, stub vscode host (median):`);
  console.log(`  load dist/extension.js (${summary.bundleKiB} KiB) ${f(summary.loadMs)} ms`);
  console.log(`  activate()                        ${f(summary.activateMs)} ms`);
  console.log(`  total                             ${f(summary.totalMs)} ms   (max ${summary.maxTotalMs.toFixed(1)} ms; target < ${TARGET_MS} ms)`);
}
process.exit(summary.totalMs < TARGET_MS ? 0 : 1);
