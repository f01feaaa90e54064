import { Builtins, Cli, Command, Option, type CommandClass } from 'clipanion';
import type { DaContext } from './base.ts';
import { EXIT, oneLine } from './errors.ts';
import { COMMAND_TABLE, loadAllCommands } from './commands/index.ts';
import { colorByEnv } from './overview.ts';
import { completionCommands, completionScript, SHELLS, type Shell } from './completion.ts';
import { VERSION } from '../src/version.ts';

/** The placeholder shown after an option that takes a value (`--server URL`), instead of clipanion's `#0`. */
const PLACEHOLDERS: Record<string, string> = {
  '--server': 'URL', '--limit': 'N', '--concurrency': 'N', '--format': 'FORMAT', '--table': 'TABLE', '--sample': 'N',
  '--component': 'NAME', '--email': 'EMAIL', '--role': 'ROLE', '--password': 'PASSWORD', '--token': 'TOKEN',
  '--timeout': 'SECONDS', '--max-rows': 'N', '--workspace': 'DIR', '--primary-key': 'COLUMN', '--symptom': 'TEXT',
  '--out': 'FILE', '--data-dir': 'DIR', '--config': 'FILE', '--config-file': 'FILE', '--destination': 'NAME', '--source': 'NAME=FOLDER',
};

/** Replaces clipanion's `--name #0` by `--name PLACEHOLDER` (upper-cased name unless listed above). */
export function readablePlaceholders(text: string): string {
  return text.replace(/(--[a-zA-Z][\w-]*)((?:,-\w)*)((?: #\d+)+)/g, (_m, name: string, short: string, args: string) => {
    const ph = PLACEHOLDERS[name] ?? name.slice(2).toUpperCase().replace(/-/g, '_');
    const n = args.trim().split(/\s+/).length;
    return `${name}${short}${n === 1 ? ` ${ph}` : Array.from({ length: n }, (_, i) => ` ${ph}${i + 1}`).join('')}`;
  });
}

/** The Cli of `da`: clipanion's, with readable placeholders in every usage and error text. */
class DaCli extends Cli<DaContext> {
  // Where clipanion builds a command's usage line and option list, before it pads the columns.
  override getUsageByIndex(...args: Parameters<Cli<DaContext>['getUsageByIndex']>): ReturnType<Cli<DaContext>['getUsageByIndex']> {
    const { usage, options } = super.getUsageByIndex(...args);
    return { usage: readablePlaceholders(usage), options: options.map((o) => ({ ...o, definition: readablePlaceholders(o.definition) })) };
  }
  override error(...args: Parameters<Cli<DaContext>['error']>): string {
    return readablePlaceholders(super.error(...args));
  }
}

/**
 * `da help [COMMAND…]`: runCli turns it into `da COMMAND… --help` before parsing; registered
 * so the parser and the completion script know it too.
 */
class HelpCommand extends Command<DaContext> {
  static paths = [['help']];
  static usage = Command.Usage({ category: 'Setup', description: 'Show the help of a command (same as da COMMAND --help)', examples: [['Help of sync', '$0 help sync']] });
  words = Option.Rest();
  async execute() {
    if (!this.words.length) {
      this.context.stdout.write(this.cli.usage(null));
      return EXIT.ok;
    }
    return this.cli.run([...this.words, '--help']);
  }
}

/** `da completion bash|zsh|fish`: a completion script built from the registered commands. */
class CompletionCommand extends Command<DaContext> {
  static paths = [['completion']];
  static usage = Command.Usage({
    category: 'Setup',
    description: 'Print a shell completion script (bash, zsh or fish)',
    details: `
      The script completes commands, subcommands and options; it is generated from the commands of this \`da\`, so it stays current after an upgrade when loaded at shell start.
    `,
    examples: [
      ['bash (add to ~/.bashrc)', 'source <($0 completion bash)'],
      ['zsh (add to ~/.zshrc)', 'source <($0 completion zsh)'],
      ['fish', '$0 completion fish > ~/.config/fish/completions/da.fish'],
    ],
  });
  shell = Option.String({ name: 'shell' });
  async execute() {
    if (!(SHELLS as readonly string[]).includes(this.shell)) {
      this.context.stderr.write(`da: unknown shell "${this.shell}": use bash, zsh or fish (see: da completion --help)\n`);
      return EXIT.usage;
    }
    this.context.stdout.write(completionScript(this.shell as Shell, completionCommands(this.cli.definitions() as never)));
    return EXIT.ok;
  }
}

/** Edit distance with adjacent transpositions (`qeury` is one edit from `query`), for "did you mean". */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known words closest to `word` (a prefix, or at most a third of its letters off). */
export function suggestions(word: string, known: string[]): string[] {
  const w = word.toLowerCase();
  const scored = known
    .map((k) => ({ k, d: k.startsWith(w) && w.length >= 2 ? 0 : distance(w, k) }))
    .filter(({ k, d }) => d <= Math.max(1, Math.floor(Math.max(w.length, k.length) / 3)))
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k));
  return scored.slice(0, 3).map(({ k }) => k);
}

