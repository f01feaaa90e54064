import { requestId } from 'hono/request-id';
import type { Context, MiddlewareHandler } from 'hono';
import { getConnInfo } from 'hono/bun';
import type { AppEnv } from '../context.ts';
import type { Logger } from '../log.ts';

export interface RequestContextOptions {
  logger: Logger;
  trustProxy?: boolean;
}

function remoteAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'local'; // app.request() in tests has no socket
  }
}

/**
 * The value a trusted reverse proxy put in an `X-Forwarded-*` header, or undefined when
 * proxies are not trusted (`server.trust_proxy` off) or the header is absent. The last
 * entry is the one our proxy wrote: proxies append to what the client sent, so earlier
 * entries are whatever the client chose to claim.
 */
export function forwardedHeader(c: Context, name: string, trustProxy: boolean): string | undefined {
  if (!trustProxy) return undefined;
  const value = c.req.header(name)?.split(',').at(-1)?.trim();
  return value || undefined;
}

/** The client's address: the socket's, or behind a trusted proxy what the proxy saw. */
export function clientAddress(c: Context, trustProxy: boolean): string {
  return forwardedHeader(c, 'x-forwarded-for', trustProxy) ?? remoteAddress(c);
}

/** True when the client reached us over HTTPS: directly, or through a trusted TLS-terminating proxy. */
export function isHttpsRequest(c: Context, trustProxy: boolean): boolean {
  if (c.req.url.startsWith('https:')) return true;
  return forwardedHeader(c, 'x-forwarded-proto', trustProxy)?.toLowerCase() === 'https';
}

/**
 * The host the client asked for, as sent: `Host`, or behind a trusted proxy
 * `X-Forwarded-Host` when set. Unchecked: compare it, or check it with plausibleOrigin.
 */
export function requestHost(c: Context, trustProxy: boolean): string {
  return (forwardedHeader(c, 'x-forwarded-host', trustProxy) ?? c.req.header('host') ?? '').toLowerCase();
}

const LABEL = '(?!-)[a-z0-9-]{1,63}(?<!-)';
const HOST_PORT = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]+\\])(?::([0-9]{1,5}))?$`);

/**
 * `scheme://host[:port]` normalised, when `host` is a plausible host: DNS labels (letters,
 * digits, inner hyphens, at most 253 characters), an IPv4 address or a bracketed IPv6
 * address, with an optional port 1–65535. Anything else (empty labels, underscores, user
 * info, paths, spaces, quotes…) gives undefined.
 *
 * @example plausibleOrigin('https', 'da.example.com') // 'https://da.example.com'
 */
export function plausibleOrigin(scheme: 'http' | 'https', host: string): string | undefined {
  const m = HOST_PORT.exec(host.toLowerCase());
  if (!m) return undefined;
  if (m[1] !== undefined && (Number(m[1]) < 1 || Number(m[1]) > 65535)) return undefined;
  if (host.length > 253 + 6) return undefined;
  try {
    // Also the URL parser's checks: an all-digit last label must be a valid IPv4 address, etc.
    const url = new URL(`${scheme}://${host}`);
    if (url.hostname.length > 253) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/**
 * Per request: an id (hono's request-id middleware: X-Request-Id when well-formed, else
 * generated, and echoed back), the client address, and one structured log line when
 * done. Security headers are set by securityHeaders (src/middleware/security-headers.ts).
 */
export function requestContext({ logger, trustProxy = false }: RequestContextOptions): MiddlewareHandler<AppEnv> {
  const assignId = requestId({ limitLength: 64 });
  return async function requestContextMiddleware(c, next) {
    const started = performance.now();
    await assignId(c, async () => {
      c.set('clientIp', clientAddress(c, trustProxy));
      await next();
    });
    // Error pages are built as fresh Responses, which drop headers set through c.header().
    c.res.headers.set('x-request-id', c.get('requestId'));
    logger.info('request', {
      request_id: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      route: c.req.routePath,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      user: c.get('user')?.email ?? null,
      ip: c.get('clientIp'),
    });
  };
}
