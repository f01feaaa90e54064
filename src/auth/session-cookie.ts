import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { isHttpsRequest } from '../middleware/request.ts';

/** Name of the web session cookie (an HttpOnly JWT; src/auth/middleware.ts reads it). */
export const SESSION_COOKIE = 'da_session';

/**
 * Sets the web session cookie (HttpOnly, SameSite=Lax), `Secure` whenever the browser
 * reached us over HTTPS: directly, or through a TLS-terminating proxy that we trust
 * (server.trust_proxy); the proxy's X-Forwarded-Proto counts only then.
 */
export function setSessionCookie(c: Context, trustProxy: boolean, token: string, maxAgeSeconds: number): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true, sameSite: 'Lax', path: '/', maxAge: maxAgeSeconds, secure: isHttpsRequest(c, trustProxy),
  });
}

/** Ends the web session cookie in the browser (the token itself is revoked by logout). */
export function clearSessionCookie(c: Context, trustProxy: boolean): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isHttpsRequest(c, trustProxy) });
}
