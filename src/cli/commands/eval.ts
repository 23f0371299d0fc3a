import * as fs from 'node:fs';
import * as path from 'node:path';
import { calibrate, exitTable, tablePositions } from '../../spec/analysis';
import { ValidationError } from '../../spec/errors';
import type { ExitRule, Timing } from '../../spec/results';
import { readExperimentOf, readResults, readSamples, runFileError, RUN_FILES } from '../../runs/store';
import { parseMacs, pct, renderExitTable } from '../format';
import { runFolderArg } from '../paths';
import { flagNumber, flagString, UsageError, type CliCommand } from '../registry';

const RULES: ExitRule[] = ['gate', 'confidence', 'entropy'];

/**
 * Re-times a stored model at batch 1 on the run's test split (loads the tfjs engine and the
 * dataset; a torch-trained model is timed on the CPU the same way, from its TF.js-format model/).
 */
async function measure(dir: string, rule: ExitRule, thresholds: number[], images: number): Promise<Timing> {
  const { engineFor } = await import('../../worker/run');
  const { loadRunData } = await import('../../worker/data');
  const x = readExperimentOf(dir);
  const model = readResults(dir).files.model;
  if (!model) throw runFileError(dir, RUN_FILES.model, 'results.json names no exported model');
  const { engine } = await engineFor(x.training.backend, x, { tfjsOnly: true });
  const { data } = await loadRunData(x);
  const { net } = await engine.open(x, data, path.join(dir, model));
  try {
    return await net.timing(rule, thresholds, images);
  } finally {
    await net.dispose();
  }
}

export const evalCommand: CliCommand = {
  name: 'eval',
  usage: 'eval <rundir> [--threshold T | --budget MACS | --target-accuracy A] [--rule R] [--json] [--measure]',
  summary: 'Re-derive the exit table for any threshold from the stored per-sample records (no network needed).',
  help: [
    '--threshold T        one τ in [0, 1] for every exit, or a comma list with one τ per exit',
    '--budget MACS        calibrate τ on the validation split: most accurate τ within this average MACs (1500000, 1.5M, 800k, or "40%" of the full network)',
    '--target-accuracy A  calibrate τ: cheapest τ whose validation accuracy ≥ A (0–1)',
    '--rule R             gate | confidence | entropy (default: the run\'s); alone, the table at the run\'s τ under that rule',
    '--json               print { table, note, timing } as JSON instead of the table',
    '--measure            also re-time the model at batch 1 (loads the network and the dataset)',
  ].join('\n'),
  async run(args) {
    const dir = args.positional[0];
    if (!dir) throw new UsageError('missing the run folder');
    runFolderArg(dir);
    if (!fs.existsSync(path.join(dir, RUN_FILES.results)) && fs.existsSync(path.join(dir, RUN_FILES.status))) {
      throw new ValidationError(`${dir}: no ${RUN_FILES.results} yet (the run has not finished: early-exit runs shows its state)`, dir);
    }
    const results = readResults(dir);
    const test = readSamples(dir, 'test', results);
    const rule = (flagString(args, 'rule') ?? results.rule) as ExitRule;
    if (!RULES.includes(rule)) throw new ValidationError(`--rule: "${rule}" is not allowed; allowed: ${RULES.join(', ')}`, 'rule');
    const given = ['threshold', 'budget', 'target-accuracy'].filter((f) => args.flags[f] !== undefined);
    if (given.length > 1) throw new UsageError(`give only one of --threshold, --budget, --target-accuracy (got ${given.map((g) => '--' + g).join(', ')})`);
    if (rule === 'gate' && test.exits.some((e) => !e.gate)) {
      throw new ValidationError(`--rule: "gate" needs gates, and this run's exits have none (method ${results.method}); use entropy or confidence`, 'rule');
    }
    const positions = tablePositions(results.hard);
    let table = results.hard;
    let note = '';
    if (rule !== results.rule && !given.length) {
      // --rule alone: the run's thresholds under the other rule (it used to print the run's own table)
      table = exitTable(test, results.costs, rule, results.thresholds, positions);
      note = `rule ${rule} at the run's τ (${[...new Set(results.thresholds)].join(', ')}); the run was evaluated with rule ${results.rule}`;
    }
    const tStr = flagString(args, 'threshold');
    if (tStr !== undefined) {
      const taus = tStr.split(',').map(Number);
      if (taus.some((t) => !(t >= 0 && t <= 1))) throw new ValidationError(`--threshold: every τ must be in [0, 1], got "${tStr}"`, 'threshold');
      table = exitTable(test, results.costs, rule, taus.length === 1 ? taus[0] : taus, positions);
    } else if (given.length) {
      const flag = given[0];
      // τ picked on the test split and reported on it would look better than it is: refused
      if (!results.files.validationSamples || results.dataset.validation === 0) {
        throw new ValidationError(
          `--${flag}: run ${path.basename(path.resolve(dir))} has no validation split (it was trained with dataset.validationFraction 0), and calibrating τ on the test split would overstate its accuracy; `
          + 'give --threshold instead, or train again with dataset.validationFraction > 0', flag,
        );
      }
      const validation = readSamples(dir, 'validation', results);
      let target;
      const b = flagString(args, 'budget');
      if (b !== undefined) {
        const budget = b.trim().endsWith('%') ? (Number(b.trim().slice(0, -1)) / 100) * results.costs.full : parseMacs(b);
        if (!(budget !== undefined && budget > 0)) throw new ValidationError(`--budget: must be a positive number of MACs (1500000, 1.5M, 800k) or a percentage of the full network (40%), got "${b}"`, 'budget');
        target = { budget };
      } else {
        const a = flagNumber(args, 'target-accuracy')!;
        if (!(a >= 0 && a <= 1)) throw new ValidationError(`--target-accuracy: must be in [0, 1], got ${a}`, 'target-accuracy');
        target = { accuracy: a };
      }
      const c = calibrate(validation, test, results.costs, rule, target, undefined, positions);
      table = c.test;
      note = `calibrated on the ${validation.count} validation samples: τ = ${c.thresholds[0]}, validation accuracy ${pct(c.validation.accuracy)}, ${c.met ? 'target met' : 'target NOT met (closest τ used)'}`;
    }
    const timing = args.flags.measure ? await measure(dir, rule, table.thresholds, results.timing?.images ?? 100) : null;
    if (args.flags.json) {
      console.log(JSON.stringify({ table, note: note || null, timing }, null, 2));
      return 0;
    }
    if (note) console.log(note);
    console.log(renderExitTable(table));
    if (timing) console.log(`\nbatch-1 latency: full ${timing.fullMs.toFixed(2)} ms, hard exits ${timing.hardMs.toFixed(2)} ms → ×${timing.speedup.toFixed(2)} on ${timing.backend}`);
    return 0;
  },
};
