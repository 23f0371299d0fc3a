import type { CliCommand } from '../registry';
import { dataInspectCommand } from './data';
import { demoCommand } from './demo';
import { deployMeasureCommand, deployPlanCommand, deployPresetsCommand, deployRunCommand } from './deploy';
import { doctorCommand } from './doctor';
import { evalCommand } from './eval';
import { initCommand } from './init';
import { macsCommand } from './macs';
import { reportCommand } from './report';
import { runsCommand } from './runs';
import { trainCommand } from './train';

/** Every CLI sub-command, in the order `early-exit --help` lists them. Add new ones here. */
export const commands: CliCommand[] = [demoCommand, trainCommand, evalCommand, runsCommand, initCommand, macsCommand, dataInspectCommand, reportCommand, doctorCommand,
  deployPlanCommand, deployRunCommand, deployMeasureCommand, deployPresetsCommand];
