import { Builtins, Cli, Command } from 'clipanion';
import type { DaContext } from './base.ts';
import { EXIT, oneLine } from './errors.ts';
import { COMMANDS } from './commands/index.ts';
import { VERSION } from '../src/version.ts';

/** `da` with no command: the list of commands. */
class DefaultCommand extends Command<DaContext> {
  static paths = [Command.Default];
  async execute() {
    this.context.stdout.write(this.cli.usage(null));
    return EXIT.ok;
  }
}

/** Builds the clipanion Cli with every `da` command registered. */
export function createCli(colors: boolean) {
  const cli = new Cli<DaContext>({ binaryLabel: 'da — AI data analyst CLI', binaryName: 'da', binaryVersion: VERSION, enableColors: colors });
  cli.register(DefaultCommand);
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);
  for (const c of COMMANDS) cli.register(c);
  return cli;
}

/** Options accepted before the command name (`da --server URL --json whoami`) move after it. */
export function hoistGlobalOptions(argv: string[]): string[] {
  const globals: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--json' || a === '--verbose') globals.push(a), i++;
    else if (a === '--server' && i + 1 < argv.length) globals.push(a, argv[i + 1]!), (i += 2);
    else if (a.startsWith('--server=')) globals.push(a), i++;
    else break;
  }
  return [...argv.slice(i), ...globals];
}

/**
 * Runs `da` with `argv` and returns the exit code: 0 ok, 1 failure, 2 usage. A command line
 * that does not parse prints one line on stderr (and a JSON error with --json).
 */
export async function runCli(argv: string[], ctx: Partial<DaContext> = {}): Promise<number> {
  const context: DaContext = { ...Cli.defaultContext, cwd: process.cwd(), ...ctx };
  const cli = createCli(Boolean((context.stdout as { isTTY?: boolean }).isTTY));
  const args = hoistGlobalOptions(argv);
  // `da` and `da --help` print the overview, which needs no parsing: compiling clipanion's
  // parser for every command would cost more than all the rest of start-up.
  if (args.length === 0 || (args.length === 1 && (args[0] === '--help' || args[0] === '-h'))) {
    context.stdout.write(cli.usage(null));
    return EXIT.ok;
  }
  let command: Command<DaContext>;
  try {
    command = cli.process(args, context);
  } catch (err) {
    const first = oneLine(String((err as Error).message ?? err).split('\n')[0]!);
    context.stderr.write(`da: ${first} (see: da --help)\n`);
    if (args.includes('--json')) context.stdout.write(JSON.stringify({ error: { message: first, exit_code: EXIT.usage } }) + '\n');
    return EXIT.usage;
  }
  return cli.run(command, context);
}
