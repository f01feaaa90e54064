import { raw } from 'hono/html';
import type { ColumnProfile, TableProfile } from '../../src/sync/profile-schema.ts';
import type { Freshness } from '../../src/sync/freshness.ts';
import { CsrfField } from '../layout.tsx';
import { formatBytes, formatCount, formatDateValue, formatTime, formatValue } from '../format.ts';
import { Histogram, NullBar, TopValues } from './charts.tsx';
import { FieldErrorText, FreshnessBadge, MissingBadge, tableHref } from './shared.tsx';
import { DataTable, num } from '../data-table.tsx';

/** The facts of the table the page is about. */
export interface TableFacts {
  id: string;
  dataset: string;
  name: string;
  description: string | null;
  /** Where the description comes from (an admin, OpenMetadata, the source). */
  description_origin?: 'admin' | 'openmetadata' | 'source' | null;
  tags?: string[];
  rows: number | null;
  columns: number | null;
  size_bytes: number | null;
  last_sync: string | null;
  freshness: Freshness;
  /** When the source stopped offering the table (its last file is still served). */
  missing_since?: string | null;
  /** Why the last sync failed: for admins only (source errors can name hosts). */
  error: string | null;
}

/** A query result as POST /api/query answers it. */
export interface QueryResultView {
  columns: Array<{ name: string; type: string }>;
  rows: unknown[][];
  row_count: number;
  truncated: boolean;
  elapsed_ms: number;
}

/** The query box: what was asked, and its result or why it was refused. */
export interface QueryBox {
  sql: string;
  limit: number;
  maxLimit: number;
  result?: QueryResultView;
  /** A refusal of the query (bad SQL, time limit, busy): status and the server's words. */
  error?: { status: number; message: string };
  /** Fields the form refused. */
  errors?: Array<{ path: string; message: string }>;
}

export interface TablePageProps {
  table: TableFacts;
  profile: TableProfile | null;
  profiledAt: string | null;
  staleAfter: string;
  /** `da` commands and SQL to start with. */
  starter: { commands: string; sql: string; remote?: boolean };
  /** Analysts and above: the query box. */
  query?: QueryBox;
  csrf: string;
  /** The metrics (those the viewer may read) whose SQL uses this table. */
  metrics?: Array<{ id: string; name: string; description: string; unit: string; grain: string; status: 'draft' | 'certified' }>;
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </>
  );
}

function ColumnDetail({ col, rows }: { col: ColumnProfile; rows: number }) {
  const dates = col.kind === 'date';
  const show = (v: unknown) => (dates ? formatDateValue(v) : formatValue(v));
  return (
    <div class="col" id={`col-${col.name}`} data-testid="column-profile">
      <h3>
        <code>{col.name}</code> <span class="muted">{col.type}</span>
      </h3>
      <dl>
        <Stat label="Missing" value={`${col.null_pct} % (${formatCount(col.null_count)})`} />
        <Stat label="Distinct" value={`${col.distinct_exact ? '' : '≈ '}${formatCount(col.distinct_count)}`} />
        {col.min !== null ? <Stat label="Min" value={show(col.min)} /> : null}
        {col.max !== null ? <Stat label="Max" value={show(col.max)} /> : null}
        {col.mean !== null ? <Stat label="Mean" value={formatValue(col.mean)} /> : null}
        {col.stddev !== null ? <Stat label="Std. dev." value={formatValue(col.stddev)} /> : null}
        {col.min_length !== null ? <Stat label="Length" value={`${col.min_length}–${col.max_length}`} /> : null}
      </dl>
      {col.quantiles ? (
        <dl>
          <Stat label="5 %" value={formatValue(col.quantiles.p05)} />
          <Stat label="25 %" value={formatValue(col.quantiles.p25)} />
          <Stat label="Median" value={formatValue(col.quantiles.p50)} />
          <Stat label="75 %" value={formatValue(col.quantiles.p75)} />
          <Stat label="95 %" value={formatValue(col.quantiles.p95)} />
        </dl>
      ) : null}
      {col.histogram?.length ? <Histogram bins={col.histogram} column={col.name} dates={dates} /> : null}
      {!col.histogram?.length && col.top_values?.length ? <TopValues values={col.top_values} rows={rows} column={col.name} /> : null}
    </div>
  );
}

