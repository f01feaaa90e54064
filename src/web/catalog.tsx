import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv, AuthUser } from '../context.ts';
import type { Services } from '../boot.ts';
import { httpStatusOf } from '../api/problem.ts';
import { hasRole, seesAllDatasets } from '../auth/roles.ts';
import { quoteIdent } from '../db/connection.ts';
import { DomainError, RateLimitError, ServiceUnavailableError, ValidationError } from '../errors.ts';
import { runQuery } from '../query/run.ts';
import { readableTable, visibleTables, type CatalogTable } from '../sync/catalog.ts';
import { durationWords, freshnessJudge, staleAfterMs, type Freshness } from '../sync/freshness.ts';
import { ProfileSchema, type TableProfile } from '../sync/profile-schema.ts';
import { CatalogPage, type CatalogRow, type Choice } from '../../views/catalog/list.tsx';
import { TablePage, type QueryBox } from '../../views/catalog/table.tsx';
import { definePage } from './router.ts';
import { accessRequestDeps } from '../api/access-requests.ts';
import { listMyRequests, requestAccess } from '../auth/access-requests.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { DatasetAccessRow } from '../../views/catalog/access.tsx';

/** Tables per page of the catalog list. */
export const CATALOG_PAGE_SIZE = 100;

const ROWS: readonly Choice[] = [['', 'Any'], ['empty', 'Empty'], ['small', 'Under 1,000'], ['medium', '1,000 to 1 million'], ['large', 'Over 1 million']];
const SIZES: readonly Choice[] = [['', 'Any'], ['small', 'Under 1 MiB'], ['medium', '1 to 100 MiB'], ['large', 'Over 100 MiB']];
const FRESHNESS_CHOICES: readonly Choice[] = [['', 'Any'], ['fresh', 'Fresh'], ['stale', 'Stale'], ['failed', 'Last sync failed'], ['never', 'Never synced'], ['remote', 'Queried in place']];
const SORTS: readonly Choice[] = [['name', 'Name'], ['rows', 'Most rows'], ['size', 'Largest'], ['last_sync', 'Least recently synced']];

const MiB = 1024 ** 2;
const inRows: Record<string, (n: number) => boolean> = {
  empty: (n) => n === 0,
  small: (n) => n > 0 && n < 1000,
  medium: (n) => n >= 1000 && n <= 1_000_000,
  large: (n) => n > 1_000_000,
};
const inSize: Record<string, (n: number) => boolean> = {
  small: (n) => n < MiB,
  medium: (n) => n >= MiB && n <= 100 * MiB,
  large: (n) => n > 100 * MiB,
};

const values = (choices: readonly Choice[]) => choices.map(([v]) => v) as [string, ...string[]];
const CatalogQuery = z.object({
  q: z.string().max(200).default(''),
  dataset: z.string().max(64).default(''),
  rows: z.enum(values(ROWS)).default(''),
  size: z.enum(values(SIZES)).default(''),
  freshness: z.enum(values(FRESHNESS_CHOICES)).default(''),
  sort: z.enum(values(SORTS)).default('name'),
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
});
type CatalogQuery = z.infer<typeof CatalogQuery>;

/** Column names per table, read once per catalog version (searching by column needs them). */
const columnIndexes = new WeakMap<AppDeps, { version: string; names: Map<string, string[]> }>();
async function columnNames(deps: AppDeps, version: string): Promise<Map<string, string[]>> {
  const known = columnIndexes.get(deps);
  if (known?.version === version) return known.names;
  const names = await deps.repos.dataCatalog.columnNames();
  columnIndexes.set(deps, { version, names });
  return names;
}

function pageHref(q: CatalogQuery, page: number): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...q, page: String(page) })) {
    if (v !== '' && !(k === 'sort' && v === 'name') && !(k === 'page' && v === '1')) params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `/catalog?${s}` : '/catalog';
}

