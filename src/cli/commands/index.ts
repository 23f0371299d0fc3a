import type { CliCommand } from '../registry';

/** Every CLI sub-command, in the order `early-exit --help` lists them. Add new ones here. */
export const commands: CliCommand[] = [];
