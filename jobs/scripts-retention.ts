import { rmSync } from 'node:fs';
import { runDir } from '../src/scripts/runner.ts';
import { scriptRunsDir } from '../src/scripts/service.ts';
import type { JobContext, JobDefinition } from './types.ts';

/**
 * Daily clean-up of script runs (config `scripts.keep_runs`, `scripts.run_days`): beyond the
 * newest runs of each script, and older than the age, runs go with their artifacts.
 * On the retention schedule.
 */
export const scriptRunsRetentionJob = {
  name: 'script-runs-retention',
  schedule: (config) => config.retention.schedule,
  async run({ deps }: JobContext): Promise<{ runs_deleted: number }> {
    const { keep_runs, run_days } = deps.config.scripts;
    const ids = await deps.repos.scripts.purgeRuns(keep_runs, run_days);
    const dir = scriptRunsDir(deps.config.dataDir);
    for (const id of ids) rmSync(runDir(dir, id), { recursive: true, force: true });
    deps.logger.info('script run retention finished', { runs_deleted: ids.length });
    return { runs_deleted: ids.length };
  },
} satisfies JobDefinition;
