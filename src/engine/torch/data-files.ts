/**
 * EngineData handed to the torch engine as raw files in a private temp folder: per split, the uint8
 * images (HWC, one after another) and the uint8 labels, which Python memory-maps. Once every rank
 * has mapped them they are deleted (the mappings keep the bytes); the folder stays for the
 * engine's records files until the engine is disposed. Folders of workers that died are removed
 * by the next one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RawSplit } from '../../protocol/torch';
import type { EngineData } from '../engine';

const PREFIX = 'early-exit-torch-';

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Removes temp folders left by workers that no longer run. */
function sweepStale(root: string): void {
  let names: string[];
  try { names = fs.readdirSync(root); } catch { return; }
  for (const n of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(n);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) fs.rmSync(path.join(root, n), { recursive: true, force: true });
  }
}

export class DataFiles {
  readonly dir: string;
  readonly splits: Record<'train' | 'validation' | 'test', RawSplit>;

  constructor(data: EngineData, root = os.tmpdir()) {
    sweepStale(root);
    this.dir = fs.mkdtempSync(path.join(root, `${PREFIX}${process.pid}-`));
    const write = (name: 'train' | 'validation' | 'test'): RawSplit => {
      const s = data[name];
      const images = path.join(this.dir, `${name}.images.u8`), labels = path.join(this.dir, `${name}.labels.u8`);
      fs.writeFileSync(images, s.images.subarray(0, s.count * data.shape[0] * data.shape[1] * data.shape[2]));
      fs.writeFileSync(labels, s.labels.subarray(0, s.count));
      return { count: s.count, images, labels };
    };
    this.splits = { train: write('train'), validation: write('validation'), test: write('test') };
  }

  /** Deletes the image and label files (once mapped). */
  unlinkData(): void {
    for (const s of Object.values(this.splits)) for (const f of [s.images, s.labels]) fs.rmSync(f, { force: true });
  }

  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
