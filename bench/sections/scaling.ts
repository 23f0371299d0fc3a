/**
 * Scaling (seconds per epoch vs dataset size and vs width) and memory (peak resident memory of a
 * training run on the full 60k CIFAR-10 JPEG set at width 1/4).
 */
import * as fs from 'node:fs';
import type { BenchOptions } from '../run';
import { CIFAR_JPG, log, round, tsx } from '../lib/util';

export async function scalingSection(o: BenchOptions): Promise<Record<string, unknown>> {
  const backbone = 'resnet18';
  const sizes = o.quick ? [250, 500] : [1000, 2000, 4000];
  const widths = o.quick ? [0.0625, 0.125] : [0.0625, 0.125, 0.25];
  const bySize = sizes.map((images) => {
    const r = tsx('bench/epoch.ts', ['epoch', '--backbone', backbone, '--width', '0.0625', '--images', String(images)]);
    log(`scaling: ${images} images → ${round(r.seconds as number, 1)} s/epoch`);
    return { images: r.images, seconds: round(r.seconds as number, 2), imgPerSec: round(r.imgPerSec as number, 1), secondsPer1k: round((1000 * (r.seconds as number)) / (r.images as number), 2) };
  });
  const widthImages = o.quick ? 250 : 1000;
  const byWidth = widths.map((width) => {
    const r = tsx('bench/epoch.ts', ['epoch', '--backbone', backbone, '--width', String(width), '--images', String(widthImages)]);
    log(`scaling: width ${width} → ${round(r.seconds as number, 1)} s/epoch`);
    return { width, macs: r.macs, seconds: round(r.seconds as number, 2), imgPerSec: round(r.imgPerSec as number, 1) };
  });
  return { backbone, bySize, widthImages, byWidth };
}

export async function memorySection(o: BenchOptions): Promise<Record<string, unknown>> {
  if (!fs.existsSync(CIFAR_JPG)) return { error: `${CIFAR_JPG} is missing` };
  const r = tsx('bench/epoch.ts', ['memory', '--backbone', 'resnet18', '--width', '0.25', '--steps', o.quick ? '3' : '10', '--validation', o.quick ? '1000' : '5000'], 20 * 60_000);
  log(`memory: peak ${round(r.peakMiB as number, 0)} MiB`);
  return { training: r, targetMiB: 1536 };
}
