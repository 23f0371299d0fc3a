/**
 * What an operating-system error code means in words, and what to do about it: one table for every
 * place that turns an errno into a line a person reads (dataset readers, run files, output paths,
 * the CLI's error boundary). Plain strings: no Node types here.
 */

const WORDS: Record<string, { why: string; fix?: string }> = {
  EACCES: { why: 'permission denied', fix: 'check the permissions of the file or folder' },
  EPERM: { why: 'operation not permitted', fix: 'check the permissions of the file or folder' },
  EROFS: { why: 'read-only file system', fix: 'choose a folder on a writable disk' },
  ENOENT: { why: 'no such file or folder' },
  EISDIR: { why: 'is a folder, expected a file' },
  ENOTDIR: { why: 'a part of the path is a file, not a folder' },
  EEXIST: { why: 'already exists' },
  ENOTEMPTY: { why: 'folder is not empty' },
  ELOOP: { why: 'too many symbolic links' },
  EMFILE: { why: 'too many open files', fix: 'close other programs or raise the open-file limit (ulimit -n)' },
  ENFILE: { why: 'too many open files in the system' },
  EIO: { why: 'input/output error', fix: 'the disk or network share may be failing' },
  ENOSPC: { why: 'no space left on the disk', fix: 'free some space' },
  EDQUOT: { why: 'disk quota exceeded', fix: 'free some space' },
  ENAMETOOLONG: { why: 'file name too long' },
  EBUSY: { why: 'resource busy or locked' },
  EXDEV: { why: 'cannot move across file systems' },
  ETXTBSY: { why: 'file is in use' },
  EINVAL: { why: 'invalid argument' },
  ENXIO: { why: 'no such device' },
  ENODEV: { why: 'no such device' },
  EAGAIN: { why: 'resource temporarily unavailable' },
  EPIPE: { why: 'the reading end of the pipe was closed' },
};

/** "permission denied" for "EACCES"; undefined for a code the table does not know. */
export function errnoWords(code: string | undefined): string | undefined {
  return code ? WORDS[code]?.why : undefined;
}

/** What the user can do about `code`, when there is something general to say. */
export function errnoFix(code: string | undefined): string | undefined {
  return code ? WORDS[code]?.fix : undefined;
}

/** An error that carries an errno code (`ENOENT`, …), as Node's fs errors do. */
export interface ErrnoLike { code?: unknown; path?: unknown; dest?: unknown; syscall?: unknown; message?: unknown }

/** The errno code of `err`, or undefined when it is not a system error. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as ErrnoLike | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * "cannot read (permission denied, EACCES)": what failed (`verb`: read, write, create, …) in
 * words, with the code for searching. Unknown codes keep the system's own message.
 */
export function errnoPhrase(err: unknown, verb: string): string {
  const code = errnoCode(err);
  const words = errnoWords(code);
  const raw = String((err as ErrnoLike | null)?.message ?? err).replace(/^[A-Z0-9]+: /, '').replace(/, \w+ '.*'$/, '');
  return `cannot ${verb} (${words ? `${words}, ${code}` : raw})`;
}
