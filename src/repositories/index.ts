import type { SystemDb } from '../db/system.ts';
import { createAuditRepository } from './audit.ts';
import { createDataCatalogRepository } from './data-catalog.ts';
import { createSystemSnapshotsRepository } from './system-snapshots.ts';
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
  return {
    users: createUsersRepository(db),
    tokens: createTokensRepository(db),
    permissions: createPermissionsRepository(db),
    audit: createAuditRepository(db),
    syncState: createSyncStateRepository(db),
    tableRegistry: createTableRegistryRepository(db),
    profiles: createProfilesRepository(db),
    knowledge: createKnowledgeRepository(db),
    scripts: createScriptsRepository(db),
    notifications: createNotificationsRepository(db),
    dataCatalog: createDataCatalogRepository(db),
    systemSnapshots: createSystemSnapshotsRepository(db),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
