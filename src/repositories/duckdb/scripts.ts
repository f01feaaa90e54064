import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { Script, ScriptsRepository } from '../scripts.ts';

function toScript(r: Record<string, unknown>): Script {
  return {
    id: String(r.id),
    name: String(r.name),
    owner: (r.owner as string | null) ?? null,
    schedule: (r.schedule as string | null) ?? null,
    source: String(r.source),
    deployed_at: toIso(r.deployed_at),
    last_run: toIso(r.last_run),
    last_status: (r.last_status as string | null) ?? null,
  };
}

/** The registry of deployed user scripts. */
export function createDuckDbScriptsRepository(db: SystemDb): ScriptsRepository {
  return {
    async list(owner?: string): Promise<Script[]> {
      const rows = await db.read((q) =>
        q.all(`SELECT * FROM script_registry ${owner ? 'WHERE owner = ?' : ''} ORDER BY name`, owner ? [owner] : []),
      );
      return rows.map(toScript);
    },

    async get(id: string): Promise<Script | undefined> {
      const r = await db.read((q) => q.one(`SELECT * FROM script_registry WHERE id = ?`, [id]));
      return r ? toScript(r) : undefined;
    },

    async deploy(s: { id: string; name: string; owner: string; schedule: string | null; source: string }): Promise<Script> {
      await db.write((q) =>
        q.run(
          `INSERT INTO script_registry (id, name, owner, schedule, source, deployed_at) VALUES (?, ?, ?, ?, ?, current_timestamp)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, schedule = excluded.schedule, source = excluded.source, deployed_at = excluded.deployed_at`,
          [s.id, s.name, s.owner, s.schedule, s.source],
        ),
      );
      return (await this.get(s.id))!;
    },

    async recordRun(id: string, status: string): Promise<void> {
      await db.write((q) => q.run(`UPDATE script_registry SET last_run = current_timestamp, last_status = ? WHERE id = ?`, [status, id]));
    },

    async remove(id: string): Promise<void> {
      await db.write((q) => q.run(`DELETE FROM script_registry WHERE id = ?`, [id]));
    },
  };
}
