/**
 * A run's data as every engine receives it, from its experiment: the dataset read once in
 * TypeScript, the seeded validation split, the training split's channel statistics, and whether
 * batches are augmented. Shared by the worker and `eval --measure`.
 */
import { channelStats, loadDataset, splitValidation, type LoadOptions } from '../data';
import type { Dataset } from '../data/types';
import type { EngineData } from '../engine/engine';
import { ValidationError } from '../spec/errors';
import type { Experiment } from '../spec/experiment';

export async function loadRunData(x: Experiment, opts: Omit<LoadOptions, 'seed'> = {}): Promise<{ data: EngineData; dataset: Dataset }> {
  const ds = await loadDataset(x.dataset, { ...opts, seed: x.training.seed });
  if (ds.classes.length !== x.backbone.classes) {
    throw new ValidationError(`backbone.classes: ${x.backbone.classes}, but dataset "${ds.name}" has ${ds.classes.length} classes`, 'backbone.classes');
  }
  if (ds.shape.join('x') !== x.backbone.input.join('x')) {
    throw new ValidationError(`backbone.input: [${x.backbone.input.join(', ')}], but dataset "${ds.name}" has images of [${ds.shape.join(', ')}] (set dataset.resize or backbone.input)`, 'backbone.input');
  }
  const { train, validation } = splitValidation(ds.train, x.dataset.validationFraction, x.training.seed);
  checkSplits(x, ds, train.count, validation.count);
  const { mean, std } = channelStats(train, ds.shape);
  const augment = x.dataset.augment && ds.shape[0] === 32 && ds.shape[1] === 32 && ds.shape[2] === 3;
  return { data: { shape: ds.shape, train, validation, test: ds.test, mean, std, augment }, dataset: ds };
}

/**
 * Refuses, before any training, a run whose splits cannot give what it promises: no training
 * image left after the validation split, no test image, or calibration asked for without a
 * validation split to calibrate on.
 */
export function checkSplits(x: Experiment, ds: Dataset, train: number, validation: number): void {
  const f = x.dataset.validationFraction;
  if (train === 0) {
    throw new ValidationError(
      `dataset.validationFraction: ${f} of the ${ds.train.count} training images of "${ds.name}" leaves none to train on `
      + '(each class keeps round(fraction × its images) for validation); lower dataset.validationFraction or give more images', 'dataset.validationFraction',
    );
  }
  if (ds.test.count === 0) throw new ValidationError(`dataset: "${ds.name}" has no test images to evaluate on`, 'dataset');
  const cal = x.evaluation.calibration;
  if ((cal.budget != null || cal.accuracy != null) && validation === 0) {
    throw new ValidationError(
      `evaluation.calibration: needs a validation split to pick τ on, but dataset.validationFraction ${f} of ${ds.train.count} images gives none; `
      + 'raise dataset.validationFraction, or remove evaluation.calibration (early-exit eval --threshold still works)', 'evaluation.calibration',
    );
  }
}
