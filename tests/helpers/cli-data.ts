import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { parquetPath } from '../../src/sync/paths.ts';
import type { TestServer } from './server.ts';

/**
 * Puts a table on a test server the way the sync engine leaves one: a Parquet file written
 * with DuckDB COPY (via a temp name and a rename), a registry row and a sync_state row with
 * the file's sha256. `select` is the SQL that produces the rows.
 */
export async function putServerTable(server: TestServer, dataset: string, name: string, select: string): Promise<{ path: string; hash: string; rows: number }> {
  const path = parquetPath(server.dataDir, dataset, name);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  let rows: number;
  let columns: number;
  try {
    await conn.run(`COPY (${select}) TO '${tmp.replace(/'/g, "''")}' (FORMAT parquet)`);
    const r = (await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${tmp.replace(/'/g, "''")}')`)).getRowObjects();
    rows = Number(r[0]!.n);
    columns = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${tmp.replace(/'/g, "''")}')`)).getRowObjects().length;
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  const hash = new Bun.CryptoHasher('sha256').update(readFileSync(tmp)).digest('hex');
  renameSync(tmp, path);
  const id = `${dataset}.${name}`;
  const repos = server.deps.repos;
  if (!(await repos.tableRegistry.get(id))) {
    await repos.tableRegistry.insert({
      id, name, dataset, source_table: name, sync_strategy: 'full', primary_key: null, description: `test table ${id}`, registered_by: null,
    });
  }
  await repos.syncState.recordSuccess({ tableId: id, rows, fileSizeBytes: statSync(path).size, columns, hash });
  return { path, hash, rows };
}

/** Grants (`read`) or denies (`none`) a dataset to a user through the admin API. */
export async function setDatasetAccess(server: TestServer, userId: string, dataset: string, access: 'read' | 'none'): Promise<void> {
  const res = await server.fetch(`/api/users/${userId}/permissions/${dataset}`, { method: 'PUT', token: server.adminToken, json: { access } });
  if (res.status !== 200) throw new Error(`permission ${dataset}=${access} failed: ${res.status} ${await res.text()}`);
}
