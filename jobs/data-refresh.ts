import type { AppDeps } from '../src/context.ts';
import type { SyncJob } from '../src/repositories/sync-state.ts';
import type { JobDefinition } from './types.ts';

/**
 * Pulls every enabled registered table (config `sync.schedule`, default every 15 minutes).
 * When a sync is already running (triggered by an admin), waits for that one instead of
 * starting a second.
 */
export const dataRefreshJob = {
  name: 'data-refresh',
  schedule: (deps: AppDeps) => deps.config.sync.schedule,
  async run(deps: AppDeps): Promise<SyncJob> {
    const engine = deps.services.sync;
    if (!engine) throw new Error('the sync engine is not running');
    const { job } = await engine.trigger({ requestedBy: null });
    await engine.idle();
    const finished = (await deps.repos.syncState.getJob(job.id))!;
    deps.logger.info('data refresh finished', { job_id: finished.id, status: finished.status, error: finished.error });
    return finished;
  },
} satisfies JobDefinition;
