import type { AppDeps } from '../src/context.ts';
import type { JobDefinition } from './types.ts';

/**
 * Daily clean-up (config `retention`): audit entries and sync history past their age,
 * expired token revocations and one-time tokens.
 */
export const retentionJob = {
  name: 'retention',
  schedule: (deps: AppDeps) => deps.config.retention.schedule,
  async run(deps: AppDeps): Promise<{ audit_deleted: number; history_deleted: number }> {
    const { retention } = deps.config;
    const audit_deleted = await deps.repos.audit.purgeOlderThan(retention.audit_days);
    const history_deleted = await deps.repos.syncState.purgeHistoryOlderThan(retention.sync_history_days);
    await deps.repos.tokens.purgeExpired();
    deps.logger.info('retention finished', { audit_deleted, history_deleted });
    return { audit_deleted, history_deleted };
  },
} satisfies JobDefinition;
