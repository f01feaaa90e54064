import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { AuditEntry, AuditFilter, AuditRepository } from '../audit.ts';


const COLUMNS = 11;

/**
 * The audit trail in DuckDB. Reads are buffered and written in batches (one statement per batch
 * instead of one per request); changes and refusals are written before their response is
 * sent, so a crash loses at most the last fraction of a second of successful reads. Every read of the log
 * flushes first, so a reader sees every call that finished before it.
 */
export function createDuckDbAuditRepository(db: SystemDb, { flushMs = 200, maxBatch = 500 } = {}): AuditRepository {
  let buffer: AuditEntry[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let flushing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (timer) (clearTimeout(timer), (timer = undefined));
    if (!buffer.length) return flushing;
    const batch = buffer;
    buffer = [];
    const placeholders = batch.map(() => `(${Array(COLUMNS).fill('?').join(', ')})`).join(', ');
    const params = batch.flatMap((e) => [
      e.id, e.timestamp, e.request_id, e.user_id, e.action, e.resource,
      e.params === undefined ? null : JSON.stringify(e.params), e.result, e.status, e.duration_ms, e.ip,
    ]);
    flushing = db
      .write((q) =>
        q.run(
          `INSERT INTO audit_log (id, timestamp, request_id, user_id, action, resource, params, result, status, duration_ms, ip)
           VALUES ${placeholders}`,
          params,
        ),
      )
      .catch((err) => {
        // Keep the entries for the next attempt rather than lose them.
        buffer = batch.concat(buffer);
        throw err;
      });
    return flushing;
  };

  return {
    /**
     * Queues an entry. `urgent` entries (changes and refusals) are written at once, with
     * whatever is queued; plain reads wait up to `flushMs` to share one statement.
     */
    append(entry: AuditEntry, { urgent = false }: { urgent?: boolean } = {}): Promise<void> {
      buffer.push(entry);
      if (urgent) return flush();
      if (buffer.length >= maxBatch) void flush().catch(() => {});
      else timer ??= setTimeout(() => void flush().catch(() => {}), flushMs);
      return Promise.resolve();
    },

    flush,

    /** Deletes entries older than `days`; returns how many went. */
    async purgeOlderThan(days: number): Promise<number> {
      await flush();
      return db.write(async (q) => {
        // Count, then delete, on the one write connection: nothing lands in between.
        const row = await q.one<{ n: string }>(`SELECT count(*) AS n FROM audit_log WHERE timestamp < current_timestamp - to_days(?)`, [days]);
        await q.run(`DELETE FROM audit_log WHERE timestamp < current_timestamp - to_days(?)`, [days]);
        return Number(row?.n ?? 0);
      });
    },

    async list(f: AuditFilter): Promise<{ items: AuditEntry[]; next_cursor: string | null }> {
      await flush();
      const where: string[] = [];
      const params: unknown[] = [];
      if (f.user) (where.push('(user_id = ? OR user_id IN (SELECT id FROM users WHERE email = lower(?)))'), params.push(f.user, f.user));
      if (f.action) (where.push('action = ?'), params.push(f.action));
      if (f.resource) (where.push('resource LIKE ?'), params.push(f.resource.replace(/[%_]/g, '\\$&') + '%'));
      if (f.status) (where.push('status = ?'), params.push(f.status));
      if (f.since) (where.push('timestamp >= ?::TIMESTAMP'), params.push(f.since));
      if (f.until) (where.push('timestamp < ?::TIMESTAMP'), params.push(f.until));
      if (f.cursor) {
        const [ts, id] = f.cursor.split('|');
        where.push('(timestamp, id) < (?::TIMESTAMP, ?)');
        params.push(ts, id ?? '');
      }
      const rows = await db.read((q) =>
        q.all(
          `SELECT * FROM audit_log ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
           ORDER BY timestamp DESC, id DESC LIMIT ?`,
          [...params, f.limit + 1],
        ),
      );
      const items = rows.slice(0, f.limit).map((r) => ({
        id: String(r.id),
        timestamp: toIso(r.timestamp)!,
        request_id: (r.request_id as string | null) ?? null,
        user_id: (r.user_id as string | null) ?? null,
        action: String(r.action),
        resource: (r.resource as string | null) ?? null,
        params: r.params ? JSON.parse(String(r.params)) : null,
        result: (r.result as string | null) ?? null,
        status: r.status === null ? null : Number(r.status),
        duration_ms: r.duration_ms === null ? null : Number(r.duration_ms),
        ip: (r.ip as string | null) ?? null,
      }));
      const last = items[items.length - 1];
      return { items, next_cursor: rows.length > f.limit && last ? `${last.timestamp}|${last.id}` : null };
    },
  };
}
