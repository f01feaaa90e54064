import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { Queryable } from '../../db/connection.ts';
import type { DatasetPermission, PermissionsRepository, SyncSetting } from '../permissions.ts';

/** Grants or denies a dataset, replacing the user's previous grant on it (also used by approved access requests). */
export function upsertGrant(q: Queryable, userId: string, dataset: string, access: 'read' | 'none', grantedBy: string | null): Promise<void> {
  return q.run(
    `INSERT INTO dataset_permissions (user_id, dataset, access, granted_by, granted_at)
     VALUES (?, ?, ?, ?, current_timestamp)
     ON CONFLICT (user_id, dataset) DO UPDATE SET access = excluded.access, granted_by = excluded.granted_by, granted_at = excluded.granted_at`,
    [userId, dataset, access, grantedBy],
  );
}

/** Dataset grants and per-user sync settings in DuckDB. */
export function createDuckDbPermissionsRepository(db: SystemDb): PermissionsRepository {
  return {
    async listForUser(userId: string): Promise<DatasetPermission[]> {
      const rows = await db.read((q) =>
        q.all(`SELECT * FROM dataset_permissions WHERE user_id = ? ORDER BY dataset`, [userId]),
      );
      return rows.map((r) => ({
        user_id: String(r.user_id),
        dataset: String(r.dataset),
        access: r.access as 'read' | 'none',
        granted_by: (r.granted_by as string | null) ?? null,
        granted_at: toIso(r.granted_at),
      }));
    },

    /** Datasets the user holds a `read` grant on. */
    async readableDatasets(userId: string): Promise<Set<string>> {
      const rows = await db.read((q) =>
        q.all<{ dataset: string }>(`SELECT dataset FROM dataset_permissions WHERE user_id = ? AND access = 'read'`, [userId]),
      );
      return new Set(rows.map((r) => r.dataset));
    },

    async set(userId: string, dataset: string, access: 'read' | 'none', grantedBy: string | null): Promise<void> {
      await db.write((q) => upsertGrant(q, userId, dataset, access, grantedBy));
    },

    async remove(userId: string, dataset: string): Promise<void> {
      await db.write((q) => q.run(`DELETE FROM dataset_permissions WHERE user_id = ? AND dataset = ?`, [userId, dataset]));
    },

    /** Datasets explicitly denied to the user (`none` hides even a public dataset). */
    async deniedDatasets(userId: string): Promise<Set<string>> {
      const rows = await db.read((q) =>
        q.all<{ dataset: string }>(`SELECT dataset FROM dataset_permissions WHERE user_id = ? AND access = 'none'`, [userId]),
      );
      return new Set(rows.map((r) => r.dataset));
    },

    async listSyncSettings(userId: string): Promise<SyncSetting[]> {
      const rows = await db.read((q) =>
        q.all(`SELECT * FROM user_sync_settings WHERE user_id = ? ORDER BY dataset`, [userId]),
      );
      return rows.map((r) => ({
        dataset: String(r.dataset),
        enabled: Boolean(r.enabled),
        table_mode: r.table_mode as 'all' | 'explicit',
        tables: r.tables ? (JSON.parse(String(r.tables)) as string[]) : null,
        updated_at: toIso(r.updated_at),
      }));
    },

    /** Saves several datasets' settings in one transaction: all of them or none. */
    async putSyncSettings(userId: string, items: Array<{ dataset: string; enabled: boolean; table_mode: 'all' | 'explicit'; tables?: string[] | null }>) {
      await db.write((q) =>
        q.transaction(async () => {
          for (const s of items) {
            await q.run(
              `INSERT INTO user_sync_settings (user_id, dataset, enabled, table_mode, tables, updated_at)
               VALUES (?, ?, ?, ?, ?, current_timestamp)
               ON CONFLICT (user_id, dataset) DO UPDATE SET enabled = excluded.enabled, table_mode = excluded.table_mode,
                 tables = excluded.tables, updated_at = excluded.updated_at`,
              [userId, s.dataset, s.enabled, s.table_mode, s.tables ? JSON.stringify(s.tables) : null],
            );
          }
        }),
      );
    },
  };
}
