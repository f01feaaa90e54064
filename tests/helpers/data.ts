import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { quoteLiteral } from '../../src/db/connection.ts';
import { parquetPath } from '../../src/sync/paths.ts';
import type { TestServer } from './server.ts';

/** sha256 (hex) of a file's bytes, as the sync engine records it. */
export function sha256File(path: string): string {
  return new Bun.CryptoHasher('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Puts a synced table in place the way the sync engine leaves it: the Parquet file at
 * parquetPath, a registry row and a successful sync_state row with the file's hash
 * (plus a stored profile when given). `select` is DuckDB SQL producing the rows.
 */
export async function seedTable(
  server: TestServer,
  t: { dataset: string; table: string; select: string; description?: string; profile?: unknown; register?: boolean },
): Promise<{ id: string; path: string; hash: string }> {
  const id = `${t.dataset}.${t.table}`;
  const path = parquetPath(server.dataDir, t.dataset, t.table);
  mkdirSync(dirname(path), { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  let rows: number;
  let columns: number;
  try {
    await conn.run(`COPY (${t.select}) TO ${quoteLiteral(path)} (FORMAT parquet)`);
    const reader = await conn.runAndReadAll(`SELECT count(*)::INTEGER FROM read_parquet(${quoteLiteral(path)})`);
    rows = Number(reader.getRows()[0]![0]);
    const described = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(path)})`);
    columns = described.getRows().length;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  const hash = sha256File(path);
  const { repos } = server.deps;
  if (t.register !== false && !(await repos.tableRegistry.get(id))) {
    await repos.tableRegistry.insert({
      id, name: t.table, dataset: t.dataset, source_table: t.table, sync_strategy: 'full',
      primary_key: null, description: t.description ?? null, registered_by: null,
    });
  }
  await repos.syncState.recordSuccess({ tableId: id, rows, fileSizeBytes: Bun.file(path).size, columns, hash });
  if (t.profile !== undefined) await repos.profiles.put(id, t.profile);
  return { id, path, hash };
}

/** The login-limit settings tests need, plus whatever YAML a test adds. */
export function testYaml(extra: string): string {
  return `auth:\n  login_rate_limit: 1000\n  login_ip_rate_limit: 10000\n${extra}`;
}
