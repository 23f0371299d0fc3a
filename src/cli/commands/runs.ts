import * as fs from 'node:fs';
import * as path from 'node:path';
import { routingOf } from '../../spec/analysis';
import { ValidationError } from '../../spec/errors';
import type { RunResults } from '../../spec/results';
import { listRuns } from '../../runs/store';
import { pct, renderTable } from '../format';
import { flagString, type CliCommand } from '../registry';
import { DEFAULT_RUNS_DIR } from './train';

/** How a finished run's inputs split at its own thresholds (null without exits: nothing to route). */
function runRouting(r: Pick<RunResults, 'points' | 'routing' | 'hard'> | null | undefined) {
  if (!r?.points.length) return null;
  const { shares, points, effectiveExits, collapsed, dominant, maxShare } = r.routing ?? routingOf(r.hard);
  return { shares, points, effectiveExits, collapsed, dominant, maxShare };
}

export const runsCommand: CliCommand = {
  name: 'runs',
  usage: 'runs [--out DIR] [--json]',
  help: '--out DIR   runs folder (default .early-exit/runs)\n--json      print the runs as JSON (id, dir, state, experiment, group, epoch, epochs, backend, error, soft and hard accuracy, average MACs %, routing: the split of the inputs over the exits, effective exits, collapsed when one exit takes ≥ 95 %)',
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
        routing: runRouting(r.results),
      })), null, 2));
      return 0;
    }
    if (!runs.length) { console.log(`no runs in ${runsDir}`); return 0; }
    console.log(renderTable(['run', 'state', 'epoch', 'method', 'soft acc', 'hard acc', 'avg MACs', 'routing', 'note'], runs.map((r) => {
      const routing = runRouting(r.results);
      return [
        r.id, r.status?.state ?? 'unreadable', r.status ? `${r.status.epoch}/${r.status.epochs}` : '',
        r.results ? `${r.results.method}${r.results.lambda !== null ? ` λ=${r.results.lambda}` : ''}` : '',
        pct(r.results?.softAccuracy), pct(r.results?.hard.accuracy), r.results ? `${r.results.hard.averageMacsPct.toFixed(1)}%` : '',
        routing ? `${routing.effectiveExits.toFixed(1)} of ${routing.shares.length}${routing.collapsed ? ' COLLAPSED' : ''}` : '',
        (r.status?.error ?? r.error ?? r.status?.warnings?.[0] ?? '').slice(0, 60),
      ];
    })));
    const collapsed = runs.filter((r) => runRouting(r.results)?.collapsed);
    if (collapsed.length) {
      console.log(`\nrouting: effective exits at each run's thresholds (e^H of the split; 1 = every input leaves at one exit). COLLAPSED: one exit takes ≥ 95 % of the inputs, a truncated network rather than early exiting (${collapsed.length} of ${runs.length} runs; early-exit eval <run> --rule all --budget 50%,70%,90% shows other τ)`);
    }
    return 0;
  },
};
