import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { AppEnv } from '../context.ts';
import { isHttpsRequest } from './request.ts';

export interface SecurityHeadersOptions {
  /** Take `X-Forwarded-Proto` from a trusted proxy as the scheme (server.trust_proxy). */
  trustProxy?: boolean;
  /** CSP sources (`'sha256-…'`) of the inline styles our pages may carry; no other inline style runs. */
  styleHashes?: string[];
}

/** One year; sent only over HTTPS (a browser ignores it over plain HTTP, and it must not stick to a dev host). */
const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Security headers on every response (pages, docs, API, errors), with hono/secure-headers:
 * - Content-Security-Policy: scripts, styles and everything else only from this origin
 *   (no inline script at all; inline styles only by hash), no plugins, no `<base>`, never
 *   framed (`frame-ancestors 'none'`), forms post only here or to the loopback address
 *   where `da login` waits for the browser sign-in;
 * - Strict-Transport-Security when the request came over HTTPS, directly or through a
 *   trusted proxy (never otherwise: the proxy header is trusted only with trust_proxy);
 * - nosniff, Referrer-Policy same-origin, X-Frame-Options DENY, and hono's other defaults.
 */
export function securityHeaders({ trustProxy = false, styleHashes = [] }: SecurityHeadersOptions = {}): MiddlewareHandler<AppEnv> {
  const common = {
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", ...styleHashes.map((h) => `'${h}'`)],
      imgSrc: ["'self'", 'data:'],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      frameAncestors: ["'none'"],
      // The browser step of `da login` ends in a redirect to http://127.0.0.1:PORT (or localhost).
      formAction: ["'self'", 'http://127.0.0.1:*', 'http://localhost:*'],
    },
    referrerPolicy: 'same-origin',
    xFrameOptions: 'DENY',
  };
  const overHttps = secureHeaders({ ...common, strictTransportSecurity: HSTS });
  const overHttp = secureHeaders({ ...common, strictTransportSecurity: false });
  return async function securityHeadersMiddleware(c, next) {
    return (isHttpsRequest(c, trustProxy) ? overHttps : overHttp)(c, next);
  };
}
