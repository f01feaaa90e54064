import type { SystemDb } from '../../db/system.ts';
import { toIso, toNumber } from '../../db/connection.ts';
import type { JobStatus, SyncHistoryEntry, SyncJob, SyncState, SyncStateRepository } from '../sync-state.ts';

function toState(r: Record<string, unknown>): SyncState {
  return {
    table_id: String(r.table_id),
    last_sync: toIso(r.last_sync),
    rows: toNumber(r.rows),
    file_size_bytes: toNumber(r.file_size_bytes),
    uncompressed_size_bytes: toNumber(r.uncompressed_size_bytes),
    columns: toNumber(r.columns),
    hash: (r.hash as string | null) ?? null,
    watermark: (r.watermark as string | null) ?? null,
    status: String(r.status ?? 'ok'),
    error: (r.error as string | null) ?? null,
  };
}

function toHistory(r: Record<string, unknown>): SyncHistoryEntry {
  return {
    id: String(r.id),
    table_id: String(r.table_id),
    job_id: (r.job_id as string | null) ?? null,
    synced_at: toIso(r.synced_at)!,
    rows: toNumber(r.rows),
    bytes: toNumber(r.bytes),
    columns: toNumber(r.columns),
    duration_ms: toNumber(r.duration_ms),
    status: String(r.status),
    error: (r.error as string | null) ?? null,
  };
}

function toJob(r: Record<string, unknown>): SyncJob {
  return {
    id: String(r.id),
    status: r.status as JobStatus,
    requested_by: (r.requested_by as string | null) ?? null,
    tables: r.tables ? JSON.parse(String(r.tables)) : null,
    created_at: toIso(r.created_at)!,
    started_at: toIso(r.started_at),
    finished_at: toIso(r.finished_at),
    result: r.result ? JSON.parse(String(r.result)) : null,
    error: (r.error as string | null) ?? null,
  };
}

