/** Exit codes every `da` command uses. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * A failure to report in one line (no stack): the server said no, the network is down, a
 * file is missing. `exitCode` 1 unless it is the user's mistake (2). `cause` keeps the
 * runtime's own error for `--verbose`.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    /** Extra fields for the `--json` error document (e.g. the HTTP status). */
    readonly details: Record<string, unknown> = {},
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** Squeezes a message onto one line. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/** The system error code of an error or of its causes (`ENOSPC`, `ECONNRESET`), if any. */
export function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code) return code;
  }
  return undefined;
}

/** Everything known about an error, for `--verbose` and DA_DEBUG=1: stacks and causes. */
export function errorDetail(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));
    if (!(e instanceof Error)) break;
  }
  return parts.join('\ncaused by: ');
}

/** Whether the user asked for full error detail (`--verbose` or DA_DEBUG=1). */
export function wantsDetail(verbose: boolean, env: Record<string, string | undefined>): boolean {
  return verbose || Boolean(env.DA_DEBUG && env.DA_DEBUG !== '0');
}

/**
 * While a long-running command serves (`da mcp`), an error that escapes every handler is
 * passed to `survive` (which logs it) instead of ending the process; cli/main.ts asks here.
 */
export const processGuard: { survive?: (err: unknown) => void } = {};
