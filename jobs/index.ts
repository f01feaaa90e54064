import { Cron } from 'croner';
import type { AppDeps } from '../src/context.ts';
import { dataRefreshJob } from './data-refresh.ts';
import { retentionJob } from './retention.ts';
import type { JobDefinition } from './types.ts';

/** Every scheduled job of the server. */
export const JOBS: JobDefinition[] = [dataRefreshJob, retentionJob];

/**
 * Schedules the jobs with croner (`protect` skips a run while the previous one is busy)
 * and returns a function that stops them all.
 * Croner names are process-global, so each server's jobs get a unique suffix.
 */
export function startJobs(deps: AppDeps, jobs: JobDefinition[] = JOBS): () => void {
  const suffix = Math.random().toString(36).slice(2, 8);
  const started: Cron[] = [];
  for (const def of jobs) {
    const pattern = def.schedule(deps);
    if (!pattern) {
      deps.logger.info('job disabled', { job: def.name });
      continue;
    }
    const cron: Cron = new Cron(
      pattern,
      {
        name: `${def.name}-${suffix}`,
        protect: true,
        catch: (err: unknown) => deps.logger.error('job failed', { job: def.name, error: err instanceof Error ? err.message : String(err) }),
      },
      async () => {
        await def.run(deps);
      },
    );
    started.push(cron);
    deps.logger.info('job scheduled', { job: def.name, schedule: pattern, next: cron.nextRun()?.toISOString() });
  }
  return () => {
    for (const cron of started) cron.stop();
  };
}
