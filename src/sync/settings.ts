import type { ChangeCounter } from '../cache/change-counter.ts';
import type { PermissionsRepository, SyncSetting } from '../repositories/permissions.ts';

export type { SyncSetting };

/** One dataset's choice of what `da sync` fetches, as saved (PUT /api/users/{id}/settings, the settings page). */
export interface SyncSettingInput {
  dataset: string;
  enabled: boolean;
  table_mode: 'all' | 'explicit';
  /** With `explicit`: the table names (or `<dataset>.<table>` ids) to fetch. */
  tables?: string[] | null;
}

/**
 * Saves a user's per-dataset sync settings (all of them or none); datasets not named keep
 * theirs. What the API route and the settings page both call.
 */
export async function saveSyncSettings(
  permissions: Pick<PermissionsRepository, 'putSyncSettings'>,
  userId: string,
  items: SyncSettingInput[],
): Promise<void> {
  await permissions.putSyncSettings(userId, items);
}

/** Which tables a user's `da sync` fetches, from their sync settings. */
export interface SyncSelection {
  /** Same settings, same key: manifests are cached per permission set and selection. */
  key: string;
  includesDataset(dataset: string): boolean;
  includes(table: { id: string; dataset: string; name: string }): boolean;
}

/** Everything the user may read: no settings saved (the default). */
export const SYNC_EVERYTHING: SyncSelection = { key: '', includesDataset: () => true, includes: () => true };

/**
 * The selection the settings make. A dataset without a setting is fetched whole (the
 * default); one switched off is left out; one set to `explicit` brings only the tables
 * it lists (by name or id).
 */
export function syncSelection(settings: SyncSetting[]): SyncSelection {
  if (!settings.length) return SYNC_EVERYTHING;
  const byDataset = new Map(settings.map((s) => [s.dataset, s]));
  const chosen = new Map(
    settings.map((s) => [s.dataset, new Set((s.tables ?? []).map((t) => (t.startsWith(`${s.dataset}.`) ? t.slice(s.dataset.length + 1) : t)))]),
  );
  const key = JSON.stringify(
    [...settings]
      .sort((a, b) => a.dataset.localeCompare(b.dataset))
      .map((s) => [s.dataset, s.enabled, s.table_mode, s.table_mode === 'explicit' ? [...chosen.get(s.dataset)!].sort() : null]),
  );
  const includesDataset = (dataset: string) => byDataset.get(dataset)?.enabled ?? true;
  return {
    key,
    includesDataset,
    includes(t) {
      const s = byDataset.get(t.dataset);
      if (!s) return true;
      if (!s.enabled) return false;
      return s.table_mode === 'all' || chosen.get(t.dataset)!.has(t.name);
    },
  };
}

/** Per-user sync selections, reused until a write through the permissions repository. */
export interface SyncSelections {
  forUser(userId: string): Promise<SyncSelection>;
}

/**
 * Caches each user's selection; saving settings bumps `changes` (the permissions
 * repository counts its writes), so a change applies to the very next manifest.
 */
export function createSyncSelections(
  permissions: Pick<PermissionsRepository, 'listSyncSettings'>,
  changes: ChangeCounter,
  { maxEntries = 10_000 } = {},
): SyncSelections {
  const cache = new Map<string, { counter: number; selection: SyncSelection }>();
  return {
    async forUser(userId) {
      const hit = cache.get(userId);
      if (hit && hit.counter === changes.value) return hit.selection;
      const counter = changes.value;
      const selection = syncSelection(await permissions.listSyncSettings(userId));
      if (cache.size >= maxEntries) cache.clear();
      cache.set(userId, { counter, selection });
      return selection;
    },
  };
}
