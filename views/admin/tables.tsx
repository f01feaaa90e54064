import { CsrfField } from '../layout.tsx';
import { AdminFrame, FieldError, formatCount, Time, invalid, NO_FORM, type FormState } from './common.tsx';
import { DataTable, num } from '../data-table.tsx';

/** A configured source (never a token). */
export interface SourceRow {
  dataset: string;
  type: string;
  public: boolean;
  description: string | null;
  location: string;
  /** How many of its tables are registered. */
  registered: number;
  /** New tables are registered on each sync. */
  auto_register?: boolean;
}

/** A registered table with what its last sync left. */
export interface TableRow {
  id: string;
  dataset: string;
  source_table: string;
  description: string | null;
  sync_strategy: 'full' | 'incremental';
  primary_key: string[] | null;
  enabled: boolean;
  /** `ok`, `error` or `pending` (never synced). */
  status: string;
  error: string | null;
  rows: number | null;
  last_sync: string | null;
  /** When the source stopped offering the table (its last file is still served); null while it does. */
  missing_since?: string | null;
}

export interface TablesPageProps {
  sources: SourceRow[];
  tables: TableRow[];
  /** The settings form of one table as sent, with its errors (after a refused post). */
  failed?: { tableId: string; form: FormState };
  csrf: string;
  /** The last OpenMetadata enrichment run, when OpenMetadata is configured. */
  enrichment?: { finished_at: string | null; status: string | null; error: string | null; enriched: number; not_found: number };
}

/** A table's or job's status (`ok`, `error`, `pending`, `running`, …) as a small label. */
export function StatusBadge({ status }: { status: string }) {
  const kind = status === 'ok' || status === 'succeeded' ? ' ok' : status === 'error' || status === 'failed' ? ' error' : status === 'pending' ? '' : ' running';
  return <span class={`badge${kind}`}>{status}</span>;
}

const slug = (id: string) => id.replace(/[^a-z0-9_]/g, '-');

/** Strategy and primary key of one table, with the errors of a refused post beside the inputs. */
function SettingsForm({ table, form, csrf }: { table: TableRow; form: FormState; csrf: string }) {
  const s = slug(table.id);
  const strategy = form.values.sync_strategy ?? table.sync_strategy;
  const key = form.values.primary_key ?? table.primary_key?.join(', ') ?? '';
  const strategyId = `sync_strategy-${s}`;
  const keyId = `primary_key-${s}`;
  return (
    <form method="post" action={`/admin/tables/${encodeURIComponent(table.id)}`} class="inline settings" data-testid={`settings-${table.id}`}>
      <CsrfField token={csrf} />
      <label for={strategyId} class="visually-hidden">Sync strategy of {table.id}</label>
      <select id={strategyId} name="sync_strategy" {...invalid('sync_strategy', form, strategyId)}>
        <option value="full" selected={strategy === 'full'}>full</option>
        <option value="incremental" selected={strategy === 'incremental'}>incremental</option>
      </select>
      <label for={keyId} class="visually-hidden">Primary key of {table.id} (columns, comma-separated)</label>
      <input id={keyId} name="primary_key" type="text" size={14} value={key} placeholder="primary key" {...invalid('primary_key', form, keyId)} />
      <button type="submit" aria-label={`Save the settings of ${table.id}`}>Save</button>
      <FieldError field="sync_strategy" form={form} input={strategyId} />
      <FieldError field="primary_key" form={form} input={keyId} />
      <FieldError field="form" form={form} input={`form-${s}`} />
    </form>
  );
}

