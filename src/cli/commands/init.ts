import { BACKBONE_NAMES, type BackboneName } from '../../spec/backbones';
import { datasetSpecSchema } from '../../spec/dataset';
import { defaultExperiment, experimentNameFromFile, experimentSchema } from '../../spec/experiment';
import { writeFileAtomic } from '../../runs/store';
import { outputFile } from '../paths';
import { flagString, type CliCommand } from '../registry';

/** The text of a complete default experiment file (shared with the extension's New Experiment). */
export function defaultExperimentText(backbone: BackboneName, name: string): string {
  return JSON.stringify(defaultExperiment(backbone, name), null, 2) + '\n';
}

/**
 * The experiment's fields that the file init writes leaves out (optional ones without a value:
 * `dataset.path`, `exits[].head.channels`, `sweep`, …), found by walking the schema over that
 * file, so that the help says exactly what is not there.
 */
export function fieldsNotWritten(schema: Record<string, any> = experimentSchema, value: unknown = defaultExperiment(), at = ''): string[] {
  const out: string[] = [];
  const obj = (value ?? {}) as Record<string, unknown>;
  for (const [key, sub] of Object.entries<Record<string, any>>(schema.properties ?? {})) {
    if (key === '$schema') continue;
    const p = at ? `${at}.${key}` : key;
    const node: Record<string, any> = key === 'dataset' && !at ? datasetSpecSchema : sub;
    if (obj[key] === undefined) out.push(p);
    else if (node.properties) out.push(...fieldsNotWritten(node, obj[key], p));
    else if (node.items?.properties && Array.isArray(obj[key])) out.push(...fieldsNotWritten(node.items, (obj[key] as unknown[])[0], `${p}[]`));
  }
  return out;
}

export const initCommand: CliCommand = {
  name: 'init',
  usage: 'init [--backbone NAME] [-o FILE] [--force]',
  summary: 'Write a valid default experiment file: every field that has a default, with it (the Fashion-MNIST subset, ResNet-18 ×1/16, 3 exits).',
  help: [
    `--backbone NAME  ${BACKBONE_NAMES.join(', ')} (default resnet18)`,
    '-o FILE          where to write (default experiment.exits.json)',
    '--force          overwrite FILE if it exists',
    `Not written (optional; their defaults, where they have one, apply): ${fieldsNotWritten().join(', ')} — see schema/experiment.schema.json.`,
  ].join('\n'),
  async run(args) {
    const backbone = (flagString(args, 'backbone') ?? 'resnet18') as BackboneName;
    const given = flagString(args, 'out') ?? 'experiment.exits.json';
    const out = outputFile(given, '-o', !!args.flags.force);
    writeFileAtomic(out, defaultExperimentText(backbone, experimentNameFromFile(out)));
    console.log(`wrote ${given}`);
    return 0;
  },
};
