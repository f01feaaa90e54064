export interface AuditEntry {
  id: string;
  /** When the call happened (ISO 8601); the entry is stored under this time. */
  timestamp: string;
  request_id: string | null;
  user_id: string | null;
  action: string;
  resource: string | null;
  params: unknown;
  result: string | null;
  status: number | null;
  duration_ms: number | null;
  ip: string | null;
}

export interface AuditFilter {
  /** A user id or email. */
  user?: string;
  action?: string;
  /** Resources starting with this text. */
  resource?: string;
  status?: number;
  since?: string;
  until?: string;
  /** Entries strictly older than this cursor (`<timestamp>|<id>`). */
  cursor?: string;
  limit: number;
}

/**
 * The audit trail. Entries may be buffered and written in batches; every read of the log
 * (and a purge) sees every entry appended before it.
 */
export interface AuditRepository {
  /**
   * Queues an entry. `urgent` entries (changes and refusals) are written before the
   * returned promise resolves, with whatever is queued; plain reads may wait a moment to
   * share one write (a crash loses at most that moment of successful reads).
   */
  append(entry: AuditEntry, options?: { urgent?: boolean }): Promise<void>;
  /** Writes whatever is queued (at shutdown, and before reads). */
  flush(): Promise<void>;
  /** Deletes entries older than `days`; returns how many went. */
  purgeOlderThan(days: number): Promise<number>;
  /** Newest first; `next_cursor` pages on to older entries (null on the last page). */
  list(f: AuditFilter): Promise<{ items: AuditEntry[]; next_cursor: string | null }>;
}
