import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CliError } from './errors.ts';

/**
 * DuckDB's JavaScript API, evaluated on first use: `require` of a literal is bundled like a
 * static import, but its ~60 modules are only run by commands that query, so `da --help`
 * and friends start without them.
 */
function duckdb(): typeof import('@duckdb/node-api') {
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

/**
 * Opens the workspace's analytics.duckdb (`create` makes it when missing), or an in-memory
 * database when there is none yet and `create` is false. A file another process holds open
 * is reported in one line.
 */
export async function openLocalDb(path: string, opts: { create?: boolean } = {}): Promise<LocalDb> {
  const exists = existsSync(path);
  if (!exists && opts.create) mkdirSync(dirname(path), { recursive: true });
  const target = exists || opts.create ? path : ':memory:';
  let instance: DuckDBInstance;
  try {
    instance = await duckdb().DuckDBInstance.create(target);
  } catch (err) {
    const msg = (err as Error).message;
    if (/lock/i.test(msg)) throw new CliError(`${path} is open in another program (close it and retry): ${msg.split('\n')[0]}`);
    throw new CliError(`cannot open ${path}: ${msg.split('\n')[0]}`);
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

/** A table as the views need it. */
export interface ViewTable {
  dataset: string;
  name: string;
  path: string;
}

/**
 * Rebuilds the views over the synced Parquet files: one schema per dataset (`sales.orders`)
 * plus an unqualified view (`orders`) where the name is unique and free. Only views that
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
  const counts = new Map<string, number>();
  for (const t of tables) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const skipped: string[] = [];
  let views = 0;
  await conn.run('BEGIN TRANSACTION');
  try {
    for (const v of ours) await conn.run(`DROP VIEW IF EXISTS ${ident(v.schema_name!)}.${ident(v.view_name!)}`);
    const datasets = new Set(tables.map((t) => t.dataset));
    for (const ds of datasets) await conn.run(`CREATE SCHEMA IF NOT EXISTS ${ident(ds)}`);
    for (const t of tables) {
      const body = `SELECT * FROM read_parquet(${literal(t.path)})`;
      if (userObjects.has(`${t.dataset}.${t.name}`)) {
        skipped.push(`${t.dataset}.${t.name}`);
      } else {
        await conn.run(`CREATE VIEW ${ident(t.dataset)}.${ident(t.name)} AS ${body}`);
        await conn.run(`COMMENT ON VIEW ${ident(t.dataset)}.${ident(t.name)} IS ${literal(VIEW_COMMENT)}`);
        views++;
      }
      if (counts.get(t.name) === 1 && !datasets.has(t.name)) {
        if (userObjects.has(`main.${t.name}`)) skipped.push(`main.${t.name}`);
        else {
          await conn.run(`CREATE VIEW main.${ident(t.name)} AS ${body}`);
          await conn.run(`COMMENT ON VIEW main.${ident(t.name)} IS ${literal(VIEW_COMMENT)}`);
          views++;
        }
      }
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
