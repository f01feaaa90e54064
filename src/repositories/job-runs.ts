export interface JobRun {
  id: string;
  name: string;
  trigger: 'schedule' | 'manual';
  started_at: string;
  finished_at: string | null;
  status: 'running' | 'succeeded' | 'failed';
  error: string | null;
}

/** Runs of every job, as the job runner records them. */
export interface JobRunsRepository {
  /** Records a run as `running`, started now. */
  start(run: { id: string; name: string; trigger: JobRun['trigger'] }): Promise<void>;
  finish(id: string, status: 'succeeded' | 'failed', error: string | null): Promise<void>;
  get(id: string): Promise<JobRun | undefined>;
  /** The newest run of each job name. */
  latestByName(): Promise<Map<string, JobRun>>;
  /** Runs a dead process left as running are failed with `reason` (at start-up). */
  failUnfinished(reason: string): Promise<void>;
  /** Deletes finished runs started more than `days` ago; returns how many went. */
  purgeOlderThan(days: number): Promise<number>;
}
