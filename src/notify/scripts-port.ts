import { ServiceUnavailableError } from '../errors.ts';
import type { ScriptsRepository } from '../repositories/scripts.ts';

/** A user's script as the bot lists it. */
export interface ScriptSummary {
  id: string;
  name: string;
  last_run: string | null;
  last_status: string | null;
}

/**
 * What the Telegram bot needs of the script registry: the caller's own scripts, and a run
 * of one of them by name (only the caller's own; another user's name is not found).
 */
export interface ScriptsPort {
  list(userId: string): Promise<ScriptSummary[]>;
  run(userId: string, name: string): Promise<{ runId: string }>;
}

/**
 * The port over the scripts repository: listing works from the registry table; running
 * needs the script runner, which this port does not have, so it says scripts cannot run.
 */
export function registryScriptsPort(scripts: Pick<ScriptsRepository, 'list'>): ScriptsPort {
  return {
    async list(userId) {
      return (await scripts.list(userId)).map((s) => ({ id: s.id, name: s.name, last_run: s.last_run, last_status: s.last_status }));
    },
    async run() {
      throw new ServiceUnavailableError('scripts are not available on this server yet', 3600);
    },
  };
}