/** GET /catalog: the datasets and tables the user may read; search and filters in a GET form. */
export const catalogPage = definePage({
  path: '/catalog',
  access: 'viewer',
  query: CatalogQuery,
  async get(c, { deps, services, user, query, csrf }) {
    const { tables, snapshot, access } = await visibleTables(services.access, services.catalog, user);
    const myRequests = await listMyRequests(deps.repos, user);
    const pending = new Set(myRequests.filter((r) => r.status === 'pending').map((r) => r.dataset));
    const allDatasets: DatasetAccessRow[] = Object.entries(deps.config.sources)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, s]) => ({
        name, description: s.description ?? null,
        state: access.canRead(name) ? 'readable' : pending.has(name) ? 'pending' : 'requestable',
      }));
    const staleMs = staleAfterMs(deps.config.sync);
    const now = Date.now();
    const judge = freshnessJudge(deps.config, now);
    const needle = query.q.trim().toLowerCase();
    const columns = needle ? await columnNames(deps, snapshot.version) : undefined;

    const counts = new Map<string, number>();
    for (const t of tables) counts.set(t.dataset, (counts.get(t.dataset) ?? 0) + 1);
    const datasets = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([name, n]) => ({
      name, tables: n, description: deps.config.sources[name]?.description ?? null,
    }));

    const matching: Array<CatalogRow & { t: CatalogTable }> = [];
    for (const t of tables) {
      if (query.dataset && t.dataset !== query.dataset) continue;
      if (query.rows && !inRows[query.rows]!(t.rows ?? 0)) continue;
      if (query.size && !inSize[query.size]!(t.size_bytes ?? 0)) continue;
      const freshness = judge(t);
      if (query.freshness && freshness !== query.freshness) continue;
      let matched: string[] = [];
      if (needle) {
        matched = (columns!.get(t.id) ?? []).filter((n) => n.toLowerCase().includes(needle));
        const hit = t.id.includes(needle) || (t.description?.toLowerCase().includes(needle) ?? false) || t.tags.some((tag) => tag.toLowerCase().includes(needle)) || matched.length > 0;
        if (!hit) continue;
      }
      matching.push({
        t, id: t.id, dataset: t.dataset, description: t.description, rows: t.rows, size_bytes: t.size_bytes,
        last_sync: t.last_sync, freshness, matched_columns: matched, missing_since: t.missing_since,
      });
    }
    const order: Record<string, (a: CatalogTable, b: CatalogTable) => number> = {
      name: (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      rows: (a, b) => (b.rows ?? -1) - (a.rows ?? -1),
      size: (a, b) => (b.size_bytes ?? -1) - (a.size_bytes ?? -1),
      // ISO text sorts as time; never synced first.
      last_sync: (a, b) => ((a.last_sync ?? '') < (b.last_sync ?? '') ? -1 : (a.last_sync ?? '') > (b.last_sync ?? '') ? 1 : 0),
    };
    // The snapshot is in id order already.
    if (query.sort !== 'name') matching.sort((a, b) => order[query.sort]!(a.t, b.t) || order.name!(a.t, b.t));
    const pages = Math.max(1, Math.ceil(matching.length / CATALOG_PAGE_SIZE));
    const page = Math.min(query.page, pages);
    const rows = matching.slice((page - 1) * CATALOG_PAGE_SIZE, page * CATALOG_PAGE_SIZE).map(({ t: _, ...row }) => row);

    return c.render(
      <CatalogPage
        filters={{ q: query.q, dataset: query.dataset, rows: query.rows, size: query.size, freshness: query.freshness, sort: query.sort }}
        datasets={datasets}
        choices={{ rows: ROWS, size: SIZES, freshness: FRESHNESS_CHOICES, sort: SORTS }}
        rows={rows}
        matching={matching.length}
        total={tables.length}
        page={page}
        pages={pages}
        prevHref={page > 1 ? pageHref(query, page - 1) : undefined}
        nextHref={page < pages ? pageHref(query, page + 1) : undefined}
        staleAfter={durationWords(staleMs)}
        access={{ datasets: allDatasets, requests: myRequests, csrf }}
      />,
      { title: 'Catalog' },
    );
  },
});

const AccessRequestForm = z.object({ dataset: z.string().min(1).max(64), reason: z.string().trim().min(1, 'say why you need it').max(2000) });

/**
 * POST /catalog/access-requests: asks for read on a dataset (the code of POST
 * /api/access-requests, audited as accessRequests.create); back to the catalog with a message.
 */
