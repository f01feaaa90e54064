import { countingWrites, createChangeCounter, type ChangeCounter } from '../cache/change-counter.ts';
import { ACCESS_REQUESTS_METHODS, type AccessRequestsRepository } from './access-requests.ts';
import type { AuditRepository } from './audit.ts';
import type { DataCatalogRepository } from './data-catalog.ts';
import type { HealthChecksRepository } from './health-checks.ts';
import type { JiraEventsRepository } from './jira-events.ts';
import type { JobRunsRepository } from './job-runs.ts';
import type { MemoryRepository } from './memory.ts';
import type { MetricsRepository } from './metrics.ts';
import type { NotificationsRepository } from './notifications.ts';
import { PERMISSIONS_METHODS, type PermissionsRepository } from './permissions.ts';
import { PROFILES_METHODS, type ProfilesRepository } from './profiles.ts';
import type { ScriptsRepository } from './scripts.ts';
import { SYNC_STATE_METHODS, type SyncStateRepository } from './sync-state.ts';
import type { SystemSnapshotsRepository } from './system-snapshots.ts';
import type { TablePartsRepository } from './table-parts.ts';
import { TABLE_REGISTRY_METHODS, type TableRegistryRepository } from './table-registry.ts';
import { TABLE_ANNOTATIONS_METHODS, type TableAnnotationsRepository } from './table-annotations.ts';
import type { TokensRepository } from './tokens.ts';
import type { UsersRepository } from './users.ts';

/**
 * Every repository over one state store: what the rest of the server is given. Each is an
 * interface (src/repositories/<aggregate>.ts); the DuckDB implementation is in
 * src/repositories/duckdb/, chosen by the composition root (src/boot.ts).
 */
export interface Repositories {
  /**
   * Bumped by every write to what the data plane caches: `data` by the table registry,
   * sync state and profiles (the table catalog), `permissions` by dataset grants and sync
   * settings and approved access requests (the access cache and the per-user sync selections).
   */
  changes: { data: ChangeCounter; permissions: ChangeCounter };
  users: UsersRepository;
  tokens: TokensRepository;
  permissions: PermissionsRepository;
  accessRequests: AccessRequestsRepository;
  audit: AuditRepository;
  syncState: SyncStateRepository;
  tableRegistry: TableRegistryRepository;
  profiles: ProfilesRepository;
  memory: MemoryRepository;
  scripts: ScriptsRepository;
  jobRuns: JobRunsRepository;
  notifications: NotificationsRepository;
  dataCatalog: DataCatalogRepository;
  systemSnapshots: SystemSnapshotsRepository;
  metrics: MetricsRepository;
  healthChecks: HealthChecksRepository;
  jiraEvents: JiraEventsRepository;
  /** Base and delta part files of tables synced by delta (written before the sync state, which bumps `data`). */
  tableParts: TablePartsRepository;
  /** Admin and OpenMetadata descriptions and tags; writes bump `changes.data`. */
  tableAnnotations: TableAnnotationsRepository;
}

/** One store's repositories as its implementation builds them, before change counting. */
export type StoreRepositories = Omit<Repositories, 'changes'>;

/**
 * The repositories with the change counters attached: each method that the aggregate's
 * `*_METHODS` record marks `changes` bumps its counter. Independent of the store, so every
 * implementation invalidates the caches the same way.
 */
export function withChangeCounters(repos: StoreRepositories): Repositories {
  const data = createChangeCounter();
  const permissions = createChangeCounter();
  return {
    ...repos,
    changes: { data, permissions },
    permissions: countingWrites(repos.permissions, PERMISSIONS_METHODS, permissions),
    accessRequests: countingWrites(repos.accessRequests, ACCESS_REQUESTS_METHODS, permissions),
    syncState: countingWrites(repos.syncState, SYNC_STATE_METHODS, data),
    tableRegistry: countingWrites(repos.tableRegistry, TABLE_REGISTRY_METHODS, data),
    profiles: countingWrites(repos.profiles, PROFILES_METHODS, data),
    tableAnnotations: countingWrites(repos.tableAnnotations, TABLE_ANNOTATIONS_METHODS, data),
  };
}
