import type { AppDeps, AuthUser } from '../context.ts';
import { seesAllDatasets } from './roles.ts';

/** Which datasets a caller may read: decided once per request, asked per table. */
export interface DatasetAccess {
  canRead(dataset: string): boolean;
}

/**
 * The single rule for dataset visibility. Admins and above read everything. Everyone else
 * reads public datasets and datasets granted `read`, except those explicitly set to `none`.
 * Manifest, downloads, catalog, profiles and queries all ask this.
 */
export async function datasetAccess(deps: AppDeps, user: AuthUser): Promise<DatasetAccess> {
  if (seesAllDatasets(user.role)) return { canRead: () => true };
  const [granted, denied] = await Promise.all([
    deps.repos.permissions.readableDatasets(user.id),
    deps.repos.permissions.deniedDatasets(user.id),
  ]);
  const sources = deps.config.sources;
  return {
    canRead(dataset) {
      if (denied.has(dataset)) return false;
      return granted.has(dataset) || sources[dataset]?.public === true;
    },
  };
}
