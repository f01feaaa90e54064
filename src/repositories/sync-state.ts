import type { MethodEffects } from '../cache/change-counter.ts';

/** The facts of the file a table is served from, and how its last pull went. */
export interface SyncState {
  table_id: string;
  last_sync: string | null;
  rows: number | null;
  file_size_bytes: number | null;
  uncompressed_size_bytes: number | null;
  columns: number | null;
  hash: string | null;
  watermark: string | null;
  status: string;
  error: string | null;
}

export interface SyncHistoryEntry {
  id: string;
  table_id: string;
  job_id: string | null;
  synced_at: string;
  rows: number | null;
  bytes: number | null;
  columns: number | null;
  duration_ms: number | null;
  status: string;
  error: string | null;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface SyncJob {
  id: string;
  status: JobStatus;
  requested_by: string | null;
  tables: string[] | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  result: unknown;
  error: string | null;
}

/** Sync state per table, sync history and sync jobs. */
export interface SyncStateRepository {
  get(tableId: string): Promise<SyncState | undefined>;
  /** By table id. */
  list(): Promise<SyncState[]>;
  /**
   * Records a successful pull, synced `at` (default: now): the new file's facts replace the
   * old ones, and any error is cleared.
   */
  recordSuccess(
    s: {
      tableId: string; rows: number; fileSizeBytes: number; uncompressedSizeBytes?: number | null;
      columns: number; hash: string; watermark?: string | null;
    },
    options?: { at?: Date },
  ): Promise<void>;
  /** Records a failed pull; the facts of the last good file stay as they were. */
  recordFailure(tableId: string, error: string): Promise<void>;
  remove(tableId: string): Promise<void>;
  /** Adds one table's pull to the history, synced `at` (default: now). */
  addHistory(h: Omit<SyncHistoryEntry, 'synced_at'>, options?: { at?: Date }): Promise<void>;
  /** Newest first, of one table or of all. */
  history(tableId: string | undefined, limit: number): Promise<SyncHistoryEntry[]>;
  /** The latest history rows of these tables (null: of every table), newest first. */
  recentHistory(tableIds: string[] | null, limit: number): Promise<SyncHistoryEntry[]>;
  /** The tables a job has finished so far (its progress while it runs), in the order they finished. */
  historyOfJob(jobId: string): Promise<SyncHistoryEntry[]>;
  /** The newest jobs first. */
  listJobs(limit: number): Promise<SyncJob[]>;
  /** Deletes history rows and finished jobs older than `days`; returns how many history rows went. */
  purgeHistoryOlderThan(days: number): Promise<number>;
  /** Creates a `queued` job. */
  createJob(job: { id: string; requestedBy: string | null; tables: string[] | null }): Promise<SyncJob>;
  getJob(id: string): Promise<SyncJob | undefined>;
  /**
   * Moves a job to `status`, stamping started_at (running) or finished_at (succeeded,
   * failed); a `result` left out keeps the one stored, an `error` left out clears it.
   */
  updateJob(id: string, patch: { status: JobStatus; result?: unknown; error?: string | null }): Promise<void>;
  /** Jobs left queued or running by a process that died are failed on start-up. */
  failUnfinishedJobs(reason: string): Promise<void>;
}

/**
 * Which methods change what the table catalog holds (`changes` bumps `repos.changes.data`):
 * the per-table state does, history and jobs do not.
 */
export const SYNC_STATE_METHODS = {
  get: 'read',
  list: 'read',
  history: 'read',
  recentHistory: 'read',
  historyOfJob: 'read',
  listJobs: 'read',
  getJob: 'read',
  recordSuccess: 'changes',
  recordFailure: 'changes',
  remove: 'changes',
  addHistory: 'write',
  purgeHistoryOlderThan: 'write',
  createJob: 'write',
  updateJob: 'write',
  failUnfinishedJobs: 'write',
} as const satisfies MethodEffects<SyncStateRepository>;
