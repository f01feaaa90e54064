import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { JobRun, JobRunsRepository } from '../job-runs.ts';

function toRun(r: Record<string, unknown>): JobRun {
  return {
    id: String(r.id),
    name: String(r.name),
    trigger: r.trigger as JobRun['trigger'],
    started_at: toIso(r.started_at)!,
    finished_at: toIso(r.finished_at),
    status: r.status as JobRun['status'],
    error: (r.error as string | null) ?? null,
  };
}

/** Runs of every job, as the job runner records them. */
export function createDuckDbJobRunsRepository(db: SystemDb): JobRunsRepository {
  return {
    async start(run: { id: string; name: string; trigger: JobRun['trigger'] }): Promise<void> {
      await db.write((q) =>
        q.run(`INSERT INTO job_runs (id, name, trigger, started_at, status) VALUES (?, ?, ?, current_timestamp, 'running')`, [
          run.id, run.name, run.trigger,
        ]),
      );
    },

    async finish(id: string, status: 'succeeded' | 'failed', error: string | null): Promise<void> {
      await db.write((q) =>
        q.run(`UPDATE job_runs SET status = ?, error = ?, finished_at = current_timestamp WHERE id = ?`, [status, error, id]),
      );
    },

    async get(id: string): Promise<JobRun | undefined> {
      const r = await db.read((q) => q.one(`SELECT * FROM job_runs WHERE id = ?`, [id]));
      return r ? toRun(r) : undefined;
    },

    /** The newest run of each job name. */
    async latestByName(): Promise<Map<string, JobRun>> {
      const rows = await db.read((q) => q.all(`SELECT * FROM job_runs QUALIFY row_number() OVER (PARTITION BY name ORDER BY started_at DESC, id DESC) = 1`));
      return new Map(rows.map((r) => [String(r.name), toRun(r)]));
    },

    /** Runs a dead process left as running are failed with `reason` (at start-up). */
    async failUnfinished(reason: string): Promise<void> {
      await db.write((q) =>
        q.run(`UPDATE job_runs SET status = 'failed', error = ?, finished_at = current_timestamp WHERE status = 'running'`, [reason]),
      );
    },

    async purgeOlderThan(days: number): Promise<number> {
      return db.write(async (q) => {
        // Count, then delete, on the one write connection: nothing lands in between.
        const old = `started_at < current_timestamp - to_days(?) AND status <> 'running'`;
        const row = await q.one<{ n: string }>(`SELECT count(*) AS n FROM job_runs WHERE ${old}`, [days]);
        await q.run(`DELETE FROM job_runs WHERE ${old}`, [days]);
        return Number(row?.n ?? 0);
      });
    },
  };
}
