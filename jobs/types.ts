import type { Config } from '../src/config.ts';
import type { AppDeps } from '../src/context.ts';
import type { SyncEngine } from '../src/sync/engine.ts';
import type { MemoryService } from '../src/memory/service.ts';
import type { Extractor } from '../src/memory/extractor.ts';
import type { QueryPool } from '../src/query/pool.ts';
import type { ScriptsService } from '../src/scripts/service.ts';

/** What jobs are given: the infrastructure and the services they use. */
export interface JobContext {
  deps: AppDeps;
  services: { sync: SyncEngine; memory: MemoryService; extractor: Extractor; queryPool: QueryPool; scripts: ScriptsService };
}

/** A built-in job: a plain function tests call directly, plus when it runs. */
export interface JobDefinition {
  name: string;
  /** Cron pattern, or null when the job is switched off in the config. */
  schedule(config: Config): string | null;
  run(ctx: JobContext): Promise<unknown>;
}
