/**
 * Training throughput, ours (every TF.js backend that loads) against the PyTorch reference of the
 * same network, and a per-kernel profile of one training step (before/after our optimisations).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchOptions } from '../run';
import { load1, log, mean, median, PYTHON, python, round, run, tmpDir, tsx } from '../lib/util';

export const BACKBONES = ['resnet18', 'vgg13', 'alexnet'] as const;
export const WIDTH = 0.125;
const BATCH = 64;
/** Back-to-back measurement rounds of the throughput table (medians reported). */
const ROUNDS = 3;
/** What `--stock` restores for the "before" figures (see bench/train-step.ts); "before" also runs on one thread. */
export const BEFORE = 'FusedBatchNorm,bn-moments,AvgPool,MaxPool,conv-filter-grad,conv-input-grad,identity,adam';
/** wasm on one XNNPACK thread (the threaded binary is the default: see src/accel/wasm-threads.ts). */
export const ONE_THREAD = { EARLY_EXIT_WASM_THREADS: '1' };

/** Installs Debian's python3-torch when missing (root; not part of npm test). */
export function ensureTorch(): void {
  if (run(PYTHON, ['-c', 'import torch']).code === 0) return;
  log('installing python3-torch with apt (PyTorch CPU reference)');
  const r = run('bash', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch)'], { timeoutMs: 15 * 60_000 });
  if (r.code !== 0) throw new Error(`apt-get install python3-torch failed:\n${r.stderr.slice(-2000)}`);
}

function writeSpec(backbone: string, width: number, dir: string): string {
  const file = path.join(dir, `${backbone}-${width}.json`);
  const p = run(process.execPath, ['--import', 'tsx', 'bench/write-spec.ts', backbone, String(width), file]);
  if (p.code !== 0 || !fs.existsSync(file)) throw new Error(`write-spec ${backbone}: ${p.stderr}`);
  return file;
}

/** Why a backend does not load here (null when it does). */
function backendProbe(kind: string): string | null {
  const code = `require('@tensorflow/tfjs');const {selectBackend}=require('./src/accel/backend');selectBackend('${kind}').then(()=>console.log('{"ok":true}'),e=>console.log(JSON.stringify({ok:false,reason:e.message})))`;
  const p = run(process.execPath, ['--import', 'tsx', '-e', code]);
  try {
    const r = JSON.parse(p.stdout.trim().split('\n').pop() ?? '{}');
    return r.ok ? null : r.reason;
  } catch { return `probe failed: ${p.stderr.slice(-300)}`; }
}

