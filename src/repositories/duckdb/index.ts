import type { SystemDb } from '../../db/system.ts';
import { withChangeCounters, type Repositories, type StoreRepositories } from '../index.ts';
import { createDuckDbAccessRequestsRepository } from './access-requests.ts';
import { createDuckDbAuditRepository } from './audit.ts';
import { createDuckDbDataCatalogRepository } from './data-catalog.ts';
import { createDuckDbHealthChecksRepository } from './health-checks.ts';
import { createDuckDbJiraEventsRepository } from './jira-events.ts';
import { createDuckDbJobRunsRepository } from './job-runs.ts';
import { createDuckDbMemoryRepository } from './memory.ts';
import { createDuckDbMetricsRepository } from './metrics.ts';
import { createDuckDbNotificationsRepository } from './notifications.ts';
import { createDuckDbPermissionsRepository } from './permissions.ts';
import { createDuckDbProfilesRepository } from './profiles.ts';
import { createDuckDbScriptsRepository } from './scripts.ts';
import { createDuckDbSyncStateRepository } from './sync-state.ts';
import { createDuckDbSystemSnapshotsRepository } from './system-snapshots.ts';
import { createDuckDbTableRegistryRepository } from './table-registry.ts';
import { createDuckDbTablePartsRepository } from './table-parts.ts';
import { createDuckDbTableAnnotationsRepository } from './table-annotations.ts';
import { createDuckDbTokensRepository } from './tokens.ts';
import { createDuckDbUsersRepository } from './users.ts';

/** Every repository's DuckDB implementation over one state database, without change counting. */
export function createDuckDbStoreRepositories(db: SystemDb): StoreRepositories {
  return {
    users: createDuckDbUsersRepository(db),
    tokens: createDuckDbTokensRepository(db),
    permissions: createDuckDbPermissionsRepository(db),
    accessRequests: createDuckDbAccessRequestsRepository(db),
    audit: createDuckDbAuditRepository(db),
    syncState: createDuckDbSyncStateRepository(db),
    tableRegistry: createDuckDbTableRegistryRepository(db),
    profiles: createDuckDbProfilesRepository(db),
    memory: createDuckDbMemoryRepository(db),
    scripts: createDuckDbScriptsRepository(db),
    jobRuns: createDuckDbJobRunsRepository(db),
    notifications: createDuckDbNotificationsRepository(db),
    dataCatalog: createDuckDbDataCatalogRepository(db),
    systemSnapshots: createDuckDbSystemSnapshotsRepository(db),
    metrics: createDuckDbMetricsRepository(db),
    healthChecks: createDuckDbHealthChecksRepository(db),
    jiraEvents: createDuckDbJiraEventsRepository(db),
    tableParts: createDuckDbTablePartsRepository(db),
    tableAnnotations: createDuckDbTableAnnotationsRepository(db),
  };
}

/** Every repository over one DuckDB state database (system.duckdb), with change counting. */
export function createDuckDbRepositories(db: SystemDb): Repositories {
  return withChangeCounters(createDuckDbStoreRepositories(db));
}
