/**
 * File access for the dataset readers: a file that cannot be read (no permission, a folder where a
 * file was expected, larger than one Buffer can hold) is a ValidationError naming it, like every
 * other problem with a dataset, instead of a bare errno from the depths of a reader.
 */
import * as fs from 'node:fs';
import { errnoCode, errnoPhrase } from '../spec/errno';
import { ValidationError } from '../spec/errors';

/** The largest file a reader loads whole (what one Buffer can hold with room to spare: 2 GiB − 1). */
export const MAX_DATA_FILE_BYTES = 2 ** 31 - 1;

/** A fs error as a ValidationError naming `file` (other errors are returned unchanged). */
export function fileError(err: unknown, file: string): unknown {
  if (err instanceof ValidationError || !errnoCode(err)) return err;
  return new ValidationError(`${file}: ${errnoPhrase(err, 'read')}`, file);
}

/** Reads a whole data file; refuses one larger than MAX_DATA_FILE_BYTES before allocating it. */
export function readDataFile(file: string): Buffer {
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_DATA_FILE_BYTES) {
      throw new ValidationError(`${file}: ${size} bytes is too large for one data file (at most ${MAX_DATA_FILE_BYTES} bytes)`, file);
    }
    return fs.readFileSync(file);
  } catch (e) {
    throw fileError(e, file);
  }
}

/** Lists a folder; fs failures name it. */
export function readDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw fileError(e, dir);
  }
}
