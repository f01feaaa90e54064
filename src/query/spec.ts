import type { AuthUser } from '../context.ts';
import { seesAllDatasets } from '../auth/roles.ts';
import { readableFiles, type AccessCache, type TableCatalog } from '../sync/catalog.ts';
import type { SandboxSpec } from './sandbox.ts';
import type { SystemSnapshots } from './state-snapshots.ts';

/**
 * What the caller's sandbox holds: a view for every table they may read that has a file,
 * and for admins the `state.*` snapshots.
 */
export async function querySpecFor(
  inputs: { access: AccessCache; catalog: TableCatalog; snapshots: SystemSnapshots; dataDir: string },
  user: AuthUser,
): Promise<SandboxSpec> {
  const spec: SandboxSpec = { tables: await readableFiles(inputs, user) };
  if (seesAllDatasets(user.role)) spec.state = await inputs.snapshots.fresh();
  return spec;
}
