import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fsyncDir, fsyncFile } from './disk.ts';
import { CliError, oneLine } from './errors.ts';
import { planViews, type ViewTable as PlannedTable } from '../src/sync/view-plan.ts';
import { NAME_PATTERN } from '../src/sync/paths.ts';

/**
 * DuckDB's JavaScript API, evaluated on first use: `require` of a literal is bundled like a
 * static import, but its ~60 modules are only run by commands that query, so `da --help`
 * and friends start without them.
 */
export function duckdb(): typeof import('@duckdb/node-api') {
  return require('@duckdb/node-api');
}

/** Marks the views `da sync` owns, so user views and tables are never touched. */
export const VIEW_COMMENT = 'da:sync';

/** Quotes an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A query result in the same shape as the server's POST /api/query. */
export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  row_count: number;
  truncated: boolean;
  elapsed_ms: number;
}

/** An open local database: the connection and a way to close it. */
export interface LocalDb {
  conn: DuckDBConnection;
  path: string;
  close(): void;
}

// What DuckDB says about a file that is not a whole database (cut off, overwritten, bad WAL).
const DAMAGED = /not a valid DuckDB database|Could not read enough bytes|No magic bytes|corrupt|checksum|Failure while replaying WAL|INTERNAL Error/i;

/** Whether an error opening a database means the file is damaged (not locked, not missing). */
export function isDamagedDbError(err: unknown): boolean {
  return err instanceof CliError ? err.details.reason === 'damaged_db' : err instanceof Error && DAMAGED.test(err.message);
}

// A DuckDB file starts with a 4 KiB main header (checksum, then "DUCK") and two 4 KiB database
// headers; anything shorter, or without the magic, cannot be opened.
const HEADER_BYTES = 3 * 4096;

/**
 * A cheap look at a database file (no DuckDB needed): present, at least its headers long and
 * with DuckDB's magic bytes. Catches a file cut off by a full disk without opening it.
 */
