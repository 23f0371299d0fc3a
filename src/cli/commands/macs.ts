import { BACKBONE_NAMES, describeBackbone, formatMacs, type BackboneName, type Shape3 } from '../../spec/backbones';
import { ValidationError } from '../../spec/errors';
import { parseDims } from '../../spec/experiment';
import { renderTable } from '../format';
import { flagNumber, flagString, type CliCommand } from '../registry';

export function parseShape(s: string): Shape3 {
  const d = parseDims(s);
  if (!d || d.length !== 3) throw new ValidationError(`--input: expected HxWxC such as 32x32x3 or 28x28x1, got "${s}"`, 'input');
  return [d[0], d[1], d[2]];
}

export const macsCommand: CliCommand = {
  name: 'macs',
  usage: 'macs <backbone> [--width W] [--input 32x32x3] [--classes N] [--json]',
  summary: 'List a backbone\'s candidate exit points with their output shapes and cumulative MACs.',
  help: [
    `Backbones: ${BACKBONE_NAMES.join(', ')}. MACs count conv and dense multiply-accumulates.`,
    '--width W      multiplier on every layer\'s channels (default 1)',
    '--input HxWxC  input shape (default 32x32x3; 28x28x1 for MNIST-like sets)',
    '--classes N    classes of the final classifier (default 10)',
    '--json         print { "backbone", "total", "points": [{ "id", "macs", "shape" }] }',
  ].join('\n'),
  async run(args) {
    const name = args.positional[0];
    if (!name) throw new ValidationError(`backbone: missing; allowed: ${BACKBONE_NAMES.join(', ')}`, 'backbone');
    const d = describeBackbone({
      name: name as BackboneName,
      width: flagNumber(args, 'width') ?? 1,
      input: parseShape(flagString(args, 'input') ?? '32x32x3'),
      classes: flagNumber(args, 'classes') ?? 10,
    });
    if (args.flags.json) {
      console.log(JSON.stringify({ backbone: d.name, total: d.total, parameters: d.parameters, points: d.points.map((p) => ({ id: p.id, macs: p.macs, shape: p.shape })) }, null, 2));
      return 0;
    }
    console.log(`${d.label}, width ${d.config.width}, input ${d.config.input.join('×')}, ${d.config.classes} classes: ${formatMacs(d.total)} MACs, ${d.parameters.toLocaleString('en-US')} parameters\n`);
    console.log(renderTable(['#', 'point', 'shape', 'MACs', '% of full'], [
      ...d.points.map((p) => [String(p.index), p.id, p.shape.join('×'), formatMacs(p.macs), `${((100 * p.macs) / d.total).toFixed(1)}%`]),
      ['', 'full network', '', formatMacs(d.total), '100.0%'],
    ]));
    return 0;
  },
};