export async function throughputSection(o: BenchOptions): Promise<Record<string, unknown>> {
  const dir = tmpDir('specs');
  const steps = o.quick ? 3 : 12;
  const backends: Record<string, string | null> = {};
  for (const kind of ['gpu', 'native-cpu', 'wasm', 'cpu']) backends[kind] = backendProbe(kind);
  log(`backends: ${Object.entries(backends).map(([k, v]) => `${k} ${v ? 'no' : 'yes'}`).join(', ')}`);
  const rows: Record<string, unknown>[] = [];
  for (const backbone of BACKBONES) {
    const spec = writeSpec(backbone, WIDTH, dir);
    const ours = JSON.parse(fs.readFileSync(spec, 'utf8'));
    const count = python(['bench/torch_ref.py', 'count', '--spec', spec]);
    const countsEqual = count.parameters === ours.parameters && JSON.stringify(count.macs) === JSON.stringify(ours.macs);
    log(`${backbone}: parameters ours ${ours.parameters} / PyTorch ${count.parameters}, MACs ours ${JSON.stringify(ours.macs)} / PyTorch ${JSON.stringify(count.macs)}`);
    const row: Record<string, unknown> = { backbone, width: WIDTH, batch: BATCH, parameters: { ours: ours.parameters, torch: count.parameters }, macs: { ours: ours.macs, torch: count.macs }, countsEqual };
    // ROUNDS rounds, each back to back: PyTorch (2 threads), ours (wasm, threads = cores), PyTorch
    // (1 thread), ours on one thread. A ratio is taken within a round (the machine's other load moves
    // both sides of it alike); the table reports each figure's and each ratio's median over the rounds.
    const tsxStep = (extra: string[], env?: NodeJS.ProcessEnv) => tsx('bench/train-step.ts', ['throughput', '--backbone', backbone, '--width', String(WIDTH), '--backend', 'wasm', '--batch', String(BATCH), '--steps', String(steps), '--warmup', '2', ...extra], undefined, env);
    const torchStep = (threads: number) => python(['bench/torch_ref.py', 'throughput', '--spec', spec, '--batch', String(BATCH), '--steps', String(steps), '--warmup', '2', '--threads', String(threads)]);
    const rounds: { torch2: number; torch1: number; wasm: number | null; wasm1: number | null }[] = [];
    let wasmLast: Record<string, unknown> | null = null, wasm1Last: Record<string, unknown> | null = null, torch2Last: Record<string, unknown> = {};
    for (let r = 0; r < (o.quick ? 1 : ROUNDS); r++) {
      const torch2 = torchStep(2);
      const wasm = backends.wasm ? null : tsxStep([]);
      const torch1 = torchStep(1);
      const wasm1 = backends.wasm ? null : tsxStep([], ONE_THREAD);
      rounds.push({ torch2: torch2.imgPerSec as number, torch1: torch1.imgPerSec as number, wasm: (wasm?.imgPerSec as number) ?? null, wasm1: (wasm1?.imgPerSec as number) ?? null });
      wasmLast = wasm; wasm1Last = wasm1; torch2Last = torch2;
    }
    // ours before the optimisations (one thread, tfjs's own gradients), once
    const before = backends.wasm || o.quick ? null : tsxStep(['--stock', BEFORE], ONE_THREAD);
    // the pure-JS backend is ~100× slower: two steps at the same batch, full run only
    const cpu = backends.cpu || o.quick ? null : tsx('bench/train-step.ts', ['throughput', '--backbone', backbone, '--width', String(WIDTH), '--backend', 'cpu', '--batch', String(BATCH), '--steps', '1', '--warmup', '1'], 15 * 60_000);
    const ratios = (k: 'wasm' | 'wasm1', t: 'torch2' | 'torch1') => rounds.map((x) => (x[k] != null ? x[k]! / x[t] : null));
    const rq = (xs: (number | null)[]) => { const v = xs.filter((x): x is number => x != null); return v.length ? { median: round(median(v)!, 3), min: round(Math.min(...v), 3), max: round(Math.max(...v), 3) } : null; };
    const ips = (r: Record<string, unknown> | null) => (r ? round(r.imgPerSec as number, 1) : null);
    const wasm = wasmLast && { imgPerSec: round(median(rounds.map((x) => x.wasm))!, 1), backend: wasmLast.backendDescription };
    const wasm1 = wasm1Last && { imgPerSec: round(median(rounds.map((x) => x.wasm1))!, 1), backend: wasm1Last.backendDescription };
    const torch2 = { imgPerSec: round(median(rounds.map((x) => x.torch2))!, 1) };
    const torch1 = { imgPerSec: round(median(rounds.map((x) => x.torch1))!, 1) };
    const r2 = rq(ratios('wasm', 'torch2')), r1 = rq(ratios('wasm1', 'torch1'));
    Object.assign(row, {
      rounds,
      torch2: { ...torch2, threads: torch2Last.threads },
      torch1,
      wasm,
      wasm1,
      wasmBefore: before && { imgPerSec: ips(before), stepMs: before.stepMs, stock: BEFORE },
      cpu: cpu && { imgPerSec: ips(cpu), stepMs: cpu.stepMs },
      ratioWasmTorch2: r2?.median ?? null,
      ratioWasmTorch2Range: r2,
      ratioWasmTorch1: rq(ratios('wasm', 'torch1'))?.median ?? null,
      ratioWasm1Torch1: r1?.median ?? null,
      ratioWasm1Torch1Range: r1,
      speedupVsBefore: wasm && before ? round(wasm.imgPerSec / (before.imgPerSec as number), 2) : null,
      load: load1(),
    });
    log(`${backbone}: medians of ${rounds.length}: wasm ${wasm?.imgPerSec} img/s (1 thread ${wasm1?.imgPerSec}), PyTorch 2 threads ${torch2.imgPerSec}, 1 thread ${torch1.imgPerSec}; ratio ${JSON.stringify(r2)}, 1 vs 1 ${JSON.stringify(r1)}; before ${ips(before)}, cpu ${ips(cpu)}`);
    rows.push(row);
  }
  return { backends, torch: (rows.length && python(['-c', 'import torch,json;print(json.dumps({"v":torch.__version__}))']).v) || null, rows };
}

export async function profileSection(o: BenchOptions): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const variants: [string, string[]][] = o.quick ? [['after', []]] : [['after', []], ['before', ['--stock', BEFORE]]];
  for (const backbone of o.quick ? ['resnet18'] : [...BACKBONES]) {
    const per: Record<string, unknown> = {};
    for (const [name, extra] of variants) {
      if (o.quick && name === 'before' && backbone !== 'resnet18') continue;
      const r = tsx('bench/train-step.ts', ['profile', '--backbone', backbone, '--width', String(WIDTH), '--backend', 'wasm', '--batch', String(BATCH), ...extra]);
      const kernels = (r.kernels as { name: string; ms: number; calls: number }[]);
      per[name] = {
        stepMs: r.stepMs, profiledStepMs: r.profiledStepMs, dataMs: r.dataMs, kernelMs: r.kernelMs, kernelCalls: r.kernelCalls,
        kernels: kernels.slice(0, 15).map((k) => ({ ...k, ms: round(k.ms, 1), pct: round((100 * k.ms) / (r.kernelMs as number), 1) })),
        topCalls: (r.topCalls as unknown[]).slice(0, 10),
      };
    }
    out[backbone] = per;
  }
  void mean;
  return out;
}
