import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { SystemDb } from '../../db/system.ts';
import { quoteIdent, quoteLiteral } from '../../db/connection.ts';
import { isSecretColumn, SNAPSHOT_TABLES, type SystemSnapshotsRepository } from '../system-snapshots.ts';

/** Secret-free copies of the state tables, for the admin query sandbox. */
export function createDuckDbSystemSnapshotsRepository(db: SystemDb): SystemSnapshotsRepository {
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
