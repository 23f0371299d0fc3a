/**
 * One training run, start to finish, inside the worker process, on whichever engine the
 * experiment asks for: prepare (device, dataset, network) → train (progress, metrics + checkpoint
 * per epoch) → evaluate and write (records, tables, sweep, timing, the run folder). Every outcome
 * ends in status.json: finished, cancelled or failed with the cause.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Engine, EngineData, EngineDevice, EngineNetwork } from '../engine/engine';
import { EngineError, NonFiniteLossError, TrainingCancelled } from '../engine/engine';
import { checkpointDir } from '../engine/checkpoint-folder';
import { faultPlanned, faultPoint } from '../engine/faults';
import { divergence, trainEpochs } from '../engine/loop';
import { TfjsEngine } from '../engine/tfjs';
import { chooseInterpreter, TorchEngine } from '../engine/torch';
import { collapseWarning, evaluationReport } from '../spec/analysis';
import { describeBackbone } from '../spec/backbones';
import { ValidationError } from '../spec/errors';
import { calibrationOf, exitPositions, resolveRule, type Experiment } from '../spec/experiment';
import { recipeRefusal, recipeSummary, recipesOf, type EngineName } from '../spec/method';
import type { RunResults, SampleRecords } from '../spec/results';
import { samplesProblem } from '../spec/run-files';
import type { EpochMetrics } from '../spec/run-types';
import type { FromWorker } from '../protocol/worker';
import { thisProcess } from '../runs/lock';
import { appendMetrics, readExperimentOf, readMetrics, RUN_FILES, updateStatus, writeJsonAtomic } from '../runs/store';
import { loadRunData } from './data';
import { datasetText } from '../spec/run-label';

type PythonHints = { setting?: string; pythonExtension?: string };

export interface RunOptions {
  runDir: string;
  resume: boolean;
  backend?: string;
  cacheDir?: string;
  /** Where the torch engine's Python may come from (the extension's setting, the Python extension). */
  python?: PythonHints;
  send: (m: FromWorker) => void;
  shouldStop: () => boolean;
}

export interface EngineChoice {
  /** earlyExit.pythonPath and the Python extension's interpreter (EARLY_EXIT_PYTHON is read here) */
  python?: PythonHints;
  /** a line for worker.log (the torch engine's stderr and tracebacks) */
  log?(line: string): void;
  /** the tfjs engine only: `torch` and `auto` mean tfjs's own order (eval --measure times on the CPU) */
  tfjsOnly?: boolean;
}

/**
 * The engine for a backend preference, prepared. `torch` is the PyTorch engine; `auto` takes it
 * when it finds a CUDA device, else tfjs's order (gpu → native-cpu → wasm → cpu), and the device
 * line says why torch was skipped; a named tfjs backend is tfjs.
 */
export async function engineFor(preference: string, x: Pick<Experiment, 'training'>, o: EngineChoice = {}): Promise<{ engine: Engine; device: EngineDevice }> {
  let skipped: string | null = null;
  if (!o.tfjsOnly && (preference === 'torch' || preference === 'auto')) {
    const engine = new TorchEngine({
      python: chooseInterpreter(o.python), device: x.training.device, devices: x.training.devices, log: o.log ?? (() => {}),
    });
    try {
      return { engine, device: await engine.prepare(preference) };
    } catch (e) {
      if (preference === 'torch') throw e;
      skipped = (e as Error).message;
    }
  }
  const engine = new TfjsEngine();
  const device = await engine.prepare(o.tfjsOnly && preference === 'torch' ? 'auto' : preference);
  if (skipped) {
    // torch was tried first: it leads the list of what auto skipped
    const at = device.description.indexOf('; skipped ');
    device.description = at >= 0
      ? `${device.description.slice(0, at)}; skipped torch: ${skipped}; ${device.description.slice(at + '; skipped '.length)}`
      : `${device.description}; skipped torch: ${skipped}`;
  }
  return { engine, device };
}

/** What the three phases share. */
interface Run {
  o: RunOptions;
  id: string;
  x: Experiment;
  t0: number;
  /** the last finished epoch (for messages about where a failure happened) */
  epoch: number;
  /** epochs trained by this process, with their metrics */
  trained: EpochMetrics[];
  /** what the user should know about the finished run (divergence) */
  warnings: string[];
  log(message: string): void;
  warn(message: string): void;
}

