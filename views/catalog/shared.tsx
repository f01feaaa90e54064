import type { Child } from 'hono/jsx';
import type { Freshness } from '../../src/sync/freshness.ts';
import { formatBytes, formatCount } from '../format.ts';
import { DataTable, num } from '../data-table.tsx';

const FRESHNESS_TEXT: Record<Freshness, string> = {
  fresh: 'fresh',
  stale: 'stale',
  failed: 'last sync failed',
  never: 'never synced',
  remote: 'queried in place',
};

/** The freshness of a table as a small labelled badge (text, not colour alone). */
export function FreshnessBadge({ freshness }: { freshness: Freshness }) {
  return <span class={`badge ${freshness}`} data-freshness={freshness}>{FRESHNESS_TEXT[freshness]}</span>;
}

/** A field's error message under its input, tied to it by `id` (aria-describedby). */
export function FieldErrorText({ id, message }: { id: string; message?: string }) {
  return message ? <p class="field-error" id={id}>{message}</p> : null;
}

/** The link to a table's page. */
export function tableHref(id: string): string {
  return `/catalog/${encodeURIComponent(id)}`;
}

/** What a list of tables shows of each table. */
export interface TableListRow {
  id: string;
  description: string | null;
  rows: number | null;
  size_bytes: number | null;
  last_sync: string | null;
  freshness: Freshness;
  /** When the source stopped offering the table (its last file is still served). */
  missing_since?: string | null;
}

/** Marks a table its source no longer offers (its last file is still served). */
export function MissingBadge({ since }: { since: string | null | undefined }) {
  return since ? (
    <span class="badge failed" data-testid="missing-badge" title={`The source no longer offers this table (since ${since}); its last file is still served`}>
      missing at source
    </span>
  ) : null;
}

/**
 * The list of tables the dashboard and the catalog both show: link, description, rows,
 * size, last sync with its freshness badge. `note` adds to a row's description, `lastSync`
 * writes its time (the badge follows).
 */
export function TableList<T extends TableListRow>(p: {
  rows: T[];
  testId: string;
  caption?: string;
  note?: (t: T) => Child;
  lastSync: (t: T) => Child;
}) {
  return (
    <DataTable testId={p.testId} caption={p.caption} showCaption stack columns={['Table', 'Description', num('Rows'), num('Size'), 'Last sync']}>
      {p.rows.map((t) => (
        <tr data-table={t.id} data-freshness={t.freshness}>
          <th scope="row">
            <a href={tableHref(t.id)}>
              <code>{t.id}</code>
            </a>
          </th>
          <td data-label="Description">
            {t.description ?? ''}
            {p.note?.(t)}
          </td>
          <td class="num" data-label="Rows">{formatCount(t.rows)}</td>
          <td class="num" data-label="Size">{formatBytes(t.size_bytes)}</td>
          <td data-label="Last sync">
            {t.freshness === 'remote' ? null : p.lastSync(t)} <FreshnessBadge freshness={t.freshness} /> <MissingBadge since={t.missing_since} />
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
