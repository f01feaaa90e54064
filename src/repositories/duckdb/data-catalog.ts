import type { SystemDb } from '../../db/system.ts';
import { toIso, toNumber } from '../../db/connection.ts';
import type { CatalogTable, DataCatalogRepository } from '../data-catalog.ts';
import { annotateProfileText, mergeEnrichment, saysAnything, sha256Hex, type Enrichment } from '../../catalog/annotations.ts';

type Said = { description: string | null; tags: string[] | null; columns: Record<string, string> };

function parseSaid(description: unknown, tags: unknown, columns: unknown): Said | undefined {
  if (columns === null || columns === undefined) return undefined;
  return {
    description: (description as string | null) ?? null,
    tags: tags === null || tags === undefined ? null : (JSON.parse(String(tags)) as string[]),
    columns: JSON.parse(String(columns)) as Record<string, string>,
  };
}

/** The merged descriptions of one row that joined the registry with both annotation origins. */
function enrichmentOf(r: Record<string, unknown>): Enrichment {
  return mergeEnrichment(
    (r.description as string | null) ?? null,
    parseSaid(r.a_description, r.a_tags, r.a_columns),
    parseSaid(r.o_description, r.o_tags, r.o_columns),
  );
}

// Both origins of table_annotations beside a registry row `r`.
const ANNOTATION_JOINS = `
  LEFT JOIN table_annotations a ON a.table_id = r.id AND a.origin = 'admin'
  LEFT JOIN table_annotations o ON o.table_id = r.id AND o.origin = 'openmetadata'`;
const ANNOTATION_COLUMNS = `a.description AS a_description, a.tags AS a_tags, a.columns AS a_columns,
  o.description AS o_description, o.tags AS o_tags, o.columns AS o_columns`;