interface Prepared {
  device: EngineDevice;
  data: EngineData;
  datasetName: string;
  synthetic: boolean;
  classes: string[];
  net: EngineNetwork;
  startEpoch: number;
}

/** Device, dataset and network (fresh, or restored from the checkpoint with --resume). */
async function prepare(r: Run): Promise<Prepared> {
  const { o, x } = r;
  const { engine, device } = await engineFor(o.backend ?? x.training.backend, x, {
    python: o.python, log: (line) => fs.appendFileSync(path.join(o.runDir, RUN_FILES.log), `${new Date().toISOString()} ${line}\n`),
  });
  r.log(`backend: ${device.description}`);
  updateStatus(o.runDir, { backend: device.kind, backendReason: device.description });

  const { data, dataset: ds } = await loadRunData(x, {
    cacheDir: o.cacheDir, onProgress: (p) => o.send({ type: 'datasetProgress', phase: p.phase, done: p.done, total: p.total }),
  });
  const { train, validation } = data;
  r.log(`dataset ${datasetText(ds)}: ${train.count} train, ${validation.count} validation, ${ds.test.count} test`);
  for (const note of ds.notes ?? []) r.warn(`dataset: ${note}`);

  // "auto" chooses its engine at run time: a recipe the chosen engine lacks is refused here, as the parser refuses a named one
  const refusal = recipeRefusal(x.method, engine.name as EngineName, x.training);
  if (refusal) throw new ValidationError(refusal, 'method');
  const ckpt = o.resume ? checkpointDir(path.join(o.runDir, RUN_FILES.checkpoint)) : null;
  if (o.resume && !ckpt) {
    const recorded = readMetrics(o.runDir).metrics.length;
    r.warn(`--resume: no checkpoint in ${path.join(o.runDir, RUN_FILES.checkpoint)}, so training starts again from epoch 1${recorded ? ` (the ${recorded} epoch record(s) in ${RUN_FILES.metrics} are replaced as the epochs are trained again)` : ''}`);
  }
  const { net, epoch, initialised } = await engine.open(x, data, ckpt);
  if (ckpt) {
    r.log(`resumed from the checkpoint of epoch ${epoch}`);
    // records of the epochs already trained that cannot be read stay in the file as they are; say which
    const { metrics, errors } = readMetrics(o.runDir);
    const missing = Array.from({ length: epoch }, (_, i) => i + 1).filter((e) => !metrics.some((m) => m.epoch === e));
    if (missing.length) r.warn(`${RUN_FILES.metrics}: no readable record of epoch ${missing.join(', ')} (${errors.join('; ') || 'no line for it'}); damaged lines are kept as they are, and the training curves skip ${missing.length === 1 ? 'that epoch' : 'those epochs'}`);
  }
  if (initialised) r.log(`started from ${x.training.initFrom}: ${initialised.loaded} variables loaded, ${initialised.fresh.length} new${initialised.fresh.length ? ` (${initialised.fresh.slice(0, 6).join(', ')}${initialised.fresh.length > 6 ? ', …' : ''})` : ''}`);
  r.epoch = epoch;
  o.send({
    type: 'started', runId: r.id, backend: device.kind, backendReason: device.description, resumedFromEpoch: epoch,
    trainCount: train.count, validationCount: validation.count, testCount: ds.test.count, parameters: net.parameters,
  });
  return { device, data, datasetName: ds.name, synthetic: !!ds.synthetic, classes: ds.classes, net, startEpoch: epoch };
}

