/**
 * `npm run bench [-- --quick] [-- --only throughput,profile,...] [-- --wait-quiet]`
 *
 * Runs every benchmark of BENCHMARKS.md on this machine and writes the raw figures to
 * BENCHMARKS.json (merged section by section, so `--only` refreshes some), then renders
 * BENCHMARKS.md from it (bench/report.ts). Each measurement runs in a child process of its own.
 * Sections: throughput, profile, engines (torch engine vs wasm vs plain PyTorch), earlyexit
 * (Table 2 analogue), tradeoff (accuracy vs MACs), scaling, memory, extension, tiers (a network split
 * over device, edge and cloud); gates (learned gates vs the softmax rules at fixed budgets) only with
 * `--only gates`, it trains for hours. Not part of `npm test`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureTorch, throughputSection, profileSection } from './sections/speed';
import { earlyExitSection, latencySection, tradeoffSection } from './sections/exits';
import { gatesSection } from './sections/gates';
import { memorySection, scalingSection } from './sections/scaling';
import { extensionSection } from './sections/extension';
import { enginesSection } from './sections/engines';
import { tiersSection } from './sections/tiers';
import { renderReport } from './report';
import { load1, log, PYTHON, ROOT, run, waitQuiet } from './lib/util';

export interface BenchOptions { quick: boolean; prev?: Record<string, unknown> }

const SECTIONS: Record<string, (o: BenchOptions) => Promise<Record<string, unknown>>> = {
  throughput: throughputSection,
  profile: profileSection,
  earlyexit: earlyExitSection,
  /** re-measures the batch-1 latency of the earlyexit runs of an earlier bench; stored as earlyexit */
  latency: latencySection,
  tradeoff: tradeoffSection,
  /** learned gates vs entropy / max softmax at 50 / 70 / 90 % of the MACs (hours: not in a plain full run, see gates.ts) */
  gates: gatesSection,
  scaling: scalingSection,
  memory: memorySection,
  extension: extensionSection,
  engines: enginesSection,
  tiers: tiersSection,
};

function machine(): Record<string, unknown> {
  const cpu = os.cpus();
  const torch = run(PYTHON, ['-c', 'import torch; print(torch.__version__)']).stdout.trim() || null;
  const pkg = (name: string) => {
    try { return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version as string; } catch { return null; }
  };
  return {
    cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`,
    node: process.version, tfjs: pkg('@tensorflow/tfjs'), tfjsWasm: pkg('@tensorflow/tfjs-backend-wasm'), torch,
    python: run(PYTHON, ['--version']).stdout.trim(),
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const onlyArg = argv.indexOf('--only');
  const only = onlyArg >= 0 ? argv[onlyArg + 1].split(',') : Object.keys(SECTIONS).filter((k) => k !== 'latency' && k !== 'gates');
  for (const s of only) if (!SECTIONS[s]) throw new Error(`unknown section "${s}"; sections: ${Object.keys(SECTIONS).join(', ')}`);
  const jsonFile = path.join(ROOT, quick ? 'bench/results-quick.json' : 'BENCHMARKS.json');
  const mdFile = path.join(ROOT, quick ? 'bench/results-quick.md' : 'BENCHMARKS.md');
  const prev = fs.existsSync(jsonFile) ? JSON.parse(fs.readFileSync(jsonFile, 'utf8')) : { sections: {} };
  const t0 = performance.now();
  log(`bench ${quick ? '--quick ' : ''}sections: ${only.join(', ')}`);
  if (argv.includes('--wait-quiet')) await waitQuiet(1.3, 10 * 60_000);
  log('building dist/ (the CLI the Table-2 runs use)');
  const b = run('npm', ['run', 'build']);
  if (b.code !== 0) throw new Error(`npm run build failed:\n${b.stderr}`);
  if (only.some((s) => s === 'throughput' || s === 'profile' || s === 'engines')) ensureTorch();
  const out = { ...prev, date: new Date().toISOString(), quick, machine: machine(), sections: { ...prev.sections } };
  for (const name of only) {
    const start = { load: load1(), at: new Date().toISOString() };
    log(`section ${name}: start`);
    const s0 = performance.now();
    try {
      const r = await SECTIONS[name]({ quick, prev: out.sections });
      out.sections[name === 'latency' ? 'earlyexit' : name] = { ...r, loadStart: start.load, loadEnd: load1(), startedAt: start.at, seconds: Math.round((performance.now() - s0) / 1000) };
    } catch (e) {
      log(`section ${name} failed: ${(e as Error).stack}`);
      out.sections[name === 'latency' ? 'latencyError' : name] = { error: String((e as Error).message), loadStart: start.load, loadEnd: load1(), startedAt: start.at };
    }
    fs.writeFileSync(jsonFile, JSON.stringify(out, null, 1) + '\n');
    log(`section ${name}: ${Math.round((performance.now() - s0) / 1000)} s`);
  }
  out.totalSeconds = Math.round((performance.now() - t0) / 1000);
  // a full run starts the history afresh: "re-measured since" lists only the partial runs after it
  const invocation = { at: out.date, sections: only, seconds: out.totalSeconds, quick };
  out.invocations = onlyArg < 0 ? [invocation] : [...(prev.invocations ?? []), invocation];
  if (onlyArg < 0) out.fullRunSeconds = out.totalSeconds;
  fs.writeFileSync(jsonFile, JSON.stringify(out, null, 1) + '\n');
  fs.writeFileSync(mdFile, renderReport(out, ROOT));
  log(`wrote ${path.relative(ROOT, jsonFile)} and ${path.relative(ROOT, mdFile)} in ${out.totalSeconds} s`);
}

main().catch((e) => { console.error(e); process.exit(1); });
