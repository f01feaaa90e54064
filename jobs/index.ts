import { dataRefreshJob } from './data-refresh.ts';
import { healthJob } from './health.ts';
import { retentionJob } from './retention.ts';
import { memoryCollectJob } from './memory-collect.ts';
import { scriptRunsRetentionJob } from './scripts-retention.ts';
import { backupJob } from './backup.ts';
import { catalogEnrichJob } from './catalog-enrich.ts';
import type { JobRunner } from './runner.ts';
import type { JobContext, JobDefinition } from './types.ts';

/** Every built-in job of the server; a new one is one file and one line here. */
export const JOBS: JobDefinition[] = [dataRefreshJob, retentionJob, scriptRunsRetentionJob, memoryCollectJob, healthJob, backupJob, catalogEnrichJob];

/** Hands the built-in jobs to the runner, each bound to `ctx`. */
export function addBuiltInJobs(runner: JobRunner, ctx: JobContext, jobs: JobDefinition[] = JOBS): void {
  for (const def of jobs) {
    runner.add({ name: def.name, schedule: def.schedule(ctx.deps.config), run: () => def.run(ctx) });
  }
}
