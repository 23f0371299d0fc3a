/**
 * `early-exit` — the headless face of Early Exit Studio. Sub-commands live in ./commands.
 */
import { commands } from './commands/index';
import { parseArgs, UsageError, type CliCommand } from './registry';
import { ValidationError } from '../spec/errors';
import pkg from '../../package.json';

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.usage.length), 10);
  return [
    'early-exit — train and inspect multi-exit networks (Scardapane et al., ICASSP 2020)',
    '',
    'Usage: early-exit <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    'Run `early-exit <command> --help` for a command\'s options.',
  ].join('\n');
}

function findCommand(argv: string[]): { cmd: CliCommand; rest: string[] } | undefined {
  // Longest match first so "data inspect" wins over "data".
  const sorted = [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const cmd of sorted) {
    const words = cmd.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { cmd, rest: argv.slice(words.length) };
  }
  return undefined;
}

/** The commands whose names start with `argv`'s first word, when that word is only a group ("data"). */
function groupOf(argv: string[]): { name: string; commands: CliCommand[] } | undefined {
  const first = argv[0];
  const members = commands.filter((c) => c.name.includes(' ') && c.name.split(' ')[0] === first);
  return members.length && !argv.slice(1).some((a) => !a.startsWith('-')) ? { name: first, commands: members } : undefined;
}

function groupHelp(name: string, members: CliCommand[]): string {
  const width = Math.max(...members.map((c) => c.usage.length));
  return [`Usage: early-exit ${name} <subcommand> [options]`, '', 'Subcommands:', ...members.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`), '',
    `Run \`early-exit ${members[0].name} --help\` for its options.`].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help' && argv.length === 1) {
    console.log(mainHelp());
    return 0;
  }
  if (argv[0] === '--version') {
    console.log(pkg.version);
    return 0;
  }
  const helpFor = argv[0] === 'help' ? argv.slice(1) : undefined;
  const found = findCommand(helpFor ?? argv);
  const group = found ? undefined : groupOf(helpFor ?? argv);
  if (group) {
    // "data", "data --help", "help data": the commands of the group ("data inspect")
    const asked = !!helpFor || (helpFor ?? argv).slice(1).some((a) => a === '--help' || a === '-h');
    (asked ? console.log : console.error)(`${asked ? '' : `early-exit ${group.name}: missing the subcommand\n\n`}${groupHelp(group.name, group.commands)}`);
    return asked ? 0 : 2;
  }
  if (!found) {
    console.error(`early-exit: unknown command "${argv.join(' ')}"\n\n${mainHelp()}`);
    return 2;
  }
  const { cmd, rest } = found;
  try {
    const args = parseArgs(rest);
    if (helpFor || args.flags.help) {
      console.log(`Usage: early-exit ${cmd.usage}\n\n${cmd.summary}${cmd.help ? '\n\n' + cmd.help : ''}`);
      return 0;
    }
    return await cmd.run(args);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ValidationError) {
      console.error(`early-exit ${cmd.name}: ${err.message}`);
      return 2;
    }
    console.error(`early-exit ${cmd.name}: ${(err as Error)?.stack ?? err}`);
    return 1;
  }
}

