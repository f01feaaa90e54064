import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv } from '../../context.ts';
import { routeActions } from '../../api/router.ts';
import { ValidationError } from '../../errors.ts';
import type { AuditEntry, AuditFilter } from '../../repositories/audit.ts';
import { AuditPage, type AuditRow } from '../../../views/admin/audit.tsx';
import { definePage, type AnyPage } from '../router.ts';
import { adminPage } from './common.ts';

/**
 * /admin/audit: the audit trail (GET /api/audit's repository query) with filters, cursor
 * paging, and /admin/audit.csv with the same filters.
 */

const PAGE_SIZE = 50;
/** The most entries one CSV export holds. */
export const CSV_MAX_ROWS = 100_000;

/** `2025-01-31T14:05` (a datetime-local input, taken as UTC) or an ISO time with offset. */
const Time = z
  .string()
  .trim()
  .max(40)
  .refine((v) => v === '' || (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?$/.test(v) && !Number.isNaN(Date.parse(asUtc(v)))), 'a date and time such as 2025-01-31T14:05');

function asUtc(v: string): string {
  return /(Z|[+-]\d\d:\d\d)$/.test(v) ? v : `${v}Z`;
}

const Filters = z.object({
  user: z.string().trim().max(254).optional(),
  action: z.string().trim().max(200).optional(),
  resource: z.string().trim().max(500).optional(),
  status: z.string().trim().regex(/^$|^[1-5]\d\d$/, 'a status code such as 403').optional(),
  since: Time.optional(),
  until: Time.optional(),
  cursor: z.string().max(200).regex(/^$|^[^|]{1,40}\|[0-9a-z]{1,64}$/, 'not a page of this log').optional(),
});
type Filters = z.infer<typeof Filters>;

const FILTER_FIELDS = ['user', 'action', 'resource', 'status', 'since', 'until'] as const;

/** The query string of these filters (without empty ones), plus `extra`. */
function queryOf(values: Record<string, string | undefined>, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const k of FILTER_FIELDS) if (values[k]) params.set(k, values[k]!);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}

function toFilter(f: Filters, limit: number): AuditFilter {
  return {
    user: f.user || undefined, action: f.action || undefined, resource: f.resource || undefined,
    status: f.status ? Number(f.status) : undefined, since: f.since ? new Date(asUtc(f.since)).toISOString() : undefined,
    until: f.until ? new Date(asUtc(f.until)).toISOString() : undefined, cursor: f.cursor || undefined, limit,
  };
}

/** The filters of the query string, or the field errors to show beside them. */
function readFilters(c: Context<AppEnv>): { ok: true; filters: Filters; values: Record<string, string> } | { ok: false; values: Record<string, string>; errors: Record<string, string> } {
  const raw = c.req.query();
  const values = Object.fromEntries(FILTER_FIELDS.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]!]));
  const parsed = Filters.safeParse(raw);
  if (parsed.success) return { ok: true, filters: parsed.data, values };
  const errors: Record<string, string> = {};
  for (const issue of parsed.error.issues) errors[String(issue.path[0] ?? 'form')] ??= issue.message;
  return { ok: false, values, errors };
}

async function emailsById(deps: AppDeps): Promise<Map<string, string>> {
  return new Map((await deps.repos.users.list({ includeInactive: true })).map((u) => [u.id, u.email]));
}

const isEmpty = (v: unknown) => v === null || v === undefined || (typeof v === 'object' && Object.keys(v).length === 0);

const knownActions = () => [...new Set(routeActions.values())].sort();

/** GET /admin/audit. */
export const adminAuditPage = definePage({
  path: '/admin/audit',
  access: 'admin',
  async get(c, { deps }) {
    const read = readFilters(c);
    const values = read.values;
    const csvHref = `/admin/audit.csv${queryOf(values)}`;
    if (!read.ok) {
      adminPage(c, 422);
      return c.render(
        <AuditPage filters={{ values, errors: read.errors }} entries={[]} olderHref={null} newestHref={null} csvHref={csvHref} actions={knownActions()} />,
        { title: 'Audit log' },
      );
    }
    const [page, emails] = await Promise.all([deps.repos.audit.list(toFilter(read.filters, PAGE_SIZE)), emailsById(deps)]);
    const entries: AuditRow[] = page.items.map((e) => ({
      id: e.id, timestamp: e.timestamp, user: e.user_id ? (emails.get(e.user_id) ?? e.user_id) : null, action: e.action,
      resource: e.resource, status: e.status, result: e.result, duration_ms: e.duration_ms, ip: e.ip,
      params: isEmpty(e.params) ? null : JSON.stringify(e.params, null, 2),
    }));
    adminPage(c);
    return c.render(
      <AuditPage
        filters={{ values, errors: {} }} entries={entries} csvHref={csvHref} actions={knownActions()}
        olderHref={page.next_cursor ? `/admin/audit${queryOf(values, { cursor: page.next_cursor })}` : null}
        newestHref={read.filters.cursor ? `/admin/audit${queryOf(values)}` : null}
      />,
      { title: 'Audit log' },
    );
  },
});

const CSV_COLUMNS = ['timestamp', 'user_id', 'user_email', 'action', 'resource', 'status', 'result', 'duration_ms', 'ip', 'request_id', 'params'] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a text that
 * a spreadsheet would run as a formula (= + - @ at the start) gets a leading apostrophe.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvLine(e: AuditEntry, emails: Map<string, string>): string {
  const row = {
    timestamp: e.timestamp, user_id: e.user_id, user_email: e.user_id ? (emails.get(e.user_id) ?? null) : null, action: e.action,
    resource: e.resource, status: e.status, result: e.result, duration_ms: e.duration_ms, ip: e.ip, request_id: e.request_id,
    params: e.params === null || e.params === undefined ? null : JSON.stringify(e.params),
  };
  return CSV_COLUMNS.map((k) => csvField(row[k])).join(',') + '\r\n';
}

/** GET /admin/audit.csv: the entries of the same filters (newest first, from the cursor on), up to CSV_MAX_ROWS. */
export const adminAuditCsv = definePage({
  path: '/admin/audit.csv',
  access: 'admin',
  async get(c, { deps }) {
    const read = readFilters(c);
    if (!read.ok) throw new ValidationError('The filters have values this export cannot use.', Object.entries(read.errors).map(([path, message]) => ({ path, message })));
    const emails = await emailsById(deps);
    const lines = [CSV_COLUMNS.join(',') + '\r\n'];
    let filter = toFilter(read.filters, 1000);
    let count = 0;
    for (;;) {
      const page = await deps.repos.audit.list(filter);
      for (const e of page.items) lines.push(csvLine(e, emails));
      count += page.items.length;
      if (!page.next_cursor || count >= CSV_MAX_ROWS) break;
      filter = { ...filter, cursor: page.next_cursor, limit: Math.min(1000, CSV_MAX_ROWS - count) };
    }
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    return c.body(lines.join(''), 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="audit-${stamp}.csv"`,
      'cache-control': 'no-store',
    });
  },
});

/** The audit pages, as src/web/pages.ts registers them. */
export const ADMIN_AUDIT_PAGES: AnyPage[] = [adminAuditPage, adminAuditCsv];
