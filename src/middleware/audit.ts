import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import type { AuditRepository } from '../repositories/audit.ts';
import { newId } from '../auth/secrets.ts';
import { routeActions } from '../api/router.ts';

// `code` and `verifier`: the single-use codes of the Google callback and of `da login`, and its PKCE verifier.
const SECRET_KEY = /pass|token|secret|authorization|api[_-]?key|credential|cookie|^code$|verifier/i;
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

/**
 * Writes every call under the given prefixes to the audit log, allowed or refused:
 * who, which operation, the resource, parameters with secrets redacted, status, duration.
 */
export function auditTrail(
  audit: AuditRepository,
  { prefixes = ['/api/', '/auth/'], onError }: { prefixes?: string[]; onError?: (err: unknown) => void } = {},
): MiddlewareHandler<AppEnv> {
  return async function auditMiddleware(c, next) {
    const path = c.req.path;
    if (!prefixes.some((p) => path.startsWith(p))) return next();
    const started = performance.now();
    await next();
    const status = c.res.status;
    const method = c.req.method;
    let body: unknown;
    const type = c.req.header('content-type') ?? '';
    const length = Number(c.req.header('content-length') ?? 0);
    // A body refused as too large stays unread.
    if (type.includes('application/json') && length <= MAX_AUDITED_BODY && status !== 413) {
      body = await c.req.json().catch(() => undefined); // cached by the validator; parsed here when refused early
    }
    const query = c.req.queries();
    const params = redactSecrets({
      ...(Object.keys(query).length ? { query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v.length === 1 ? v[0] : v])) } : {}),
      ...(body !== undefined ? { body } : {}),
    });
    const action = routeActions.get(`${method} ${c.req.routePath}`) ?? `${method} ${path}`;
    const urgent = status >= 400 || !['GET', 'HEAD', 'OPTIONS'].includes(method);
    const written = audit.append({
      id: newId(),
      timestamp: new Date().toISOString(),
      request_id: c.get('requestId') ?? null,
      user_id: c.get('user')?.id ?? null,
      action,
      resource: path,
      params,
      result: status >= 500 ? 'error' : status >= 400 ? 'refused' : 'allowed',
      status,
      duration_ms: Math.round(performance.now() - started),
      ip: c.get('clientIp') ?? null,
    }, { urgent });
    // A change or refusal is on record before the caller hears about it.
    if (urgent) await written.catch((err) => onError?.(err));
  };
}
