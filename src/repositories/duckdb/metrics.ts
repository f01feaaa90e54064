import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { Metric, MetricsRepository, StoredMetric } from '../metrics.ts';

function strings(v: unknown): string[] {
  const parsed = typeof v === 'string' ? JSON.parse(v) : v;
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

function toMetric(r: Record<string, unknown>): StoredMetric {
  return {
    id: String(r.id),
    name: String(r.name),
    description: String(r.description),
    sql: String(r.sql),
    datasets: strings(r.datasets),
    owner: String(r.owner),
    unit: String(r.unit),
    grain: String(r.grain),
    tags: strings(r.tags),
    status: r.status as Metric['status'],
    created_by: (r.created_by as string | null) ?? null,
    created_at: toIso(r.created_at)!,
    updated_at: toIso(r.updated_at)!,
  };
}

/** The metrics catalog in the `metrics` table. */
export function createDuckDbMetricsRepository(db: SystemDb): MetricsRepository {
  return {
    async list() {
      const rows = await db.read((q) => q.all(`SELECT * FROM metrics ORDER BY name`));
      return rows.map(toMetric);
    },
    async get(id) {
      const r = await db.read((q) => q.one(`SELECT * FROM metrics WHERE id = ?`, [id]));
      return r ? toMetric(r) : undefined;
    },
    async getByName(name) {
      const r = await db.read((q) => q.one(`SELECT * FROM metrics WHERE name = ?`, [name]));
      return r ? toMetric(r) : undefined;
    },
    async insert(m, createdBy) {
      await db.write((q) =>
        q.run(
          `INSERT INTO metrics (id, name, description, sql, datasets, owner, unit, grain, tags, status, created_by, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp, current_timestamp)`,
          [m.id, m.name, m.description, m.sql, JSON.stringify(m.datasets), m.owner, m.unit, m.grain, JSON.stringify(m.tags), m.status, createdBy],
        ),
      );
    },
    async update(m) {
      await db.write((q) =>
        q.run(
          `UPDATE metrics SET name = ?, description = ?, sql = ?, datasets = ?, owner = ?, unit = ?, grain = ?, tags = ?, status = ?,
             updated_at = current_timestamp WHERE id = ?`,
          [m.name, m.description, m.sql, JSON.stringify(m.datasets), m.owner, m.unit, m.grain, JSON.stringify(m.tags), m.status, m.id],
        ),
      );
    },
    async delete(id) {
      return db.write(async (q) => {
        const found = await q.one(`SELECT id FROM metrics WHERE id = ?`, [id]);
        if (found) await q.run(`DELETE FROM metrics WHERE id = ?`, [id]);
        return !!found;
      });
    },
  };
}
