import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { hmac } from '@oslojs/crypto/hmac';
import { SHA256 } from '@oslojs/crypto/sha2';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import type { AppEnv, AuthUser } from '../context.ts';
import { sameOrigin } from '../auth/middleware.ts';
import { generateSecret } from '../auth/secrets.ts';
import { ForbiddenError } from '../errors.ts';
import { isHttpsRequest } from '../middleware/request.ts';
import { CSRF_FIELD } from '../../views/layout.tsx';

export { CSRF_FIELD };
/** Header that may carry the token instead of the form field (a script's fetch). */
export const CSRF_HEADER = 'x-csrf-token';
/** Cookie holding a random value that a visitor's token is bound to before they sign in. */
export const CSRF_COOKIE = 'da_csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const NONCE = /^[a-z2-7]{32}$/;
const encoder = new TextEncoder();

export interface CsrfOptions {
  /** The server's signing key (deps.key); the token key is derived from it. */
  key: Uint8Array;
  /** Take X-Forwarded-Proto/-Host from a trusted proxy (server.trust_proxy). */
  trustProxy?: boolean;
}

export interface Csrf {
  /** The token for the forms of this response (sets the visitor cookie when a visitor has none). */
  token(c: Context<AppEnv>): string;
  /** Refuses (403) a POST, PUT, PATCH or DELETE that is not same-origin or lacks the token. */
  verify: MiddlewareHandler<AppEnv>;
}

/**
 * The CSRF token of the web forms, in one place. A token is an HMAC, under a key derived
 * from the server's secret, of what the browser's session is:
 * - signed in: the session (the session id of the cookie), so a token ends with its session
 *   and cannot be made for someone else's;
 * - not signed in yet (the sign-in form): a random value in the `da_csrf` cookie (HttpOnly,
 *   SameSite=Lax), which a page of another site can neither read nor pair with a token.
 * Forms carry it in the hidden `_csrf` field (views/layout.tsx CsrfField); a state-changing
 * request must also come from our own origin (Sec-Fetch-Site or Origin).
 */
export function createCsrf({ key, trustProxy = false }: CsrfOptions): Csrf {
  const tokenKey = hmac(SHA256, key, encoder.encode('da web form token v1'));
  const sign = (binding: string) => encodeBase64urlNoPadding(hmac(SHA256, tokenKey, encoder.encode(binding)));
  // A web session's id outlasts the renewals of its cookie; a form made before one still posts.
  const sessionOf = (user: AuthUser) => `session:${user.session?.id ?? user.jti ?? user.patId ?? user.id}`;

  /** The binding of this request, or undefined for a visitor without the cookie. */
  function binding(c: Context<AppEnv>): string | undefined {
    const user = c.get('user');
    if (user) return sessionOf(user);
    const nonce = getCookie(c, CSRF_COOKIE);
    return nonce && NONCE.test(nonce) ? `visitor:${nonce}` : undefined;
  }

  return {
    token(c) {
      const made = c.get('csrfToken');
      if (made) return made;
      let bound = binding(c);
      if (!bound) {
        const nonce = generateSecret();
        setCookie(c, CSRF_COOKIE, nonce, { httpOnly: true, sameSite: 'Lax', path: '/', secure: isHttpsRequest(c, trustProxy) });
        bound = `visitor:${nonce}`;
      }
      const token = sign(bound);
      c.set('csrfToken', token);
      return token;
    },

    async verify(c, next) {
      if (SAFE_METHODS.has(c.req.method)) return next();
      if (!sameOrigin(c, trustProxy)) throw new ForbiddenError('This form was sent from another site, so it was refused.');
      let presented = c.req.header(CSRF_HEADER);
      if (presented === undefined) {
        const field = (await c.req.parseBody())[CSRF_FIELD];
        presented = typeof field === 'string' ? field : undefined;
      }
      const bound = binding(c);
      const ok = presented !== undefined && bound !== undefined && constantTimeEqual(encoder.encode(presented), encoder.encode(sign(bound)));
      if (!ok) throw new ForbiddenError('This form has expired or did not come from a page of this server. Go back, reload the page and send it again.');
      await next();
    },
  };
}
