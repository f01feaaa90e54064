import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../db/connection.ts';
import { analyticsDbPath, parquetPath } from './paths.ts';
import { planViews, type ViewTable } from './view-plan.ts';

export type { ViewTable };

const SYSTEM_SCHEMAS = new Set(['main', 'information_schema', 'pg_catalog']);

/**
 * Rebuilds the views of `$DA_DATA_DIR/analytics/server.duckdb` in one transaction: a
 * schema per dataset with a view per table over its Parquet file, plus the unqualified
 * views of planViews. Views of tables that are gone are dropped. Returns the views it
 * created.
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
      for (const ds of datasets) await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(ds)}`);
      for (const v of planViews(present)) {
        const file = quoteLiteral(parquetPath(dataDir, v.table.dataset, v.table.name));
        await conn.run(`CREATE VIEW ${quoteIdent(v.schema)}.${quoteIdent(v.name)} AS SELECT * FROM read_parquet(${file})`);
        created.push(v.schema === 'main' ? v.name : `${v.schema}.${v.name}`);
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
