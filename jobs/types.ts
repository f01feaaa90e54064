import type { AppDeps } from '../src/context.ts';

/** A scheduled job: a plain function tests call directly, plus when croner runs it. */
export interface JobDefinition {
  name: string;
  /** Cron pattern, or null when the job is switched off in the config. */
  schedule(deps: AppDeps): string | null;
  run(deps: AppDeps): Promise<unknown>;
}
