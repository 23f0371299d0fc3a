/**
 * `early-exit` — the headless face of Early Exit Studio. Sub-commands live in ./commands.
 */
import { commands } from './commands/index';
import { debugState, describeFailure, EXIT, reportFailure } from './errors';
import { parseArgs, type CliCommand } from './registry';
import { installSignalHandlers } from './signals';
import pkg from '../../package.json';

function mainHelp(): string {
  return [
    'early-exit — train and inspect multi-exit networks (Scardapane et al., ICASSP 2020)',
    '',
    'Usage: early-exit <command> [options]',
    '',
    'Commands:',
    // usage and summary on lines of their own: the usages are too long to share a line in a terminal
    ...commands.flatMap((c) => [`  ${c.usage}`, `      ${c.summary}`]),
    '',
    'Run `early-exit <command> --help` for a command\'s options.',
    'Errors are one line; add --debug (or set EARLY_EXIT_DEBUG=1) for the stack trace of an internal error.',
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

let processHooked = false;
let current = 'early-exit';

/**
 * What escapes a command (an exception thrown in an event handler, a rejected promise nobody
 * awaited, a closed stdout) goes through the same boundary as what it throws: one line, an exit
 * code. Installed once per process.
 */
function hookProcess(): void {
  if (processHooked) return;
  processHooked = true;
  const die = (err: unknown) => {
    const f = describeFailure(err);
    reportFailure(current, f);
    process.exit(f.code);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  // `early-exit runs | head -1`: the reader went away; nothing more to say
  for (const s of [process.stdout, process.stderr]) s.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE' || e.code === 'EIO') process.exit(process.exitCode ?? 0); });
  installSignalHandlers(() => current);
}

export async function main(argv: string[]): Promise<number> {
  hookProcess();
  // --debug anywhere before "--" turns stack traces on
  const dashdash = argv.indexOf('--');
  const head = dashdash < 0 ? argv : argv.slice(0, dashdash);
  if (head.includes('--debug')) {
    debugState.on = true;
    argv = [...head.filter((a) => a !== '--debug'), ...(dashdash < 0 ? [] : argv.slice(dashdash))];
  }
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
    return EXIT.usage;
  }
  const { cmd, rest } = found;
  current = `early-exit ${cmd.name}`;
  try {
    // Help is shown even next to a mistyped option; otherwise an option the command does not take is refused.
    const args = parseArgs(rest, rest.some((a) => a === '--help' || a === '-h') ? undefined : cmd);
    if (helpFor || args.flags.help) {
      console.log(`Usage: early-exit ${cmd.usage}\n\n${cmd.summary}${cmd.help ? '\n\n' + cmd.help : ''}`);
      return 0;
    }
    return await cmd.run(args);
  } catch (err) {
    const f = describeFailure(err);
    reportFailure(current, f);
    return f.code;
  }
}
