import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../db/connection.ts';
import { analyticsDbPath, parquetPath } from './paths.ts';
import { planViews, type ViewTable } from './view-plan.ts';

export type { ViewTable };

const SYSTEM_SCHEMAS = new Set(['main', 'information_schema', 'pg_catalog']);

/**
 * Brings the views of `$DA_DATA_DIR/analytics/server.duckdb` in line with `tables`, in one
 * transaction: a schema per dataset with a view per table over its Parquet file, plus the
 * unqualified views of planViews. Views and schemas of tables that are gone are dropped; a
 * view that already reads the right file is left alone, so a start with nothing changed
 * writes nothing (recreating 2,000 views took seconds at every start). Returns the views it
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
    const wanted = new Map<string, { schema: string; name: string; body: string }>();
    for (const v of planViews(present)) {
      const body = `SELECT * FROM read_parquet(${quoteLiteral(parquetPath(dataDir, v.table.dataset, v.table.name))})`;
      wanted.set(viewKey(v.schema, v.name), { schema: v.schema, name: v.name, body });
    }
    const existing = (await conn.runAndReadAll(
      `SELECT schema_name, view_name, sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database()`,
    )).getRowObjectsJson() as Array<{ schema_name: string; view_name: string; sql: string }>;
    const schemas = (await conn.runAndReadAll(
      `SELECT schema_name FROM duckdb_schemas() WHERE NOT internal AND database_name = current_database()`,
    )).getRowObjectsJson() as Array<{ schema_name: string }>;
    const datasets = new Set(present.map((t) => t.dataset));
    const staleSchemas = schemas.map((s) => s.schema_name).filter((s) => !SYSTEM_SCHEMAS.has(s) && !datasets.has(s));
    const missingSchemas = [...datasets].filter((ds) => !schemas.some((s) => s.schema_name === ds));
    // DuckDB keeps a view's statement as it renders it; the body after ` AS ` is ours verbatim.
    // A view whose text differs for any other reason is simply recreated.
    const kept = new Set<string>();
    const staleViews = existing.filter((v) => {
      const want = wanted.get(viewKey(v.schema_name, v.view_name));
      const ok = want !== undefined && !staleSchemas.includes(v.schema_name) && v.sql.endsWith(` AS ${want.body};`);
      if (ok) kept.add(viewKey(v.schema_name, v.view_name));
      return !ok && !staleSchemas.includes(v.schema_name);
    });
    const toCreate = [...wanted].filter(([key]) => !kept.has(key)).map(([, v]) => v);
    if (!staleSchemas.length && !missingSchemas.length && !staleViews.length && !toCreate.length) return created;

    await conn.run('BEGIN TRANSACTION');
    try {
      for (const v of staleViews) await conn.run(`DROP VIEW IF EXISTS ${quoteIdent(v.schema_name)}.${quoteIdent(v.view_name)}`);
      for (const s of staleSchemas) await conn.run(`DROP SCHEMA ${quoteIdent(s)} CASCADE`);
      for (const ds of missingSchemas) await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(ds)}`);
      for (const v of toCreate) {
        await conn.run(`CREATE VIEW ${quoteIdent(v.schema)}.${quoteIdent(v.name)} AS ${v.body}`);
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

function viewKey(schema: string, name: string): string {
  return `${schema}.${name}`;
}