/** Sync state per table, sync history and sync jobs. */
export function createDuckDbSyncStateRepository(db: SystemDb): SyncStateRepository {
  return {
    async get(tableId: string): Promise<SyncState | undefined> {
      const r = await db.read((q) => q.one(`SELECT * FROM sync_state WHERE table_id = ?`, [tableId]));
      return r ? toState(r) : undefined;
    },

    async list(): Promise<SyncState[]> {
      const rows = await db.read((q) => q.all(`SELECT * FROM sync_state ORDER BY table_id`));
      return rows.map(toState);
    },

    /** Records a successful pull (at `at`, default now): the new file's facts replace the old ones. */
    async recordSuccess(s, { at } = {}) {
      await db.write((q) =>
        q.run(
          `INSERT INTO sync_state (table_id, last_sync, rows, file_size_bytes, uncompressed_size_bytes, columns, hash, watermark, status, error)
           VALUES (?, coalesce(?::TIMESTAMP, current_timestamp), ?, ?, ?, ?, ?, ?, 'ok', NULL)
           ON CONFLICT (table_id) DO UPDATE SET last_sync = excluded.last_sync, rows = excluded.rows,
             file_size_bytes = excluded.file_size_bytes, uncompressed_size_bytes = excluded.uncompressed_size_bytes,
             columns = excluded.columns, hash = excluded.hash, watermark = excluded.watermark, status = 'ok', error = NULL`,
          [s.tableId, at?.toISOString() ?? null, s.rows, s.fileSizeBytes, s.uncompressedSizeBytes ?? null, s.columns, s.hash, s.watermark ?? null],
        ),
      );
    },

    /** Records a failed pull; the facts of the last good file stay as they were. */
    async recordFailure(tableId: string, error: string): Promise<void> {
      await db.write((q) =>
        q.run(
          `INSERT INTO sync_state (table_id, status, error) VALUES (?, 'error', ?)
           ON CONFLICT (table_id) DO UPDATE SET status = 'error', error = excluded.error`,
          [tableId, error],
        ),
      );
    },

    async remove(tableId: string): Promise<void> {
      await db.write((q) => q.run(`DELETE FROM sync_state WHERE table_id = ?`, [tableId]));
    },

    async addHistory(h: Omit<SyncHistoryEntry, 'synced_at'>, { at }: { at?: Date } = {}): Promise<void> {
      await db.write((q) =>
        q.run(
          `INSERT INTO sync_history (id, table_id, job_id, synced_at, rows, bytes, columns, duration_ms, status, error)
           VALUES (?, ?, ?, coalesce(?::TIMESTAMP, current_timestamp), ?, ?, ?, ?, ?, ?)`,
          [h.id, h.table_id, h.job_id, at?.toISOString() ?? null, h.rows, h.bytes, h.columns, h.duration_ms, h.status, h.error],
        ),
      );
    },

    async history(tableId: string | undefined, limit: number): Promise<SyncHistoryEntry[]> {
      const rows = await db.read((q) =>
        q.all(
          `SELECT * FROM sync_history ${tableId ? 'WHERE table_id = ?' : ''} ORDER BY synced_at DESC LIMIT ?`,
          tableId ? [tableId, limit] : [limit],
        ),
      );
      return rows.map(toHistory);
    },

    async recentHistory(tableIds, limit) {
      if (tableIds !== null && !tableIds.length) return [];
      const rows = await db.read((q) =>
        tableIds === null
          ? q.all(`SELECT * FROM sync_history ORDER BY synced_at DESC LIMIT ?`, [limit])
          : q.all(
              `SELECT * FROM sync_history WHERE table_id IN (SELECT unnest(from_json(?::JSON, '["VARCHAR"]')))
               ORDER BY synced_at DESC LIMIT ?`,
              [JSON.stringify(tableIds), limit],
            ),
      );
      return rows.map(toHistory);
    },

    async historyOfJob(jobId) {
      const rows = await db.read((q) => q.all(`SELECT * FROM sync_history WHERE job_id = ? ORDER BY synced_at`, [jobId]));
      return rows.map(toHistory);
    },

    async listJobs(limit) {
      const rows = await db.read((q) => q.all(`SELECT * FROM sync_jobs ORDER BY created_at DESC LIMIT ?`, [limit]));
      return rows.map(toJob);
    },

    /** Deletes history rows and finished jobs older than `days`; returns how many history rows went. */
    async purgeHistoryOlderThan(days: number): Promise<number> {
      return db.write(async (q) => {
        // Count, then delete, on the one write connection: nothing lands in between.
        const row = await q.one<{ n: string }>(`SELECT count(*) AS n FROM sync_history WHERE synced_at < current_timestamp - to_days(?)`, [days]);
        await q.run(`DELETE FROM sync_history WHERE synced_at < current_timestamp - to_days(?)`, [days]);
        await q.run(
          `DELETE FROM sync_jobs WHERE status IN ('succeeded','failed') AND created_at < current_timestamp - to_days(?)`,
          [days],
        );
        return Number(row?.n ?? 0);
      });
    },

    async createJob(job: { id: string; requestedBy: string | null; tables: string[] | null }): Promise<SyncJob> {
      await db.write((q) =>
        q.run(
          `INSERT INTO sync_jobs (id, status, requested_by, tables, created_at) VALUES (?, 'queued', ?, ?, current_timestamp)`,
          [job.id, job.requestedBy, job.tables ? JSON.stringify(job.tables) : null],
        ),
      );
      return (await this.getJob(job.id))!;
    },

    async getJob(id: string): Promise<SyncJob | undefined> {
      const r = await db.read((q) => q.one(`SELECT * FROM sync_jobs WHERE id = ?`, [id]));
      return r ? toJob(r) : undefined;
    },

    async updateJob(id: string, patch: { status: JobStatus; result?: unknown; error?: string | null }): Promise<void> {
      const stamp = patch.status === 'running' ? 'started_at' : patch.status === 'queued' ? null : 'finished_at';
      await db.write((q) =>
        q.run(
          `UPDATE sync_jobs SET status = ?, result = coalesce(?, result), error = ?${stamp ? `, ${stamp} = current_timestamp` : ''} WHERE id = ?`,
          [patch.status, patch.result === undefined ? null : JSON.stringify(patch.result), patch.error ?? null, id],
        ),
      );
    },

    /** Jobs left queued or running by a process that died are failed on start-up. */
    async failUnfinishedJobs(reason: string): Promise<void> {
      await db.write((q) =>
        q.run(
          `UPDATE sync_jobs SET status = 'failed', error = ?, finished_at = current_timestamp WHERE status IN ('queued','running')`,
          [reason],
        ),
      );
    },
  };
}
