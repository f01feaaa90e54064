import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemDb } from '../db/system.ts';
import { quoteIdent, quoteLiteral } from '../db/connection.ts';

/**
 * State tables an admin may query as `system.<table>`. Tables that hold nothing but
 * secrets (one-time token hashes, revoked JWT ids, Telegram link codes) are left out;
 * a table added by a later migration stays hidden until it is listed here.
 */
export const SNAPSHOT_TABLES = [
  'users', 'user_sync_settings', 'dataset_permissions', 'sync_state', 'sync_history', 'sync_jobs',
  'knowledge_items', 'knowledge_votes', 'audit_log', 'telegram_links', 'script_registry',
  'table_registry', 'table_profiles', 'personal_access_tokens', 'schema_migrations',
] as const;

/** Columns never exported, whatever table they are in (`sync_state.hash` is a file hash, not a secret). */
export function isSecretColumn(table: string, column: string): boolean {
  if (table === 'sync_state' && column === 'hash') return false;
  return /password|secret|token_hash|hash$|^token$|_token$|api_key|credential/i.test(column);
}

/** Secret-free copies of the state tables, for the admin query sandbox. */
export function createSystemSnapshotsRepository(db: SystemDb) {
  return {
    /**
     * Writes one Parquet file per listed state table into `dir` (each to a temporary name,
     * then renamed, so a sandbox reading the old file never sees half a new one), without
     * secret columns. Returns the files written.
     */
    async exportSafe(dir: string): Promise<Array<{ name: string; path: string; columns: string[] }>> {
      mkdirSync(dir, { recursive: true });
      return db.read(async (q) => {
        const cols = await q.all<{ table_name: string; column_name: string }>(
          `SELECT table_name, column_name FROM duckdb_columns()
           WHERE database_name = current_database() AND schema_name = 'main'
           ORDER BY table_name, column_index`,
        );
        const byTable = new Map<string, string[]>();
        for (const c of cols) {
          if (!(SNAPSHOT_TABLES as readonly string[]).includes(c.table_name)) continue;
          if (isSecretColumn(c.table_name, c.column_name)) continue;
          byTable.set(c.table_name, [...(byTable.get(c.table_name) ?? []), c.column_name]);
        }
        const written: Array<{ name: string; path: string; columns: string[] }> = [];
        for (const [table, columns] of [...byTable].sort(([a], [b]) => a.localeCompare(b))) {
          const path = join(dir, `${table}.parquet`);
          const tmp = `${path}.tmp-${process.pid}`;
          await q.run(
            `COPY (SELECT ${columns.map(quoteIdent).join(', ')} FROM main.${quoteIdent(table)}) TO ${quoteLiteral(tmp)} (FORMAT parquet)`,
          );
          renameSync(tmp, path);
          written.push({ name: table, path, columns });
        }
        return written;
      });
    },
  };
}

export type SystemSnapshotsRepository = ReturnType<typeof createSystemSnapshotsRepository>;