export function looksLikeDuckDb(path: string): boolean {
  let fd: number | undefined;
  try {
    if (statSync(path).size < HEADER_BYTES) return false;
    fd = openSync(path, 'r');
    const head = Buffer.alloc(12);
    return readSync(fd, head, 0, 12, 0) === 12 && head.toString('latin1', 8, 12) === 'DUCK';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Opens the workspace's analytics.duckdb (`create` makes it when missing), or an in-memory
 * database when there is none yet and `create` is false. `readOnly` opens the file with
 * DuckDB's READ_ONLY access mode (other readers may share it; nothing can be written). A file
 * another process holds open or a damaged file is reported in one line that says what to do.
 */
export async function openLocalDb(path: string, opts: { create?: boolean; readOnly?: boolean } = {}): Promise<LocalDb> {
  const exists = existsSync(path);
  if (!exists && opts.create) mkdirSync(dirname(path), { recursive: true });
  const target = exists || opts.create ? path : ':memory:';
  let instance: DuckDBInstance;
  try {
    instance = await duckdb().DuckDBInstance.create(target, opts.readOnly && target !== ':memory:' ? { access_mode: 'READ_ONLY' } : undefined);
  } catch (err) {
    const msg = oneLine((err as Error).message.split('\n')[0]!);
    if (/lock/i.test(msg)) throw new CliError(`${path} is open in another program (close it and retry): ${msg}`, 1, { reason: 'locked' }, { cause: err });
    if (DAMAGED.test(msg)) {
      throw new CliError(
        `${path} is damaged (${msg}); run da sync: it moves the file aside (your own tables stay in that copy) and rebuilds the views`,
        1,
        { reason: 'damaged_db' },
        { cause: err },
      );
    }
    throw new CliError(`cannot open ${path}: ${msg}`, 1, {}, { cause: err });
  }
  const conn = await instance.connect();
  return {
    conn,
    path: target,
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** `20261126-014502` in UTC, for names that sort by time. */
function stamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/**
 * Moves a database that cannot be opened (and its WAL) aside, never deleting it: it may hold
 * the analyst's own tables. Returns the new path.
 */
export function moveAside(path: string): string {
  let target = `${path}.damaged-${stamp()}`;
  for (let n = 2; existsSync(target); n++) target = `${path}.damaged-${stamp()}-${n}`;
  renameSync(path, target);
  if (existsSync(`${path}.wal`)) renameSync(`${path}.wal`, `${target}.wal`);
  fsyncDir(dirname(path));
  return target;
}


/**
 * Builds a new database with the views beside `path` and renames it into place once it is
 * complete and on disk: a full disk or a crash leaves no database rather than a cut-off one.
 */
async function buildFresh(path: string, tables: ViewTable[]): Promise<{ views: number; skipped: string[] }> {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const clear = () => {
    rmSync(tmp, { force: true });
    rmSync(`${tmp}.wal`, { force: true });
  };
  // Builds that a killed sync left behind (the caller holds the workspace's sync lock).
  const leftover = new RegExp(`^\\.${basename(path).replace(/\./g, '\\.')}\\.\\d+\\.tmp(\\.wal)?$`);
  for (const name of readdirSync(dirname(path))) if (leftover.test(name)) rmSync(join(dirname(path), name), { force: true });
  try {
    const db = await openLocalDb(tmp, { create: true });
    let r;
    try {
      r = await rebuildViews(db.conn, tables);
      await db.conn.run('CHECKPOINT');
    } finally {
      db.close();
    }
    if (existsSync(`${tmp}.wal`) && statSync(`${tmp}.wal`).size > 0) throw new Error(`could not finish writing ${tmp}`);
    fsyncFile(tmp);
    // A WAL left by a database that is gone would be replayed into the new one.
    rmSync(`${path}.wal`, { force: true });
    renameSync(tmp, path);
    fsyncDir(dirname(path));
    return r;
  } finally {
    clear();
  }
}

/**
 * Brings the views in the workspace database up to date. An existing database is changed in
 * one transaction (a failure rolls back and leaves it as it was); a missing one is built whole
 * and renamed into place; one that cannot be opened because it is damaged is moved aside and
 * rebuilt (`moved_aside` says where it went).
 */
export async function writeViews(path: string, tables: ViewTable[]): Promise<{ views: number; skipped: string[]; moved_aside: string | null }> {
  let movedAside: string | null = null;
  if (existsSync(path)) {
    let db: LocalDb | undefined;
    try {
      db = await openLocalDb(path);
    } catch (err) {
      if (!isDamagedDbError(err)) throw err;
      movedAside = moveAside(path);
    }
    if (db) {
      try {
        return { ...(await rebuildViews(db.conn, tables)), moved_aside: null };
      } finally {
        db.close();
      }
    }
  }
  return { ...(await buildFresh(path, tables)), moved_aside: movedAside };
}

/** Runs one SQL text and reads up to `limit` rows (JSON-safe values). */
export async function runQuery(conn: DuckDBConnection, sql: string, limit: number): Promise<QueryResult> {
  const started = performance.now();
  let reader;
  try {
    reader = await conn.streamAndReadUntil(sql, limit + 1);
  } catch (err) {
    throw new CliError((err as Error).message.split('\n').slice(0, 2).join(' '));
  }
  const names = reader.columnNames();
  const types = reader.columnTypes().map((t) => t.toString());
  const all = reader.getRowsJson() as unknown[][];
  const rows = all.slice(0, limit);
  return {
    columns: names.map((name, i) => ({ name, type: types[i]! })),
    rows,
    row_count: rows.length,
    truncated: all.length > limit || !reader.done,
    elapsed_ms: Math.round((performance.now() - started) * 10) / 10,
  };
}

/** A table as the views need it: where its file is on this machine. */
export interface ViewTable extends PlannedTable {
  path: string;
  /**
   * Delta sync (cli/delta.ts): the delta part files applied on top of `path` at query time,
   * in sequence order, and the primary key they are merged on. Absent: the file is the table.
   */
  deltas?: { primary_key: string[]; paths: string[]; base_size: number };
}

/** Every file a table's view reads: its file, then its delta parts. */
export function viewFiles(t: ViewTable): string[] {
  return [t.path, ...(t.deltas?.paths ?? [])];
}

/** The column of a delta part that marks a deleted key (as the server writes it). */
export const DELETED_COLUMN = '_da_deleted';

/**
 * The SELECT that reads a table: its Parquet file, or for a table kept as a base file plus
 * delta parts, their merge on the primary key. Per key the row of the latest part wins (a
 * key's parts are ordered by their place in `paths`), a key whose latest row is a deletion
 * is gone, and base rows whose key occurs in any part are replaced. Keys compare with IS NOT
 * DISTINCT FROM (a NULL key is a key, as on the server, whose EXCEPT treats NULLs as equal).
 * The columns come out in the base file's order and types; `_da_deleted` is not among them.
 * The parts only fit the base they were fetched for: when the file is no longer that size (a
 * `da sync` has just put a new full file in its place and not yet rebuilt the views) the
 * view fails with a clear error instead of merging old parts into a new file.
 */
export function tableSelect(t: ViewTable): string {
  const base = `read_parquet(${literal(t.path)})`;
  if (!t.deltas?.paths.length) return `SELECT * FROM ${base}`;
  const list = `[${t.deltas.paths.map(literal).join(', ')}]`;
  const keys = t.deltas.primary_key.map(ident);
  const on = keys.map((k) => `__da_b.${k} IS NOT DISTINCT FROM __da_l.${k}`).join(' AND ');
  // NOT MATERIALIZED: a materialized CTE stops DuckDB from pruning the base's columns (count(*) or
  // sum(id) over the view would read every column); the parts are small, reading them twice is cheap.
  return `WITH __da_latest AS NOT MATERIALIZED (
  SELECT * EXCLUDE (__da_file) FROM read_parquet(${list}, filename = '__da_file')
  WHERE CASE WHEN (SELECT file_size_bytes FROM parquet_file_metadata(${literal(t.path)})) = ${t.deltas.base_size} THEN true
        ELSE error(${literal(`${t.dataset}.${t.name} is being replaced by da sync; run the query again when it has finished`)}) END
  QUALIFY row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY list_position(${list}, __da_file) DESC) = 1
)
SELECT __da_b.* FROM ${base} __da_b ANTI JOIN __da_latest __da_l ON ${on}
UNION ALL BY NAME
SELECT * EXCLUDE (${ident(DELETED_COLUMN)}) FROM __da_latest WHERE NOT ${ident(DELETED_COLUMN)}`;
}

/**
 * Rebuilds the views over the synced Parquet files, as planViews plans them (`sales.orders`,
 * and `orders` where the name is unique). Only views that
 * `da sync` created are dropped; user tables and user views stay.
 */
export async function rebuildViews(conn: DuckDBConnection, tables: ViewTable[]): Promise<{ views: number; skipped: string[] }> {
  const read = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, string>[];
  const ours = await read(
    `SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal AND database_name = current_database() AND comment = ${literal(VIEW_COMMENT)}`,
  );
  const userObjects = new Set(
    (
      await read(
        `SELECT schema_name || '.' || table_name AS n FROM duckdb_tables() WHERE database_name = current_database()
         UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views()
           WHERE NOT internal AND database_name = current_database() AND coalesce(comment, '') <> ${literal(VIEW_COMMENT)}`,
      )
    ).map((r) => r.n),
  );
  const skipped: string[] = [];
  let views = 0;
  await conn.run('BEGIN TRANSACTION');
  try {
    for (const v of ours) await conn.run(`DROP VIEW IF EXISTS ${ident(v.schema_name!)}.${ident(v.view_name!)}`);
    const datasets = new Set(tables.map((t) => t.dataset));
    for (const ds of datasets) await conn.run(`CREATE SCHEMA IF NOT EXISTS ${ident(ds)}`);
    for (const v of planViews(tables)) {
      const target = `${ident(v.schema)}.${ident(v.name)}`;
      // A user's own table or view of that name wins; theirs is never replaced.
      if (userObjects.has(`${v.schema}.${v.name}`)) {
        skipped.push(`${v.schema}.${v.name}`);
        continue;
      }
      await conn.run(`CREATE VIEW ${target} AS ${tableSelect(v.table)}`);
      await conn.run(`COMMENT ON VIEW ${target} IS ${literal(VIEW_COMMENT)}`);
      views++;
    }
    // Schemas of datasets no longer synced go when nothing of the user's is in them.
    const emptySchemas = await read(
      `SELECT s.schema_name FROM duckdb_schemas() s WHERE s.database_name = current_database() AND NOT s.internal
         AND s.schema_name NOT IN ('main', 'information_schema', 'pg_catalog')
         AND NOT EXISTS (SELECT 1 FROM duckdb_tables() t WHERE t.database_name = s.database_name AND t.schema_name = s.schema_name)
         AND NOT EXISTS (SELECT 1 FROM duckdb_views() v WHERE v.database_name = s.database_name AND v.schema_name = s.schema_name AND NOT v.internal)`,
    );
    const hadOurs = new Set(ours.map((v) => v.schema_name));
    for (const s of emptySchemas) if (hadOurs.has(s.schema_name) && !datasets.has(s.schema_name!)) await conn.run(`DROP SCHEMA IF EXISTS ${ident(s.schema_name!)}`);
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return { views, skipped };
}

/**
 * What is wrong with the views `da sync` owns, for the tables whose files are on disk: a view
 * that is missing (dropped), or that reads another file than the table's (the workspace moved),
 * or a view of ours over a file that is gone. Empty when all is well. A name the user's own
 * table or view holds is not a problem (sync leaves it alone).
 */
export async function viewProblems(conn: DuckDBConnection, tables: ViewTable[]): Promise<string[]> {
  const rows = (await conn.runAndReadAll(
    `SELECT schema_name, view_name, sql, coalesce(comment, '') AS comment FROM duckdb_views() WHERE NOT internal AND database_name = current_database()
     UNION ALL SELECT schema_name, table_name, '', '' FROM duckdb_tables() WHERE database_name = current_database()`,
  )).getRowObjectsJson() as Record<string, string>[];
  const byName = new Map(rows.map((r) => [`${r.schema_name}.${r.view_name}`, r]));
  const problems: string[] = [];
  const planned = new Set<string>();
  for (const v of planViews(tables)) {
    const name = `${v.schema}.${v.name}`;
    planned.add(name);
    const row = byName.get(name);
    if (!row) problems.push(`${name}: view missing`);
    else if (row.comment === VIEW_COMMENT && !sameFiles(row.sql!, viewFiles(v.table))) problems.push(`${name}: view reads other files`);
  }
  for (const [name, row] of byName) {
    if (row.comment === VIEW_COMMENT && !planned.has(name)) problems.push(`${name}: view of a table that is not synced`);
  }
  return problems;
}

/** Whether a view's SQL reads exactly `files` (a delta table's view names its part files too). */
function sameFiles(sql: string, files: string[]): boolean {
  const read = new Set([...sql.matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]!.replace(/''/g, "'")).filter((f) => f.endsWith('.parquet')));
  return read.size === new Set(files).size && files.every((f) => read.has(f));
}

/** The Parquet files under `parquetDir` as view tables (`<dataset>/<table>.parquet`), sorted by path. */
export function tablesOnDisk(parquetDir: string): ViewTable[] {
  const out: ViewTable[] = [];
  const name = NAME_PATTERN;
  let datasets: string[] = [];
  try {
    datasets = readdirSync(parquetDir);
  } catch {
    return out;
  }
  for (const dataset of datasets) {
    if (!name.test(dataset)) continue;
    let files: string[] = [];
    try {
      files = readdirSync(join(parquetDir, dataset));
    } catch {
      continue;
    }
    for (const f of files) {
      const table = f.replace(/\.parquet$/, '');
      if (f.endsWith('.parquet') && name.test(table)) out.push({ dataset, name: table, path: join(parquetDir, dataset, f) });
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** The file that records which workspace folder the views were built for (in ./user/, beside the sync lock). */
export function viewsRootFile(dbPath: string): string {
  return join(dirname(dirname(dbPath)), '.da-views-root');
}
