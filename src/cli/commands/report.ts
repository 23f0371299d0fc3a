import * as path from 'node:path';
import { flagString, UsageError, type CliCommand } from '../registry';
import { writeReport } from '../../report/report';

export const reportCommand: CliCommand = {
  name: 'report',
  usage: 'report <rundir>... [-o report.html]',
  summary: 'Write one self-contained HTML report (exit table, trade-off, gate histograms, training curves) for one or more runs.',
  help: '-o FILE   where to write the report (default report.html)\nOne run gives its results view; several give the comparison view (Table 1 layout, all runs on one trade-off chart) followed by each run. Data, styles and scripts are inlined: the file opens from disk with no network.',
  async run(args) {
    if (!args.positional.length) throw new UsageError('give at least one run folder');
    const out = path.resolve(flagString(args, 'out') ?? 'report.html');
    await writeReport(args.positional.map((d) => path.resolve(d)), out);
    console.log(`report: ${out}`);
    return 0;
  },
};
