import type { Config } from './config.ts';
import type { SystemDb } from './db/system.ts';
import type { Logger } from './log.ts';
import type { Repositories } from './repositories/index.ts';
import type { Role } from './auth/roles.ts';

/**
 * The infrastructure every part of the server is built from; created once by bootstrap
 * (src/boot.ts). The long-lived services are there too (`Services`), handed to each part
 * that uses them.
 */
export interface AppDeps {
  config: Config;
  db: SystemDb;
  repos: Repositories;
  logger: Logger;
  /** HS256 signing key derived from DA_SECRET. */
  key: Uint8Array;
}

/** The caller, once authenticated. */
export interface AuthUser {
  id: string;
  email: string;
  role: Role;
  name: string | null;
  /** How the caller proved who they are. */
  via: 'jwt' | 'pat' | 'cookie' | 'telegram';
  /** JWT id and expiry (for logout), or the PAT id. */
  jti?: string;
  exp?: number;
  patId?: string;
  /** The browser session of a session token (src/auth/session-cookie.ts). */
  session?: WebSession;
}

/** A browser session: one id from sign-in to sign-out, over the tokens its cookie is renewed with. */
export interface WebSession {
  /** The session id (sign-out revokes it, and with it every token of the session). */
  id: string;
  /** Sign-in time, in seconds: the absolute expiry counts from here. */
  startedAt: number;
  /** When the token presented now was signed, in seconds: the idle expiry counts from here. */
  issuedAt: number;
  /** The user's token generation the token carries (the current one, or it was refused). */
  generation: number;
}

/** Typed context variables (`c.get('user')` etc.). */
export interface AppVariables {
  requestId: string;
  /** The client's address (X-Forwarded-For only when server.trust_proxy is set). */
  clientIp: string;
  user: AuthUser | undefined;
  /** Why a presented credential was rejected, kept for the 401 detail. */
  authError: string | undefined;
  /** The CSRF token of this response's forms, once made (src/web/csrf.ts). */
  csrfToken: string | undefined;
  /** Set when a page sent this request to sign in instead of answering it (the pages' 401). */
  sentToSignIn: boolean | undefined;
}

export interface AppEnv {
  Variables: AppVariables;
}
