import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultExperiment } from '../../spec/experiment';
import { createRunsFor } from '../../runs/manager';
import { writeJsonAtomic } from '../../runs/store';
import { writeReport } from '../../report/report';
import { flagString, type CliCommand } from '../registry';
import { outputRunsDir } from '../paths';
import { DEFAULT_RUNS_DIR, managerOptions, trainExitCode, trainRuns } from './train';

export const demoCommand: CliCommand = {
  name: 'demo',
  usage: 'demo [--out DIR] [--backend B]',
  summary: 'Train and evaluate the default multi-exit ResNet-18 (proposed method) on the built-in offline dataset.',
  help: 'Writes .early-exit/demo.exits.json, trains it, prints the exit table and writes report.html beside the run.',
  async run(args) {
    const runsDir = outputRunsDir(flagString(args, 'out') ?? DEFAULT_RUNS_DIR);
    const file = path.join(path.dirname(runsDir), 'demo.exits.json');
    const x = defaultExperiment('resnet18', 'demo');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeJsonAtomic(file, x);
    console.log(`experiment: ${file}`);
    const [run] = createRunsFor(runsDir, x);
    const outcome = await trainRuns([run.dir], managerOptions(runsDir, flagString(args, 'backend')), false);
    if (outcome.states[0] !== 'finished') return trainExitCode(outcome);
    const out = path.join(run.dir, 'report.html');
    await writeReport([run.dir], out);
    console.log(`report: ${out} (open it in a browser; works offline)`);
    return 0;
  },
};
