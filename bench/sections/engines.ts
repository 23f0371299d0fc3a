/**
 * The two engines side by side on this CPU, in one run: the torch engine (the product's Python
 * process, bench/torch-engine-step.ts), the tfjs engine on wasm (bench/train-step.ts) and the plain
 * PyTorch loop (bench/torch_ref.py), on the same ResNet-18 with three exits, the same batch and
 * the same work per step, at widths 1/8 and 1/4; and where a step's time goes in wasm and in
 * PyTorch at both widths (per-kernel / per-operator profiles), which is what moves wasm's ratio.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchOptions } from '../run';
import { lastJson, load1, log, median, PYTHON, python, round, run, tmpDir, tsx } from '../lib/util';

export const ENGINE_WIDTHS = [0.125, 0.25];
const BATCH = 64;
const THREADS = 2;
/**
 * OpenMP threads that spin while waiting make PyTorch on a busy 2-core machine many times slower
 * (the torch engine sets this for its process); the plain loop gets the same, so that the two
 * differ only in their own code.
 */
export const PASSIVE = { OMP_WAIT_POLICY: 'PASSIVE' };
const pyRef = (args: string[]) => lastJson(run(PYTHON, args, { env: PASSIVE }), `python ${args.join(' ')}`);

type Kernel = { name: string; ms: number; calls: number };

/** Convolution (forward and both gradients), batch norm, the rest: where a profiled step's time goes. */
export function kernelShares(kernels: Kernel[], stepMs: number): { convMs: number; bnMs: number; otherMs: number; outsideMs: number } {
  let conv = 0, bn = 0, other = 0;
  for (const k of kernels) {
    if (/conv|mkldnn_convolution|ConvFilterGrad|Interleave/i.test(k.name)) conv += k.ms;
    else if (/batch_?norm|BatchNorm|EarlyExitBn/i.test(k.name)) bn += k.ms;
    else if (!/^autograd::|^Optimizer\.|^aten::(convolution|_convolution)$/.test(k.name)) other += k.ms;
  }
  return { convMs: round(conv, 1), bnMs: round(bn, 1), otherMs: round(other, 1), outsideMs: round(Math.max(0, stepMs - conv - bn - other), 1) };
}

export async function enginesSection(o: BenchOptions): Promise<Record<string, unknown>> {
  const dir = tmpDir('engine-specs');
  const steps = o.quick ? 3 : 12;
  const rounds = o.quick ? 1 : 5;
  const rows: Record<string, unknown>[] = [];
  for (const width of ENGINE_WIDTHS) {
    const spec = path.join(dir, `resnet18-${width}.json`);
    const w = run(process.execPath, ['--import', 'tsx', 'bench/write-spec.ts', 'resnet18', String(width), spec]);
    if (w.code !== 0 || !fs.existsSync(spec)) throw new Error(`write-spec: ${w.stderr}`);
    const macs = JSON.parse(fs.readFileSync(spec, 'utf8')).macs;
    // img/s on the wall clock, and img per CPU-second of the process(es) doing the work (all their
    // threads): on a machine other jobs load, the second is what the ratios are taken on
    const measured: { ref: number; wasm: number; engine: number; refCpu: number; wasmCpu: number; engineCpu: number }[] = [];
    let wasmDesc = '', engineDesc = '';
    for (let r = 0; r < rounds; r++) {
      // back to back within a round, so that the machine's other load moves all three alike
      const ref = pyRef(['bench/torch_ref.py', 'throughput', '--spec', spec, '--batch', String(BATCH), '--steps', String(steps), '--warmup', '2', '--threads', String(THREADS)]);
      const wasm = tsx('bench/train-step.ts', ['throughput', '--backbone', 'resnet18', '--width', String(width), '--backend', 'wasm', '--batch', String(BATCH), '--steps', String(steps), '--warmup', '2']);
      const engine = tsx('bench/torch-engine-step.ts', ['--backbone', 'resnet18', '--width', String(width), '--batch', String(BATCH), '--steps', String(steps), '--warmup', '2', '--threads', String(THREADS)], undefined, { EARLY_EXIT_PYTHON: PYTHON });
      measured.push({
        ref: ref.imgPerSec as number, wasm: wasm.imgPerSec as number, engine: engine.imgPerSec as number,
        refCpu: ref.imgPerCpuSec as number, wasmCpu: wasm.imgPerCpuSec as number, engineCpu: engine.imgPerCpuSec as number,
      });
      wasmDesc = String(wasm.backendDescription);
      engineDesc = `${engine.backendDescription}; ${engine.engine}`;
      const m = measured[measured.length - 1];
      log(`engines ×${width} round ${r + 1}: img/s (per CPU-second) PyTorch loop ${round(m.ref, 1)} (${round(m.refCpu, 1)}), torch engine ${round(m.engine, 1)} (${round(m.engineCpu, 1)}), wasm ${round(m.wasm, 1)} (${round(m.wasmCpu, 1)})`);
    }
    const ratio = (k: 'wasm' | 'engine' | 'wasmCpu' | 'engineCpu', ref: 'ref' | 'refCpu') => {
      const v = measured.map((m) => m[k] / m[ref]);
      return { median: round(median(v)!, 3), min: round(Math.min(...v), 3), max: round(Math.max(...v), 3) };
    };
    const med = (k: keyof (typeof measured)[number]) => round(median(measured.map((m) => m[k]))!, 1);
    // where the time goes, once per width
    const wp = tsx('bench/train-step.ts', ['profile', '--backbone', 'resnet18', '--width', String(width), '--backend', 'wasm', '--batch', String(BATCH)]);
    const tp = pyRef(['bench/torch_ref.py', 'profile', '--spec', spec, '--batch', String(BATCH), '--threads', String(THREADS)]);
    rows.push({
      width, batch: BATCH, threads: THREADS, macs, rounds: measured,
      ref: { imgPerSec: med('ref'), imgPerCpuSec: med('refCpu') },
      wasm: { imgPerSec: med('wasm'), imgPerCpuSec: med('wasmCpu'), backend: wasmDesc },
      engine: { imgPerSec: med('engine'), imgPerCpuSec: med('engineCpu'), backend: engineDesc },
      ratioWasmRef: ratio('wasmCpu', 'refCpu'), ratioEngineRef: ratio('engineCpu', 'refCpu'),
      wallRatioWasmRef: ratio('wasm', 'ref'), wallRatioEngineRef: ratio('engine', 'ref'),
      profile: {
        wasm: { stepMs: round(wp.profiledStepMs as number, 1), kernelCalls: wp.kernelCalls, ...kernelShares(wp.kernels as Kernel[], wp.profiledStepMs as number), top: (wp.kernels as Kernel[]).slice(0, 8) },
        torch: { stepMs: round(tp.profiledStepMs as number, 1), ...kernelShares(tp.ops as Kernel[], tp.profiledStepMs as number), top: (tp.ops as Kernel[]).slice(0, 8) },
      },
      load: load1(),
    });
  }
  return { torch: python(['-c', 'import torch,json;print(json.dumps({"v":torch.__version__}))']).v, rows };
}
