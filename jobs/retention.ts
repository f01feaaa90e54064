import type { JobContext, JobDefinition } from './types.ts';

/**
 * Daily clean-up (config `retention`): audit entries, sync history and job runs past their age,
 * expired token revocations and one-time tokens.
 */
export const retentionJob = {
  name: 'retention',
  schedule: (config) => config.retention.schedule,
  async run({ deps }: JobContext): Promise<{ audit_deleted: number; history_deleted: number; job_runs_deleted: number }> {
    const { retention } = deps.config;
    const audit_deleted = await deps.repos.audit.purgeOlderThan(retention.audit_days);
    const history_deleted = await deps.repos.syncState.purgeHistoryOlderThan(retention.sync_history_days);
    const job_runs_deleted = await deps.repos.jobRuns.purgeOlderThan(retention.sync_history_days);
    await deps.repos.tokens.purgeExpired();
    deps.logger.info('retention finished', { audit_deleted, history_deleted, job_runs_deleted });
    return { audit_deleted, history_deleted, job_runs_deleted };
  },
} satisfies JobDefinition;
