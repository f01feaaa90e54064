import { join, resolve } from 'node:path';
import type { ViewTable } from './local-db.ts';
import type { LocalTable } from './sync-state.ts';

/** The folders of an analyst workspace (the directory `da` runs in). */
export function workspacePaths(cwd: string) {
  const root = resolve(cwd);
  return {
    root,
    /** Everything `da sync` downloads lives under here (da owns it). */
    serverDir: join(root, 'server'),
    parquetDir: join(root, 'server', 'parquet'),
    profilesDir: join(root, 'server', 'profiles'),
    userDir: join(root, 'user'),
    db: join(root, 'user', 'duckdb', 'analytics.duckdb'),
    sessions: join(root, 'user', 'sessions'),
    artifacts: join(root, 'user', 'artifacts'),
    localMd: join(root, 'CLAUDE.local.md'),
    lock: join(root, 'user', '.da-sync.lock'),
  };
}

export type WorkspacePaths = ReturnType<typeof workspacePaths>;

/** Local path of a synced table's Parquet file. */
export function localParquetPath(ws: WorkspacePaths, dataset: string, name: string): string {
  return join(ws.parquetDir, dataset, `${name}.parquet`);
}

/** Where the delta part files of a table are kept: `./server/parts/<dataset>/<table>/`. */
export function localPartsDir(ws: WorkspacePaths, dataset: string, name: string): string {
  return join(ws.serverDir, 'parts', dataset, name);
}

/** Local path of delta part `seq` of a table. */
export function localPartPath(ws: WorkspacePaths, dataset: string, name: string, seq: number): string {
  return join(localPartsDir(ws, dataset, name), `${seq}.parquet`);
}

/** A synced table as its views read it: the file, and the delta parts merged over it (if any). */
export function viewTableOf(ws: WorkspacePaths, t: Pick<LocalTable, 'dataset' | 'name' | 'delta_parts' | 'size_bytes'>): ViewTable {
  const path = localParquetPath(ws, t.dataset, t.name);
  const d = t.delta_parts;
  if (!d?.parts.length) return { dataset: t.dataset, name: t.name, path };
  const paths = d.parts.map((p) => localPartPath(ws, t.dataset, t.name, p.seq));
  return { dataset: t.dataset, name: t.name, path, deltas: { primary_key: d.primary_key, paths, base_size: t.size_bytes } };
}

/** Every file of a synced table with what the state recorded of it: the file first, then its parts. */
export function localTableFiles(ws: WorkspacePaths, t: LocalTable): { path: string; size: number; mtime: number; hash: string }[] {
  const base = { path: localParquetPath(ws, t.dataset, t.name), size: t.size_bytes, mtime: t.file_mtime_ms, hash: t.file_hash ?? t.hash };
  return [base, ...(t.delta_parts?.parts ?? []).map((p) => ({ path: localPartPath(ws, t.dataset, t.name, p.seq), size: p.size_bytes, mtime: p.mtime_ms, hash: p.hash }))];
}
