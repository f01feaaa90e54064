import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { ProfilesRepository, StoredProfile } from '../profiles.ts';

/** Table profiles (the profiler's output, one JSON document per table). */
export function createDuckDbProfilesRepository(db: SystemDb): ProfilesRepository {
  return {
    async get(tableId: string): Promise<StoredProfile | undefined> {
      const r = await db.read((q) => q.one(`SELECT * FROM table_profiles WHERE table_id = ?`, [tableId]));
      return r ? { table_id: String(r.table_id), profile: JSON.parse(String(r.profile)), profiled_at: toIso(r.profiled_at) } : undefined;
    },

    async list(): Promise<StoredProfile[]> {
      const rows = await db.read((q) => q.all(`SELECT * FROM table_profiles ORDER BY table_id`));
      return rows.map((r) => ({ table_id: String(r.table_id), profile: JSON.parse(String(r.profile)), profiled_at: toIso(r.profiled_at) }));
    },

    async put(tableId: string, profile: unknown): Promise<void> {
      await db.write((q) =>
        q.run(
          `INSERT INTO table_profiles (table_id, profile, profiled_at) VALUES (?, ?, current_timestamp)
           ON CONFLICT (table_id) DO UPDATE SET profile = excluded.profile, profiled_at = excluded.profiled_at`,
          [tableId, JSON.stringify(profile)],
        ),
      );
    },

    async remove(tableId: string): Promise<void> {
      await db.write((q) => q.run(`DELETE FROM table_profiles WHERE table_id = ?`, [tableId]));
    },
  };
}
