import type { AuthUser } from '../context.ts';
import { NotFoundError } from '../errors.ts';
import type { UsersRepository } from '../repositories/users.ts';
import type { ScriptsService } from '../scripts/service.ts';

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
 * The port over the script registry (src/scripts/service.ts), acting as the linked user with
 * their current role: the registry's own rules apply (a sandbox that is missing refuses the
 * run). Even for an admin, the bot lists and runs only the user's own scripts.
 */
export function registryScriptsPort(scripts: Pick<ScriptsService, 'list' | 'run'>, users: Pick<UsersRepository, 'get'>): ScriptsPort {
  const actingAs = async (userId: string): Promise<AuthUser> => {
    const u = await users.get(userId);
    if (!u || !u.active) throw new NotFoundError('this chat is not linked to an active user');
    return { id: u.id, email: u.email, role: u.role, name: u.name, via: 'telegram' };
  };
  const own = async (user: AuthUser) => (await scripts.list(user)).filter((s) => s.owner === user.id);
  return {
    async list(userId) {
      return (await own(await actingAs(userId))).map((s) => ({
        id: s.id, name: s.name, last_run: s.last_run?.finished_at ?? s.last_run?.queued_at ?? null, last_status: s.last_run?.status ?? null,
      }));
    },
    async run(userId, name) {
      const user = await actingAs(userId);
      const script = (await own(user)).find((s) => s.name === name);
      if (!script) throw new NotFoundError(`you have no script named ${name}`);
      const { runId } = await scripts.run(user, script.id);
      return { runId };
    },
  };
}
