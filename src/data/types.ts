/**
 * In-memory dataset shapes shared by every reader and by training. Images stay as bytes
 * (uint8, HWC order, one image after another) and are turned into floats per batch.
 */

/** One split of a dataset: N images of shape [height, width, channels] as bytes, N labels. */
export interface Split {
  /** N·H·W·C bytes, image i at offset i·H·W·C, pixel (y, x, c) at ((y·W + x)·C + c). */
  images: Uint8Array;
  /** N class indices in [0, classes.length). */
  labels: Uint8Array;
  count: number;
  /** Per-sample difficulty in [0, 1] where the source knows it (the synthetic set). */
  difficulty?: Float32Array;
}

/** A loaded dataset. `test` is the held-out split the paper reports on. */
export interface Dataset {
  /** Registered name ("cifar10", "synthetic", …) or the path it was read from. */
  name: string;
  /** Human-readable format, e.g. "CIFAR-10 binary", "IDX", "image folders". */
  format: string;
  classes: string[];
  /** [height, width, channels] */
  shape: [number, number, number];
  train: Split;
  test: Split;
  /** Extra splits present in the source (e.g. CINIC-10 "valid"). */
  extra?: Record<string, Split>;
  /** True for the procedurally generated offline set. */
  synthetic?: boolean;
  /**
   * What the reader changed or left out that the user should know (images converted to another
   * channel count, files that are not images, splits that are not used), one line each.
   */
  notes?: string[];
}
