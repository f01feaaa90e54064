import { readFileSync } from 'node:fs';
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

/** Saves the state atomically. */
export function writeSyncState(configDir: string, state: LocalSyncState): void {
  writeJsonAtomic(syncStatePath(configDir, state.workspace), state);
}
