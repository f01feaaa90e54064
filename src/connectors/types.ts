import type { SourceConfig } from '../config.ts';

/** A column a source reports for one of its tables. */
export interface SourceColumn {
  name: string;
  /** DuckDB type name when the source knows it (e.g. `BIGINT`, `DECIMAL(12,2)`). */
  type: string | null;
}

/** One table a source offers, as the source names it. */
export interface SourceTable {
  /** The source's own name (a file name, a Keboola table id); stored as `source_table`. */
  source_table: string;
  /** `source_table` normalised to ^[a-z_][a-z0-9_]{0,63}$: the table part of the table id. */
  name: string;
  description: string | null;
  primary_key: string[] | null;
  row_estimate: number | null;
  columns: SourceColumn[] | null;
}

/** What the engine asks a connector to write. */
export interface PullRequest {
  source_table: string;
  /** Write the result here (a temporary file beside the final one). */
  target: string;
  /** `incremental` only when `existing` holds the last good file. */
  mode: 'full' | 'incremental';
  /** The file the server serves now; incremental pulls merge into a copy of it. */
  existing: string | null;
  /** The watermark the previous pull returned. */
  watermark: string | null;
  primary_key: string[] | null;
  /** Scratch directory for downloads; removed by the engine afterwards. */
  scratch_dir: string;
  signal?: AbortSignal;
}

/** What a pull produced. */
export interface PullResult {
  /** `incremental` when rows were merged into the previous file, else `full`. */
  mode: 'full' | 'incremental';
  /** Rows read from the source in this pull (all rows for full, changed rows for incremental). */
  rows_read: number;
  /** The watermark to pass to the next incremental pull (the connector's own text; the engine only keeps it). */
  watermark: string | null;
  /** What the admin should know about this pull (shown in the job result), e.g. why it was full. */
  notes?: string[];
  /** Values that did not convert to their column's type and were written as NULL. */
  unconverted_values?: number;
  /** Bytes the warehouse scanned for this pull (BigQuery). */
  bytes_scanned?: number;
  /** What the scan is estimated to cost, in US dollars (BigQuery on-demand pricing). */
  estimated_cost_usd?: number;
}

/**
 * A source of tables: lists what it offers (discovery: every sync registers the new ones
 * and marks the vanished ones missing) and writes one table to a Parquet file.
 */
export interface Connector {
  readonly type: SourceConfig['type'];
  /**
   * Every table the source offers now; throws when the source cannot be listed (bad
   * credentials, missing folder). `brief`: names, keys and descriptions are enough (each
   * sync lists every source); a connector may then skip costly columns and row counts.
   */
  listTables(options?: { brief?: boolean }): Promise<SourceTable[]>;
  pull(request: PullRequest): Promise<PullResult>;
}


/**
 * Normalises a source's table name: lowercase, every run of other characters to `_`,
 * a leading digit gets a `_` prefix, at most 64 characters.
 *
 * @example normaliseTableName('Order Items 2024') // 'order_items_2024'
 */
export function normaliseTableName(raw: string): string {
  let name = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+(?=[a-z0-9])/, '')
    .replace(/_+$/, '');
  if (name === '') name = '_';
  if (/^[0-9]/.test(name)) name = '_' + name;
  return name.slice(0, 64);
}

/** Two or more source tables that normalise to one name. */
export interface NameCollision {
  name: string;
  source_tables: string[];
}

/** Finds source tables whose normalised names collide (each such name is an error, never an overwrite). */
export function findCollisions(tables: Array<Pick<SourceTable, 'name' | 'source_table'>>): NameCollision[] {
  const byName = new Map<string, string[]>();
  for (const t of tables) byName.set(t.name, [...(byName.get(t.name) ?? []), t.source_table]);
  return [...byName].filter(([, s]) => s.length > 1).map(([name, source_tables]) => ({ name, source_tables }));
}
