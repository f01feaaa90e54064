import type { SyncJob } from '../src/repositories/sync-state.ts';
import type { JobContext, JobDefinition } from './types.ts';

/**
 * Pulls every enabled registered table (config `sync.schedule`, default every 15 minutes).
 * When a sync is already running (triggered by an admin), waits for that one instead of
 * starting a second.
 */
export const dataRefreshJob = {
  name: 'data-refresh',
  schedule: (config) => config.sync.schedule,
  async run({ deps, services: { sync: engine } }: JobContext): Promise<SyncJob> {
    const { job } = await engine.trigger({ requestedBy: null });
    await engine.idle();
    const finished = (await deps.repos.syncState.getJob(job.id))!;
    deps.logger.info('data refresh finished', { job_id: finished.id, status: finished.status, error: finished.error });
    return finished;
  },
} satisfies JobDefinition;
