import type { Context, TypedResponse } from 'hono';
import type { Config } from '../config.ts';
import { isHttpsRequest, plausibleOrigin, requestHost } from '../middleware/request.ts';

/** HTTP helpers shared by route groups. */

/** True when an If-None-Match header names this strong ETag (or `*`). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

/**
 * The origin users reach this server at: `instance.base_url` when set; else the scheme and
 * host the request was sent to (`X-Forwarded-Proto`/`-Host` only from a trusted proxy),
 * when that host is a plausible host name or address; else undefined. Whatever a client
 * puts in `Host` can only come back as a well-formed origin, never as arbitrary text.
 */
export function publicOrigin(c: Context, config: Pick<Config, 'instance' | 'server'>): string | undefined {
  if (config.instance.base_url) return config.instance.base_url.replace(/\/+$/, '');
  const trust = config.server.trust_proxy;
  return plausibleOrigin(isHttpsRequest(c, trust) ? 'https' : 'http', requestHost(c, trust));
}

/**
 * A 200 JSON response whose body is already JSON text (e.g. rows a worker serialised), so
 * it is not parsed and written again. The caller vouches that the text matches the
 * route's response schema.
 */
export function jsonText(c: Context, text: string): TypedResponse<never, 200, 'json'> {
  return c.body(text, 200, { 'content-type': 'application/json' }) as unknown as TypedResponse<never, 200, 'json'>;
}
