import * as fs from 'node:fs';
import * as path from 'node:path';
import { budgetTable, calibrate, compareRules, exitTable, routingOf, tablePositions, tausText, type BudgetCell } from '../../spec/analysis';
import { ValidationError } from '../../spec/errors';
import type { ExitRule, RunResults, SampleRecords, Timing } from '../../spec/results';
import { readExperimentOf, readResults, readSamples, runFileError, RUN_FILES } from '../../runs/store';
import { parseMacs, pct, renderBudgetTable, renderExitTable, renderRouting, renderRuleComparison } from '../format';
import { runFolderArg } from '../paths';
import { ruleFlag, thresholdFlag } from '../rule-flags';
import { flagNumber, flagString, UsageError, type CliCommand } from '../registry';


/**
 * Re-times a stored model at batch 1 on the run's test split, once per (rule, thresholds) (loads the
 * tfjs engine and the dataset once; a torch-trained model is timed on the CPU the same way, from its
 * TF.js-format model/).
 */
async function measure(dir: string, settings: { rule: ExitRule; thresholds: number[] }[], images: number): Promise<Timing[]> {
  const { engineFor } = await import('../../worker/run');
  const { loadRunData } = await import('../../worker/data');
  const x = readExperimentOf(dir);
  const model = readResults(dir).files.model;
  if (!model) throw runFileError(dir, RUN_FILES.model, 'results.json names no exported model');
  const { engine } = await engineFor(x.training.backend, x, { tfjsOnly: true });
  const { data } = await loadRunData(x);
  const { net } = await engine.open(x, data, path.join(dir, model));
  try {
    const out: Timing[] = [];
    for (const s of settings) out.push(await net.timing(s.rule, s.thresholds, images));
    return out;
  } finally {
    await net.dispose();
  }
}

/** "60%", a share "0.6", or MACs ("1500000", "1.5M", "800k") → absolute MACs. */
function budgetMacs(text: string, full: number): number {
  const t = text.trim();
  const n = Number(t);
  const v = t.endsWith('%') ? (Number(t.slice(0, -1)) / 100) * full : n > 0 && n <= 1 ? n * full : parseMacs(t);
  if (!(v !== undefined && v > 0 && Number.isFinite(v))) {
    throw new ValidationError(`--budget: must be a positive number of MACs (1500000, 1.5M, 800k) or a percentage of the full network (40%) or a share of it in (0, 1], got "${text}"`, 'budget');
  }
  return v;
}

/** The validation records τ is calibrated on; τ picked on the test split and reported on it would look better than it is: refused. */
function validationRecords(dir: string, results: RunResults, flag: string): SampleRecords {
  if (!results.files.validationSamples || results.dataset.validation === 0) {
    throw new ValidationError(
      `--${flag}: run ${path.basename(path.resolve(dir))} has no validation split (it was trained with dataset.validationFraction 0), and calibrating τ on the test split would overstate its accuracy; `
      + 'give --threshold instead, or train again with dataset.validationFraction > 0', flag,
    );
  }
  return readSamples(dir, 'validation', results);
}

