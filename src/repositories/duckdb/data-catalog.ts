import type { SystemDb } from '../../db/system.ts';
import { toIso, toNumber } from '../../db/connection.ts';
import type { CatalogTable, DataCatalogRepository } from '../data-catalog.ts';

/** The data plane's read-only queries over DuckDB: one join, one aggregate fingerprint. */
export function createDuckDbDataCatalogRepository(db: SystemDb): DataCatalogRepository {
  return {
    /** Every registered table with its sync state and profile facts, by id. */
    async listTables(): Promise<CatalogTable[]> {
      const rows = await db.read((q) =>
        q.all(
          `SELECT r.id, r.folder AS dataset, r.name, r.description, r.enabled,
                  s.hash, s.rows, s.columns, s.file_size_bytes, s.last_sync, coalesce(s.status, 'pending') AS status, s.error,
                  sha256(p.profile::VARCHAR) AS profile_hash, octet_length(encode(p.profile::VARCHAR)) AS profile_size, p.profiled_at, m.missing_since
           FROM table_registry r
           LEFT JOIN sync_state s ON s.table_id = r.id
           LEFT JOIN table_profiles p ON p.table_id = r.id
           LEFT JOIN table_source_status m ON m.table_id = r.id
           ORDER BY r.id`,
        ),
      );
      return rows.map((r) => ({
        id: String(r.id),
        dataset: String(r.dataset),
        name: String(r.name),
        description: (r.description as string | null) ?? null,
        enabled: Boolean(r.enabled),
        hash: (r.hash as string | null) ?? null,
        rows: toNumber(r.rows),
        columns: toNumber(r.columns),
        size_bytes: toNumber(r.file_size_bytes),
        last_sync: toIso(r.last_sync),
        status: String(r.status),
        error: (r.error as string | null) ?? null,
        profile_hash: (r.profile_hash as string | null) ?? null,
        profile_size: toNumber(r.profile_size),
        profiled_at: toIso(r.profiled_at),
        missing_since: toIso(r.missing_since),
      }));
    },

    /**
     * A value that changes whenever anything listTables returns changes (a sync, a failure,
     * a registration, a profile). One cheap aggregate, so caches can check it per request.
     */
    async fingerprint(): Promise<string> {
      const row = await db.read((q) =>
        q.one<{ s: string; r: string; p: string; m: string }>(
          `SELECT
             (SELECT count(*) || ':' || coalesce(bit_xor(hash(table_id, hash, status, error, rows, columns, file_size_bytes, last_sync)), 0) FROM sync_state) AS s,
             (SELECT count(*) || ':' || coalesce(bit_xor(hash(id, name, folder, description, enabled, registered_at, updated_at)), 0) FROM table_registry) AS r,
             (SELECT count(*) || ':' || coalesce(bit_xor(hash(table_id, profiled_at)), 0) FROM table_profiles) AS p,
             (SELECT count(*) || ':' || coalesce(bit_xor(hash(table_id, missing_since)), 0) FROM table_source_status) AS m`,
        ),
      );
      return `${row!.s}/${row!.r}/${row!.p}/${row!.m}`;
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
        q.one<{ t: string }>(`SELECT profile::VARCHAR AS t FROM table_profiles WHERE table_id = ?`, [tableId]),
      );
      return row?.t;
    },
  };
}
