import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import type { AuditRepository } from '../repositories/audit.ts';
import { newId } from '../auth/secrets.ts';
import { routeActions } from '../api/router.ts';

const SECRET_KEY = /pass|token|secret|authorization|api[_-]?key|credential|cookie/i;
const MAX_AUDITED_BODY = 64 * 1024;

/** Replaces the value of every secret-looking key (at any depth) with "[redacted]". */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[truncated]';
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redactSecrets(v, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : redactSecrets(v, depth + 1)]),
    );
  }
  if (typeof value === 'string' && value.length > 2000) return value.slice(0, 2000) + '…';
  return value;
}

/** The posted text fields of a page form, without its CSRF token (files are left out). */
function formFields(body: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === '_csrf') continue;
    if (typeof v === 'string') fields[k] = v;
    else if (Array.isArray(v)) fields[k] = v.filter((x) => typeof x === 'string');
  }
  return fields;
}

/**
 * Writes every call under the given prefixes to the audit log, allowed or refused:
 * who, which operation, the resource, parameters with secrets redacted, status, duration.
 * A web form post whose page names an action (`definePage({ action })`, registered in
 * routeActions like the API's operationIds) is written the same way, with its form fields.
 */
export function auditTrail(
  audit: AuditRepository,
  { prefixes = ['/api/', '/auth/'], onError }: { prefixes?: string[]; onError?: (err: unknown) => void } = {},
): MiddlewareHandler<AppEnv> {
  return async function auditMiddleware(c, next) {
    const path = c.req.path;
    const method = c.req.method;
    const api = prefixes.some((p) => path.startsWith(p));
    // Pages are read with GET and change things with POST: only a POST may be an audited page action.
    if (!api && method !== 'POST') return next();
    const started = performance.now();
    await next();
    const routed = routeActions.get(`${method} ${c.req.routePath}`);
    if (!api && !routed) return;
    const status = c.res.status;
    let body: unknown;
    const type = c.req.header('content-type') ?? '';
    const length = Number(c.req.header('content-length') ?? 0);
    // A body refused as too large stays unread.
    if (length <= MAX_AUDITED_BODY && status !== 413) {
      if (type.includes('application/json')) {
        body = await c.req.json().catch(() => undefined); // cached by the validator; parsed here when refused early
      } else if (!api && (type.includes('application/x-www-form-urlencoded') || type.includes('multipart/form-data'))) {
        const form = await c.req.parseBody().catch(() => undefined); // parsed already by the CSRF check
        body = form ? formFields(form) : undefined;
      }
    }
    const query = c.req.queries();
    const params = redactSecrets({
      ...(Object.keys(query).length ? { query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v.length === 1 ? v[0] : v])) } : {}),
      ...(body !== undefined ? { body } : {}),
      ...(api ? {} : { via: 'web' }),
    });
    const action = routed ?? `${method} ${path}`;
    const urgent = status >= 400 || !['GET', 'HEAD', 'OPTIONS'].includes(method);
    const written = audit.append({
      id: newId(),
      timestamp: new Date().toISOString(),
      request_id: c.get('requestId') ?? null,
      user_id: c.get('user')?.id ?? null,
      action,
      resource: path,
      params,
      // A page action without a session is sent to sign in (a redirect): refused, as the API's 401.
      result: status >= 500 ? 'error' : status >= 400 || (!api && !c.get('user') && status >= 300) ? 'refused' : 'allowed',
      status,
      duration_ms: Math.round(performance.now() - started),
      ip: c.get('clientIp') ?? null,
    }, { urgent });
    // A change or refusal is on record before the caller hears about it.
    if (urgent) await written.catch((err) => onError?.(err));
  };
}
