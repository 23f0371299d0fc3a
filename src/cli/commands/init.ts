import { BACKBONE_NAMES, type BackboneName } from '../../spec/backbones';
import { defaultExperiment, experimentNameFromFile } from '../../spec/experiment';
import { writeFileAtomic } from '../../runs/store';
import { outputFile } from '../paths';
import { flagString, type CliCommand } from '../registry';

/** The text of a complete default experiment file (shared with the extension's New Experiment). */
export function defaultExperimentText(backbone: BackboneName, name: string): string {
  return JSON.stringify(defaultExperiment(backbone, name), null, 2) + '\n';
}

export const initCommand: CliCommand = {
  name: 'init',
  usage: 'init [--backbone NAME] [-o FILE] [--force]',
  summary: 'Write a complete, valid default experiment file (every field with its default).',
  help: `--backbone: ${BACKBONE_NAMES.join(', ')} (default resnet18). -o defaults to experiment.exits.json.`,
  async run(args) {
    const backbone = (flagString(args, 'backbone') ?? 'resnet18') as BackboneName;
    const given = flagString(args, 'out') ?? 'experiment.exits.json';
    const out = outputFile(given, '-o', !!args.flags.force);
    writeFileAtomic(out, defaultExperimentText(backbone, experimentNameFromFile(out)));
    console.log(`wrote ${given}`);
    return 0;
  },
};