/** A cell of a result or sample table. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL)/;

function ResultTable({ result }: { result: QueryResultView }) {
  const num = result.columns.map((c) => NUMERIC.test(c.type));
  return (
    <div class="scroll">
      <table data-testid="query-result">
        <caption>
          {formatCount(result.row_count)} {result.row_count === 1 ? 'row' : 'rows'}
          {result.truncated ? ' (cut at the limit)' : ''} in {result.elapsed_ms} ms
        </caption>
        <thead>
          <tr>
            {result.columns.map((c, i) => (
              <th scope="col" class={num[i] ? 'num' : undefined}>
                {c.name} <span class="muted">{c.type}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {result.rows.map((r) => (
            <tr>
              {r.map((v, i) => (
                <td class={num[i] ? 'num' : undefined}>{cell(v)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function QuerySection({ table, query, csrf }: { table: TableFacts; query: QueryBox; csrf: string }) {
  const sqlError = query.errors?.find((e) => e.path === 'sql')?.message;
  const limitError = query.errors?.find((e) => e.path === 'limit')?.message;
  return (
    <section id="query" aria-labelledby="query-title">
      <h2 id="query-title">Query</h2>
      <p class="note">
        Runs on the server like <code>da query --remote</code>, over the tables you may read, read-only.
      </p>
      <form method="post" action={`${tableHref(table.id)}/query#result`} class="stacked" data-testid="query-form">
        <CsrfField token={csrf} />
        <label for="sql">SQL</label>
        <textarea id="sql" name="sql" class="sql" required spellcheck={false} aria-describedby={sqlError ? 'sql-error' : undefined} aria-invalid={sqlError ? 'true' : undefined}>
          {query.sql}
        </textarea>
        <FieldErrorText id="sql-error" message={sqlError} />
        <label for="limit">Rows at most</label>
        <input id="limit" name="limit" type="number" min="1" max={String(query.maxLimit)} value={String(query.limit)} aria-describedby={limitError ? 'limit-error' : undefined} aria-invalid={limitError ? 'true' : undefined} />
        <FieldErrorText id="limit-error" message={limitError} />
        <button type="submit" name="format" value="html">Run</button>{' '}
        <button type="submit" name="format" value="csv">Download CSV</button>
      </form>
      <div id="result">
        {query.error ? (
          <p class="error" role="alert" data-testid="query-error">
            The query was refused ({query.error.status}): {query.error.message}
          </p>
        ) : null}
        {query.result ? <ResultTable result={query.result} /> : null}
      </div>
    </section>
  );
}

/** Rendered profile sections, per profile object: a profile does not change once stored, and its charts are most of the page. */
const rendered = new WeakMap<TableProfile, string>();

/**
 * Alerts, the columns table, sample rows and every column's statistics and chart: a pure
 * function of the profile, so it is rendered once per profile object (the page route keeps
 * one object per stored profile) and reused.
 */
function ProfileSections({ profile }: { profile: TableProfile }) {
  let html = rendered.get(profile);
  if (html === undefined) {
    html = String(<ProfileBody profile={profile} />);
    rendered.set(profile, html);
  }
  return raw(html);
}

