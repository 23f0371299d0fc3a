import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DATASET_NAMES, datasetSource, loadDataset, summarizeDataset, validateDatasetSpec, type DatasetName, type Progress,
} from '../../data/index';
import { ValidationError } from '../../spec/errors';
import { flagNumber, flagString, type CliCommand } from '../registry';

/** "[#######.............]  35%  3.1/8.9 MB" */
export function progressBar(done: number, total: number | undefined, width = 24): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  if (!total) return `${mb(done)} MB`;
  const f = Math.max(0, Math.min(1, done / total));
  const fill = Math.round(f * width);
  return `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(f * 100).toFixed(0).padStart(3)}%  ${mb(done)}/${mb(total)} MB`;
}

/** An onProgress that draws a download progress bar (and decode counts) on stderr. */
export function stderrProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  let last = 0;
  let lastPct = -1;
  let open = false;
  return (p) => {
    const name = p.file ? path.basename(p.file) : '';
    if (p.phase === 'download') {
      const now = Date.now();
      const complete = p.total !== undefined && p.done >= p.total;
      if (stream.isTTY) {
        if (now - last < 100 && !complete) return;
        last = now;
        stream.write(`\r${name} ${progressBar(p.done, p.total)}${complete ? '\n' : ''}`);
        open = !complete;
      } else {
        const pct = p.total ? Math.floor((10 * p.done) / p.total) * 10 : -1;
        if (pct === lastPct && !complete) return;
        lastPct = pct;
        stream.write(`${name} ${progressBar(p.done, p.total)}\n`);
      }
    } else if (p.phase === 'verify') {
      if (open) { stream.write('\n'); open = false; }
      stream.write(`verifying ${name} …\n`);
    } else if (p.phase === 'decode' && stream.isTTY) {
      stream.write(`\rdecoding images ${p.done}/${p.total ?? '?'}${p.done === p.total ? '\n' : ''}`);
    }
  };
}

export const dataInspectCommand: CliCommand = {
  name: 'data inspect',
  usage: 'data inspect <name-or-path> [--json] [--download]',
  summary: 'Show a dataset\'s format, splits, classes, per-class counts and image shape.',
  help: [
    `Names: ${DATASET_NAMES.filter((n) => n !== 'folder').join(', ')} (read from the cache: $EARLY_EXIT_CACHE or ~/.cache/early-exit-studio).`,
    'A path is sniffed: a CIFAR .tar.gz or cifar-10-batches-bin folder, a folder of IDX files, or image folders',
    '(<split>/<class>/*.png|jpg, or <class>/*.png|jpg split by --split, default 0.8), as a folder or .tar.gz.',
    '--download   fetch a named dataset into the cache if missing (verified checksum, progress on stderr)',
    '--label fine|coarse   CIFAR-100 label set;  --split F   train fraction for one folder of class folders;  --seed N',
    '--json prints { name, format, shape, classes, synthetic, splits: [{ name, count, perClass }], notes }.',
  ].join('\n'),
  async run(args) {
    const target = args.positional[0];
    if (!target) throw new ValidationError(`dataset: missing; give a path or one of ${DATASET_NAMES.filter((n) => n !== 'folder').join(', ')}`, 'dataset');
    const raw: Record<string, unknown> = {};
    if ((DATASET_NAMES as readonly string[]).includes(target) && target !== 'folder' && !fs.existsSync(target)) {
      raw.name = target as DatasetName;
      if (args.flags.download) raw.download = true;
    } else {
      if (!fs.existsSync(target)) {
        throw new ValidationError(`${target}: no such file or folder (names: ${DATASET_NAMES.filter((n) => n !== 'folder').join(', ')})`, target);
      }
      const source = await datasetSource(target);
      raw.name = source.name;
      raw.path = source.path;
    }
    const label = flagString(args, 'label');
    if (label !== undefined) raw.label = label;
    const split = flagNumber(args, 'split');
    if (split !== undefined) raw.split = split;
    const spec = validateDatasetSpec(raw, 'dataset');
    const ds = await loadDataset(spec, { onProgress: stderrProgress(), seed: flagNumber(args, 'seed') ?? 0 });
    const s = summarizeDataset(ds);
    if (args.flags.json) {
      console.log(JSON.stringify(s, null, 2));
      return 0;
    }
    const lines = [
      `${s.name}${s.synthetic ? ' (synthetic, procedurally generated)' : ''}`,
      `format:  ${s.format}`,
      `shape:   ${s.shape.join('×')} (height×width×channels)`,
      `classes: ${s.classes.length}`,
      `splits:  ${s.splits.map((x) => `${x.name} ${x.count.toLocaleString('en-US')}`).join(', ')}`,
      '',
    ];
    const w = Math.max(5, ...s.classes.map((c) => c.length));
    lines.push(['#'.padStart(3), 'class'.padEnd(w), ...s.splits.map((x) => x.name.padStart(8))].join('  '));
    s.classes.forEach((c, i) => {
      lines.push([String(i).padStart(3), c.padEnd(w), ...s.splits.map((x) => String(x.perClass[i]).padStart(8))].join('  '));
    });
    console.log(lines.join('\n'));
    for (const n of s.notes) process.stderr.write(`note: ${n}\n`);
    return 0;
  },
};
