import type { CliCommand } from '../registry';
import { dataInspectCommand } from './data';

/** Every CLI sub-command, in the order `early-exit --help` lists them. Add new ones here. */
export const commands: CliCommand[] = [dataInspectCommand];
