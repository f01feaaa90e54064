import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { HealthChecksRepository, HealthFinding } from '../health-checks.ts';

/** The health job's last findings (health_checks). */
export function createDuckDbHealthChecksRepository(db: SystemDb): HealthChecksRepository {
  return {
    async record(findings): Promise<void> {
      await db.write((q) =>
        q.transaction(async () => {
          await q.run(`DELETE FROM health_checks`);
          for (const f of findings) {
            await q.run(`INSERT INTO health_checks (name, ok, detail, checked_at) VALUES (?, ?, ?, current_timestamp)`, [f.name, f.ok, f.detail]);
          }
        }),
      );
    },

    async ping(): Promise<number> {
      const row = await db.read((q) => q.one<{ n: string }>(`SELECT count(*) AS n FROM schema_migrations`));
      return Number(row?.n ?? 0);
    },

    async list(): Promise<HealthFinding[]> {
      const rows = await db.read((q) => q.all<Record<string, unknown>>(`SELECT * FROM health_checks ORDER BY name`));
      return rows.map((r) => ({ name: String(r.name), ok: Boolean(r.ok), detail: String(r.detail), checked_at: toIso(r.checked_at)! }));
    },
  };
}
