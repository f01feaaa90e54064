/**
 * What `da`, `da --help` and `da --version` print, answered by the compiled binary before it
 * loads clipanion or any command. scripts/build-cli.ts renders the texts with the real Cli
 * (every command registered) and defines `DA_STATIC_HELP`; run from source it is not
 * defined and cli/run.ts answers as usual. Loading clipanion alone costs more than twice a
 * compiled hello world: it touches process.stdin/stdout/stderr, which sets up Node's streams.
 */
import { ttyOf } from './stdio.ts';

/** The texts scripts/build-cli.ts defines. */
export interface StaticHelp {
  /** `cli.usage(null)` without and with colours. */
  plain: string;
  color: string;
  /** `da --version`. */
  version: string;
}

declare const DA_STATIC_HELP: StaticHelp | undefined;

/**
 * The text `argv` prints when it only asks for the overview (`da`, `da --help`, `da -h`,
 * `da help`) or the version, and `help` holds the texts; else undefined. Colours as in
 * cli/run.ts `wantsColor`.
 */
export function staticAnswer(argv: string[], env: Record<string, string | undefined>, help: StaticHelp | undefined = typeof DA_STATIC_HELP === 'undefined' ? undefined : DA_STATIC_HELP): string | undefined {
  if (!help || argv.length > 1) return undefined;
  const word = argv[0];
  if (word === '--version' || word === '-v') return `${help.version}\n`;
  if (word !== undefined && word !== '--help' && word !== '-h' && word !== 'help') return undefined;
  const color = colorByEnv(env) ?? ttyOf(1);
  if (color === undefined) return undefined;
  return color ? help.color : help.plain;
}

/** Colours off with NO_COLOR or TERM=dumb, on with FORCE_COLOR; undefined: up to whether stdout is a terminal. */
export function colorByEnv(env: Record<string, string | undefined>): boolean | undefined {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return undefined;
}
