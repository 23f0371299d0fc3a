/**
 * One training run, start to finish, inside the worker process: backend → dataset → network →
 * train (progress, metrics + checkpoint per epoch) → evaluate (records, tables, sweep, timing) →
 * run folder. Every outcome ends in status.json: finished, cancelled or failed with the cause.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeChoice, selectBackend, type BackendPreference } from '../accel/backend';
import { describeBackbone } from '../spec/backbones';
import { channelStats, loadDataset, splitValidation, toFloatBatch, type Split } from '../data';
import type { Dataset } from '../data/types';
import { ValidationError } from '../spec/errors';
import { collectRecords, measureTiming, summarise, type BatchSource } from '../engine/tfjs/evaluate';
import { exitPositions, resolveRule, type Experiment } from '../spec/experiment';
import { MultiExitNetwork } from '../engine/tfjs/network';
import type { RunResults } from '../spec/results';
import { createOptimizer, NonFiniteLossError, trainNetwork, TrainingCancelled, type TrainSource } from '../engine/tfjs/train';
import type { FromWorker } from '../protocol/worker';
import { appendMetrics, readExperimentOf, RUN_FILES, updateStatus, writeJsonAtomic } from '../runs/store';
import { checkpointDir, loadNetwork, saveNetwork } from '../engine/tfjs/checkpoint';
import { faultPoint } from '../engine/faults';

export interface RunOptions {
  runDir: string;
  resume: boolean;
  backend?: string;
  cacheDir?: string;
  send: (m: FromWorker) => void;
  shouldStop: () => boolean;
}

/** The training, validation and test batch sources of a run (bytes stay bytes; each batch becomes floats). */
export function sources(ds: Dataset, train: Split, validation: Split, test: Split): { train: TrainSource; validation: BatchSource; test: BatchSource } {
  const shape = ds.shape;
  const { mean, std } = channelStats(train, shape);
  const tensor = (f: Float32Array, n: number) => tf.tensor4d(f, [n, shape[0], shape[1], shape[2]]);
  const range = (s: number, n: number) => Array.from({ length: n }, (_, i) => s + i);
  const batchSource = (split: Split): BatchSource => ({
    count: split.count,
    labels: split.labels,
    batch: (s, n) => tensor(toFloatBatch(split, shape, range(s, n), { mean, std }), n),
  });
  return {
    train: {
      count: train.count,
      labels: train.labels,
      batch: (idx, augment, rng) => tensor(toFloatBatch(train, shape, idx, { mean, std, augment, rng }), idx.length),
    },
    validation: batchSource(validation),
    test: batchSource(test),
  };
}

