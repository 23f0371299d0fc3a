/**
 * Screenshots compared with stored baselines (test/baselines/<name>.png), pixel by pixel with
 * pngjs. A pixel differs when its channels differ by more than `pixelTolerance` in total (anti-
 * aliasing and font hinting stay below it); the comparison fails when more than `maxDiffShare` of
 * the pixels differ, or the size changed, and leaves `<name>-diff.png` (differing pixels in red
 * over a faded copy) beside the screenshot. A missing baseline fails too, saying how to make one:
 * look at the screenshot, then run the suite with EARLY_EXIT_UPDATE_BASELINES=1, which writes every
 * compared screenshot as its baseline. Used by the report tests (headless Chromium) and the VS Code
 * suite (code-server); the one place that decides what "looks the same" means.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PNG } from 'pngjs';

export interface ScreenshotTolerance {
  /** Sum of |ΔR| + |ΔG| + |ΔB| above which a pixel counts as different (0–765). */
  pixelTolerance?: number;
  /** Share of pixels allowed to differ (0–1). */
  maxDiffShare?: number;
}

export interface ScreenshotComparison {
  width: number;
  height: number;
  differing: number;
  share: number;
  /** Where the diff image was written (only when the comparison failed). */
  diff?: string;
  /** True when the baseline was (re)written instead of compared. */
  updated: boolean;
}

export const DEFAULT_TOLERANCE: Required<ScreenshotTolerance> = { pixelTolerance: 48, maxDiffShare: 0.001 };

/** Pixels of two same-size RGBA images whose channels differ by more than `pixelTolerance` in total. */
export function differingPixels(a: PNG, b: PNG, pixelTolerance: number): { count: number; mask: Uint8Array } {
  const mask = new Uint8Array(a.width * a.height);
  let count = 0;
  for (let p = 0, i = 0; p < mask.length; p++, i += 4) {
    const d = Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) + Math.abs(a.data[i + 2] - b.data[i + 2]);
    if (d > pixelTolerance) { mask[p] = 1; count++; }
  }
  return { count, mask };
}

/** The smallest box (inclusive pixel bounds) holding every set pixel of `mask`, an image `width` wide. */
export function boundingBox(mask: Uint8Array, width: number): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    const x = p % width, y = (p - x) / width;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    y1 = y;
  }
  return { x0, y0, x1, y1 };
}

/**
 * Compares the PNG at `actual` with `<baselineDir>/<name>.png`; throws (with the numbers and the
 * diff image's path) when they differ beyond the tolerance or the baseline is missing.
 */
export function expectMatchesBaseline(actual: string, name: string, baselineDir: string, tolerance: ScreenshotTolerance = {}): ScreenshotComparison {
  const { pixelTolerance, maxDiffShare } = { ...DEFAULT_TOLERANCE, ...tolerance };
  const baseline = join(baselineDir, `${name}.png`);
  const shot = PNG.sync.read(readFileSync(actual));
  if (process.env.EARLY_EXIT_UPDATE_BASELINES === '1') {
    mkdirSync(baselineDir, { recursive: true });
    copyFileSync(actual, baseline);
    return { width: shot.width, height: shot.height, differing: 0, share: 0, updated: true };
  }
  if (!existsSync(baseline)) {
    throw new Error(`no baseline ${baseline} for the screenshot ${actual}: look at the screenshot and, if it is right, run the suite with EARLY_EXIT_UPDATE_BASELINES=1 and commit the baseline`);
  }
  const base = PNG.sync.read(readFileSync(baseline));
  if (base.width !== shot.width || base.height !== shot.height) {
    throw new Error(`${actual} is ${shot.width}×${shot.height}, its baseline ${baseline} ${base.width}×${base.height}`);
  }
  const { count, mask } = differingPixels(shot, base, pixelTolerance);
  const share = count / mask.length;
  const result: ScreenshotComparison = { width: shot.width, height: shot.height, differing: count, share, updated: false };
  if (share > maxDiffShare) {
    const diff = new PNG({ width: shot.width, height: shot.height });
    for (let p = 0, i = 0; p < mask.length; p++, i += 4) {
      const grey = (shot.data[i] + shot.data[i + 1] + shot.data[i + 2]) / 3;
      diff.data.set(mask[p] ? [255, 0, 0, 255] : [200 + grey / 5, 200 + grey / 5, 200 + grey / 5, 255], i);
    }
    result.diff = join(dirname(actual), `${basename(actual, '.png')}-diff.png`);
    writeFileSync(result.diff, PNG.sync.write(diff));
    // where they are, in the message itself: the diff image is not always at hand (a CI log)
    const box = boundingBox(mask, shot.width);
    throw new Error(`${actual} differs from its baseline ${baseline} in ${count} of ${mask.length} pixels (${(100 * share).toFixed(2)} %, `
      + `allowed ${(100 * maxDiffShare).toFixed(2)} %), all within x ${box.x0}–${box.x1}, y ${box.y0}–${box.y1}; differing pixels in red: ${result.diff}. `
      + 'If the change is intended, run with EARLY_EXIT_UPDATE_BASELINES=1');
  }
  return result;
}