function ProfileBody({ profile }: { profile: TableProfile }) {
  return (
    <>
      {profile.alerts.length ? (
        <section aria-labelledby="alerts-title">
          <h2 id="alerts-title">Alerts ({profile.alerts.length})</h2>
          <ul data-testid="alerts">
            {profile.alerts.map((a) => (
              <li>
                <code>{a.column}</code>: {a.message}
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section aria-labelledby="columns-title">
        <h2 id="columns-title">Columns ({profile.columns.length})</h2>
        <DataTable testId="columns" columns={['Column', 'Type', 'Missing', num('Distinct'), num('Min'), num('Max'), num('Mean')]}>
          {profile.columns.map((c) => {
            const show = (v: unknown) => (c.kind === 'date' ? formatDateValue(v) : formatValue(v));
            return (
              <tr>
                <th scope="row">
                  <a href={`#col-${c.name}`}>
                    <code>{c.name}</code>
                  </a>
                  {c.description ? <div class="note" data-testid="column-description">{c.description}</div> : null}
                </th>
                <td>{c.type}</td>
                <td>
                  <NullBar pct={c.null_pct} column={c.name} /> {c.null_pct} %
                </td>
                <td class="num">{formatCount(c.distinct_count)}</td>
                <td class="num">{c.min === null ? '' : show(c.min)}</td>
                <td class="num">{c.max === null ? '' : show(c.max)}</td>
                <td class="num">{c.mean === null ? '' : formatValue(c.mean)}</td>
              </tr>
            );
          })}
        </DataTable>
      </section>

      {profile.sample.length ? (
        <section aria-labelledby="sample-title">
          <h2 id="sample-title">Sample rows</h2>
          <div class="scroll">
            <table data-testid="sample">
              <thead>
                <tr>
                  {profile.columns.map((c) => (
                    <th scope="col">{c.name}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {profile.sample.map((r) => (
                  <tr>
                    {profile.columns.map((c) => (
                      <td>{cell(r[c.name])}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}

      <section aria-labelledby="profile-title" class="columns">
        <h2 id="profile-title">Column profiles</h2>
        {profile.columns.map((c) => (
          <ColumnDetail col={c} rows={profile.rows} />
        ))}
      </section>
    </>
  );
}

function MetricsSection({ metrics }: { metrics: NonNullable<TablePageProps['metrics']> }) {
  return (
    <section aria-labelledby="metrics-title">
      <h2 id="metrics-title">Metrics ({metrics.length})</h2>
      {metrics.length ? (
        <table data-testid="table-metrics">
          <thead>
            <tr>
              <th>Metric</th>
              <th>Status</th>
              <th>Unit</th>
              <th>Grain</th>
              <th>Description</th>
            </tr>
          </thead>
          <tbody>
            {metrics.map((m) => (
              <tr data-metric={m.name}>
                <td>
                  <code>{m.name}</code>
                </td>
                <td>{m.status}</td>
                <td>{m.unit || '—'}</td>
                <td>{m.grain || '—'}</td>
                <td>{m.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="note">No metric uses this table yet.</p>
      )}
    </section>
  );
}

/** `/catalog/<table_id>`: what the table is, how current, its profile with charts, samples, and how to query it. */
export function TablePage({ table, profile, profiledAt, staleAfter, starter, query, csrf, metrics = [] }: TablePageProps) {
  return (
    <main>
      <p class="note">
        <a href="/catalog">Catalog</a> / <a href={`/catalog?dataset=${encodeURIComponent(table.dataset)}`}>{table.dataset}</a>
      </p>
      <h1>
        <code>{table.id}</code>
      </h1>
      <p data-testid="description">
        {table.description ?? <span class="muted">No description yet.</span>}
        {table.description_origin === 'openmetadata' ? <span class="note"> (from OpenMetadata)</span> : null}
      </p>
      {table.tags?.length ? (
        <p data-testid="tags" aria-label="Tags">
          {table.tags.map((t) => (
            <>
              <span class="badge">{t}</span>{' '}
            </>
          ))}
        </p>
      ) : null}
      <ul class="cards" aria-label="Facts">
        <li>
          Rows<strong>{formatCount(table.rows) || '—'}</strong>
        </li>
        <li>
          Columns<strong>{formatCount(table.columns) || '—'}</strong>
        </li>
        <li>
          Size<strong>{formatBytes(table.size_bytes) || '—'}</strong>
        </li>
        <li>
          Last sync<strong>{table.freshness === 'remote' ? '—' : formatTime(table.last_sync)}</strong>
          <FreshnessBadge freshness={table.freshness} />
        </li>
      </ul>
      {table.freshness === 'stale' ? <p class="note">Stale: not synced for longer than {staleAfter}.</p> : null}
      {table.freshness === 'remote' ? (
        <p class="note">
          This table stays in its warehouse: queries run there (<code>da query --remote</code> or the query box), and <code>da sync</code> does not download it.
        </p>
      ) : null}
      {table.missing_since ? (
        <p class="note" data-testid="missing-note">
          <MissingBadge since={table.missing_since} /> The source no longer offers this table (since {formatTime(table.missing_since)}); the
          last synced data is still served until an admin unregisters it.
        </p>
      ) : null}
      {table.error ? (
        <p class="error" data-testid="sync-error">
          Last sync failed: {table.error}
        </p>
      ) : null}

      <section aria-labelledby="start-title">
        <h2 id="start-title">Start here</h2>
        <p>{starter.remote ? 'From your workspace, query it where it lives:' : 'In your workspace, fetch it and query it offline:'}</p>
        <pre data-testid="da-query">{starter.commands}</pre>
        <p>SQL to start with:</p>
        <pre data-testid="starter-sql">{starter.sql}</pre>
      </section>

      <MetricsSection metrics={metrics} />

      {query ? <QuerySection table={table} query={query} csrf={csrf} /> : null}

      {!profile ? (
        <section>
          <h2>Profile</h2>
          <p class="note">
            {table.freshness === 'remote'
              ? 'Tables that stay in their warehouse are not profiled: a profile would scan the whole table there.'
              : 'This table has not been profiled yet; its profile appears after its next sync.'}
          </p>
        </section>
      ) : (
        <>
          <p class="note" data-testid="profiled">
            Profiled {formatTime(profiledAt ?? profile.profiled_at)}
            {profile.sampled ? `, on a sample of ${formatCount(profile.sample_rows)} rows` : ''}.
          </p>
          <ProfileSections profile={profile} />
        </>
      )}
    </main>
  );
}
