import { existsSync } from 'node:fs';
import type { AuthUser } from '../context.ts';
import type { CatalogTable, DataCatalogRepository } from '../repositories/data-catalog.ts';
import type { ChangeCounter } from '../cache/change-counter.ts';
import { datasetAccess, type DatasetAccess, type DatasetRuleInputs } from '../auth/datasets.ts';
import { NotFoundError } from '../errors.ts';
import { parquetPath, parseTableId } from './paths.ts';

export type { CatalogTable };

/** The registered tables as of one state version. */
export interface CatalogSnapshot {
  /** Changes whenever sync state, registry or profiles change. */
  version: string;
  tables: CatalogTable[];
  byId: Map<string, CatalogTable>;
}

/** The table list, re-read only when the state's fingerprint moved. */
export interface TableCatalog {
  snapshot(): Promise<CatalogSnapshot>;
}

/**
 * Caches the joined table list. Writes through the repositories bump `changes`, so a
 * finished sync shows on the next request without asking the database; a cheap
 * fingerprint query at most every `recheckMs` also catches writes made any other way. That
 * recheck runs in the background: the request that finds the snapshot due answers from it
 * and does not wait for the query (a request that waits for a query needs another turn of
 * the event loop, and under download load a turn is long); the next one sees the result.
 */
export function createTableCatalog(
  repo: DataCatalogRepository,
  changes: ChangeCounter,
  { recheckMs = 1000 }: { recheckMs?: number } = {},
): TableCatalog {
  let cached: (CatalogSnapshot & { counter: number; checkedAt: number }) | undefined;
  let loading: Promise<CatalogSnapshot> | undefined;

  async function load(): Promise<CatalogSnapshot> {
    const counter = changes.value;
    const version = await repo.fingerprint();
    if (cached?.version === version) {
      cached.counter = counter;
      cached.checkedAt = performance.now();
      return cached;
    }
    const tables = await repo.listTables();
    cached = { version, tables, byId: new Map(tables.map((t) => [t.id, t])), counter, checkedAt: performance.now() };
    return cached;
  }

  return {
    async snapshot() {
      for (;;) {
        if (cached && cached.counter === changes.value) {
          if (performance.now() - cached.checkedAt >= recheckMs) void (loading ??= load().finally(() => (loading = undefined))).catch(() => {});
          return cached;
        }
        // One load at a time; a caller that started waiting after a newer write loads again.
        const counter = changes.value;
        loading ??= load().finally(() => (loading = undefined));
        const snap = await loading;
        if (cached && cached.counter >= counter) return snap;
      }
    },
  };
}

/** True when the table has a file to serve (a first sync succeeded; a later failure keeps it). */
export function isServed(t: CatalogTable): boolean {
  return t.hash !== null;
}

/** The tables a caller may see, with the access decision used to pick them. */
export async function visibleTables(
  access: AccessCache,
  catalog: TableCatalog,
  user: AuthUser,
): Promise<{ access: DatasetAccess; snapshot: CatalogSnapshot; tables: CatalogTable[] }> {
  const [rule, snapshot] = await Promise.all([access.forUser(user), catalog.snapshot()]);
  return { access: rule, snapshot, tables: snapshot.tables.filter((t) => rule.canRead(t.dataset)) };
}

/**
 * One table the caller may read, or NotFoundError: an unknown table and one the caller may
 * not read look alike (no existence leak).
 */
export async function readableTable(access: AccessCache, catalog: TableCatalog, user: AuthUser, id: string): Promise<CatalogTable> {
  const missing = new NotFoundError(`table ${id} not found`);
  if (!parseTableId(id)) throw missing;
  const [rule, snapshot] = await Promise.all([access.forUser(user), catalog.snapshot()]);
  const table = snapshot.byId.get(id);
  if (!table || !rule.canRead(table.dataset)) throw missing;
  return table;
}

/** `datasetAccess` per caller, reused until a grant changes (or `maxAgeMs` passes). */
export interface AccessCache {
  forUser(user: AuthUser): Promise<DatasetAccess>;
}

/**
 * Caches the dataset rule per user and role. Grants written through the permissions
 * repository bump `changes`, so a revocation applies to the very next request. An entry
 * older than `maxAgeMs` (what catches changes made any other way) is still used once while
 * it is read again in the background, so a request never waits for that refresh.
 */
export function createAccessCache(inputs: DatasetRuleInputs, changes: ChangeCounter, { maxAgeMs = 1000, maxEntries = 10_000 } = {}): AccessCache {
  const cache = new Map<string, { counter: number; at: number; access: DatasetAccess }>();
  const refreshing = new Map<string, { counter: number; loading: Promise<DatasetAccess> }>();
  const load = (key: string, user: AuthUser): Promise<DatasetAccess> => {
    const counter = changes.value;
    // Shared only with a read that started after the latest grant.
    let loading = refreshing.get(key)?.counter === counter ? refreshing.get(key)!.loading : undefined;
    if (!loading) {
      loading = datasetAccess(inputs, user)
        .then((access) => {
          if (cache.size >= maxEntries) cache.clear();
          // A grant written while this was read makes it stale: the next caller reads again.
          if (counter === changes.value) cache.set(key, { counter, at: performance.now(), access });
          return access;
        })
        .finally(() => {
          if (refreshing.get(key)?.loading === loading) refreshing.delete(key);
        });
      refreshing.set(key, { counter, loading });
    }
    return loading;
  };
  return {
    async forUser(user) {
      const key = `${user.id}:${user.role}`;
      const hit = cache.get(key);
      if (hit && hit.counter === changes.value) {
        if (performance.now() - hit.at >= maxAgeMs) void load(key, user).catch(() => {});
        return hit.access;
      }
      return load(key, user);
    },
  };
}

/** A table's Parquet file a user may read: what query and script sandboxes are given. */
export interface ReadableFile {
  dataset: string;
  name: string;
  path: string;
  /** Content hash: a new file may have new columns. */
  hash: string;
}

/**
 * The Parquet files of every table the user may read that has been served at least once
 * and whose file is in place. The query sandbox builds views over them; the script
 * sandbox mounts them read-only.
 */
export async function readableFiles(
  { access, catalog, dataDir }: { access: AccessCache; catalog: TableCatalog; dataDir: string },
  user: AuthUser,
): Promise<ReadableFile[]> {
  const { tables } = await visibleTables(access, catalog, user);
  const files: ReadableFile[] = [];
  for (const t of tables) {
    if (!isServed(t)) continue;
    const path = parquetPath(dataDir, t.dataset, t.name);
    if (existsSync(path)) files.push({ dataset: t.dataset, name: t.name, path, hash: t.hash! });
  }
  return files;
}
