import type { SystemDb } from '../db/system.ts';
import { createAuditRepository } from './audit.ts';
import { createDataCatalogRepository } from './data-catalog.ts';
import { countingWrites, createChangeCounter } from '../cache/change-counter.ts';
import { createSystemSnapshotsRepository } from './system-snapshots.ts';
import { createJobRunsRepository } from './job-runs.ts';
import { createKnowledgeRepository } from './knowledge.ts';
import { createNotificationsRepository } from './notifications.ts';
import { createPermissionsRepository } from './permissions.ts';
import { createProfilesRepository } from './profiles.ts';
import { createScriptsRepository } from './scripts.ts';
import { createSyncStateRepository } from './sync-state.ts';
import { createTableRegistryRepository } from './table-registry.ts';
import { createTokensRepository } from './tokens.ts';
import { createUsersRepository } from './users.ts';

/** Every repository over one state database. */
export function createRepositories(db: SystemDb) {
  // Bumped by every write to what the data plane caches (tables, profiles, grants).
  const dataChanges = createChangeCounter();
  const permissionChanges = createChangeCounter();
  return {
    changes: { data: dataChanges, permissions: permissionChanges },
    users: createUsersRepository(db),
    tokens: createTokensRepository(db),
    permissions: countingWrites(createPermissionsRepository(db), ['set', 'remove'], permissionChanges),
    audit: createAuditRepository(db),
    syncState: countingWrites(createSyncStateRepository(db), ['recordSuccess', 'recordFailure', 'remove'], dataChanges),
    tableRegistry: countingWrites(createTableRegistryRepository(db), ['insert', 'update', 'remove'], dataChanges),
    profiles: countingWrites(createProfilesRepository(db), ['put', 'remove'], dataChanges),
    knowledge: createKnowledgeRepository(db),
    scripts: createScriptsRepository(db),
    jobRuns: createJobRunsRepository(db),
    notifications: createNotificationsRepository(db),
    dataCatalog: createDataCatalogRepository(db),
    systemSnapshots: createSystemSnapshotsRepository(db),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
