import { Cron } from 'croner';
import { ConflictError, NotFoundError } from '../src/errors.ts';
import type { EventBus } from '../src/events.ts';
import type { Logger } from '../src/log.ts';
import type { JobRun, JobRunsRepository } from '../src/repositories/job-runs.ts';
import { newId } from '../src/auth/secrets.ts';

/** A job as the runner holds it: a name, when it runs, and what it does. */
export interface RunnableJob {
  name: string;
  /** Cron pattern, or null for a job that only runs when asked. */
  schedule: string | null;
  run(): Promise<unknown>;
}

/** What `GET /api/jobs` shows of a job. */
export interface JobInfo {
  name: string;
  schedule: string | null;
  next_run: string | null;
  last_run: string | null;
  last_status: JobRun['status'] | null;
  busy: boolean;
}

export interface JobRunner {
  /** Adds a job, or replaces the one of the same name (a running one finishes first). */
  add(job: RunnableJob): void;
  remove(name: string): boolean;
  /**
   * Runs a job now. Resolves once the run is recorded, with its id and a promise of its
   * end; throws NotFoundError for an unknown job and ConflictError while it runs.
   */
  runNow(name: string): Promise<{ runId: string; done: Promise<JobRun> }>;
  list(): Promise<JobInfo[]>;
  /** Starts the schedules (jobs added later are scheduled at once). */
  start(): void;
  stop(): void;
}

interface Entry {
  job: RunnableJob;
  cron?: Cron;
  busy: boolean;
}

/**
 * Owns every job's schedule, locking and run record: one run of a job at a time (a
 * scheduled run that finds it busy is skipped), each run written to job_runs with its
 * outcome, and `job.finished` emitted. Jobs can be added and removed while running
 * (user-script schedules). Nothing is scheduled until `start()`, so tests can add jobs
 * and call `runNow` without a clock.
 *
 * @example
 * const runner = createJobRunner({ runs: repos.jobRuns, events, logger })
 * runner.add({ name: 'retention', schedule: '0 3 * * *', run: () => retentionJob.run(ctx) })
 * runner.start()
 */
export function createJobRunner({ runs, events, logger }: { runs: JobRunsRepository; events: EventBus; logger: Logger }): JobRunner {
  const entries = new Map<string, Entry>();
  // Croner names are process-global: several servers (tests) each get their own suffix.
  const suffix = newId().slice(0, 8);
  let started = false;

  function schedule(entry: Entry) {
    entry.cron?.stop();
    entry.cron = undefined;
    if (!started || !entry.job.schedule) return;
    entry.cron = new Cron(entry.job.schedule, { name: `${entry.job.name}-${suffix}` }, () => {
      if (entry.busy) {
        logger.warn('job still running; this scheduled run is skipped', { job: entry.job.name });
        return;
      }
      void execute(entry, 'schedule').catch(() => {});
    });
    logger.info('job scheduled', { job: entry.job.name, schedule: entry.job.schedule, next: entry.cron.nextRun()?.toISOString() });
  }

  async function execute(entry: Entry, trigger: JobRun['trigger']): Promise<{ runId: string; done: Promise<JobRun> }> {
    entry.busy = true;
    const runId = newId();
    try {
      await runs.start({ id: runId, name: entry.job.name, trigger });
    } catch (err) {
      entry.busy = false;
      throw err;
    }
    const done = (async () => {
      let error: string | null = null;
      try {
        await entry.job.run();
      } catch (err) {
        error = (err instanceof Error ? err.message : String(err)).slice(0, 2000);
        logger.error('job failed', { job: entry.job.name, run_id: runId, error });
      } finally {
        entry.busy = false;
      }
      const status = error ? 'failed' : 'succeeded';
      await runs.finish(runId, status, error);
      events.emit({ type: 'job.finished', at: new Date().toISOString(), name: entry.job.name, runId, status, error });
      return (await runs.get(runId))!;
    })();
    done.catch(() => {});
    return { runId, done };
  }

  return {
    add(job) {
      const entry: Entry = { job, busy: entries.get(job.name)?.busy ?? false };
      entries.get(job.name)?.cron?.stop();
      entries.set(job.name, entry);
      schedule(entry);
    },

    remove(name) {
      const entry = entries.get(name);
      entry?.cron?.stop();
      return entries.delete(name);
    },

    async runNow(name) {
      const entry = entries.get(name);
      if (!entry) throw new NotFoundError(`no job named ${name}`);
      if (entry.busy) throw new ConflictError(`job ${name} is running; wait for it to finish`);
      return execute(entry, 'manual');
    },

    async list() {
      const latest = await runs.latestByName();
      return [...entries.values()]
        .map(({ job, cron, busy }) => {
          const last = latest.get(job.name);
          return {
            name: job.name,
            schedule: job.schedule,
            next_run: cron?.nextRun()?.toISOString() ?? null,
            last_run: last?.started_at ?? null,
            last_status: last?.status ?? null,
            busy,
          };
        })
        .sort((a, b) => a.name.localeCompare(b.name));
    },

    start() {
      started = true;
      for (const entry of entries.values()) schedule(entry);
    },

    stop() {
      started = false;
      for (const entry of entries.values()) {
        entry.cron?.stop();
        entry.cron = undefined;
      }
    },
  };
}
