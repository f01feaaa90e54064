import { existsSync, readFileSync } from 'node:fs';

import { openLocalDb, tablesOnDisk, viewProblems, viewsRootFile, writeViews, type ViewTable } from './local-db.ts';
import { readSyncState, writeSyncState } from './sync-state.ts';
import { viewTableOf, type WorkspacePaths } from './workspace.ts';

/**
 * Makes the views of a workspace point at its own files before a command reads them. The
 * views hold absolute paths (DuckDB resolves relative ones against the process's working
 * directory, not the database), so a workspace folder that was moved or copied still reads
 * the old place, or nothing. Cheap when nothing moved: one small file says which folder the
 * views were built for. Otherwise the views are checked and, when wrong, rebuilt over the
 * Parquet files in this folder; the sync state of the old folder is carried over so
 * `da explore`, `da status` and the next `da sync` know the tables. Returns what was repaired.
 */
export async function ensureViewsHere(configDir: string, ws: WorkspacePaths): Promise<string[]> {
  if (!existsSync(ws.db)) return [];
  let builtFor: string | undefined;
  try {
    builtFor = readFileSync(viewsRootFile(ws.db), 'utf8').trim();
  } catch {
    builtFor = undefined;
  }
  if (builtFor === ws.root) return [];

  // Loaded only for a repair: every command that reads the workspace comes through here, and
  // the sync module (with the manifest's zod schema) is the largest part of the CLI.
  const { acquireLock, markViewsRoot } = await import('./workspace-sync.ts');
  let release: () => void;
  try {
    release = acquireLock(ws);
  } catch {
    return []; // a da sync is running here (it rebuilds the views itself), or the folder is read-only
  }
  try {
    let state = readSyncState(configDir, ws.root);
    if (!Object.keys(state.tables).length && builtFor) {
      // The state of the folder this one was moved (or copied) from, with this folder's name.
      const old = readSyncState(configDir, builtFor);
      if (Object.keys(old.tables).length) {
        state = { ...old, workspace: ws.root, views_signature: null };
        writeSyncState(configDir, state);
      }
    }
    const recorded: ViewTable[] = Object.values(state.tables)
      .map((t) => viewTableOf(ws, t))
      .filter((t) => existsSync(t.path))
      .sort((a, b) => a.path.localeCompare(b.path));
    const tables = recorded.length ? recorded : tablesOnDisk(ws.parquetDir);

    let problems: string[];
    try {
      const db = await openLocalDb(ws.db, { readOnly: true });
      try {
        problems = await viewProblems(db.conn, tables);
      } finally {
        db.close();
      }
    } catch {
      return []; // a damaged or busy database: da sync and da diagnose deal with it
    }
    if (problems.length) await writeViews(ws.db, tables);
    markViewsRoot(ws);
    return problems;
  } finally {
    release();
  }
}

