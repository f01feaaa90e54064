import type { AuthUser } from '../context.ts';
import type { Config } from '../config.ts';
import type { PermissionsRepository } from '../repositories/permissions.ts';
import { seesAllDatasets } from './roles.ts';

/** What the dataset rule reads: the grants and which datasets are public. */
export interface DatasetRuleInputs {
  permissions: Pick<PermissionsRepository, 'readableDatasets' | 'deniedDatasets'>;
  sources: Config['sources'];
}

/** Which datasets a caller may read: decided once per request, asked per table. */
export interface DatasetAccess {
  canRead(dataset: string): boolean;
}

/**
 * The single rule for dataset visibility. Admins and above read everything. Everyone else
 * reads public datasets and datasets granted `read`, except those explicitly set to `none`.
 * Manifest, downloads, catalog, profiles and queries all ask this.
 */
export async function datasetAccess({ permissions, sources }: DatasetRuleInputs, user: AuthUser): Promise<DatasetAccess> {
  if (seesAllDatasets(user.role)) return { canRead: () => true };
  const [granted, denied] = await Promise.all([permissions.readableDatasets(user.id), permissions.deniedDatasets(user.id)]);
  return {
    canRead(dataset) {
      if (denied.has(dataset)) return false;
      return granted.has(dataset) || sources[dataset]?.public === true;
    },
  };
}