export async function runTraining(o: RunOptions): Promise<void> {
  const { runDir, send } = o;
  const runId = path.basename(runDir);
  const t0 = performance.now();
  let epochNow = 0;
  const log = (message: string) => {
    send({ type: 'log', level: 'info', message });
    fs.appendFileSync(path.join(runDir, RUN_FILES.log), `${new Date().toISOString()} ${message}\n`);
  };
  try {
    const x: Experiment = readExperimentOf(runDir);
    updateStatus(runDir, { state: 'running', pid: process.pid, startedAt: new Date().toISOString(), endedAt: null, error: null });
    const choice = await selectBackend((o.backend ?? x.training.backend) as BackendPreference);
    const backendReason = describeChoice(choice);
    log(`backend: ${backendReason}`);
    updateStatus(runDir, { backend: choice.kind, backendReason });

    const ds = await loadDataset(x.dataset, {
      cacheDir: o.cacheDir, seed: x.training.seed,
      onProgress: (p) => send({ type: 'datasetProgress', phase: p.phase, done: p.done, total: p.total }),
    });
    if (ds.classes.length !== x.backbone.classes) {
      throw new ValidationError(`backbone.classes: ${x.backbone.classes}, but dataset "${ds.name}" has ${ds.classes.length} classes`, 'backbone.classes');
    }
    if (ds.shape.join('x') !== x.backbone.input.join('x')) {
      throw new ValidationError(`backbone.input: [${x.backbone.input.join(', ')}], but dataset "${ds.name}" has images of [${ds.shape.join(', ')}] (set dataset.resize or backbone.input)`, 'backbone.input');
    }
    const { train, validation } = splitValidation(ds.train, x.dataset.validationFraction, x.training.seed);
    const src = sources(ds, train, validation, ds.test);
    log(`dataset ${ds.name}${ds.synthetic ? ' (synthetic)' : ''}: ${train.count} train, ${validation.count} validation, ${ds.test.count} test`);

    const gated = x.method.name === 'proposed';
    let net: MultiExitNetwork;
    let startEpoch = 0;
    const optimizer = createOptimizer(x.training);
    const ckpt = path.join(runDir, RUN_FILES.checkpoint);
    if (o.resume && checkpointDir(ckpt)) {
      const r = await loadNetwork(ckpt, { optimizer });
      net = r.net;
      startEpoch = r.epoch;
      log(`resumed from the checkpoint of epoch ${startEpoch}`);
    } else {
      net = new MultiExitNetwork({ backbone: x.backbone, exits: x.exits, gated, seed: x.training.seed });
    }
    epochNow = startEpoch;
    send({
      type: 'started', runId, backend: choice.kind, backendReason, resumedFromEpoch: startEpoch,
      trainCount: train.count, validationCount: validation.count, testCount: ds.test.count, parameters: net.parameterCount(),
    });
    const rule = resolveRule(x);
    const thresholds = Array.isArray(x.evaluation.threshold) ? x.evaluation.threshold : x.exits.map(() => x.evaluation.threshold as number);
    const augment = x.dataset.augment && ds.shape[0] === 32 && ds.shape[1] === 32 && ds.shape[2] === 3;

    if (startEpoch < x.training.epochs) {
      await trainNetwork({
        net, method: x.method, training: x.training, train: src.train, augment, validation: src.validation,
        rule, thresholds, startEpoch, optimizer,
        callbacks: {
          shouldStop: o.shouldStop,
          onStep: (p) => { epochNow = p.epoch - 1; faultPoint('step', p.epoch); send({ type: 'progress', ...p }); },
          onEpochEnd: async (m, opt) => {
            appendMetrics(runDir, m);
            await saveNetwork(ckpt, net, { epoch: m.epoch, optimizer: opt });
            updateStatus(runDir, { epoch: m.epoch });
            epochNow = m.epoch;
            send({ type: 'epochEnd', metrics: m });
            log(`epoch ${m.epoch}/${x.training.epochs}: loss ${m.loss.toFixed(4)}, hard acc ${(100 * m.hardAccuracy).toFixed(2)}%, ${m.imagesPerSecond.toFixed(0)} img/s`);
          },
        },
      });
    }
    const trainSeconds = (performance.now() - t0) / 1000;

    log('evaluating on the test split');
    const testRec = await collectRecords(net, src.test, 'test');
    const valRec = await collectRecords(net, src.validation, 'validation');
    const cal = x.evaluation.calibration;
    const target = cal.budget != null ? { budget: cal.budget } : cal.accuracy != null ? { accuracy: cal.accuracy } : null;
    const positions = exitPositions(x);
    const report = summarise(net, testRec, valRec, rule, thresholds, target, positions);
    const timing = x.evaluation.timingImages > 0 && !o.shouldStop()
      ? await measureTiming(net, src.test, rule, thresholds, x.evaluation.timingImages, choice.kind)
      : null;
    await saveNetwork(path.join(runDir, RUN_FILES.model), net);
    writeJsonAtomic(path.join(runDir, RUN_FILES.samples), testRec, 0);
    writeJsonAtomic(path.join(runDir, RUN_FILES.validationSamples), valRec, 0);
    const desc = describeBackbone(x.backbone);
    const results: RunResults = {
      version: 1,
      method: x.method.name,
      lambda: x.method.name === 'proposed' ? x.method.lambda : null,
      backbone: { name: x.backbone.name, label: desc.label, width: x.backbone.width, input: x.backbone.input, classes: x.backbone.classes },
      dataset: { name: ds.name, synthetic: !!ds.synthetic, classes: ds.classes, train: train.count, validation: validation.count, test: ds.test.count },
      backend: choice.kind,
      epochs: x.training.epochs,
      trainSeconds,
      parameters: net.parameterCount(),
      costs: net.costs,
      points: net.exits.map((e) => e.point),
      ...report,
      timing,
      files: { samples: RUN_FILES.samples, validationSamples: RUN_FILES.validationSamples, model: RUN_FILES.model },
    };
    writeJsonAtomic(path.join(runDir, RUN_FILES.results), results);
    send({ type: 'evaluated', results });
    updateStatus(runDir, { state: 'finished', endedAt: new Date().toISOString(), epoch: x.training.epochs, pid: null });
    send({ type: 'finished', runId, seconds: (performance.now() - t0) / 1000 });
    net.dispose();
  } catch (err) {
    if (err instanceof TrainingCancelled) {
      updateStatus(runDir, { state: 'cancelled', endedAt: new Date().toISOString(), error: err.message, pid: null });
      log(err.message);
      send({ type: 'cancelled', runId, epoch: err.epoch, step: err.step });
      return;
    }
    const e = err as Error;
    let message = e instanceof ValidationError || e instanceof NonFiniteLossError ? e.message : String(e?.stack ?? e);
    const code = (e as NodeJS.ErrnoException)?.code;
    if (/out of memory|Cannot allocate|RangeError: Array buffer allocation/i.test(message)) {
      message = `out of memory at epoch ${epochNow + 1}: ${e.message} (try a smaller batch size or width)`;
    } else if (code === 'ENOSPC' || code === 'EDQUOT') {
      message = `disk full at epoch ${epochNow + 1} (${code}): ${e.message}; the run folder keeps the metrics and the checkpoint of epoch ${epochNow} (free space, then resume with --resume)`;
    }
    const where = e instanceof NonFiniteLossError ? { epoch: e.epoch, step: e.step } : {};
    try {
      updateStatus(runDir, { state: 'failed', endedAt: new Date().toISOString(), error: message, pid: null });
    } catch { /* the run folder itself may be gone */ }
    send({ type: 'failed', runId, error: message, ...where });
  }
}

