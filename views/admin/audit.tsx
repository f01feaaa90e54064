import { AdminFrame, FieldError, invalid, Time, type FormState } from './common.tsx';
import { DataTable, num } from '../data-table.tsx';

/** One audit entry as the page shows it. */
export interface AuditRow {
  id: string;
  timestamp: string;
  user: string | null;
  action: string;
  resource: string | null;
  status: number | null;
  result: string | null;
  duration_ms: number | null;
  ip: string | null;
  /** Parameters as recorded (secrets already redacted), as JSON text. */
  params: string | null;
}

export interface AuditPageProps {
  /** The filters as given, with an error per field that could not be used. */
  filters: FormState;
  entries: AuditRow[];
  /** Query string of the next (older) page, when there is one. */
  olderHref: string | null;
  /** Query string of the first page of these filters, when this is not it. */
  newestHref: string | null;
  /** The CSV export of these filters. */
  csvHref: string;
  /** Known action names, offered while typing. */
  actions: string[];
}

/** /admin/audit: who did what, filtered, a page at a time, and the same as CSV. */
export function AuditPage({ filters, entries, olderHref, newestHref, csvHref, actions }: AuditPageProps) {
  const v = filters.values;
  const field = (name: string, label: string, attrs: Record<string, unknown> = {}) => (
    <div>
      <label for={`f-${name}`}>{label}</label>
      <input id={`f-${name}`} name={name} value={v[name] ?? ''} {...attrs} {...invalid(name, filters, `f-${name}`)} />
      <FieldError field={name} form={filters} input={`f-${name}`} />
    </div>
  );
  return (
    <AdminFrame current="/admin/audit">
      <h1>Audit log</h1>
      <form method="get" action="/admin/audit" class="filters" role="search" aria-label="Filter the audit log">
        {field('user', 'User (email or id)', { type: 'text', autocomplete: 'off' })}
        {field('action', 'Action', { type: 'text', list: 'audit-actions', autocomplete: 'off' })}
        {field('resource', 'Resource starts with', { type: 'text', placeholder: '/admin/users' })}
        {field('status', 'Status', { type: 'number', min: 100, max: 599, inputmode: 'numeric' })}
        {field('since', 'From (UTC)', { type: 'datetime-local' })}
        {field('until', 'Until (UTC)', { type: 'datetime-local' })}
        <div class="actions">
          <button type="submit">Filter</button>
          <a href="/admin/audit">Clear</a>
        </div>
        <datalist id="audit-actions">
          {actions.map((a) => (
            <option value={a} />
          ))}
        </datalist>
      </form>
      <p>
        <a href={csvHref} data-testid="csv" download>
          Export these entries as CSV
        </a>
      </p>
      {entries.length === 0 ? (
        <p class="note" data-testid="no-entries">No entries match.</p>
      ) : (
        <DataTable testId="audit" caption="Audit entries, newest first" columns={['When', 'User', 'Action', 'Resource', num('Status'), 'Parameters']}>
          {entries.map((e) => (
            <tr data-action={e.action} class={e.result === 'allowed' ? undefined : 'refused'}>
              <th scope="row">
                <Time iso={e.timestamp} seconds />
              </th>
              <td>{e.user ?? <span class="note">anonymous</span>}</td>
              <td>
                <code>{e.action}</code>
              </td>
              <td>
                <code class="wrap">{e.resource ?? ''}</code>
              </td>
              <td class="num">
                {e.status ?? ''}
                {e.result && e.result !== 'allowed' ? <div class="note">{e.result}</div> : null}
              </td>
              <td>
                {e.params ? (
                  <details>
                    <summary>show</summary>
                    <pre class="params">{e.params}</pre>
                  </details>
                ) : null}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <nav class="pager" aria-label="Pages">
        {newestHref ? <a href={newestHref}>Newest</a> : null}
        {olderHref ? (
          <a href={olderHref} rel="next" data-testid="older">
            Older entries
          </a>
        ) : null}
      </nav>
    </AdminFrame>
  );
}
