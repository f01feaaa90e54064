import type { SystemDb } from '../../db/system.ts';
import { toIso, type Queryable } from '../../db/connection.ts';
import { newId } from '../../auth/secrets.ts';
import type {
  Audience, HistoryInput, MemoryHistoryEntry, MemoryPatch, MemoryRepository, MemoryStatus, NewMemoryItem, StoredMemoryItem,
} from '../memory.ts';

function json<T>(v: unknown): T | null {
  if (v === null || v === undefined) return null;
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

function toItem(r: Record<string, unknown>): StoredMemoryItem {
  return {
    id: String(r.id),
    title: String(r.title),
    content: String(r.content),
    category: String(r.category),
    tags: (json<string[]>(r.tags) ?? []).map(String),
    status: r.status as MemoryStatus,
    audience: json<Audience>(r.audience),
    source: (r.source as string | null) ?? null,
    fingerprint: String(r.fingerprint),
    created_by: (r.created_by as string | null) ?? null,
    contributors: (json<string[]>(r.contributors) ?? []).map(String),
    score: Number(r.score ?? 0),
    created_at: toIso(r.created_at)!,
    updated_at: toIso(r.updated_at)!,
  };
}

function toHistory(r: Record<string, unknown>): MemoryHistoryEntry {
  return {
    id: String(r.id),
    item_id: String(r.item_id),
    at: toIso(r.changed_at)!,
    actor: (r.actor as string | null) ?? null,
    action: r.action as MemoryHistoryEntry['action'],
    from_status: (r.from_status as MemoryStatus | null) ?? null,
    to_status: (r.to_status as MemoryStatus | null) ?? null,
    note: (r.note as string | null) ?? null,
    changes: json<Record<string, unknown>>(r.changes),
  };
}

const SELECT = `
  SELECT i.*,
    coalesce((SELECT sum(vote) FROM memory_votes v WHERE v.item_id = i.id), 0) AS score,
    coalesce((SELECT to_json(list(c.user_id ORDER BY c.added_at, c.user_id)) FROM memory_contributors c WHERE c.item_id = i.id), '[]') AS contributors
  FROM memory_items i`;

async function addHistory(q: Queryable, itemId: string, h: HistoryInput) {
  await q.run(
    `INSERT INTO memory_history (id, item_id, changed_at, actor, action, from_status, to_status, note, changes)
     VALUES (?, ?, current_timestamp, ?, ?, ?, ?, ?, ?)`,
    [newId(), itemId, h.actor, h.action, h.from_status, h.to_status, h.note, h.changes ? JSON.stringify(h.changes) : null],
  );
}

async function insertItem(q: Queryable, i: NewMemoryItem, h: HistoryInput) {
  await q.run(
    `INSERT INTO memory_items (id, title, content, category, tags, status, audience, source, fingerprint, created_by, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp, current_timestamp)`,
    [i.id, i.title, i.content, i.category, JSON.stringify(i.tags), i.status, i.audience ? JSON.stringify(i.audience) : null, i.source, i.fingerprint, i.created_by],
  );
  for (const u of [...new Set(i.contributors)]) await addContributor(q, i.id, u);
  await addHistory(q, i.id, h);
}

async function addContributor(q: Queryable, itemId: string, userId: string): Promise<boolean> {
  const found = await q.one(`SELECT 1 AS x FROM memory_contributors WHERE item_id = ? AND user_id = ?`, [itemId, userId]);
  if (found) return false;
  await q.run(`INSERT INTO memory_contributors (item_id, user_id, added_at) VALUES (?, ?, current_timestamp)`, [itemId, userId]);
  return true;
}

const COLUMNS: Record<keyof MemoryPatch, (v: unknown) => unknown> = {
  title: (v) => v,
  content: (v) => v,
  category: (v) => v,
  tags: (v) => JSON.stringify(v),
  status: (v) => v,
  audience: (v) => (v ? JSON.stringify(v) : null),
  fingerprint: (v) => v,
};

async function patchItem(q: Queryable, id: string, patch: MemoryPatch, h: HistoryInput) {
  const keys = (Object.keys(patch) as Array<keyof MemoryPatch>).filter((k) => patch[k] !== undefined && k in COLUMNS);
  const sets = keys.map((k) => `${k} = ?`);
  const params = keys.map((k) => COLUMNS[k](patch[k]));
  await q.run(`UPDATE memory_items SET ${[...sets, 'updated_at = current_timestamp'].join(', ')} WHERE id = ?`, [...params, id]);
  await addHistory(q, id, h);
}

/** Corporate memory in the memory_* tables. */
export function createDuckDbMemoryRepository(db: SystemDb): MemoryRepository {
  return {
    async list() {
      const rows = await db.read((q) => q.all(`${SELECT} ORDER BY i.created_at DESC, i.id DESC`));
      return rows.map(toItem);
    },
    async get(id) {
      const r = await db.read((q) => q.one(`${SELECT} WHERE i.id = ?`, [id]));
      return r ? toItem(r) : undefined;
    },
    async insert(item, history) {
      await db.write((q) => q.transaction(() => insertItem(q, item, history)));
    },
    async update(id, patch, history) {
      await db.write((q) => q.transaction(() => patchItem(q, id, patch, history)));
    },
    async updateMany(changes) {
      await db.write((q) =>
        q.transaction(async () => {
          for (const c of changes) await patchItem(q, c.id, c.patch, c.history);
        }),
      );
    },
    async vote(itemId, userId, vote) {
      await db.write(async (q) => {
        if (vote === 0) {
          await q.run(`DELETE FROM memory_votes WHERE item_id = ? AND user_id = ?`, [itemId, userId]);
          return;
        }
        await q.run(
          `INSERT INTO memory_votes (item_id, user_id, vote, voted_at) VALUES (?, ?, ?, current_timestamp)
           ON CONFLICT (item_id, user_id) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at`,
          [itemId, userId, vote],
        );
      });
    },
    async votesOf(userId) {
      const rows = await db.read((q) => q.all<{ item_id: string; vote: number }>(`SELECT item_id, vote FROM memory_votes WHERE user_id = ?`, [userId]));
      return new Map(rows.map((r) => [r.item_id, Number(r.vote)]));
    },
    async history(itemId) {
      const rows = await db.read((q) => q.all(`SELECT * FROM memory_history WHERE item_id = ? ORDER BY changed_at, id`, [itemId]));
      return rows.map(toHistory);
    },
    async sourceHashes() {
      const rows = await db.read((q) => q.all<{ path: string; sha256: string }>(`SELECT path, sha256 FROM memory_sources`));
      return new Map(rows.map((r) => [r.path, r.sha256]));
    },
    async recordExtraction(r) {
      await db.write((q) =>
        q.transaction(async () => {
          for (const item of r.created) {
            await insertItem(q, item, { actor: null, action: 'created', from_status: null, to_status: item.status, note: `extracted from ${r.path}`, changes: null });
          }
          for (const m of r.merged) {
            if (await addContributor(q, m.itemId, m.userId)) {
              await addHistory(q, m.itemId, { actor: null, action: 'contributor', from_status: null, to_status: null, note: `said again in ${r.path}`, changes: { contributor: m.userId } });
            }
          }
          await q.run(
            `INSERT INTO memory_sources (path, sha256, user_id, items, extracted_at) VALUES (?, ?, ?, ?, current_timestamp)
             ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, user_id = excluded.user_id, items = excluded.items, extracted_at = excluded.extracted_at`,
            [r.path, r.sha256, r.userId, r.created.length + r.merged.length],
          );
        }),
      );
    },
  };
}
