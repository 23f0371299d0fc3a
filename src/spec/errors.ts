/**
 * A problem with user input (experiment file, CLI option, dataset file). The message names the
 * field or file and, where it helps, the allowed values. Shown without a stack trace.
 */
export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(
    message: string,
    /** JSON path ("training.batchSize") or file path the message is about. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Throws a ValidationError naming `field` unless `ok`. */
export function check(ok: unknown, field: string, message: string): asserts ok {
  if (!ok) throw new ValidationError(`${field}: ${message}`, field);
}