/** The remaining epochs: progress per step; metrics line, checkpoint and status per epoch. */
async function train(r: Run, p: Prepared): Promise<void> {
  const { o, x } = r;
  const ckpt = path.join(o.runDir, RUN_FILES.checkpoint);
  await trainEpochs(p.net, x, {
    startEpoch: p.startEpoch,
    // the budget multiplier continues where the checkpointed epoch left it
    startLambda: p.startEpoch > 0 ? (readMetrics(o.runDir).metrics.filter((m) => m.epoch <= p.startEpoch).pop()?.lambda ?? null) : null,
    rule: resolveRule(x),
    thresholds: thresholdsOf(x),
    shouldStop: o.shouldStop,
    onStep: (s) => { faultPoint('step', s.epoch); o.send({ type: 'progress', ...s }); },
    onEpochEnd: async (m) => {
      appendMetrics(o.runDir, m);
      await p.net.saveCheckpoint(ckpt, m.epoch);
      updateStatus(o.runDir, { epoch: m.epoch });
      r.epoch = m.epoch;
      r.trained.push(m);
      o.send({ type: 'epochEnd', metrics: faultPlanned('bad-message', m.epoch) ? (null as unknown as EpochMetrics) : m });
      r.log(`epoch ${m.epoch}/${x.training.epochs}: loss ${m.loss.toFixed(4)}, hard acc ${m.hardAccuracy === null ? '— (no validation split)' : `${(100 * m.hardAccuracy).toFixed(2)}%`}, ${m.imagesPerSecond.toFixed(0)} img/s`);
    },
  });
}

/** Whether the loss ran away, from every epoch's record (also those of an earlier process, on resume): a warning if so. */
function checkDivergence(r: Run): void {
  const { o, x } = r;
  const all = [...readMetrics(o.runDir).metrics.filter((m) => !r.trained.some((t) => t.epoch === m.epoch)), ...r.trained];
  const weights = x.method.name === 'branchynet' ? (x.method.exitWeights ?? new Array(x.exits.length + 1).fill(1)).reduce((a, w) => a + w, 0) : 1;
  const diverged = divergence(all, x.backbone.classes, weights);
  if (diverged) {
    r.warnings.push(diverged);
    r.warn(diverged);
  }
}

function thresholdsOf(x: Experiment): number[] {
  return Array.isArray(x.evaluation.threshold) ? x.evaluation.threshold : x.exits.map(() => x.evaluation.threshold as number);
}

/** Test and validation records, the results derived from them, batch-1 timing, the exported model. */
async function evaluateAndWrite(r: Run, p: Prepared): Promise<void> {
  const { o, x } = r;
  const trainSeconds = (performance.now() - r.t0) / 1000;
  r.log('evaluating on the test split');
  const testRec = checkedRecords(await p.net.records('test'), 'test');
  const valRec = checkedRecords(await p.net.records('validation'), 'validation');
  const cal = calibrationOf(x, p.net.costs.full);
  const rule = resolveRule(x);
  const thresholds = thresholdsOf(x);
  const report = evaluationReport(p.net.costs, testRec, valRec, rule, thresholds, cal?.target ?? null, exitPositions(x), cal?.perExit ?? false);
  if (report.routing.collapsed) r.warn(collapseWarning(report.routing)!);
  const timing = x.evaluation.timingImages > 0 && !o.shouldStop() ? await p.net.timing(rule, thresholds, x.evaluation.timingImages) : null;
  await p.net.exportModel(path.join(o.runDir, RUN_FILES.model));
  const sha256 = {
    [RUN_FILES.samples]: writeJsonAtomic(path.join(o.runDir, RUN_FILES.samples), testRec, 0),
    [RUN_FILES.validationSamples]: writeJsonAtomic(path.join(o.runDir, RUN_FILES.validationSamples), valRec, 0),
  };
  const desc = describeBackbone(x.backbone);
  const results: RunResults = {
    version: 1,
    method: x.method.name,
    lambda: x.method.name === 'proposed' ? x.method.lambda : null,
    backbone: { name: x.backbone.name, label: desc.label, width: x.backbone.width, input: x.backbone.input, classes: x.backbone.classes },
    dataset: { name: p.datasetName, synthetic: p.synthetic, classes: p.classes, train: p.data.train.count, validation: p.data.validation.count, test: p.data.test.count },
    backend: p.device.kind,
    epochs: x.training.epochs,
    trainSeconds,
    parameters: p.net.parameters,
    costs: p.net.costs,
    points: p.net.points,
    ...report,
    ...(recipesOf(x.method).length && x.method.name === 'proposed' ? { recipes: recipeSummary(x.method) } : {}),
    timing,
    files: { samples: RUN_FILES.samples, validationSamples: RUN_FILES.validationSamples, model: RUN_FILES.model, sha256 },
    ...(r.warnings.length ? { warnings: r.warnings } : {}),
  };
  writeJsonAtomic(path.join(o.runDir, RUN_FILES.results), results);
  o.send({ type: 'evaluated', results });
}

