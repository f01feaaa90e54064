import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { AnnotationOrigin, EnrichmentRun, TableAnnotation, TableAnnotationsRepository } from '../table-annotations.ts';

function toAnnotation(r: Record<string, unknown>): TableAnnotation {
  return {
    table_id: String(r.table_id),
    origin: r.origin as AnnotationOrigin,
    description: (r.description as string | null) ?? null,
    tags: r.tags === null || r.tags === undefined ? null : (JSON.parse(String(r.tags)) as string[]),
    columns: JSON.parse(String(r.columns)) as Record<string, string>,
    detail: (r.detail as string | null) ?? null,
    updated_by: (r.updated_by as string | null) ?? null,
    updated_at: toIso(r.updated_at)!,
  };
}

/** Table annotations over DuckDB: one row per table and origin. */
export function createDuckDbTableAnnotationsRepository(db: SystemDb): TableAnnotationsRepository {
  async function get(tableId: string, origin: AnnotationOrigin) {
    const r = await db.read((q) => q.one(`SELECT * FROM table_annotations WHERE table_id = ? AND origin = ?`, [tableId, origin]));
    return r ? toAnnotation(r) : undefined;
  }
  return {
    get,

    async list() {
      const rows = await db.read((q) => q.all(`SELECT * FROM table_annotations ORDER BY table_id, origin`));
      return rows.map(toAnnotation);
    },

    async put(a) {
      await db.write((q) =>
        q.run(
          `INSERT INTO table_annotations (table_id, origin, description, tags, columns, detail, updated_by, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, current_timestamp)
           ON CONFLICT (table_id, origin) DO UPDATE SET description = excluded.description, tags = excluded.tags,
             columns = excluded.columns, detail = excluded.detail, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
          [a.table_id, a.origin, a.description, a.tags === null ? null : JSON.stringify(a.tags), JSON.stringify(a.columns), a.detail, a.updated_by],
        ),
      );
      return (await get(a.table_id, a.origin))!;
    },

    async remove(tableId) {
      await db.write((q) => q.run(`DELETE FROM table_annotations WHERE table_id = ?`, [tableId]));
    },

    async recordRun(run) {
      await db.write((q) =>
        q.run(
          `INSERT INTO catalog_enrichment_runs (id, origin, started_at, finished_at, status, error, result) VALUES (?, ?, ?::TIMESTAMP, ?::TIMESTAMP, ?, ?, ?)`,
          [run.id, run.origin, run.started_at, run.finished_at, run.status, run.error, JSON.stringify(run.result)],
        ),
      );
    },

    async lastRun() {
      const r = await db.read((q) => q.one(`SELECT * FROM catalog_enrichment_runs ORDER BY finished_at DESC, id DESC LIMIT 1`));
      if (!r) return undefined;
      return {
        id: String(r.id), origin: 'openmetadata', started_at: toIso(r.started_at)!, finished_at: toIso(r.finished_at)!,
        status: r.status as EnrichmentRun['status'], error: (r.error as string | null) ?? null, result: JSON.parse(String(r.result)),
      } satisfies EnrichmentRun;
    },
  };
}