export const accessRequestAction = definePage({
  path: '/catalog/access-requests',
  access: 'viewer',
  action: 'accessRequests.create',
  form: AccessRequestForm,
  async post(_c, { deps, services, user, form, redirect }) {
    try {
      await requestAccess(accessRequestDeps(deps, services), user, form);
    } catch (err) {
      if (err instanceof ConflictError || err instanceof NotFoundError) return redirect('/catalog#access-title', { kind: 'error', message: err.message });
      throw err;
    }
    return redirect('/catalog#access-title', { kind: 'ok', message: `Requested access to ${form.dataset}. An administrator will decide.` });
  },
  invalid: (_c, { errors, redirect }) =>
    redirect('/catalog#access-title', { kind: 'error', message: `Not requested: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}` }),
});

const SIMPLE_NAME = /^[a-z_][a-z0-9_]*$/;
const ident = (name: string) => (SIMPLE_NAME.test(name) ? name : quoteIdent(name));

/** `da` commands and a few queries that fit the table's columns, to start from. */
export function starterFor(table: CatalogTable, profile: TableProfile | null, remote = false): { commands: string; sql: string; remote: boolean } {
  const id = table.id;
  // A remote table is never downloaded: its queries run in the warehouse.
  const commands = remote ? `da query --remote "SELECT * FROM ${id} LIMIT 10"` : `da sync --table ${id}\nda query "SELECT * FROM ${id} LIMIT 10"`;
  const sql = [`SELECT * FROM ${id} LIMIT 100;`];
  const date = profile?.columns.find((c) => c.kind === 'date');
  if (date) {
    sql.push(`SELECT date_trunc('month', ${ident(date.name)}) AS month, count(*) AS n\nFROM ${id}\nGROUP BY ALL ORDER BY month;`);
  }
  const category = profile?.columns.find((c) => c.kind === 'text' && c.distinct_count > 1 && c.distinct_count <= 50);
  if (category) {
    sql.push(`SELECT ${ident(category.name)}, count(*) AS n\nFROM ${id}\nGROUP BY ALL ORDER BY n DESC;`);
  }
  const measure = profile?.columns.find((c) => c.kind === 'numeric' && c.distinct_count > 1 && !/(^|_)id$/.test(c.name));
  if (measure) {
    const m = ident(measure.name);
    sql.push(`SELECT min(${m}), avg(${m}), max(${m}) FROM ${id};`);
  }
  return { commands, sql: sql.join('\n\n'), remote };
}

/** Parsed profiles per table, kept while the catalog names the same profile hash (one object per stored profile). */
const profileCaches = new WeakMap<AppDeps, Map<string, { hash: string; profile: TableProfile | null; profiledAt: string | null }>>();
const MAX_CACHED_PROFILES = 500;

/**
 * The stored profile, when it has the shape the page draws (else the page says it has
 * none). Read and checked once per profile: the catalog snapshot carries each profile's
 * hash, so a new profile is read on the next request and an unchanged one never again.
 */
async function profileOf(deps: AppDeps, table: CatalogTable): Promise<{ profile: TableProfile | null; profiledAt: string | null }> {
  if (!table.profile_hash) return { profile: null, profiledAt: null };
  let cache = profileCaches.get(deps);
  if (!cache) profileCaches.set(deps, (cache = new Map()));
  const hit = cache.get(table.id);
  if (hit?.hash === table.profile_hash) return hit;
  const stored = await deps.repos.profiles.get(table.id);
  const parsed = stored ? ProfileSchema.safeParse(stored.profile) : undefined;
  // The profile hash covers the merged descriptions too: a new description reads the profile again.
  const profile = parsed?.success
    ? { ...parsed.data, columns: parsed.data.columns.map((col) => ({ ...col, description: table.column_descriptions[col.name] ?? null })) }
    : null;
  const entry = { hash: table.profile_hash, profile, profiledAt: stored?.profiled_at ?? null };
  if (cache.size >= MAX_CACHED_PROFILES) cache.clear();
  cache.set(table.id, entry);
  return entry;
}

