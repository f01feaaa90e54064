/** Exit codes every `da` command uses. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * A failure to report in one line (no stack): the server said no, the network is down, a
 * file is missing. `exitCode` 1 unless it is the user's mistake (2).
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    /** Extra fields for the `--json` error document (e.g. the HTTP status). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Squeezes a message onto one line. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
