import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { ChannelChoice, NotificationChannel, NotificationEvent, NotificationsRepository, TelegramLink } from '../notifications.ts';

/** Telegram links (telegram_links), link codes (telegram_link_codes) and channel choices (notification_preferences). */
export function createDuckDbNotificationsRepository(db: SystemDb): NotificationsRepository {
  return {
    async linkFor(userId: string): Promise<TelegramLink | undefined> {
      const r = await db.read((q) => q.one(`SELECT * FROM telegram_links WHERE user_id = ?`, [userId]));
      return r ? { user_id: String(r.user_id), chat_id: String(r.chat_id), linked_at: toIso(r.linked_at) } : undefined;
    },

    async userForChat(chatId): Promise<string | undefined> {
      const r = await db.read((q) => q.one<{ user_id: string }>(`SELECT user_id FROM telegram_links WHERE chat_id = ?`, [BigInt(chatId)]));
      return r?.user_id;
    },

    async linkedUserIds(): Promise<string[]> {
      const rows = await db.read((q) => q.all<{ user_id: string }>(`SELECT user_id FROM telegram_links ORDER BY user_id`));
      return rows.map((r) => r.user_id);
    },

    async link(userId, chatId): Promise<void> {
      await db.write((q) =>
        q.transaction(async () => {
          await q.run(`DELETE FROM telegram_links WHERE chat_id = ? OR user_id = ?`, [BigInt(chatId), userId]);
          await q.run(`INSERT INTO telegram_links (user_id, chat_id, linked_at) VALUES (?, ?, current_timestamp)`, [userId, BigInt(chatId)]);
        }),
      );
    },

    async unlink(userId: string): Promise<boolean> {
      return db.write(async (q) => {
        const r = await q.one(`DELETE FROM telegram_links WHERE user_id = ? RETURNING user_id`, [userId]);
        return r !== undefined;
      });
    },

    async addLinkCode(codeHash, chatId, ttlSeconds): Promise<void> {
      await db.write((q) =>
        q.transaction(async () => {
          await q.run(`DELETE FROM telegram_link_codes WHERE chat_id = ? OR expires_at <= current_timestamp`, [BigInt(chatId)]);
          await q.run(
            `INSERT INTO telegram_link_codes (code_hash, chat_id, created_at, expires_at)
             VALUES (?, ?, current_timestamp, current_timestamp + to_seconds(?))`,
            [codeHash, BigInt(chatId), ttlSeconds],
          );
        }),
      );
    },

    async takeLinkCode(codeHash: string): Promise<string | undefined> {
      return db.write(async (q) => {
        const r = await q.one<{ chat_id: string; good: boolean }>(
          `DELETE FROM telegram_link_codes WHERE code_hash = ? RETURNING chat_id, expires_at > current_timestamp AS good`,
          [codeHash],
        );
        return r?.good ? String(r.chat_id) : undefined;
      });
    },

    async purgeExpiredCodes(): Promise<number> {
      return db.write(async (q) => {
        const rows = await q.all(`DELETE FROM telegram_link_codes WHERE expires_at <= current_timestamp RETURNING code_hash`);
        return rows.length;
      });
    },

    async preferences(userId: string): Promise<ChannelChoice[]> {
      const rows = await db.read((q) =>
        q.all<{ event: string; channel: string; enabled: boolean }>(
          `SELECT event, channel, enabled FROM notification_preferences WHERE user_id = ? ORDER BY event, channel`,
          [userId],
        ),
      );
      return rows.map((r) => ({ event: r.event as NotificationEvent, channel: r.channel as NotificationChannel, enabled: r.enabled }));
    },

    async optedOut(event: NotificationEvent, channel: NotificationChannel): Promise<Set<string>> {
      const rows = await db.read((q) =>
        q.all<{ user_id: string }>(
          `SELECT user_id FROM notification_preferences WHERE event = ? AND channel = ? AND NOT enabled`,
          [event, channel],
        ),
      );
      return new Set(rows.map((r) => r.user_id));
    },

    async setPreferences(userId: string, choices: ChannelChoice[]): Promise<void> {
      if (!choices.length) return;
      await db.write((q) =>
        q.transaction(async () => {
          for (const c of choices) {
            await q.run(
              `INSERT INTO notification_preferences (user_id, event, channel, enabled, updated_at) VALUES (?, ?, ?, ?, current_timestamp)
               ON CONFLICT (user_id, event, channel) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at`,
              [userId, c.event, c.channel, c.enabled],
            );
          }
        }),
      );
    },
  };
}
