import type { Context, TypedResponse } from 'hono';
import type { Config } from '../config.ts';

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
 * The origin users reach this server at: `instance.base_url` when set; behind a trusted
 * proxy, the forwarded scheme and host; else the request's own origin.
 */
export function publicOrigin(c: Context, config: Pick<Config, 'instance' | 'server'>): string {
  if (config.instance.base_url) return config.instance.base_url.replace(/\/+$/, '');
  const url = new URL(c.req.url);
  let proto = url.protocol.slice(0, -1);
  let host = url.host;
  if (config.server.trust_proxy) {
    const fwdProto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim();
    const fwdHost = c.req.header('x-forwarded-host')?.split(',')[0]?.trim();
    if (fwdProto === 'http' || fwdProto === 'https') proto = fwdProto;
    if (fwdHost && /^[A-Za-z0-9.-]+(:\d+)?$/.test(fwdHost)) host = fwdHost;
  }
  return `${proto}://${host}`;
}

/**
 * A 200 JSON response whose body is already JSON text (e.g. rows a worker serialised), so
 * it is not parsed and written again. The caller vouches that the text matches the
 * route's response schema.
 */
export function jsonText(c: Context, text: string): TypedResponse<never, 200, 'json'> {
  return c.body(text, 200, { 'content-type': 'application/json' }) as unknown as TypedResponse<never, 200, 'json'>;
}
