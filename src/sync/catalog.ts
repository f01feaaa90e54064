import type { AppDeps, AuthUser } from '../context.ts';
import type { CatalogTable, DataCatalogRepository } from '../repositories/data-catalog.ts';
import { datasetAccess, type DatasetAccess } from '../auth/datasets.ts';

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
 * Caches the joined table list behind one cheap fingerprint query, so a manifest or a
 * catalog request on 1,000 tables costs one aggregate instead of a three-table join.
 */
export function createTableCatalog(repo: DataCatalogRepository): TableCatalog {
  let cached: CatalogSnapshot | undefined;
  let loading: Promise<CatalogSnapshot> | undefined;
  return {
    async snapshot() {
      const version = await repo.fingerprint();
      if (cached?.version === version) return cached;
      if (!loading) {
        loading = repo
          .listTables()
          .then((tables) => {
            const snap = { version, tables, byId: new Map(tables.map((t) => [t.id, t])) };
            // A newer fingerprint may have been stored meanwhile; the last load wins either way.
            cached = snap;
            return snap;
          })
          .finally(() => (loading = undefined));
      }
      const snap = await loading;
      // Loaded under an older fingerprint than ours: read once more, so a change is never missed.
      return snap.version === version ? snap : this.snapshot();
    },
  };
}

/** True when the table has a file to serve (a first sync succeeded; a later failure keeps it). */
export function isServed(t: CatalogTable): boolean {
  return t.hash !== null;
}

/** The tables a caller may see, with the access decision used to pick them. */
export async function visibleTables(
  deps: AppDeps,
  catalog: TableCatalog,
  user: AuthUser,
): Promise<{ access: DatasetAccess; snapshot: CatalogSnapshot; tables: CatalogTable[] }> {
  const [access, snapshot] = await Promise.all([datasetAccess(deps, user), catalog.snapshot()]);
  return { access, snapshot, tables: snapshot.tables.filter((t) => access.canRead(t.dataset)) };
}
