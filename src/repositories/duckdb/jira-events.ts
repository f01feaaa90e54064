import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { JiraEventsRepository, StoredJiraEvent } from '../jira-events.ts';

/** Accepted Jira webhook events (jira_webhook_events). */
export function createDuckDbJiraEventsRepository(db: SystemDb): JiraEventsRepository {
  return {
    async append({ dataset, event, change, deletes }): Promise<number> {
      return db.write(async (q) => {
        const row = await q.one<{ seq: string | number }>(
          `INSERT INTO jira_webhook_events (seq, dataset, event, change, deletes, received_at)
           VALUES (nextval('jira_webhook_event_seq'), ?, ?, ?, ?, current_timestamp)
           RETURNING seq`,
          [dataset, event, JSON.stringify(change), deletes],
        );
        return Number(row!.seq);
      });
    },

    async list(dataset): Promise<StoredJiraEvent[]> {
      const rows = await db.read((q) =>
        q.all<Record<string, unknown>>(`SELECT * FROM jira_webhook_events WHERE dataset = ? ORDER BY seq`, [dataset]),
      );
      return rows.map((r) => ({
        seq: Number(r.seq),
        dataset: String(r.dataset),
        event: String(r.event),
        change: JSON.parse(String(r.change)),
        deletes: Boolean(r.deletes),
        received_at: toIso(r.received_at)!,
      }));
    },

    async prune(dataset, seq): Promise<number> {
      return db.write(async (q) => {
        const where = `dataset = ? AND seq <= ? AND NOT deletes`;
        const row = await q.one<{ n: string | number }>(`SELECT count(*) AS n FROM jira_webhook_events WHERE ${where}`, [dataset, seq]);
        await q.run(`DELETE FROM jira_webhook_events WHERE ${where}`, [dataset, seq]);
        return Number(row?.n ?? 0);
      });
    },
  };
}
