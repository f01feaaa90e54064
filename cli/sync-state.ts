import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from './config.ts';
import type { LocalChain } from './delta.ts';

/** What `da sync` remembers about one workspace, in `$DA_CONFIG_DIR/sync-state/<id>.json`. */
export interface LocalSyncState {
  version: 1;
  workspace: string;
  server: string | null;
  user: string | null;
  manifest_etag: string | null;
  /** When a sync last finished without errors. */
  last_sync: string | null;
  tables: Record<string, LocalTable>;
  assets: Record<string, { hash: string; size_bytes: number | null }>;
  uploads: Record<string, { size: number; mtime_ms: number; uploaded_at: string }>;
  /** Signature of the table set the local views were last built for. */
  views_signature: string | null;
  /** Tables the last manifest listed as remote (queried on the server, never downloaded). */
  remote_tables?: string[];
  /** The local database file as the views were last built or checked in it (a no-op sync trusts an unchanged file). */
  views_db?: DbStamp | null;
}

/** Size and mtime of a DuckDB file; null when it has a WAL beside it (changes not yet in the file). */
export interface DbStamp {
  size: number;
  mtime_ms: number;
}

/** A synced table as recorded locally. */
export interface LocalTable {
  dataset: string;
  name: string;
  hash: string;
  size_bytes: number;
  rows: number | null;
  columns: number | null;
  updated_at: string | null;
  synced_at: string;
  /** stat of the file when it was verified, to notice a change without hashing. */
  file_mtime_ms: number;
  /** sha256 of the local file when it is not the server's file byte for byte (built by merging deltas). */
  file_hash?: string;
  /** Delta sync: the server parts the local data equals (cli/delta.ts). */
  chain?: LocalChain;
  /**
   * Delta sync: the delta part files kept beside the file (`./server/parts/<dataset>/<table>/<seq>.parquet`)
   * that the views merge with it on `primary_key`. With them, `file_hash`, `size_bytes` and
   * `file_mtime_ms` describe the base file alone.
   */
  delta_parts?: { primary_key: string[]; parts: LocalPart[] };
}

/** One delta part file kept locally: its server sequence number and hash, and its stat when written. */
export interface LocalPart {
  seq: number;
  hash: string;
  size_bytes: number;
  mtime_ms: number;
}

/** The state file of a workspace (one per absolute workspace path). */
export function syncStatePath(configDir: string, workspace: string): string {
  const id = new Bun.CryptoHasher('sha256').update(workspace).digest('hex').slice(0, 16);
  return join(configDir, 'sync-state', `${id}.json`);
}

/** An empty state for a workspace. */
export function emptyState(workspace: string): LocalSyncState {
  return { version: 1, workspace, server: null, user: null, manifest_etag: null, last_sync: null, tables: {}, assets: {}, uploads: {}, views_signature: null };
}

/** Reads the state of a workspace; a missing or unreadable file is an empty state. */
export function readSyncState(configDir: string, workspace: string): LocalSyncState {
  try {
    const s = JSON.parse(readFileSync(syncStatePath(configDir, workspace), 'utf8')) as LocalSyncState;
    if (s.version === 1 && s.workspace === workspace) return { ...emptyState(workspace), ...s };
  } catch {
    // start afresh: files on disk are re-verified against the manifest
  }
  return emptyState(workspace);
}

/** The text of a state file: compact (with 1,000 tables it is ~250 KB, read and written by every sync). */
export function serializeSyncState(state: LocalSyncState): string {
  return JSON.stringify(state);
}

/** Saves the state atomically (`text`: its serializeSyncState, when the caller has it). */
export function writeSyncState(configDir: string, state: LocalSyncState, text = serializeSyncState(state)): void {
  writeJsonAtomic(syncStatePath(configDir, state.workspace), text, 0o644, { raw: true });
}

/** The stamp of the database at `db`, or null when it is missing or has a WAL. */
export function dbFileStamp(db: string): DbStamp | null {
  try {
    if (existsSync(`${db}.wal`)) return null;
    const st = statSync(db);
    return { size: st.size, mtime_ms: st.mtimeMs };
  } catch {
    return null;
  }
}

/** Whether two stamps say the file is unchanged. */
export function sameStamp(a: DbStamp | null, b: DbStamp | null | undefined): boolean {
  return Boolean(a && b && a.size === b.size && a.mtime_ms === b.mtime_ms);
}
