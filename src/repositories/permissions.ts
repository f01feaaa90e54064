import type { MethodEffects } from '../cache/change-counter.ts';

export interface DatasetPermission {
  user_id: string;
  dataset: string;
  access: 'read' | 'none';
  granted_by: string | null;
  granted_at: string | null;
}

export interface SyncSetting {
  dataset: string;
  enabled: boolean;
  table_mode: 'all' | 'explicit';
  tables: string[] | null;
  updated_at: string | null;
}

/** Dataset grants and per-user sync settings. */
export interface PermissionsRepository {
  /** The user's grants, by dataset. */
  listForUser(userId: string): Promise<DatasetPermission[]>;
  /** Datasets the user holds a `read` grant on. */
  readableDatasets(userId: string): Promise<Set<string>>;
  /** Grants (or, with `none`, denies) a dataset; replaces the user's previous grant on it. */
  set(userId: string, dataset: string, access: 'read' | 'none', grantedBy: string | null): Promise<void>;
  remove(userId: string, dataset: string): Promise<void>;
  /** Datasets explicitly denied to the user (`none` hides even a public dataset). */
  deniedDatasets(userId: string): Promise<Set<string>>;
  listSyncSettings(userId: string): Promise<SyncSetting[]>;
  /** Saves several datasets' settings in one transaction: all of them or none. */
  putSyncSettings(
    userId: string,
    items: Array<{ dataset: string; enabled: boolean; table_mode: 'all' | 'explicit'; tables?: string[] | null }>,
  ): Promise<void>;
}

/**
 * Which methods change what the caches over grants and sync settings hold (`changes` bumps
 * `repos.changes.permissions`): the access cache (grants) and the per-user sync selections
 * the manifest is built with (sync settings, src/sync/settings.ts).
 */
export const PERMISSIONS_METHODS = {
  listForUser: 'read',
  readableDatasets: 'read',
  deniedDatasets: 'read',
  listSyncSettings: 'read',
  set: 'changes',
  remove: 'changes',
  putSyncSettings: 'changes',
} as const satisfies MethodEffects<PermissionsRepository>;
