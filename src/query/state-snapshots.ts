import { join } from 'node:path';
import type { SystemSnapshotsRepository } from '../repositories/system-snapshots.ts';

/** Secret-free Parquet copies of the state tables, refreshed when older than `maxAgeMs`. */
export interface SystemSnapshots {
  fresh(): Promise<Array<{ name: string; path: string }>>;
}

/** Where the admin sandbox's state snapshots live. */
export function snapshotDir(dataDir: string): string {
  return join(dataDir, 'state', 'snapshots');
}

/**
 * Another DuckDB instance cannot open system.duckdb while the server holds it, so admins
 * query copies: exported through the state's read connection, at most every `maxAgeMs`,
 * one export at a time.
 */
export function createSystemSnapshots(repo: SystemSnapshotsRepository, dir: string, { maxAgeMs = 5000 } = {}): SystemSnapshots {
  let last: { at: number; files: Array<{ name: string; path: string }> } | undefined;
  let running: Promise<Array<{ name: string; path: string }>> | undefined;
  return {
    async fresh() {
      if (last && performance.now() - last.at < maxAgeMs) return last.files;
      running ??= repo
        .exportSafe(dir)
        .then((written) => {
          const files = written.map(({ name, path }) => ({ name, path }));
          last = { at: performance.now(), files };
          return files;
        })
        .finally(() => (running = undefined));
      return running;
    },
  };
}
