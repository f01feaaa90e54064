import type { DescriptionOrigin } from '../catalog/annotations.ts';

/** A registered table joined with its sync state and the facts of its stored profile. */
export interface CatalogTable {
  id: string;
  dataset: string;
  name: string;
  /** Merged: an admin's edit, else OpenMetadata's, else the source's. */
  description: string | null;
  description_origin: DescriptionOrigin | null;
  /** Merged like the description (an admin's list replaces OpenMetadata's). */
  tags: string[];
  /** Column name → description, merged column by column. */
  column_descriptions: Record<string, string>;
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
  /** sha256 (hex) of the profile text (profileText): clients tell a changed profile by it. */
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
  /**
   * The stored profile, with the merged descriptions and tags added when there are any (the
   * manifest's profile hash is over this text).
   */
  profileText(tableId: string): Promise<string | undefined>;
}
