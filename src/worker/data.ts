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
  const { mean, std } = channelStats(train, ds.shape);
  const augment = x.dataset.augment && ds.shape[0] === 32 && ds.shape[1] === 32 && ds.shape[2] === 3;
  return { data: { shape: ds.shape, train, validation, test: ds.test, mean, std, augment }, dataset: ds };
}
