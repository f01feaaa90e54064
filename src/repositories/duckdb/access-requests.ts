import type { SystemDb } from '../../db/system.ts';
import { toIso, type Queryable } from '../../db/connection.ts';
import type { AccessRequest, AccessRequestsRepository, AccessRequestStatus, Decision } from '../access-requests.ts';
import { upsertGrant } from './permissions.ts';

const SELECT = `SELECT r.*, u.email AS user_email, d.email AS decider_email
  FROM access_requests r LEFT JOIN users u ON u.id = r.user_id LEFT JOIN users d ON d.id = r.decided_by`;

function toRequest(r: Record<string, unknown>): AccessRequest {
  return {
    id: String(r.id),
    user: String(r.user_email ?? r.user_id),
    dataset: String(r.dataset),
    reason: String(r.reason),
    status: r.status as AccessRequestStatus,
    note: (r.note as string | null) ?? null,
    created_at: toIso(r.created_at)!,
    decided_by: r.decided_by == null ? null : String(r.decider_email ?? r.decided_by),
    decided_at: toIso(r.decided_at),
  };
}

async function getWith(q: Queryable, id: string): Promise<AccessRequest | undefined> {
  const r = await q.one(`${SELECT} WHERE r.id = ?`, [id]);
  return r ? toRequest(r) : undefined;
}

/** Access requests in DuckDB; approving writes the grant in the same transaction. */
export function createDuckDbAccessRequestsRepository(db: SystemDb): AccessRequestsRepository {
  /** Decides a pending request in one transaction: `also` runs after the status change. */
  function decide(id: string, status: 'approved' | 'denied', deciderId: string, note: string | null, also?: (q: Queryable, req: Record<string, unknown>) => Promise<void>): Promise<Decision> {
    return db.write((q) =>
      q.transaction(async (): Promise<Decision> => {
        const row = await q.one(`SELECT * FROM access_requests WHERE id = ?`, [id]);
        if (!row) return { ok: false, reason: 'not_found' };
        if (row.status !== 'pending') return { ok: false, reason: 'not_pending', request: await getWith(q, id) };
        await q.run(`UPDATE access_requests SET status = ?, note = ?, decided_by = ?, decided_at = current_timestamp WHERE id = ?`, [status, note, deciderId, id]);
        if (also) await also(q, row);
        return { ok: true, request: (await getWith(q, id))!, userId: String(row.user_id) };
      }),
    );
  }

  return {
    async createPending({ id, userId, dataset, reason }) {
      return db.write(async (q) => {
        const pending = await q.one<{ id: string }>(`SELECT id FROM access_requests WHERE user_id = ? AND dataset = ? AND status = 'pending'`, [userId, dataset]);
        if (pending) return { existing: await getWith(q, pending.id) };
        await q.run(
          `INSERT INTO access_requests (id, user_id, dataset, reason, status, created_at) VALUES (?, ?, ?, ?, 'pending', current_timestamp)`,
          [id, userId, dataset, reason],
        );
        return { created: await getWith(q, id) };
      });
    },

    get(id) {
      return db.read((q) => getWith(q, id));
    },

    async list({ userId, status }) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (userId) (where.push('r.user_id = ?'), params.push(userId));
      if (status) (where.push('r.status = ?'), params.push(status));
      const rows = await db.read((q) =>
        q.all(`${SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.created_at DESC, r.id DESC`, params),
      );
      return rows.map(toRequest);
    },

    approve(id, deciderId) {
      return decide(id, 'approved', deciderId, null, (q, row) => upsertGrant(q, String(row.user_id), String(row.dataset), 'read', deciderId));
    },

    deny(id, deciderId, note) {
      return decide(id, 'denied', deciderId, note);
    },
  };
}
