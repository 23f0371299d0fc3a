/**
 * `training.initFrom`: a new network starts from a trained run's weights — every variable with the
 * same name and shape is copied (a BranchyNet run's backbone and exit classifiers, say), the others
 * (new gates) keep their fresh initialisation. With the gates-only recipe this trains learned gates
 * on top of exits trained elsewhere, without training the exits again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValidationError } from '../../spec/errors';
import { loadNetwork } from './checkpoint';
import type { MultiExitNetwork } from './network';

/** The model folder of `dir`: itself when it holds model.json, else its `model/` (a run folder). */
export function modelFolderOf(dir: string): string {
  if (fs.existsSync(path.join(dir, 'model.json'))) return dir;
  if (fs.existsSync(path.join(dir, 'model', 'model.json'))) return path.join(dir, 'model');
  throw new ValidationError(`training.initFrom: ${dir} is neither a finished run folder (no model/model.json) nor a model folder (no model.json)`, 'training.initFrom');
}

/** Copies every variable of the model in `dir` whose name and shape match into `net`; a shape mismatch is an error naming the variable. */
export async function initFrom(net: MultiExitNetwork, dir: string): Promise<{ loaded: number; fresh: string[] }> {
  const { net: source } = await loadNetwork(modelFolderOf(dir));
  try {
    let loaded = 0;
    const fresh: string[] = [];
    for (const [name, v] of net.vars) {
      const w = source.vars.get(name);
      if (!w) { fresh.push(name); continue; }
      if (w.shape.join('x') !== v.shape.join('x')) {
        throw new ValidationError(`training.initFrom: "${name}" is [${w.shape}] in ${dir} but [${v.shape}] here; start from a run with the same backbone, width and exits`, 'training.initFrom');
      }
      v.assign(w);
      loaded++;
    }
    if (!loaded) throw new ValidationError(`training.initFrom: ${dir} shares no variable with this network (another backbone?)`, 'training.initFrom');
    return { loaded, fresh };
  } finally {
    source.dispose();
  }
}
