import { constantTimeEqual } from '@oslojs/crypto/subtle';
import type { AppDeps } from '../context.ts';
import { NotFoundError } from '../errors.ts';
import { createUser, type SignedInUser } from './service.ts';
import { generateSecret } from './secrets.ts';

/** The page where the first administrator is created. */
export const SETUP_PATH = '/setup';

/**
 * First-run setup: while the instance has no user (and no DA_ADMIN_EMAIL created one),
 * `/setup` creates the first administrator. Whoever reaches a fresh server first must not
 * own it, so the form also asks for a setup code that only the server log shows (a new one
 * on every start until setup is done). Afterwards `/setup` is gone (404).
 */
export interface FirstRun {
  /** True while there is no user yet. */
  pending(): Promise<boolean>;
  /** True when `code` is this start's setup code. */
  codeMatches(code: string): boolean;
  /**
   * Creates the first administrator (km_admin) and returns them, ready to be signed in.
   * Only once: a second attempt, also a concurrent one, finds a user and gets NotFoundError.
   */
  createAdmin(input: { email: string; name?: string; password?: string }): Promise<SignedInUser>;
}

export async function createFirstRun(deps: AppDeps): Promise<FirstRun> {
  let done = (await deps.repos.users.count()) > 0;
  const code = done ? '' : generateSecret();
  if (!done) {
    const base = deps.config.instance.base_url?.replace(/\/+$/, '') ?? '';
    deps.logger.warn(`no users yet: create the first admin at ${base}${SETUP_PATH}?code=${code}`, { setup_code: code });
  }
  const encoder = new TextEncoder();
  let queue: Promise<unknown> = Promise.resolve();

  async function pending(): Promise<boolean> {
    if (!done) done = (await deps.repos.users.count()) > 0;
    return !done;
  }

  return {
    pending,
    codeMatches(given) {
      return !done && given.length === code.length && constantTimeEqual(encoder.encode(given), encoder.encode(code));
    },
    createAdmin(input) {
      // One at a time, so that two forms sent together cannot both find no user.
      const run = queue.then(async () => {
        if (!(await pending())) throw new NotFoundError('This server is set up already: sign in instead.');
        const { user } = await createUser(deps, { email: input.email, name: input.name || null, role: 'km_admin', password: input.password, setupToken: false });
        done = true;
        deps.logger.info('first admin created on the setup page', { email: user.email });
        const state = await deps.repos.users.getAuthState(user.id);
        return { ...user, token_generation: state?.tokenGeneration ?? 0 };
      });
      queue = run.catch(() => {});
      return run;
    },
  };
}
