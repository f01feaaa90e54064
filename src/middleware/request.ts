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

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Per request: an id (taken from X-Request-Id when well-formed, else generated, and echoed
 * back), the client address, secure headers, and one structured log line when done.
 */
export function requestContext({ logger, trustProxy = false }: RequestContextOptions): MiddlewareHandler<AppEnv> {
  return async function requestContextMiddleware(c, next) {
    const started = performance.now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set('requestId', requestId);
    c.set('clientIp', clientAddress(c, trustProxy));
    await next();
    c.res.headers.set('x-request-id', requestId);
    c.res.headers.set('x-content-type-options', 'nosniff');
    c.res.headers.set('referrer-policy', 'same-origin');
    if (!c.res.headers.has('x-frame-options')) c.res.headers.set('x-frame-options', 'DENY');
    logger.info('request', {
      request_id: requestId,
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
