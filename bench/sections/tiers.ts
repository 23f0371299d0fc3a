/**
 * Exits across tiers: a ResNet-18 with exits trained on CIFAR-10 5k (by the CLI, or the run in
 * EE_TIERS_RUN), split over the tiers of two presets at three cut placements each. Per placement:
 * the preset's estimate (`deploy plan`), and the split execution (`deploy run`: one process per
 * tier over HTTP/2 on loopback, links shaped to the preset) beside the estimate for the same
 * inputs with every tier computing here; then the best placement for a few budgets, from the
 * preset's fronts (`deploy plan --sweep`).
 */
import * as path from 'node:path';
import type { DeploymentPoint } from '../../src/spec/tier-estimate';
import type { BenchOptions } from '../run';
import { load1, log, ROOT, run } from '../lib/util';
import { train } from './exits';

const CLI = path.join(ROOT, 'bin/early-exit.js');

/** The placements measured, per preset: Figure 2's, the raw image to the second tier, everything to the last exit on the device. */
const PLACEMENTS = [
  { label: 'Figure 2: exit 1 on the device, exit 2 on the second tier', cut: 'block2,block4' },
  { label: 'raw image to the second tier, which runs everything', cut: 'input,block8' },
  { label: 'device up to the last exit, the rest in the cloud', cut: 'block6,block6' },
];
const PRESETS = [
  { id: 'phone-wifi-cloud', int8: false },
  { id: 'mcu-lora-cloud', int8: true },
];

function cliJson(args: string[], timeoutMs = 30 * 60_000): Record<string, any> {
  const p = run(process.execPath, [CLI, ...args, '--json'], { timeoutMs });
  if (p.code !== 0) throw new Error(`early-exit ${args.join(' ')} failed (exit ${p.code}):\n${p.stderr.slice(-3000)}`);
  return JSON.parse(p.stdout);
}

export async function tiersSection(o: BenchOptions): Promise<Record<string, unknown>> {
  const runDir = process.env.EE_TIERS_RUN ?? train({ backbone: 'resnet18', method: 'proposed', lambda: 0.1, alpha: 0.5, epochs: o.quick ? 2 : 10, timingImages: 0 });
  log(`tiers: run ${runDir}`);
  const speed = cliJson(['deploy', 'measure', runDir, '--backend', 'wasm']);
  const maxImages = o.quick ? 40 : 300;
  // EE_TIERS_PRESETS=phone-wifi-cloud re-measures one preset and keeps the others' earlier figures
  const only = process.env.EE_TIERS_PRESETS?.split(',');
  const earlier = ((o.prev?.tiers as { presets?: { id: string; rows: unknown[] }[] } | undefined)?.presets ?? []);
  const presets = PRESETS.map((p) => {
    const kept = only && !only.includes(p.id) ? earlier.find((x) => x.id === p.id) : undefined;
    const q = p.int8 ? ['--int8'] : [];
    const rows = kept?.rows ?? PLACEMENTS.map((pl) => {
      const plan = cliJson(['deploy', 'plan', runDir, '--preset', p.id, '--cut', pl.cut, ...q]);
      // sized so that one placement's link time stays near 3 minutes (LoRa moves a few hundred bytes a second)
      const images = Math.max(o.quick ? 10 : 20, Math.min(maxImages, Math.floor((o.quick ? 30 : 180) * 1000 / plan.estimate.latency.mean)));
      log(`tiers: ${p.id} cut ${pl.cut}: ${images} inputs through the tier processes (load ${load1()})`);
      // each tier warms its own kernels when it starts; over a slow link a few inputs through the chain are enough
      const warmup = plan.estimate.latency.mean > 1000 ? 3 : 20;
      const measured = cliJson(['deploy', 'run', runDir, '--preset', p.id, '--cut', pl.cut, ...q, '--images', String(images), '--warmup', String(warmup)]);
      const m = measured.measurement;
      return {
        placement: pl.label, cut: pl.cut,
        preset: { latency: plan.estimate.latency, bytesPerInput: plan.estimate.bytesPerInput, deviceShare: plan.estimate.deviceShare, accuracy: plan.estimate.accuracy, tierStops: plan.estimate.tierStops },
        here: { images: m.inputs.length, latency: m.estimate.latency, bytesPerInput: m.estimate.bytesPerInput.chosen, computeMs: m.estimate.computeMs },
        measured: { comparison: measured.comparison, loadAverage: m.loadAverage, computeMs: m.inputs.reduce((s: number, i: any) => s + i.computeMs.reduce((a: number, b: number) => a + b, 0), 0) / m.inputs.length },
      };
    });
    // each point of a front is the best placement from its own cost up to the next point's
    const sweep = cliJson(['deploy', 'plan', runDir, '--preset', p.id, '--sweep', ...q]).sweep;
    const point = (b: DeploymentPoint & { cuts: string[] }) => ({ cuts: b.cuts, threshold: b.threshold, accuracy: b.accuracy, meanMs: b.meanMs, p95Ms: b.p95Ms, bytesPerInput: b.bytesPerInput, deviceShare: b.deviceShare });
    return {
      id: p.id, quantization: p.int8 ? 'int8' : 'float32', rows, frontPoints: sweep.points,
      latencyFront: sweep.latencyFront.map(point), bytesFront: sweep.bytesFront.map(point),
    };
  });
  return { runDir, speed, presets };
}
