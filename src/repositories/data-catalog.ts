/** A registered table joined with its sync state and the facts of its stored profile. */
export interface CatalogTable {
  id: string;
  dataset: string;
  name: string;
  description: string | null;
  enabled: boolean;
  /** Content hash of the file being served; null until a first successful sync. */
  hash: string | null;
  rows: number | null;
  columns: number | null;
  size_bytes: number | null;
  last_sync: string | null;
  /** `ok`, `error` (the last good file, if any, is still served) or `pending` (never synced). */
  status: string;
  error: string | null;
  /** sha256 (hex) of the stored profile text (profileText): clients tell a changed profile by it. */
  profile_hash: string | null;
  /** Bytes of the stored profile text. */
  profile_size: number | null;
  profiled_at: string | null;
  /** When the source stopped offering the table (its last file is still served); null while it does. */
  missing_since: string | null;
}

/** Read-only queries the data plane (manifest, downloads, catalog, query scope) needs. */
export interface DataCatalogRepository {
  /** Every registered table with its sync state and profile facts, by id. */
  listTables(): Promise<CatalogTable[]>;
  /**
   * A value that changes whenever anything listTables returns changes (a sync, a failure,
   * a registration, a profile), also when written by another process. One cheap query, so
   * caches can check it per request.
   */
  fingerprint(): Promise<string>;
  /** The column names of every profiled table, by table id (to search the catalog by column). */
  columnNames(): Promise<Map<string, string[]>>;
  /** The stored profile exactly as kept (the manifest's profile hash is over this text). */
  profileText(tableId: string): Promise<string | undefined>;
}
