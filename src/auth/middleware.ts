import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppDeps, AppEnv, AuthUser, WebSession } from '../context.ts';
import { ForbiddenError, UnauthorizedError } from '../errors.ts';
import { requestHost } from '../middleware/request.ts';
import { CLOCK_SKEW_SECONDS, verifyAccessToken, type AccessClaims } from './jwt.ts';
import { hasRole, type Role } from './roles.ts';
import { hashSecret } from './secrets.ts';
import { SESSION_COOKIE } from './session-cookie.ts';
import { renewWebSession, sessionRefusal } from './web-session.ts';

/** Prefix of personal access tokens, so they are told apart from JWTs at a glance. */
export const PAT_PREFIX = 'dapat_';

function bearerToken(c: Context): { token: string; via: 'header' | 'cookie' } | undefined {
  const header = c.req.header('authorization');
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? { token: m[1]!, via: 'header' } : { token: '', via: 'header' };
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  return cookie ? { token: cookie, via: 'cookie' } : undefined;
}

const verifiedByKey = new WeakMap<Uint8Array, Map<string, AccessClaims>>();
const MAX_VERIFIED = 10_000;

/**
 * verifyAccessToken with a memory of tokens already verified under this key (decoding and
 * the HMAC cost more than the rest of a small request). Expiry is checked on every use;
 * revocation and the user's state are checked by the caller as before.
 */
function verifiedClaims(key: Uint8Array, token: string): AccessClaims | null {
  let seen = verifiedByKey.get(key);
  if (!seen) verifiedByKey.set(key, (seen = new Map()));
  const hit = seen.get(token);
  if (hit) {
    if ((hit.exp + CLOCK_SKEW_SECONDS) * 1000 > Date.now()) return hit;
    seen.delete(token);
    return null;
  }
  const claims = verifyAccessToken(key, token);
  // Only tokens already valid now are remembered (a not-yet-valid one is checked again).
  if (claims && claims.nbf * 1000 <= Date.now()) {
    if (seen.size >= MAX_VERIFIED) seen.delete(seen.keys().next().value!);
    seen.set(token, claims);
  }
  return claims;
}

/**
 * Resolves a bearer token (JWT or personal access token) to the current user. Does not
 * refuse anything by itself: routes declare who may call them (requireAccess).
 */
export async function resolveToken(deps: AppDeps, token: string): Promise<{ user?: Omit<AuthUser, 'via'> & { via: 'jwt' | 'pat' }; error?: string }> {
  const { repos, key } = deps;
  if (token.startsWith(PAT_PREFIX)) {
    const pat = await repos.tokens.findActivePatByHash(hashSecret(token));
    if (!pat) return { error: 'token is invalid, expired or revoked' };
    const user = await repos.users.get(pat.user_id);
    if (!user || !user.active) return { error: 'account is deactivated' };
    void repos.tokens.touchPat(pat.id).catch(() => {});
    return { user: { id: user.id, email: user.email, role: user.role, name: user.name, via: 'pat', patId: pat.id } };
  }
  const claims = verifiedClaims(key, token);
  if (!claims) return { error: 'token is invalid or expired' };
  let session: WebSession | undefined;
  if (claims.sid !== undefined) {
    if (await repos.tokens.isJwtRevoked(claims.sid)) return { error: 'the session has ended (signed out); sign in again' };
    const refusal = sessionRefusal({ iat: claims.iat, sat: claims.sat! }, deps.config.auth);
    if (refusal) return { error: refusal };
    session = { id: claims.sid, startedAt: claims.sat!, issuedAt: claims.iat, generation: claims.gen ?? 0 };
  }
  if (await repos.tokens.isJwtRevoked(claims.jti)) return { error: 'token has been revoked' };
  // Checked on every use, after the verified-token memory: the generation is the user's
  // current one (dropped from the users cache on every write), so a password change or a
  // deactivation ends the token at once.
  const state = await repos.users.getAuthState(claims.sub);
  if (!state || !state.user.active) return { error: 'account is deactivated' };
  const { user } = state;
  if ((claims.gen ?? 0) !== state.tokenGeneration) return { error: 'token has been revoked: the password was changed or the account deactivated; sign in again' };
  // The role comes from the database, not the token, so a role change applies at once.
  return { user: { id: user.id, email: user.email, role: user.role, name: user.name, via: 'jwt', jti: claims.jti, exp: claims.exp, session } };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF rule for cookie sessions: a state-changing request counts only when the browser
 * says it comes from our own origin (Sec-Fetch-Site or Origin). Bearer tokens are not
 * sent by browsers on their own, so they need no such check. The Origin is compared with
 * the host the request was sent to: `Host`, or `X-Forwarded-Host` only from a trusted proxy.
 */
export function sameOrigin(c: Context, trustProxy: boolean): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site) return site === 'same-origin';
  const origin = c.req.header('origin');
  if (!origin) return false;
  try {
    return new URL(origin).host === requestHost(c, trustProxy);
  } catch {
    return false;
  }
}

/** Sets `user` (or `authError`) from the Authorization header or the session cookie. */
export function authenticate(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async function authenticateMiddleware(c, next) {
    c.set('user', undefined);
    c.set('authError', undefined);
    const presented = bearerToken(c);
    if (presented) {
      if (!presented.token) c.set('authError', 'Authorization header must be "Bearer <token>"');
      else if (presented.via === 'cookie' && !SAFE_METHODS.has(c.req.method) && !sameOrigin(c, deps.config.server.trust_proxy)) {
        c.set('authError', 'cross-site request with a session cookie refused');
      } else {
        const { user, error } = await resolveToken(deps, presented.token);
        if (user) {
          c.set('user', { ...user, via: presented.via === 'cookie' ? 'cookie' : user.via });
          // A session in use stays alive: its cookie gets a fresh token now and then.
          if (presented.via === 'cookie') renewWebSession(c, deps, user);
        } else c.set('authError', error);
      }
    }
    await next();
  };
}

/**
 * Refuses callers that may not use a route: 401 when not signed in, 403 when below `access`.
 * `allowSelf` names a path parameter holding a user id; a caller acting on themselves passes.
 */
export function requireAccess(access: 'public' | Role, allowSelf?: string): MiddlewareHandler<AppEnv> {
  return async function requireAccessMiddleware(c, next) {
    if (access !== 'public') {
      const user = c.get('user');
      if (!user) throw new UnauthorizedError(c.get('authError') ?? 'sign in first: send "Authorization: Bearer <token>"');
      const self = allowSelf !== undefined && c.req.param(allowSelf) === user.id;
      if (!self && !hasRole(user.role, access)) {
        throw new ForbiddenError(`this needs the ${access} role; you are ${user.role}`);
      }
    }
    await next();
  };
}

/** The signed-in caller (for handlers behind requireAccess). */
export function currentUser(c: Context<AppEnv>): AuthUser {
  const user = c.get('user');
  if (!user) throw new UnauthorizedError('sign in first');
  return user;
}
