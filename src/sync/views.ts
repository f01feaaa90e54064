import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../db/connection.ts';
import { analyticsDbPath, parquetPath } from './paths.ts';

/** A table that has a file to put a view over. */
export interface ViewTable {
  dataset: string;
  name: string;
}

const SYSTEM_SCHEMAS = new Set(['main', 'information_schema', 'pg_catalog']);

/**
 * Rebuilds the views of `$DA_DATA_DIR/analytics/server.duckdb` in one transaction: a
 * schema per dataset with a view per table over its Parquet file, plus an unqualified
 * view in `main` for every table name that only one dataset has. Views of tables that
 * are gone are dropped. Returns the views it created.
 */
export async function rebuildAnalyticsViews(dataDir: string, tables: ViewTable[]): Promise<string[]> {
  const path = analyticsDbPath(dataDir);
  mkdirSync(dirname(path), { recursive: true });
  const present = tables.filter((t) => existsSync(parquetPath(dataDir, t.dataset, t.name)));
  // One instance per file per process: the cache hands back the open one.
  const instance = await DuckDBInstance.fromCache(path);
  const conn = await instance.connect();
  const created: string[] = [];
  try {
    await conn.run('BEGIN TRANSACTION');
    try {
      const existing = (await conn.runAndReadAll(
        `SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal AND database_name = current_database()`,
      )).getRowObjectsJson() as Array<{ schema_name: string; view_name: string }>;
      for (const v of existing) await conn.run(`DROP VIEW IF EXISTS ${quoteIdent(v.schema_name)}.${quoteIdent(v.view_name)}`);
      const datasets = new Set(present.map((t) => t.dataset));
      const schemas = (await conn.runAndReadAll(
        `SELECT schema_name FROM duckdb_schemas() WHERE NOT internal AND database_name = current_database()`,
      )).getRowObjectsJson() as Array<{ schema_name: string }>;
      for (const s of schemas) {
        if (!SYSTEM_SCHEMAS.has(s.schema_name) && !datasets.has(s.schema_name)) await conn.run(`DROP SCHEMA ${quoteIdent(s.schema_name)} CASCADE`);
      }
      const count = new Map<string, number>();
      for (const t of present) count.set(t.name, (count.get(t.name) ?? 0) + 1);
      for (const t of present) {
        const file = quoteLiteral(parquetPath(dataDir, t.dataset, t.name));
        await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(t.dataset)}`);
        await conn.run(`CREATE VIEW ${quoteIdent(t.dataset)}.${quoteIdent(t.name)} AS SELECT * FROM read_parquet(${file})`);
        created.push(`${t.dataset}.${t.name}`);
        if (count.get(t.name) === 1) {
          await conn.run(`CREATE VIEW main.${quoteIdent(t.name)} AS SELECT * FROM read_parquet(${file})`);
          created.push(t.name);
        }
      }
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => {});
      throw err;
    }
    await conn.run('CHECKPOINT');
  } finally {
    conn.closeSync();
  }
  return created;
}