/** /admin/tables: the sources, and the registered tables with their settings. */
export function TablesPage({ sources, tables, failed, csrf, enrichment }: TablesPageProps) {
  return (
    <AdminFrame current="/admin/tables">
      <h1>Tables</h1>
      <section aria-labelledby="sources">
        <h2 id="sources">Sources</h2>
        {sources.length === 0 ? (
          <p class="note">No sources are configured: add them under <code>sources:</code> in instance.yaml.</p>
        ) : (
          <DataTable testId="sources" caption="Configured sources" columns={['Dataset', 'Type', 'Visibility', 'Location', num('Registered'), 'Tables']}>
            {sources.map((s) => (
              <tr data-dataset={s.dataset}>
                <th scope="row">
                  <code>{s.dataset}</code>
                  {s.description ? <div class="note">{s.description}</div> : null}
                </th>
                <td>{s.type}</td>
                <td>{s.public ? 'public' : 'restricted'}</td>
                <td>
                  <code>{s.location}</code>
                </td>
                <td class="num">
                  {s.registered}
                  <div class="note">{s.auto_register === false ? 'registered by an admin' : 'new tables register on each sync'}</div>
                </td>
                <td>
                  <a href={`/admin/tables/sources/${encodeURIComponent(s.dataset)}`}>Discover tables<span class="visually-hidden"> of {s.dataset}</span></a>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>

      <section aria-labelledby="registered">
        <h2 id="registered">Registered tables ({tables.length})</h2>
        {tables.length === 0 ? (
          <p class="note">
            No tables are registered yet: the next sync registers the tables of every source (except those with{' '}
            <code>auto_register: false</code>, whose tables you discover and register above).
          </p>
        ) : (
          <DataTable testId="tables" caption="Registered tables with their sync settings" columns={['Table', 'Last sync', 'Enabled', 'Strategy and primary key', 'Remove']}>
            {tables.map((t) => {
              const action = `/admin/tables/${encodeURIComponent(t.id)}`;
              return (
                <tr data-table={t.id} class={t.enabled ? undefined : 'inactive'}>
                  <th scope="row">
                    <code>{t.id}</code>
                    <div class="note">from {t.source_table}</div>
                    {t.description ? <div class="note" data-testid="table-description">{t.description}</div> : null}
                    <a href={`${action}/describe`} data-testid="describe-link">
                      Describe<span class="visually-hidden"> {t.id}</span>
                    </a>
                  </th>
                  <td>
                    <StatusBadge status={t.status} /> <Time iso={t.last_sync} fallback="" />
                    {t.missing_since ? (
                      <div class="error" data-testid="missing">
                        <span class="badge error">missing</span> the source no longer offers {t.source_table} (since{' '}
                        <Time iso={t.missing_since} fallback="" />); its last file is still served until you unregister it
                      </div>
                    ) : null}
                    {t.rows !== null ? <div class="note">{formatCount(t.rows)} rows</div> : null}
                    {t.error ? <div class="error">{t.error}</div> : null}
                  </td>
                  <td>
                    <form method="post" action={action} class="inline">
                      <CsrfField token={csrf} />
                      <input type="hidden" name="enabled" value={t.enabled ? 'false' : 'true'} />
                      <span data-testid="enabled">{t.enabled ? 'yes' : 'no'}</span>
                      <button type="submit" aria-label={`${t.enabled ? 'Disable' : 'Enable'} ${t.id}`}>{t.enabled ? 'Disable' : 'Enable'}</button>
                    </form>
                  </td>
                  <td>
                    <SettingsForm table={t} form={failed?.tableId === t.id ? failed.form : NO_FORM} csrf={csrf} />
                  </td>
                  <td>
                    <form method="post" action={`${action}/unregister`} class="inline">
                      <CsrfField token={csrf} />
                      <button type="submit" class="danger" aria-label={`Unregister ${t.id}`}>Unregister</button>
                    </form>
                  </td>
                </tr>
              );
            })}
          </DataTable>
        )}
        <p class="note">Unregistering removes the table's file, sync state and profile; its source is not touched.</p>
      </section>
      {enrichment ? (
        <section aria-labelledby="enrichment">
          <h2 id="enrichment">Descriptions from OpenMetadata</h2>
          <p data-testid="enrichment">
            {enrichment.status === null ? (
              'The catalog-enrich job has not run yet.'
            ) : (
              <>
                Last run <Time iso={enrichment.finished_at} />: <StatusBadge status={enrichment.status} /> {enrichment.enriched} table
                {enrichment.enriched === 1 ? '' : 's'} enriched, {enrichment.not_found} not found.
                {enrichment.error ? <span class="error"> {enrichment.error}</span> : null}
              </>
            )}{' '}
            Start it on <a href="/admin/jobs">Jobs</a>. Your own descriptions (Describe) win over OpenMetadata's.
          </p>
        </section>
      ) : null}
    </AdminFrame>
  );
}

/** A table the source offers. */
export interface OfferedRow {
  source_table: string;
  table_id: string;
  description: string | null;
  primary_key: string[] | null;
  row_estimate: number | null;
  columns: number | null;
  registered: boolean;
  conflict: string | null;
}

export interface SourcePageProps {
  source: SourceRow;
  offered: OfferedRow[];
  /** The register form as sent, with its errors (after a refused post). */
  form: FormState;
  /** Why the source could not list its tables, when it could not. */
  failure?: string;
  csrf: string;
}

/** /admin/tables/sources/<dataset>: what the source offers, registered or not, and the forms to register. */
export function SourcePage({ source, offered, form, failure, csrf }: SourcePageProps) {
  const base = `/admin/tables/sources/${encodeURIComponent(source.dataset)}`;
  const open = offered.filter((t) => !t.registered);
  const v = form.values;
  return (
    <AdminFrame current="/admin/tables" notice={failure ? { kind: 'error', message: failure } : undefined}>
      <p class="crumbs">
        <a href="/admin/tables">Tables</a> /
      </p>
      <h1>
        Source <code>{source.dataset}</code>
      </h1>
      {source.description ? <p>{source.description}</p> : null}
      <p class="note">
        {source.type === 'local' ? 'Local folder' : 'Keboola project'} <code>{source.location}</code>;{' '}
        {source.public ? 'public: every user reads it unless denied' : 'restricted: users need a read grant'}.
      </p>
      {open.length ? (
        <form method="post" action={`${base}/register-all`}>
          <CsrfField token={csrf} />
          <button type="submit">Register all {open.length} unregistered tables</button>
        </form>
      ) : (
        <p>Every table this source offers is registered.</p>
      )}
      <DataTable testId="offered" caption="Tables the source offers" columns={['Source table', 'Table', 'Primary key', num('Columns'), 'Status']}>
        {offered.map((t) => (
          <tr data-source-table={t.source_table}>
            <th scope="row">
              <code>{t.source_table}</code>
              {t.description ? <div class="note">{t.description}</div> : null}
            </th>
            <td>
              <code>{t.table_id}</code>
            </td>
            <td>{t.primary_key?.join(', ') ?? ''}</td>
            <td class="num">{t.columns ?? ''}</td>
            <td>
              {t.registered ? (
                <span class="badge ok">registered</span>
              ) : t.conflict ? (
                <span class="error">{t.conflict}</span>
              ) : (
                <form method="post" action={`${base}/register`} class="inline">
                  <CsrfField token={csrf} />
                  <input type="hidden" name="source_table" value={t.source_table} />
                  <button type="submit" aria-label={`Register ${t.source_table}`}>Register</button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </DataTable>

      {open.length ? (
        <section aria-labelledby="register-one">
          <h2 id="register-one">Register one table with settings</h2>
          <form method="post" action={`${base}/register`} class="stacked" novalidate>
            <CsrfField token={csrf} />
            <label for="source_table">Source table</label>
            <select id="source_table" name="source_table" {...invalid('source_table', form)}>
              {open.map((t) => (
                <option value={t.source_table} selected={t.source_table === v.source_table}>
                  {t.source_table}
                </option>
              ))}
            </select>
            <FieldError field="source_table" form={form} />
            <label for="name">Table name (optional; default: the source table's name, normalised)</label>
            <input id="name" name="name" type="text" value={v.name ?? ''} {...invalid('name', form)} />
            <FieldError field="name" form={form} />
            <label for="sync_strategy">Sync strategy</label>
            <select id="sync_strategy" name="sync_strategy" {...invalid('sync_strategy', form)}>
              <option value="full" selected={v.sync_strategy !== 'incremental'}>full (replace the file on every sync)</option>
              <option value="incremental" selected={v.sync_strategy === 'incremental'}>incremental (merge changed rows on the primary key)</option>
            </select>
            <FieldError field="sync_strategy" form={form} />
            <label for="primary_key">Primary key (columns, comma-separated; default: what the source says)</label>
            <input id="primary_key" name="primary_key" type="text" value={v.primary_key ?? ''} {...invalid('primary_key', form)} />
            <FieldError field="primary_key" form={form} />
            <FieldError field="form" form={form} />
            <button type="submit">Register</button>
          </form>
        </section>
      ) : null}
    </AdminFrame>
  );
}
