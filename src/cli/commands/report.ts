import { writeReport } from '../../report/report';
import { outputFile, runFolderArg } from '../paths';
import { flagString, UsageError, type CliCommand } from '../registry';

export const reportCommand: CliCommand = {
  name: 'report',
  usage: 'report <rundir>... [-o report.html] [--force]',
  summary: 'Write one self-contained HTML report (exit table, trade-off, gate histograms, training curves) for one or more runs.',
  help: [
    '-o FILE   where to write the report (default report.html); an existing file is replaced only with --force, and never inside a run folder.',
    'One run gives its results view; several give the comparison view (Table 1 layout, all runs on one trade-off chart) followed by each run. Data, styles and scripts are inlined: the file opens from disk with no network.',
    'A run whose files are damaged is shown with what could be read, its problems are listed on stderr and the exit code is 1.',
  ].join('\n'),
  async run(args) {
    if (!args.positional.length) throw new UsageError('give at least one run folder');
    const dirs = args.positional.map(runFolderArg);
    const out = outputFile(flagString(args, 'out') ?? 'report.html', '-o', !!args.flags.force);
    const runs = await writeReport(dirs, out);
    console.log(`report: ${out}`);
    const damaged = runs.filter((r) => r.problems.length);
    for (const r of damaged) for (const p of r.problems) process.stderr.write(`early-exit report: run ${r.id}: ${p}\n`);
    if (damaged.length) {
      process.stderr.write(`early-exit report: ${damaged.length} of ${runs.length} run(s) could only be partly read; the report shows what could be read and lists the problems\n`);
      return 1;
    }
    return 0;
  },
};