/** The data plane's read-only queries over DuckDB: one join, one aggregate fingerprint. */
export function createDuckDbDataCatalogRepository(db: SystemDb): DataCatalogRepository {
  /** Hash and size of served profiles with descriptions added, by table, stored profile hash and merged descriptions. */
  const annotated = new Map<string, { hash: string; size: number }>();
  return {
    /** Every registered table with its sync state and profile facts, by id. */
    async listTables(): Promise<CatalogTable[]> {
      const rows = await db.read((q) =>
        q.all(
          `SELECT r.id, r.folder AS dataset, r.name, r.description, r.enabled,
                  s.hash, s.rows, s.columns, s.file_size_bytes, s.last_sync, coalesce(s.status, 'pending') AS status, s.error,
                  sha256(p.profile::VARCHAR) AS profile_hash, octet_length(encode(p.profile::VARCHAR)) AS profile_size, p.profiled_at, m.missing_since,
                  ${ANNOTATION_COLUMNS}
           FROM table_registry r
           LEFT JOIN sync_state s ON s.table_id = r.id
           LEFT JOIN table_profiles p ON p.table_id = r.id
           LEFT JOIN table_source_status m ON m.table_id = r.id
           ${ANNOTATION_JOINS}
           ORDER BY r.id`,
        ),
      );
      // A profile with descriptions added is served as another text: its hash and size are of
      // that text. Worked out once per stored profile and merged descriptions, then remembered.
      const merged = rows.map((r) => enrichmentOf(r));
      const keyOf = (i: number) => `${rows[i]!.id}|${rows[i]!.profile_hash}|${JSON.stringify(merged[i])}`;
      const todo = rows.flatMap((r, i) => (r.profile_hash && saysAnything(merged[i]!) && !annotated.has(keyOf(i)) ? [i] : []));
      if (todo.length) {
        const wanted = new Set(todo.map((i) => String(rows[i]!.id)));
        // A few (a table synced, one description changed): each by its key; many (the first load): in one pass.
        const found = await db.read(async (q) => {
          if (wanted.size > 32) return q.all<{ table_id: string; t: string }>(`SELECT table_id, profile::VARCHAR AS t FROM table_profiles`);
          const one: Array<{ table_id: string; t: string }> = [];
          for (const id of wanted) {
            const row = await q.one<{ table_id: string; t: string }>(`SELECT table_id, profile::VARCHAR AS t FROM table_profiles WHERE table_id = ?`, [id]);
            if (row) one.push(row);
          }
          return one;
        });
        const texts = new Map(found.filter((t) => wanted.has(String(t.table_id))).map((t) => [String(t.table_id), String(t.t)]));
        if (annotated.size + todo.length > 10_000) annotated.clear();
        for (const i of todo) {
          const text = texts.get(String(rows[i]!.id));
          if (text === undefined) continue;
          const served = annotateProfileText(text, merged[i]!);
          annotated.set(keyOf(i), { hash: sha256Hex(served), size: Buffer.byteLength(served) });
        }
      }
      return rows.map((r, i) => {
        const e = merged[i]!;
        const served = r.profile_hash && saysAnything(e) ? annotated.get(keyOf(i)) : undefined;
        const profileHash = served?.hash ?? (r.profile_hash as string | null) ?? null;
        const profileSize = served?.size ?? toNumber(r.profile_size);
        return {
        id: String(r.id),
        dataset: String(r.dataset),
        name: String(r.name),
        description: e.description,
        description_origin: e.description_origin,
        tags: e.tags,
        column_descriptions: e.column_descriptions,
        enabled: Boolean(r.enabled),
        hash: (r.hash as string | null) ?? null,
        rows: toNumber(r.rows),
        columns: toNumber(r.columns),
        size_bytes: toNumber(r.file_size_bytes),
        last_sync: toIso(r.last_sync),
        status: String(r.status),
        error: (r.error as string | null) ?? null,
        profile_hash: profileHash,
        profile_size: profileSize,
        profiled_at: toIso(r.profiled_at),
        missing_since: toIso(r.missing_since),
        };
      });
    },

    /**
     * A value that changes whenever anything listTables returns changes (a sync, a failure,
     * a registration, a profile). One cheap aggregate, so caches can check it per request.
     */
    async fingerprint(): Promise<string> {
      const row = await db.read((q) =>
        q.one<{ s: string; r: string; p: string; m: string; a: string }>(
          `SELECT
             (SELECT count(*) || ':' || coalesce(bit_xor(hash(table_id, hash, status, error, rows, columns, file_size_bytes, last_sync)), 0) FROM sync_state) AS s,
             (SELECT count(*) || ':' || coalesce(bit_xor(hash(id, name, folder, description, enabled, registered_at, updated_at)), 0) FROM table_registry) AS r,
             (SELECT count(*) || ':' || coalesce(bit_xor(hash(table_id, profiled_at)), 0) FROM table_profiles) AS p,
             (SELECT count(*) || ':' || coalesce(bit_xor(hash(table_id, missing_since)), 0) FROM table_source_status) AS m,
             (SELECT count(*) || ':' || coalesce(bit_xor(hash(table_id, origin, description, tags, columns, updated_at)), 0) FROM table_annotations) AS a`,
        ),
      );
      return `${row!.s}/${row!.r}/${row!.p}/${row!.m}/${row!.a}`;
    },

    /** The column names of every profiled table, by table id (to search the catalog by column). */
    async columnNames(): Promise<Map<string, string[]>> {
      const rows = await db.read((q) =>
        q.all<{ table_id: string; names: string[] | null }>(
          `SELECT table_id, json_extract_string(profile, '$.columns[*].name') AS names FROM table_profiles`,
        ),
      );
      return new Map(rows.map((r) => [String(r.table_id), (r.names ?? []).map(String)]));
    },

    /** The stored profile exactly as kept (the manifest's profile hash is over this text). */
    async profileText(tableId: string): Promise<string | undefined> {
      const row = await db.read((q) =>
        q.one(
          `SELECT p.profile::VARCHAR AS t, r.description, ${ANNOTATION_COLUMNS}
           FROM table_profiles p
           LEFT JOIN table_registry r ON r.id = p.table_id
           ${ANNOTATION_JOINS}
           WHERE p.table_id = ?`,
          [tableId],
        ),
      );
      if (!row) return undefined;
      const e = enrichmentOf(row);
      return saysAnything(e) ? annotateProfileText(String(row.t), e) : String(row.t);
    },
  };
}
