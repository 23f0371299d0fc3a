// Checks the tiers of src/ and webview/ (README "Layout"): who may import whom, the acceleration
// tier reached only through its entry, and no import cycle among value imports. Part of `npm run lint`.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const files = [];
const walk = (d) => { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else if (p.endsWith('.ts')) files.push(p); } };
walk(join(ROOT, 'src'));
walk(join(ROOT, 'webview'));

/** Tier of a repo-relative path: its first folder under src/, or "webview". */
const tierOf = (rel) => (rel.startsWith('webview/') ? 'webview' : rel.split('/')[1]);

// tier → tiers (and package patterns) it may import; "self" is always allowed
const ALLOWED = {
  spec: { tiers: [], packages: [] },
  data: { tiers: ['spec'], packages: [/^node:/, /^jpeg-js$/, /^pngjs$/] },
  accel: { tiers: ['spec'], packages: [/^node:/, /^@tensorflow\//] },
  engine: { tiers: ['spec', 'data', 'accel', 'protocol'], packages: [/^node:/, /^@tensorflow\//] },
  protocol: { tiers: ['spec'], packages: [], typeOnly: true },
  runs: { tiers: ['spec', 'protocol'], packages: [/^node:/] },
  report: { tiers: ['spec', 'protocol', 'runs'], packages: [/^node:/] },
  worker: { tiers: ['spec', 'data', 'engine', 'protocol', 'runs'], packages: [/^node:/] },
  deploy: { tiers: ['spec', 'data', 'engine', 'protocol', 'runs', 'worker'], packages: [/^node:/, /^@tensorflow\//] },
  cli: { tiers: ['spec', 'data', 'runs', 'report', 'protocol', 'worker', 'deploy'], packages: [/^node:/] },
  extension: { tiers: ['spec', 'runs', 'report', 'protocol'], packages: [/^node:/, /^vscode$/] },
  webview: { tiers: ['spec', 'protocol'], packages: [/^chart\.js/, /^@vscode-elements\//] },
};
// what of data/ the engine may use: the in-memory types and the per-batch float conversion
const ENGINE_DATA = new Set(['src/data/types.ts', 'src/data/preprocess.ts']);
// what of spec/ the webview may use (pure, no Node types)
const problems = [];
const graph = new Map();
const IMPORT = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

for (const file of files) {
  const rel = relative(ROOT, file);
  const tier = tierOf(rel);
  const rule = ALLOWED[tier];
  if (!rule) { problems.push(`${rel}: in no known tier (add it to scripts/check-tiers.mjs and README "Layout")`); continue; }
  const text = readFileSync(file, 'utf8');
  const edges = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[3] ?? m[4] ?? m[5];
    const typeOnly = !!m[2];
    const dynamic = !!m[5];
    if (!spec.startsWith('.')) {
      if (!rule.packages.some((p) => p.test(spec)) && !(spec === '../../package.json')) problems.push(`${rel}: imports package "${spec}", which the ${tier} tier may not`);
      continue;
    }
    let target = resolve(dirname(file), spec);
    if (spec.endsWith('.json')) continue;
    const cands = [`${target}.ts`, join(target, 'index.ts')];
    target = cands.find((c) => { try { return statSync(c).isFile(); } catch { return false; } });
    if (!target) continue;
    const trel = relative(ROOT, target);
    const ttier = tierOf(trel);
    if (ttier !== tier) {
      if (!rule.tiers.includes(ttier)) problems.push(`${rel}: imports ${trel} (${ttier}); the ${tier} tier may import ${rule.tiers.join(', ') || 'nothing outside itself'}`);
      else if (rule.typeOnly && !typeOnly) problems.push(`${rel}: must import ${trel} type-only`);
      if (tier === 'engine' && ttier === 'accel' && trel !== 'src/accel/index.ts') problems.push(`${rel}: imports ${trel}; the engine reaches the acceleration tier only through src/accel/index.ts`);
      if (tier === 'engine' && ttier === 'data' && !ENGINE_DATA.has(trel)) problems.push(`${rel}: imports ${trel}; the engine takes data as EngineData (only src/data/types.ts and preprocess.ts)`);
    }
    if (!typeOnly && !dynamic) edges.push(target);
  }
  graph.set(file, edges);
}

// cycles among static value imports (type-only imports vanish at run time)
const state = new Map();
const stack = [];
const visit = (f) => {
  state.set(f, 1); stack.push(f);
  for (const t of graph.get(f) ?? []) {
    if (state.get(t) === 1) problems.push(`import cycle: ${[...stack.slice(stack.indexOf(t)), t].map((p) => relative(ROOT, p)).join(' → ')}`);
    else if (!state.has(t)) visit(t);
  }
  stack.pop(); state.set(f, 2);
};
for (const f of graph.keys()) if (!state.has(f)) visit(f);

if (problems.length) {
  console.error(`check-tiers: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-tiers: ${files.length} files, tiers and cycles ok`);