export const evalCommand: CliCommand = {
  name: 'eval',
  usage: 'eval <rundir> [--threshold T | --budget B[,B…] | --target-accuracy A] [--per-exit] [--rule R|all] [--compare-rules] [--json] [--measure]',
  summary: 'Re-derive the exit table for any threshold, budget or rule from the stored per-sample records (no network needed).',
  help: [
    '--threshold T        one τ in [0, 1] for every exit, or a comma list with one τ per exit',
    '--budget B           calibrate τ on the validation split: most accurate τ within this average MACs: 1500000, 1.5M, 800k, "60%" or 0.6 of the full network;',
    '                     a comma list (50%,70%,90%) prints one row per budget and rule: Table 2 at each budget',
    '--target-accuracy A  calibrate τ: cheapest τ whose validation accuracy ≥ A (0–1)',
    '--per-exit           calibrate one τ per exit (coordinate ascent on the validation split) instead of one shared τ',
    '--rule R             gate | confidence | entropy (default: the run\'s), or all: every rule the records allow, on the same network; alone, the table at the run\'s τ under that rule',
    '--compare-rules      the accuracy / MACs curves of every rule on this network and the area between the learned gates\' and the others\'',
    '--json               print { table, routing, note, timing, comparison } as JSON instead of the table',
    '--measure            also re-time the model at batch 1 (loads the network and the dataset; once per row)',
    'Every table is followed by how its inputs split between exits, with a warning when one exit takes ≥ 95 % of them.',
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
    const rules = ruleFlag(args, results, test, { all: true });
    const rule = rules[0];
    const given = ['threshold', 'budget', 'target-accuracy'].filter((f) => args.flags[f] !== undefined);
    if (given.length > 1) throw new UsageError(`give only one of --threshold, --budget, --target-accuracy (got ${given.map((g) => '--' + g).join(', ')})`);
    const perExit = args.flags['per-exit'] !== undefined;
    const positions = tablePositions(results.hard);
    const images = results.timing?.images ?? 100;
    const comparison = args.flags['compare-rules'] !== undefined && test.exits.length ? compareRules(test, results.costs) : null;
    const budgets = flagString(args, 'budget')?.split(',').map((b) => budgetMacs(b, results.costs.full));

    // Table 2 at several budgets and / or for several rules
    if (budgets && (budgets.length > 1 || rules.length > 1)) {
      const validation = validationRecords(dir, results, 'budget');
      const cells: BudgetCell[] = budgetTable(validation, test, results.costs, budgets.map((b) => b / results.costs.full), { rules, perExit, positions });
      const timings = args.flags.measure ? await measure(dir, cells.map((c) => ({ rule: c.rule, thresholds: c.calibration.thresholds })), images) : undefined;
      if (args.flags.json) {
        console.log(JSON.stringify({ budgets: cells.map((c, i) => ({ ...c, timing: timings?.[i] ?? null })), comparison }, null, 2));
        return 0;
      }
      console.log(`τ ${perExit ? 'per exit' : 'shared by every exit'}, calibrated on ${validation.count} validation samples; test accuracy on ${test.count} test samples${timings ? `; batch-1 time saved over ${images} test images` : ''}`);
      console.log(renderBudgetTable(cells, timings));
      const collapsed = cells.filter((c) => c.routing.collapsed).length;
      if (collapsed) console.log(`WARNING: ${collapsed} of ${cells.length} rows send ≥ 95 % of the inputs to one exit (a truncated network, not early exiting)`);
      if (comparison) console.log(`\n${renderRuleComparison(comparison)}`);
      return 0;
    }

    let table = results.hard;
    let note = '';
    if (rule !== results.rule && !given.length) {
      // --rule alone: the run's thresholds under the other rule (it used to print the run's own table)
      table = exitTable(test, results.costs, rule, results.thresholds, positions);
      note = `rule ${rule} at the run's τ (${[...new Set(results.thresholds)].join(', ')}); the run was evaluated with rule ${results.rule}`;
    }
    const taus = thresholdFlag(args, test.exits.length);
    if (taus) {
      table = exitTable(test, results.costs, rule, taus, positions);
    } else if (given.length) {
      const validation = validationRecords(dir, results, given[0]);
      let target;
      if (budgets) target = { budget: budgets[0] };
      else {
        const a = flagNumber(args, 'target-accuracy')!;
        if (!(a >= 0 && a <= 1)) throw new ValidationError(`--target-accuracy: must be in [0, 1], got ${a}`, 'target-accuracy');
        target = { accuracy: a };
      }
      const calibrated = calibrate(validation, test, results.costs, rule, target, undefined, positions, perExit);
      table = calibrated.test;
      const taus = tausText(calibrated.thresholds);
      note = `calibrated on the ${validation.count} validation samples: τ = ${taus}${perExit ? ' (per exit)' : ''}, validation accuracy ${pct(calibrated.validation.accuracy)} at ${((100 * calibrated.validation.averageMacs) / results.costs.full).toFixed(1)} % MACs, ${calibrated.met ? 'target met' : 'target NOT met (closest τ used)'}`;
    }
    const timing = args.flags.measure ? (await measure(dir, [{ rule, thresholds: table.thresholds }], images))[0] : null;
    if (args.flags.json) {
      console.log(JSON.stringify({ table, routing: routingOf(table), note: note || null, timing, comparison }, null, 2));
      return 0;
    }
    if (note) console.log(note);
    console.log(renderExitTable(table));
    console.log(renderRouting(table));
    if (timing) console.log(`\nbatch-1 latency: full ${timing.fullMs.toFixed(2)} ms, hard exits ${timing.hardMs.toFixed(2)} ms → ×${timing.speedup.toFixed(2)} (${timing.timeSavedPct.toFixed(0)} % time saved) on ${timing.backend}`);
    if (comparison) console.log(`\n${renderRuleComparison(comparison)}`);
    return 0;
  },
};
