/**
 * The paths the CLI is given, checked once. A run folder argument must be a run folder. Where the
 * CLI may write, said once for every output path: a file given with -o is never
 * replaced without --force (as `init` always did), never written inside a run folder (a run
 * folder holds what its training wrote: results.json, experiment.json, …), and its folder is
 * created — or refused — at once with a clear reason; a folder given with --out is a folder that
 * can be created and written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_FILES } from '../spec/run-files';
import { checkWritableDir, makeDirs } from '../runs/files';
import { ValidationError } from '../spec/errors';
import { UsageError } from './registry';

/** Whether `dir` looks like a run folder: status.json beside experiment.json or results.json. */
export function isRunFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, RUN_FILES.status))
    && (fs.existsSync(path.join(dir, RUN_FILES.experiment)) || fs.existsSync(path.join(dir, RUN_FILES.results)));
}

/** The run folder `p` is in or is, or null. */
export function enclosingRunFolder(p: string): string | null {
  let cur = path.resolve(p);
  for (;;) {
    if (isRunFolder(cur)) return cur;
    const up = path.dirname(cur);
    if (up === cur) return null;
    cur = up;
  }
}

function kindOf(st: fs.Stats): string {
  return st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a pipe' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not an ordinary file';
}

/**
 * Checks the file `-o`/`--out` names before anything is computed, and returns its absolute path.
 * `flag` is how the user gave it ("-o"). The folder it goes into is created if needed.
 */
export function outputFile(given: string, flag: string, force: boolean): string {
  if (!given.trim()) throw new UsageError(`${flag}: the path is empty; give a file name`);
  const abs = path.resolve(given);
  let st: fs.Stats | null = null;
  try { st = fs.statSync(abs); } catch { /* does not exist yet */ }
  const run = enclosingRunFolder(st?.isDirectory() ? abs : path.dirname(abs));
  if (run) throw new UsageError(`${flag} ${given}: ${run === abs ? 'is a run folder' : `is inside the run folder ${run}`}, which holds only what its training wrote; write it somewhere else`);
  if (st) {
    if (!st.isFile()) throw new UsageError(`${flag} ${given}: is ${kindOf(st)}, not a file; give a file name${st.isDirectory() ? ` such as ${path.join(given, 'report.html')}` : ''}`);
    if (!force) throw new UsageError(`${flag} ${given}: exists; add --force to overwrite it`);
  }
  makeDirs(path.dirname(abs), flag);
  checkWritableDir(path.dirname(abs), flag);
  return abs;
}

/** Checks (creating it if needed) the runs folder `--out` names, and returns its absolute path. */
export function outputRunsDir(given: string, flag = '--out'): string {
  if (!given.trim()) throw new UsageError(`${flag}: the path is empty; give the runs folder`);
  const abs = path.resolve(given);
  const run = enclosingRunFolder(abs);
  if (run) throw new UsageError(`${flag} ${given}: ${run === abs ? 'is a run folder' : `is inside the run folder ${run}`}; give the runs folder that holds run folders (e.g. ${path.dirname(run)})`);
  makeDirs(abs, flag);
  checkWritableDir(abs, flag);
  return abs;
}

/** A run folder argument: it exists and holds at least one run file; returns its absolute path. */
export function runFolderArg(dir: string): string {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new ValidationError(`${dir}: no such run folder`, dir);
  if (![RUN_FILES.status, RUN_FILES.experiment, RUN_FILES.results].some((f) => fs.existsSync(path.join(abs, f)))) {
    throw new ValidationError(`${dir}: not a run folder (it has no ${RUN_FILES.status}, ${RUN_FILES.experiment} or ${RUN_FILES.results}; early-exit runs lists the runs of a runs folder)`, dir);
  }
  return abs;
}
