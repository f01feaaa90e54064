import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import type { AuditRepository } from '../repositories/audit.ts';
import { newId } from '../auth/secrets.ts';
import { routeActions } from '../api/router.ts';

// `code` and `verifier`: the setup code of /setup, the single-use codes of the Google callback and of `da login`,
// and its PKCE verifier. Sign-in forms' tokens and passwords fall under `token` and `pass`.
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

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Form fields that say nothing about the action (the CSRF token). */
const FORM_NOISE = new Set(['_csrf']);

/** A parsed form as it is recorded: without the CSRF token, files by name and size. */
function formParams(form: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(form)
      .filter(([k]) => !FORM_NOISE.has(k))
      .map(([k, v]) => [k, v instanceof File ? { file: v.name, size: v.size } : v]),
  );
}

export interface AuditTrailOptions {
  /** Every call under these path prefixes is recorded (default `/api/`, `/auth/`). */
  prefixes?: string[];
  /**
   * Also records the form posts (every method but GET, HEAD, OPTIONS) to paths this
   * accepts: the web pages' actions. Their action name is the one the page declares
   * (`definePage({ action })`, the operationId of the API route doing the same).
   */
  pageForms?: (path: string) => boolean;
  onError?: (err: unknown) => void;
}

/**
 * Writes every call under the given prefixes, and every page form post, to the audit log,
 * allowed or refused: who, which operation, the resource, parameters (query, JSON body or
 * form) with secrets redacted, status, duration. A page form post has `via: "web"` in its
 * parameters; one the page sent to sign in (no session) is refused, as the API's 401 is.
 */
export function auditTrail(
  audit: AuditRepository,
  { prefixes = ['/api/', '/auth/'], pageForms, onError }: AuditTrailOptions = {},
): MiddlewareHandler<AppEnv> {
  return async function auditMiddleware(c, next) {
    const path = c.req.path;
    const method = c.req.method;
    const pageForm = !SAFE_METHODS.has(method) && !!pageForms?.(path);
    if (!pageForm && !prefixes.some((p) => path.startsWith(p))) return next();
    const started = performance.now();
    await next();
    const status = c.res.status;
    let body: unknown;
    const type = c.req.header('content-type') ?? '';
    const length = Number(c.req.header('content-length') ?? 0);
    // A body refused as too large stays unread.
    if (length <= MAX_AUDITED_BODY && status !== 413) {
      if (type.includes('application/json')) {
        body = await c.req.json().catch(() => undefined); // cached by the validator; parsed here when refused early
      } else if (pageForm && /^(application\/x-www-form-urlencoded|multipart\/form-data)/.test(type)) {
        const form = await c.req.parseBody().catch(() => undefined); // cached by the page's CSRF check
        body = form ? formParams(form) : undefined;
      }
    }
    const query = c.req.queries();
    const params = redactSecrets({
      ...(Object.keys(query).length ? { query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v.length === 1 ? v[0] : v])) } : {}),
      ...(body !== undefined ? { body } : {}),
      ...(pageForm ? { via: 'web' } : {}),
    });
    const action = routeActions.get(`${method} ${c.req.routePath}`) ?? `${method} ${path}`;
    const urgent = status >= 400 || !SAFE_METHODS.has(method);
    const written = audit.append({
      id: newId(),
      timestamp: new Date().toISOString(),
      request_id: c.get('requestId') ?? null,
      user_id: c.get('user')?.id ?? null,
      action,
      resource: path,
      params,
      result: status >= 500 ? 'error' : status >= 400 || c.get('sentToSignIn') ? 'refused' : 'allowed',
      status,
      duration_ms: Math.round(performance.now() - started),
      ip: c.get('clientIp') ?? null,
    }, { urgent });
    // A change or refusal is on record before the caller hears about it.
    if (urgent) await written.catch((err) => onError?.(err));
  };
}