/** The table page, with the query box in the state given (analysts and above). */
async function renderTable(
  c: Context<AppEnv>,
  { deps, services, user, csrf }: { deps: AppDeps; services: Services; user: AuthUser; csrf: string },
  id: string,
  query?: Partial<QueryBox>,
) {
  const table = await readableTable(services.access, services.catalog, user, id);
  const { profile, profiledAt } = await profileOf(deps, table);
  const staleMs = staleAfterMs(deps.config.sync);
  const freshness: Freshness = freshnessJudge(deps.config, Date.now())(table);
  const { default_limit, max_limit } = deps.config.query;
  const box: QueryBox | undefined = hasRole(user.role, 'analyst')
    ? { sql: `SELECT * FROM ${table.id} LIMIT 100`, limit: Math.min(default_limit, 1000), maxLimit: max_limit, ...query }
    : undefined;
  // The metrics over this table's dataset whose SQL names the table.
  const named = new RegExp(`(^|[^A-Za-z0-9_])"?${table.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?($|[^A-Za-z0-9_])`, 'i');
  const metrics = (await services.metrics.listFor(user)).filter((m) => m.datasets.includes(table.dataset) && named.test(m.sql));
  return c.render(
    <TablePage
      metrics={metrics}
      table={{
        id: table.id, dataset: table.dataset, name: table.name, description: table.description, rows: table.rows, columns: table.columns,
        description_origin: table.description_origin, tags: table.tags,
        size_bytes: table.size_bytes, last_sync: table.last_sync, freshness, missing_since: table.missing_since,
        // Source errors can name hosts and buckets: for the people who run the server (as the API).
        error: seesAllDatasets(user.role) ? table.error : null,
      }}
      profile={profile}
      profiledAt={profiledAt}
      staleAfter={durationWords(staleMs)}
      starter={starterFor(table, profile, freshness === 'remote')}
      query={box}
      csrf={csrf}
    />,
    { title: table.id },
  );
}

/** GET /catalog/<table_id>: one table with its profile and charts; unknown or not permitted: the 404 page. */
export const tablePage = definePage({
  path: '/catalog/:table',
  access: 'viewer',
  get: (c, args) => renderTable(c, args, c.req.param('table')!),
});

/** An empty field of a form is no value. */
const blankAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const QueryForm = z.object({
  sql: z.string().trim().min(1, 'Write a query first.').max(1_000_000),
  limit: z.preprocess(blankAsUndefined, z.coerce.number().int().min(1).optional()),
  format: z.enum(['html', 'csv']).default('html'),
});

/** A CSV cell: quoted when it needs to be; text a spreadsheet would run as a formula is prefixed with `'`. */
function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s) && !/^[+-]?\d/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The result as CSV (RFC 4180, CRLF line ends). */
export function toCsv(columns: Array<{ name: string }>, rows: unknown[][]): string {
  const lines = [columns.map((c) => csvCell(c.name)).join(',')];
  for (const r of rows) lines.push(r.map(csvCell).join(','));
  return lines.join('\r\n') + '\r\n';
}

/**
 * POST /catalog/<table_id>/query: the query box. Runs the SQL with the code of
 * POST /api/query (same pool, scope, limits and refusals; audited as `query.run`) and
 * shows the result on the table page, or sends it as a CSV file (`format=csv`).
 */
export const tableQueryAction = definePage({
  path: '/catalog/:table/query',
  access: 'analyst',
  action: 'query.run',
  form: QueryForm,
  async post(c, args) {
    const { deps, services, user, form } = args;
    const id = c.req.param('table')!;
    // Unknown or unpermitted: the 404 page, before any SQL runs.
    await readableTable(services.access, services.catalog, user, id);
    const limit = form.limit ?? Math.min(deps.config.query.default_limit, 1000);
    let result;
    try {
      result = await runQuery({ config: deps.config, ...services, registry: deps.repos.tableRegistry }, user, { sql: form.sql, limit });
    } catch (err) {
      if (!(err instanceof DomainError) || err instanceof ValidationError) throw err;
      const status = httpStatusOf(err);
      c.status(status as 400);
      if (err instanceof RateLimitError || err instanceof ServiceUnavailableError) c.header('retry-after', String(err.retryAfterSeconds));
      return renderTable(c, args, id, { sql: form.sql, limit, error: { status, message: err.message } });
    }
    const rows = JSON.parse(result.rowsJson) as unknown[][];
    if (form.format === 'csv') {
      return c.body(toCsv(result.columns, rows), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${id}.csv"`,
        'cache-control': 'no-store',
      });
    }
    const { rowsJson: _, ...rest } = result;
    return renderTable(c, args, id, { sql: form.sql, limit, result: { ...rest, rows } });
  },
  invalid: (c, args) => {
    const sql = typeof args.values.sql === 'string' ? args.values.sql : '';
    const limit = Number(args.values.limit) || Math.min(args.deps.config.query.default_limit, 1000);
    return renderTable(c, args, c.req.param('table')!, { sql, limit, errors: args.errors });
  },
});
