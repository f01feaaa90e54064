import type { Context } from 'hono';
import type { AppDeps, AuthUser, WebSession } from '../context.ts';
import type { Role } from './roles.ts';
import { CLOCK_SKEW_SECONDS, signAccessToken, type SessionClaims } from './jwt.ts';
import { newId } from './secrets.ts';
import { setSessionCookie } from './session-cookie.ts';

/**
 * Browser sessions. The session cookie holds a short token (HS256, like every access
 * token) that carries a session id and the time of sign-in besides the user:
 * - idle expiry: the token lives `auth.session_idle_seconds`; a request renews it (a new
 *   token of the same session, at most once a minute), so a session in use goes on and a
 *   forgotten one ends;
 * - absolute expiry: no token of a session outlives `auth.session_max_seconds` after
 *   sign-in, however busy it is;
 * - sign-out revokes the session id, which ends every token the session was ever renewed
 *   with; a password change or a deactivation ends it through the token generation.
 * Both expiries are checked on every request against the current config, without the
 * clock-skew allowance of the token's own `exp`.
 */

type SessionPolicy = { session_idle_seconds: number; session_max_seconds: number };

const nowSeconds = () => Math.floor(Date.now() / 1000);

function duration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** Why a session token may not be used now (idle or over), or undefined when it may. */
export function sessionRefusal(claims: { iat: number; sat: number }, auth: SessionPolicy, now = nowSeconds()): string | undefined {
  if (now >= claims.sat + auth.session_max_seconds) return `the session is over (a session lasts at most ${duration(auth.session_max_seconds)}); sign in again`;
  if (now >= claims.iat + auth.session_idle_seconds) return `the session ended after ${duration(auth.session_idle_seconds)} without use; sign in again`;
  return undefined;
}

/** A session token's cookie renewal is due after this many seconds: a minute, or sooner for short idle times. */
function renewAfter(auth: SessionPolicy): number {
  return Math.min(60, Math.floor(auth.session_idle_seconds / 10));
}

function setCookie(c: Context, deps: AppDeps, user: { id: string; email: string; role: Role; token_generation: number }, session: SessionClaims) {
  const { auth, server } = deps.config;
  const ttl = Math.min(auth.session_idle_seconds, session.sat + auth.session_max_seconds - nowSeconds());
  if (ttl <= 0) return;
  const { token } = signAccessToken(deps.key, user, ttl, Date.now(), session);
  setSessionCookie(c, server.trust_proxy, token, ttl);
}

/**
 * Starts a browser session for a user who has just proved who they are (password, mail
 * link, Google, a setup or reset link): a new session id in a fresh cookie. `token_generation`
 * must come from the same read that checked the user, so a password change racing the
 * sign-in ends this session too.
 */
export async function startWebSession(
  c: Context,
  deps: AppDeps,
  user: { id: string; email: string; role: Role; token_generation: number },
  { recordLogin = true }: { recordLogin?: boolean } = {},
): Promise<void> {
  // Signing in again in a browser replaces its session: the one it had ends on the server too.
  const previous = (c.get('user') as AuthUser | undefined)?.session;
  if (previous) await revokeWebSession(deps, previous);
  setCookie(c, deps, user, { sid: newId(), sat: nowSeconds() });
  if (recordLogin) await deps.repos.users.recordLogin(user.id);
}

/** Renews the cookie of a session in use (same session, fresh idle time), when it is due. */
export function renewWebSession(c: Context, deps: AppDeps, user: AuthUser): void {
  const session = user.session;
  if (!session || nowSeconds() - session.issuedAt < renewAfter(deps.config.auth)) return;
  setCookie(c, deps, { ...user, token_generation: session.generation }, { sid: session.id, sat: session.startedAt });
}

/** Ends a session for good: its id stays revoked for as long as any of its tokens could live. */
export async function revokeWebSession(deps: AppDeps, session: WebSession): Promise<void> {
  const until = session.startedAt + deps.config.auth.session_max_seconds + CLOCK_SKEW_SECONDS;
  await deps.repos.tokens.revokeJwt(session.id, new Date(until * 1000));
}