const ALL_PATHS: string[][] = [...COMMAND_TABLE.flatMap((c) => c.paths), ['help'], ['completion'], ['--version'], ['-v']];

/**
 * When the words of `args` name no command, the message for it (`unknown command "synk"; did
 * you mean "sync"?`), else undefined. Only the command words are checked: `da query "SQL"` is fine.
 */
export function unknownCommand(args: string[]): string | undefined {
  const first = args[0];
  if (first === undefined || first.startsWith('-')) return undefined;
  const tops = [...new Set(ALL_PATHS.map((p) => p[0]!).filter((w) => !w.startsWith('-')))];
  const didYouMean = (list: string[], prefix: string) =>
    list.length ? `; did you mean ${list.map((s) => `"${prefix}${s}"`).join(' or ')}?` : '';
  if (!tops.includes(first)) return `unknown command "${first}"${didYouMean(suggestions(first, tops), 'da ')}`;
  // A group without a command of its own (`da admin`): the second word must be one of its commands.
  const groupOnly = !ALL_PATHS.some((p) => p.length === 1 && p[0] === first);
  const second = args[1];
  if (groupOnly && second !== undefined && !second.startsWith('-')) {
    const subs = ALL_PATHS.filter((p) => p[0] === first && p.length > 1).map((p) => p[1]!);
    if (!subs.includes(second)) return `unknown command "${first} ${second}"${didYouMean(suggestions(second, subs), `da ${first} `)}`;
  }
  return undefined;
}

/** Whether to colour help and output: a terminal, and neither NO_COLOR nor TERM=dumb set. */
export function wantsColor(stream: unknown, env: Record<string, string | undefined>): boolean {
  return colorByEnv(env) ?? Boolean((stream as { isTTY?: boolean }).isTTY);
}

/** `da` with no command: the list of commands. */
class DefaultCommand extends Command<DaContext> {
  static paths = [Command.Default];
  async execute() {
    this.context.stdout.write(this.cli.usage(null));
    return EXIT.ok;
  }
}

/**
 * The command classes `args` can run: those whose path begins it (clipanion chooses among
 * exactly these), each loaded on its own; every command when none does (`da`, `da memory
 * --help`, `da completion bash`), since the overview, completion and "did you mean" need them all.
 */
export async function commandsFor(args: string[]): Promise<CommandClass<DaContext>[]> {
  const named = COMMAND_TABLE.filter((c) => c.paths.some((p) => p.every((w, i) => args[i] === w)));
  return named.length ? Promise.all(named.map((c) => c.load())) : loadAllCommands();
}

/** Builds the clipanion Cli with `commands` (every `da` command: `await loadAllCommands()`) registered. */
export function createCli(colors: boolean, commands: CommandClass<DaContext>[]) {
  const cli = new DaCli({ binaryLabel: 'da — AI data analyst CLI', binaryName: 'da', binaryVersion: VERSION, enableColors: colors });
  cli.register(DefaultCommand);
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);
  cli.register(CompletionCommand);
  cli.register(HelpCommand);
  for (const c of commands) cli.register(c);
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
  let args = hoistGlobalOptions(argv);
  // `da help [COMMAND…]` is `da COMMAND… --help` (the GitHub CLI's spelling of it).
  if (args[0] === 'help') args = args.length > 1 ? [...args.slice(1).filter((a) => a !== '--json'), '--help'] : [];
  const json = args.includes('--json');
  const unknown = unknownCommand(args);
  if (unknown) {
    context.stderr.write(`da: ${unknown} (see: da --help)\n`);
    if (json) context.stdout.write(JSON.stringify({ error: { message: unknown, exit_code: EXIT.usage } }) + '\n');
    return EXIT.usage;
  }
  // Only the modules of the command being run are loaded: start-up is most of a short command's time.
  const cli = createCli(wantsColor(context.stdout, context.env), await commandsFor(args));
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
    const first = readablePlaceholders(oneLine(String((err as Error).message ?? err).split('\n')[0]!));
    const where = ALL_PATHS.filter((p) => p.every((w, i) => args[i] === w)).sort((a, b) => b.length - a.length)[0];
    context.stderr.write(`da: ${first} (see: da ${where ? where.join(' ') + ' ' : ''}--help)\n`);
    if (json) context.stdout.write(JSON.stringify({ error: { message: first, exit_code: EXIT.usage } }) + '\n');
    return EXIT.usage;
  }
  return cli.run(command, context);
}
