import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { KnowledgeItem, KnowledgeRepository, KnowledgeStatus } from '../knowledge.ts';

function toItem(r: Record<string, unknown>): KnowledgeItem {
  return {
    id: String(r.id),
    title: String(r.title),
    content: (r.content as string | null) ?? null,
    category: (r.category as string | null) ?? null,
    tags: (r.tags as string[] | null) ?? [],
    status: r.status as KnowledgeStatus,
    contributors: (r.contributors as string[] | null) ?? [],
    source_user: (r.source_user as string | null) ?? null,
    audience: (r.audience as string | null) ?? null,
    created_at: toIso(r.created_at),
    updated_at: toIso(r.updated_at),
    score: Number(r.score ?? 0),
  };
}

const SELECT = `SELECT k.*, coalesce((SELECT sum(vote) FROM knowledge_votes v WHERE v.item_id = k.id), 0) AS score FROM knowledge_items k`;

/** Corporate memory: knowledge items and their votes. */
export function createDuckDbKnowledgeRepository(db: SystemDb): KnowledgeRepository {
  return {
    async list(f: { status?: KnowledgeStatus; category?: string } = {}): Promise<KnowledgeItem[]> {
      const where: string[] = [];
      const params: unknown[] = [];
      if (f.status) (where.push('k.status = ?'), params.push(f.status));
      if (f.category) (where.push('k.category = ?'), params.push(f.category));
      const rows = await db.read((q) =>
        q.all(`${SELECT} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY k.created_at DESC`, params),
      );
      return rows.map(toItem);
    },

    async get(id: string): Promise<KnowledgeItem | undefined> {
      const r = await db.read((q) => q.one(`${SELECT} WHERE k.id = ?`, [id]));
      return r ? toItem(r) : undefined;
    },

    async create(i: { id: string; title: string; content?: string | null; category?: string | null; tags?: string[]; sourceUser?: string | null; audience?: string | null }) {
      await db.write((q) =>
        q.run(
          `INSERT INTO knowledge_items (id, title, content, category, tags, status, contributors, source_user, audience, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?::VARCHAR[], 'pending', ?::VARCHAR[], ?, ?, current_timestamp, current_timestamp)`,
          [i.id, i.title, i.content ?? null, i.category ?? null, JSON.stringify(i.tags ?? []),
            JSON.stringify(i.sourceUser ? [i.sourceUser] : []), i.sourceUser ?? null, i.audience ?? null],
        ),
      );
      return (await this.get(i.id))!;
    },

    async setStatus(id: string, status: KnowledgeStatus): Promise<void> {
      await db.write((q) => q.run(`UPDATE knowledge_items SET status = ?, updated_at = current_timestamp WHERE id = ?`, [status, id]));
    },

    async vote(itemId: string, userId: string, vote: 1 | -1): Promise<void> {
      await db.write((q) =>
        q.run(
          `INSERT INTO knowledge_votes (item_id, user_id, vote, voted_at) VALUES (?, ?, ?, current_timestamp)
           ON CONFLICT (item_id, user_id) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at`,
          [itemId, userId, vote],
        ),
      );
    },
  };
}
