import { collectMemory, type CollectReport } from '../src/memory/collect.ts';
import type { JobContext, JobDefinition } from './types.ts';

/**
 * Corporate memory's extraction (config `memory.collect_schedule`, every 30 minutes by
 * default; `POST /api/memory/collect` runs it now): new or changed CLAUDE.local.md uploads
 * and session transcripts become pending items (src/memory/collect.ts).
 */
export const memoryCollectJob = {
  name: 'memory-collect',
  schedule: (config) => config.memory.collect_schedule,
  async run({ deps, services: { memory, extractor } }: JobContext): Promise<CollectReport> {
    const report = await collectMemory({
      dataDir: deps.config.dataDir, repo: deps.repos.memory, extractor, logger: deps.logger,
      items: () => memory.all(), onChange: () => memory.changed(),
    });
    deps.logger.info('memory collection finished', { ...report, failed: report.failed.length });
    return report;
  },
} satisfies JobDefinition;
