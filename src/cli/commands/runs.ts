import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValidationError } from '../../spec/errors';
import { listRuns } from '../../runs/store';
import { pct, renderTable } from '../format';
import { flagString, type CliCommand } from '../registry';
import { DEFAULT_RUNS_DIR } from './train';

export const runsCommand: CliCommand = {
  name: 'runs',
  usage: 'runs [--out DIR] [--json]',
  help: '--out DIR   runs folder (default .early-exit/runs)\n--json      print the runs as JSON (id, dir, state, experiment, group, epoch, epochs, backend, error, soft and hard accuracy, average MACs %)',
  summary: 'List runs with their status and headline numbers.',
  async run(args) {
    const runsDir = path.resolve(flagString(args, 'out') ?? DEFAULT_RUNS_DIR);
    if (fs.existsSync(runsDir) && !fs.statSync(runsDir).isDirectory()) throw new ValidationError(`--out ${runsDir}: is a file, not a runs folder`, 'out');
    const runs = listRuns(runsDir);
    if (args.flags.json) {
      console.log(JSON.stringify(runs.map((r) => ({
        id: r.id, dir: r.dir, state: r.status?.state ?? null, experiment: r.status?.experiment ?? null, group: r.status?.group ?? null,
        epoch: r.status?.epoch ?? null, epochs: r.status?.epochs ?? null, backend: r.status?.backend ?? null, error: r.status?.error ?? r.error,
        warnings: r.status?.warnings ?? [],
        softAccuracy: r.results?.softAccuracy ?? null, hardAccuracy: r.results?.hard.accuracy ?? null, averageMacsPct: r.results?.hard.averageMacsPct ?? null,
      })), null, 2));
      return 0;
    }
    if (!runs.length) { console.log(`no runs in ${runsDir}`); return 0; }
    console.log(renderTable(['run', 'state', 'epoch', 'method', 'soft acc', 'hard acc', 'avg MACs', 'note'], runs.map((r) => [
      r.id, r.status?.state ?? 'unreadable', r.status ? `${r.status.epoch}/${r.status.epochs}` : '',
      r.results ? `${r.results.method}${r.results.lambda !== null ? ` λ=${r.results.lambda}` : ''}` : '',
      pct(r.results?.softAccuracy), pct(r.results?.hard.accuracy), r.results ? `${r.results.hard.averageMacsPct.toFixed(1)}%` : '',
      (r.status?.error ?? r.error ?? r.status?.warnings?.[0] ?? '').slice(0, 60),
    ])));
    return 0;
  },
};
