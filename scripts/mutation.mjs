// `npm run test:mutation [-- FILE... --force]`: mutation testing of the core with StrykerJS, one
// Stryker run per file (stryker.config.mjs lists the files and the tests about each), then one table
// of the mutation score per file, printed and written to reports/mutation/summary.md. Scores: killed
// (and timed out) ÷ all mutants; "of covered" leaves out the mutants no listed test executes. Runs are
// incremental (unchanged mutants keep their result); --force (passed on to Stryker) retests all.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { TARGETS } from '../stryker.config.mjs';

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const files = args.filter((a) => !a.startsWith('--')).length ? args.filter((a) => !a.startsWith('--')) : Object.keys(TARGETS);
for (const f of files) if (!TARGETS[f]) { console.error(`${f} is not mutated; allowed: ${Object.keys(TARGETS).join(', ')}`); process.exit(2); }

const started = Date.now();
const rows = [];
for (const file of files) {
  const t0 = Date.now();
  const r = spawnSync('npx', ['stryker', 'run', ...flags], { stdio: 'inherit', env: { ...process.env, EARLY_EXIT_MUTATE: file } });
  if (r.status !== 0) { console.error(`stryker failed on ${file} (exit ${r.status})`); process.exit(r.status ?? 1); }
  const report = `reports/mutation/${file.split('/').pop().replace(/\.ts$/, '')}.json`;
  if (!existsSync(report)) { console.error(`${report} was not written`); process.exit(1); }
  const mutants = JSON.parse(readFileSync(report, 'utf8')).files[file].mutants;
  const n = (s) => mutants.filter((m) => m.status === s).length;
  const killed = n('Killed') + n('Timeout'), survived = n('Survived'), noCov = n('NoCoverage');
  rows.push({ file, mutants: mutants.length, killed, survived, noCov, errors: n('RuntimeError') + n('CompileError'), seconds: (Date.now() - t0) / 1000 });
}

const pct = (a, b) => (b ? ((100 * a) / b).toFixed(1) : '—');
const lines = [
  '| file | mutants | killed | survived | no coverage | score | of covered | time |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| \`${r.file}\` | ${r.mutants} | ${r.killed} | ${r.survived} | ${r.noCov} | ${pct(r.killed, r.killed + r.survived + r.noCov)} % | ${pct(r.killed, r.killed + r.survived)} % | ${Math.round(r.seconds)} s |`),
];
const load = loadavg().map((l) => l.toFixed(1)).join(' ');
const summary = `${lines.join('\n')}\n\n${files.length} file(s) in ${Math.round((Date.now() - started) / 1000)} s, load average at the end ${load} (${new Date().toISOString()})\n`;
mkdirSync('reports/mutation', { recursive: true });
writeFileSync('reports/mutation/summary.md', summary);
console.log(`\n${summary}`);
