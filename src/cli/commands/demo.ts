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
  summary: 'Train and evaluate the default multi-exit ResNet-18 (proposed method) on the real Fashion-MNIST subset shipped with it (offline).',
  help: [
    'Trains the default experiment (ResNet-18 ×1/16, exits at blocks 2, 4, 6) on the Fashion-MNIST subset shipped with',
    'Early Exit Studio, prints the exit table and writes report.html into the run folder.',
    '--out DIR    runs folder (default .early-exit/runs); the experiment file demo.exits.json is written into it too',
    '--backend B  auto | gpu | native-cpu | wasm | cpu',
  ].join('\n'),
  async run(args) {
    const runsDir = outputRunsDir(flagString(args, 'out') ?? DEFAULT_RUNS_DIR);
    // Inside the runs folder: --out DIR keeps everything the demo writes under DIR (it used to write DIR/../demo.exits.json).
    const file = path.join(runsDir, 'demo.exits.json');
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
