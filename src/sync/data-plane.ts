import type { AppDeps } from '../context.ts';
import { createQueryPool, type QueryPool } from '../query/pool.ts';
import { createSystemSnapshots, snapshotDir, type SystemSnapshots } from '../query/scope.ts';
import { createDocsIndex, type DocsIndex } from './assets.ts';
import { createAccessCache, createTableCatalog, type AccessCache, type TableCatalog } from './catalog.ts';
import { createManifestService, type ManifestService } from './manifest.ts';

/** The serving side of the data: table catalog, documents, manifests, the query pool. */
export interface DataPlane {
  /** Who may read which dataset, cached until a grant changes. */
  access: AccessCache;
  catalog: TableCatalog;
  docs: DocsIndex;
  manifest: ManifestService;
  queryPool: QueryPool;
  snapshots: SystemSnapshots;
}

/**
 * The data plane of this server, created on first use and kept on `deps.services`
 * (one per AppDeps, so test servers never share caches or sandboxes).
 */
export function dataPlaneOf(deps: AppDeps): DataPlane {
  if (deps.services.dataPlane) return deps.services.dataPlane;
  const catalog = createTableCatalog(deps.repos.dataCatalog, deps.repos.changes.data);
  const access = createAccessCache(deps, deps.repos.changes.permissions);
  const docs = createDocsIndex(deps.config.dataDir);
  const plane: DataPlane = {
    access,
    catalog,
    docs,
    manifest: createManifestService(access, catalog, docs),
    queryPool: createQueryPool({
      dataDir: deps.config.dataDir,
      memoryLimit: deps.config.query.memory_limit,
      threads: deps.config.query.threads,
      minWorkers: deps.config.query.min_workers,
      maxWorkers: deps.config.query.max_workers,
      perUser: deps.config.query.per_user,
      workerMemoryMb: deps.config.query.worker_memory_mb,
      queueMs: deps.config.query.queue_timeout_ms,
      logger: deps.logger,
    }),
    snapshots: createSystemSnapshots(deps.repos.systemSnapshots, snapshotDir(deps.config.dataDir)),
  };
  deps.services.dataPlane = plane;
  return plane;
}