/**
 * Records are written only when they are what every reader checks for (spec/run-files.ts): the
 * same check that guards reading guards writing, so a network whose outputs are not finite (a
 * diverged run) fails here instead of leaving files no view can read.
 */
function checkedRecords(rec: SampleRecords, split: 'test' | 'validation'): SampleRecords {
  const p = samplesProblem(rec, split);
  if (p) throw new Error(`evaluation on the ${split} split gave invalid records (${p}): the network's outputs are not finite numbers — training diverged; try a lower training.lr`);
  return rec;
}

/** The failure as the user reads it: what happened, at which epoch, and what to do (the stack goes to worker.log). */
function failureMessage(err: unknown, epoch: number): string {
  const e = err as Error;
  // an engine's own words (the torch engine: one line, the traceback in worker.log)
  if (e instanceof EngineError) return e.message;
  let message = e instanceof Error ? e.message : String(e);
  const code = (e as NodeJS.ErrnoException)?.code;
  if (/out of memory|Cannot allocate|RangeError: Array buffer allocation/i.test(message)) {
    message = `out of memory at epoch ${epoch + 1}: ${e.message} (try a smaller batch size or width)`;
  } else if (code === 'ENOSPC' || code === 'EDQUOT') {
    message = `disk full at epoch ${epoch + 1} (${code}): ${e.message}; the run folder keeps the metrics and the checkpoint of epoch ${epoch} (free space, then resume the run)`;
  }
  return message;
}

export async function runTraining(o: RunOptions): Promise<void> {
  const { runDir, send } = o;
  const write = (line: string) => { try { fs.appendFileSync(path.join(runDir, RUN_FILES.log), `${new Date().toISOString()} ${line}\n`); } catch { /* reported by the status write */ } };
  const r: Run = {
    o, id: path.basename(runDir), x: undefined as unknown as Experiment, t0: performance.now(), epoch: 0, trained: [], warnings: [],
    log: (message) => { send({ type: 'log', level: 'info', message }); write(message); },
    warn: (message) => { send({ type: 'log', level: 'warn', message }); write(`warning: ${message}`); },
  };
  let prepared: Prepared | null = null;
  try {
    r.x = readExperimentOf(runDir);
    updateStatus(runDir, { state: 'running', pid: process.pid, owner: thisProcess(), startedAt: new Date().toISOString(), endedAt: null, error: null, warnings: [] });
    prepared = await prepare(r);
    if (prepared.startEpoch < r.x.training.epochs) await train(r, prepared);
    // finished means trained and evaluated: every epoch, then results written
    if (r.epoch !== r.x.training.epochs) throw new Error(`training ended after epoch ${r.epoch} of ${r.x.training.epochs}`);
    checkDivergence(r);
    await evaluateAndWrite(r, prepared);
    updateStatus(runDir, { state: 'finished', endedAt: new Date().toISOString(), epoch: r.x.training.epochs, pid: null, warnings: r.warnings });
    send({ type: 'finished', runId: r.id, seconds: (performance.now() - r.t0) / 1000 });
  } catch (err) {
    if (err instanceof TrainingCancelled) {
      updateStatus(runDir, { state: 'cancelled', endedAt: new Date().toISOString(), error: err.message, pid: null });
      r.log(err.message);
      send({ type: 'cancelled', runId: r.id, epoch: err.epoch, step: err.step });
      return;
    }
    const message = failureMessage(err, r.epoch);
    if (!(err instanceof ValidationError) && !(err instanceof NonFiniteLossError)) write(`failed: ${(err as Error)?.stack ?? err}`);
    const where = err instanceof NonFiniteLossError ? { epoch: err.epoch, step: err.step } : {};
    try {
      updateStatus(runDir, { state: 'failed', endedAt: new Date().toISOString(), error: message, pid: null });
    } catch { /* the run folder itself may be gone */ }
    send({ type: 'failed', runId: r.id, error: message, ...where });
  } finally {
    await prepared?.net.dispose();
  }
}
