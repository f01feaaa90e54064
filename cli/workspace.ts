import { join, resolve } from 'node:path';

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
