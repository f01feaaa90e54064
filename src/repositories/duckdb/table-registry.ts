import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { RegisteredTable, TableRegistryRepository } from '../table-registry.ts';

function toTable(r: Record<string, unknown>): RegisteredTable {
  return {
    id: String(r.id),
    name: String(r.name),
    dataset: String(r.folder),
    source_table: String(r.source_table),
    sync_strategy: r.sync_strategy as 'full' | 'incremental',
    primary_key: r.primary_key ? String(r.primary_key).split(',') : null,
    description: (r.description as string | null) ?? null,
    enabled: Boolean(r.enabled),
    registered_by: (r.registered_by as string | null) ?? null,
    registered_at: toIso(r.registered_at),
    updated_at: toIso(r.updated_at),
    missing_since: toIso(r.missing_since),
  };
}

const SELECT = `SELECT r.*, m.missing_since FROM table_registry r LEFT JOIN table_source_status m ON m.table_id = r.id`;

/** The registry of tables the server pulls from its sources (dataset = the spec's `folder`). */
export function createDuckDbTableRegistryRepository(db: SystemDb): TableRegistryRepository {
  return {
    async list(): Promise<RegisteredTable[]> {
      const rows = await db.read((q) => q.all(`${SELECT} ORDER BY r.id`));
      return rows.map(toTable);
    },

    async get(id: string): Promise<RegisteredTable | undefined> {
      const r = await db.read((q) => q.one(`${SELECT} WHERE r.id = ?`, [id]));
      return r ? toTable(r) : undefined;
    },

    async insert(t: Omit<RegisteredTable, 'registered_at' | 'updated_at' | 'enabled' | 'missing_since'> & { enabled?: boolean }): Promise<RegisteredTable> {
      await db.write((q) =>
        q.run(
          `INSERT INTO table_registry (id, name, folder, source_table, sync_strategy, primary_key, description, enabled, registered_by, registered_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)`,
          [t.id, t.name, t.dataset, t.source_table, t.sync_strategy, t.primary_key?.join(',') ?? null, t.description,
            t.enabled ?? true, t.registered_by],
        ),
      );
      return (await this.get(t.id))!;
    },

    async update(id: string, patch: Partial<Pick<RegisteredTable, 'sync_strategy' | 'primary_key' | 'description' | 'enabled'>>) {
      const sets: string[] = [];
      const params: unknown[] = [];
      if (patch.sync_strategy !== undefined) (sets.push('sync_strategy = ?'), params.push(patch.sync_strategy));
      if (patch.primary_key !== undefined) (sets.push('primary_key = ?'), params.push(patch.primary_key?.join(',') ?? null));
      if (patch.description !== undefined) (sets.push('description = ?'), params.push(patch.description));
      if (patch.enabled !== undefined) (sets.push('enabled = ?'), params.push(patch.enabled));
      if (sets.length) {
        await db.write((q) => q.run(`UPDATE table_registry SET ${sets.join(', ')}, updated_at = current_timestamp WHERE id = ?`, [...params, id]));
      }
      return this.get(id);
    },

    async remove(id: string): Promise<void> {
      await db.write((q) =>
        q.transaction(async () => {
          await q.run(`DELETE FROM table_source_status WHERE table_id = ?`, [id]);
          await q.run(`DELETE FROM table_registry WHERE id = ?`, [id]);
        }),
      );
    },

    async setMissing({ missing, present }: { missing: string[]; present: string[] }): Promise<void> {
      if (!missing.length && !present.length) return;
      await db.write((q) =>
        q.transaction(async () => {
          for (const id of present) await q.run(`DELETE FROM table_source_status WHERE table_id = ?`, [id]);
          for (const id of missing) {
            await q.run(
              `INSERT INTO table_source_status (table_id, missing_since) VALUES (?, current_timestamp) ON CONFLICT (table_id) DO NOTHING`,
              [id],
            );
          }
        }),
      );
    },
  };
}
