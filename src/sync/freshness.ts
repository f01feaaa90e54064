import { Cron } from 'croner';
import type { Config } from '../config.ts';
import { isRemoteDataset } from '../connectors/bigquery/remote.ts';
import type { CatalogTable } from '../repositories/data-catalog.ts';

/**
 * How current a table's served data is:
 * - `fresh`: synced within the stale limit;
 * - `stale`: the last successful sync is older than the limit;
 * - `failed`: the last sync failed (an older file, if any, is still served);
 * - `never`: registered, never synced yet;
 * - `remote`: its source is queried in place (a remote BigQuery source): there is no file to sync.
 */
export type Freshness = 'fresh' | 'stale' | 'failed' | 'never' | 'remote';

export const FRESHNESS: readonly Freshness[] = ['fresh', 'stale', 'failed', 'never', 'remote'];

const DAY_MS = 24 * 3600_000;
const cache = new WeakMap<object, number>();

/**
 * After how long a table counts as stale: `sync.stale_after_minutes` when set, else twice
 * the longest gap between the next runs of `sync.schedule` (a table may miss one run
 * before it is flagged), else a day when scheduled refresh is off.
 */
export function staleAfterMs(sync: Config['sync']): number {
  const known = cache.get(sync);
  if (known !== undefined) return known;
  let ms = DAY_MS;
  if (sync.stale_after_minutes) ms = sync.stale_after_minutes * 60_000;
  else if (sync.schedule) {
    try {
      const runs = new Cron(sync.schedule, { paused: true }).nextRuns(8).map((d) => d.getTime());
      let gap = 0;
      for (let i = 1; i < runs.length; i++) gap = Math.max(gap, runs[i]! - runs[i - 1]!);
      if (gap > 0) ms = 2 * gap;
    } catch {
      // an unusable pattern never schedules anything: keep the day
    }
  }
  cache.set(sync, ms);
  return ms;
}

/**
 * Judges tables' freshness at `now` with the limit from staleAfterMs. Made once per request:
 * the cutoff is one ISO string, and each table's ISO `last_sync` is compared with it as text
 * (exact to the second; parsing a date per table would cost more than the rest of a page).
 */
function freshnessAt(
  now: number,
  staleMs: number,
  isRemote: (dataset: string) => boolean = () => false,
): (t: Pick<CatalogTable, 'dataset' | 'status' | 'hash' | 'last_sync'>) => Freshness {
  const cutoff = new Date(now - staleMs).toISOString().slice(0, 19);
  return (t) => {
    if (isRemote(t.dataset)) return 'remote';
    if (t.status === 'error') return 'failed';
    if (t.hash === null || !t.last_sync) return 'never';
    return t.last_sync.slice(0, 19) < cutoff ? 'stale' : 'fresh';
  };
}

/** Judges tables' freshness at `now` under this instance's settings (stale limit, remote sources). */
export function freshnessJudge(config: Pick<Config, 'sync' | 'sources'>, now: number): (t: Pick<CatalogTable, 'dataset' | 'status' | 'hash' | 'last_sync'>) => Freshness {
  return freshnessAt(now, staleAfterMs(config.sync), (dataset) => isRemoteDataset(config, dataset));
}

/** `30 min`, `3 h`, `2 days`: a duration in words for the pages. */
export function durationWords(ms: number): string {
  const min = Math.round(ms / 60_000);
  if (min < 120) return `${min} min`;
  const h = Math.round(min / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} days`;
}
