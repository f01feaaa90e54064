import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../db/connection.ts';

/** A private in-memory DuckDB for one unit of work (a pull, a profile); never the state database. */
export interface ScratchDb {
  conn: DuckDBConnection;
  /** Rows as JSON-safe objects (BIGINT and DECIMAL as strings, dates as ISO text). */
  all<T = Record<string, unknown>>(sql: string, params?: DuckDBValue[]): Promise<T[]>;
  run(sql: string, params?: DuckDBValue[]): Promise<void>;
  close(): void;
}

/** Opens an in-memory DuckDB; the caller closes it (use in try/finally). */
export async function openScratchDb(options: { threads?: number; memoryLimit?: string } = {}): Promise<ScratchDb> {
  const config: Record<string, string> = {};
  if (options.threads) config.threads = String(options.threads);
  if (options.memoryLimit) config.memory_limit = options.memoryLimit;
  const instance = await DuckDBInstance.create(':memory:', config);
  const conn = await instance.connect();
  return {
    conn,
    async all<T>(sql: string, params?: DuckDBValue[]) {
      const reader = await conn.runAndReadAll(sql, params);
      return reader.getRowObjectsJson() as T[];
    },
    async run(sql: string, params?: DuckDBValue[]) {
      await conn.run(sql, params);
    },
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** `read_parquet('<path>')` with the path quoted. */
export function readParquet(path: string): string {
  return `read_parquet(${quoteLiteral(path)})`;
}

/** Writes the result of `selectSql` to `target` as zstd Parquet; returns the number of rows written. */
export async function copyToParquet(db: ScratchDb, selectSql: string, target: string): Promise<number> {
  const rows = await db.all<{ Count: string | number }>(
    `COPY (${selectSql}) TO ${quoteLiteral(target)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
  );
  return Number(rows[0]?.Count ?? 0);
}

/**
 * Writes `existing` with the rows of `changedSql` merged in on the primary key (a changed
 * row replaces the old row with the same key; new keys are appended) to `target`.
 * Returns the number of changed rows read.
 */
export async function writeMerged(
  db: ScratchDb,
  opts: { existing: string; changedSql: string; primaryKey: string[]; target: string },
): Promise<number> {
  const { existing, changedSql, primaryKey, target } = opts;
  if (!primaryKey.length) throw new Error('merging needs a primary key');
  await db.run(`CREATE OR REPLACE TEMP TABLE __changed AS ${changedSql}`);
  const [{ n }] = await db.all<{ n: string }>(`SELECT count(*)::BIGINT AS n FROM __changed`);
  const columns = new Set((await db.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${readParquet(existing)}`)).map((r) => r.column_name));
  for (const key of primaryKey) {
    if (!columns.has(key)) throw new Error(`primary key column ${key} is not in the table`);
  }
  const keys = primaryKey.map(quoteIdent).join(', ');
  await copyToParquet(
    db,
    `SELECT e.* FROM ${readParquet(existing)} e ANTI JOIN __changed c USING (${keys})
     UNION ALL BY NAME SELECT * FROM __changed`,
    target,
  );
  await db.run(`DROP TABLE __changed`);
  return Number(n);
}
