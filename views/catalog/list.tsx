import type { Freshness } from '../../src/sync/freshness.ts';
import { formatCount, formatTime } from '../format.ts';
import { TableList } from './shared.tsx';
import { AccessSection, type AccessSectionProps } from './access.tsx';

/** One row of the catalog list. */
export interface CatalogRow {
  id: string;
  dataset: string;
  description: string | null;
  rows: number | null;
  size_bytes: number | null;
  last_sync: string | null;
  freshness: Freshness;
  /** Columns whose name matched the search. */
  matched_columns: string[];
  /** When the source stopped offering the table (its last file is still served). */
  missing_since?: string | null;
}

/** The filters of the list, as the GET form sends them. */
export interface CatalogFilters {
  q: string;
  dataset: string;
  rows: string;
  size: string;
  freshness: string;
  sort: string;
}

/** A choice of a filter's select: its value and label. */
export type Choice = readonly [value: string, label: string];

export interface CatalogPageProps {
  filters: CatalogFilters;
  datasets: Array<{ name: string; tables: number; description: string | null }>;
  choices: { rows: readonly Choice[]; size: readonly Choice[]; freshness: readonly Choice[]; sort: readonly Choice[] };
  /** The matching tables of this page. */
  rows: CatalogRow[];
  /** How many match, and how many the user may read in all. */
  matching: number;
  total: number;
  page: number;
  pages: number;
  /** The addresses of the pages before and after this one, when there are. */
  prevHref?: string;
  nextHref?: string;
  staleAfter: string;
  /** Every configured dataset with the user's access to it, and their access requests. */
  access: AccessSectionProps;
}

function Select({ id, label, value, choices }: { id: string; label: string; value: string; choices: readonly Choice[] }) {
  return (
    <label for={id}>
      {label}
      <select id={id} name={id}>
        {choices.map(([v, text]) => (
          <option value={v} selected={v === value}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

/** `/catalog`: the datasets and tables the user may read, searchable and filterable with a plain GET form. */
export function CatalogPage(p: CatalogPageProps) {
  const { filters } = p;
  const datasetChoices: Choice[] = [['', 'All datasets'], ...p.datasets.map((d): Choice => [d.name, `${d.name} (${d.tables})`])];
  return (
    <main>
      <h1>Catalog</h1>
      <p class="note">
        {formatCount(p.total)} tables you may read in {p.datasets.length} datasets. A table counts as stale when its last sync is older than{' '}
        {p.staleAfter}.
      </p>
      <form method="get" action="/catalog" class="filters" role="search" data-testid="catalog-filters">
        <label for="q">
          Search name, description or column
          <input id="q" name="q" type="search" value={filters.q} size={28} />
        </label>
        <Select id="dataset" label="Dataset" value={filters.dataset} choices={datasetChoices} />
        <Select id="rows" label="Rows" value={filters.rows} choices={p.choices.rows} />
        <Select id="size" label="Size" value={filters.size} choices={p.choices.size} />
        <Select id="freshness" label="Freshness" value={filters.freshness} choices={p.choices.freshness} />
        <Select id="sort" label="Sort by" value={filters.sort} choices={p.choices.sort} />
        <button type="submit">Filter</button>
        <a href="/catalog">Clear</a>
      </form>

      <p role="status" data-testid="catalog-count">
        {p.matching === p.total ? `${formatCount(p.total)} tables` : `${formatCount(p.matching)} of ${formatCount(p.total)} tables match`}
        {p.pages > 1 ? ` · page ${p.page} of ${p.pages}` : ''}
      </p>
      {p.rows.length === 0 ? (
        <p class="note">{p.total === 0 ? 'No tables yet: an administrator registers sources and grants datasets.' : 'No table matches these filters.'}</p>
      ) : (
        <TableList
          rows={p.rows}
          testId="catalog-tables"
          note={(t) =>
            t.matched_columns.length ? (
              <span class="note">
                {' '}
                (columns: {t.matched_columns.slice(0, 5).join(', ')}
                {t.matched_columns.length > 5 ? ', …' : ''})
              </span>
            ) : null
          }
          lastSync={(t) => formatTime(t.last_sync)}
        />
      )}
      {p.pages > 1 ? (
        <nav aria-label="Pages" class="pages">
          {p.prevHref ? <a href={p.prevHref} rel="prev">← Previous</a> : null}
          {' '}
          {p.nextHref ? <a href={p.nextHref} rel="next">Next →</a> : null}
        </nav>
      ) : null}

      <section aria-labelledby="datasets-title">
        <h2 id="datasets-title">Datasets</h2>
        <ul data-testid="datasets">
          {p.datasets.map((d) => (
            <li>
              <a href={`/catalog?dataset=${encodeURIComponent(d.name)}`}>{d.name}</a> — {formatCount(d.tables)} {d.tables === 1 ? 'table' : 'tables'}
              {d.description ? <span class="note"> · {d.description}</span> : null}
            </li>
          ))}
        </ul>
      </section>
      <AccessSection {...p.access} />
    </main>
  );
}
