import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sha256File } from './download.ts';
import { CliError } from './errors.ts';
import { openLocalDb, tableSelect } from './local-db.ts';
import { readSyncState, type LocalSyncState, type LocalTable } from './sync-state.ts';
import { localParquetPath, localTableFiles, viewTableOf, type WorkspacePaths } from './workspace.ts';

/** One column as `da explore` and the MCP `describe_table` show it. */
export interface ColumnInfo {
  name: string;
  type: string;
  null_pct: number | null;
  distinct_count: number | null;
  min: unknown;
  max: unknown;
  mean: number | null;
  /** What the server's catalog says the column holds (admin or OpenMetadata); null when nothing. */
  description?: string | null;
}

/** A table described: what `da explore --json` prints and `describe_table` answers. */
export interface ExploreResult {
  id: string;
  dataset: string;
  name: string;
  source: 'local' | 'remote';
  description: string | null;
  /** The catalog's tags (from the synced profile or the server). */
  tags: string[];
  rows: number | null;
  columns: ColumnInfo[];
  profile: Record<string, unknown> | null;
  sample: Record<string, unknown>[];
}

/**
 * What a synced table's file is on disk: `synced` (as recorded), `missing`, `damaged` (wrong
 * size, or with `verify` a wrong sha256) or `unverified` (same size but changed since the
 * sync; `verify` settles it).
 */
export type FileHealth = 'synced' | 'missing' | 'damaged' | 'unverified';

/**
 * Checks one table's files (its file, and the delta parts its views merge over it): size and
 * mtime against the state, or their sha256 with `verify`. `missing` when the file is gone;
 * a part that is gone or wrong makes the table `damaged` (its views cannot read it right).
 */
export async function fileHealth(ws: WorkspacePaths, t: LocalTable, verify: boolean): Promise<{ health: FileHealth; bytes: number }> {
  let bytes = 0;
  let health: FileHealth = 'synced';
  for (const [i, f] of localTableFiles(ws, t).entries()) {
    let st;
    try {
      st = statSync(f.path);
    } catch {
      if (i === 0) return { health: 'missing', bytes: 0 };
      health = 'damaged';
      continue;
    }
    bytes += st.size;
    if (health === 'damaged') continue;
    // A file merged from delta parts, or the base under kept parts, has its own hash (file_hash); one downloaded whole has the manifest's.
    if (st.size !== f.size) health = 'damaged';
    else if (verify) health = (await sha256File(f.path)) === f.hash ? health : 'damaged';
    else if (st.mtimeMs !== f.mtime) health = 'unverified';
  }
  return { health, bytes };
}

export const num = (v: unknown) => (v === null || v === undefined || v === '' ? null : Number(v));

/** The sync state of a workspace and its tables whose Parquet file is on disk, by id. */
export function syncedTables(configDir: string, ws: WorkspacePaths): { state: LocalSyncState; tables: [string, LocalTable][] } {
  const state = readSyncState(configDir, ws.root);
  const tables = Object.entries(state.tables)
    .filter(([, t]) => existsSync(localParquetPath(ws, t.dataset, t.name)))
    .sort(([a], [b]) => a.localeCompare(b));
  return { state, tables };
}

/**
 * The one synced table that `table` names (`dataset.table`, or a table name that is unique).
 * Fails with the list of available tables (`available` in the error's details).
 */
export function findSyncedTable(configDir: string, ws: WorkspacePaths, table: string): [string, LocalTable] {
  const { tables } = syncedTables(configDir, ws);
  const match = tables.filter(([id, t]) => id === table || t.name === table);
  if (match.length === 1) return match[0]!;
  const available = tables.map(([id]) => id);
  const why = match.length > 1 ? `${table} is ambiguous (${match.map(([id]) => id).join(', ')}); use dataset.table` : `no synced table ${table}`;
  throw new CliError(`${why}; available: ${available.join(', ') || 'none (run da sync)'}`, 1, { available });
}

/** The profile `da sync` saved for a table (`./server/profiles/<id>.json`), or null. */
export function readProfile(ws: WorkspacePaths, id: string): Record<string, unknown> | null {
  const path = join(ws.profilesDir, `${id}.json`);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Describes a synced table from its local Parquet file (and delta parts): columns and types (from the saved
 * profile, else DuckDB's SUMMARIZE), the row count, the profile and `sampleRows` sample rows.
 * Works offline. The file path comes from the sync state, never from the caller.
 */
export async function describeLocalTable(configDir: string, ws: WorkspacePaths, table: string, sampleRows = 5): Promise<ExploreResult> {
  const [id, t] = findSyncedTable(configDir, ws, table);
  const profile = readProfile(ws, id);
  const db = await openLocalDb(':memory:');
  try {
    // A delta table is read as its views read it: the file merged with its parts.
    const file = `(${tableSelect(viewTableOf(ws, t))})`;
    const sample = (await db.conn.runAndReadAll(`SELECT * FROM ${file} LIMIT ${Math.max(0, Math.floor(sampleRows))}`)).getRowObjectsJson() as Record<string, unknown>[];
    let columns: ColumnInfo[];
    const profCols = profile?.columns as Record<string, unknown>[] | undefined;
    if (profCols?.length) {
      columns = profCols.map((c) => ({
        name: String(c.name), type: String(c.type), null_pct: num(c.null_pct), distinct_count: num(c.distinct_count),
        min: c.min ?? null, max: c.max ?? null, mean: num(c.mean), description: (c.description as string | null | undefined) ?? null,
      }));
    } else {
      const rows = (await db.conn.runAndReadAll(`SUMMARIZE SELECT * FROM ${file}`)).getRowObjectsJson() as Record<string, unknown>[];
      columns = rows.map((r) => ({
        name: String(r.column_name), type: String(r.column_type), null_pct: num(r.null_percentage), distinct_count: num(r.approx_unique),
        min: r.min ?? null, max: r.max ?? null, mean: num(r.avg),
      }));
    }
    const rowCount = num((await db.conn.runAndReadAll(`SELECT count(*) AS n FROM ${file}`)).getRowObjectsJson()[0]!.n);
    const tags = Array.isArray(profile?.tags) ? (profile.tags as unknown[]).map(String) : [];
    return { id, dataset: t.dataset, name: t.name, source: 'local', description: (profile?.description as string) ?? null, tags, rows: rowCount, columns, profile, sample };
  } finally {
    db.close();
  }
}
