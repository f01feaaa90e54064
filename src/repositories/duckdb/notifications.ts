import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { NotificationsRepository } from '../notifications.ts';

/** Telegram links between users and chats, and the pending link codes. */
export function createDuckDbNotificationsRepository(db: SystemDb): NotificationsRepository {
  return {
    async linkFor(userId: string): Promise<{ user_id: string; chat_id: string; linked_at: string | null } | undefined> {
      const r = await db.read((q) => q.one(`SELECT * FROM telegram_links WHERE user_id = ?`, [userId]));
      return r ? { user_id: String(r.user_id), chat_id: String(r.chat_id), linked_at: toIso(r.linked_at) } : undefined;
    },

    async link(userId: string, chatId: number | bigint): Promise<void> {
      await db.write((q) =>
        q.run(
          `INSERT INTO telegram_links (user_id, chat_id, linked_at) VALUES (?, ?, current_timestamp)
           ON CONFLICT (user_id) DO UPDATE SET chat_id = excluded.chat_id, linked_at = excluded.linked_at`,
          [userId, BigInt(chatId)],
        ),
      );
    },

    async unlink(userId: string): Promise<void> {
      await db.write((q) => q.run(`DELETE FROM telegram_links WHERE user_id = ?`, [userId]));
    },

    async addPendingCode(code: string, chatId: number | bigint): Promise<void> {
      await db.write((q) =>
        q.run(`INSERT INTO pending_codes (code, chat_id, created_at) VALUES (?, ?, current_timestamp)`, [code, BigInt(chatId)]),
      );
    },

    /** Takes a code (single use) younger than `maxAgeSeconds` and returns its chat id. */
    async takePendingCode(code: string, maxAgeSeconds: number): Promise<string | undefined> {
      return db.write(async (q) => {
        const r = await q.one<{ chat_id: string }>(
          `DELETE FROM pending_codes WHERE code = ? AND created_at > current_timestamp - to_seconds(?) RETURNING chat_id`,
          [code, maxAgeSeconds],
        );
        return r?.chat_id;
      });
    },
  };
}
