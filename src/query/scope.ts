import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppDeps, AuthUser } from '../context.ts';
import { seesAllDatasets } from '../auth/roles.ts';
import type { SystemSnapshotsRepository } from '../repositories/system-snapshots.ts';
import { isServed, visibleTables, type AccessCache, type TableCatalog } from '../sync/catalog.ts';
import { parquetPath } from '../sync/paths.ts';
import type { SandboxSpec } from './sandbox.ts';

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

/**
 * What the caller's sandbox holds: a view for every table they may read that has a file,
 * and for admins the `state.*` snapshots.
 */
export async function querySpecFor(
  deps: AppDeps,
  plane: { access: AccessCache; catalog: TableCatalog; snapshots: SystemSnapshots },
  user: AuthUser,
): Promise<SandboxSpec> {
  const { tables } = await visibleTables(plane.access, plane.catalog, user);
  const spec: SandboxSpec = { tables: [] };
  for (const t of tables) {
    if (!isServed(t)) continue;
    const path = parquetPath(deps.config.dataDir, t.dataset, t.name);
    if (existsSync(path)) spec.tables.push({ dataset: t.dataset, name: t.name, path, hash: t.hash! });
  }
  if (seesAllDatasets(user.role)) spec.state = await plane.snapshots.fresh();
  return spec;
}
