/** Telegram links between users and chats, and the pending link codes. */
export interface NotificationsRepository {
  linkFor(userId: string): Promise<{ user_id: string; chat_id: string; linked_at: string | null } | undefined>;
  /** Links the user to a chat, replacing any chat linked before. */
  link(userId: string, chatId: number | bigint): Promise<void>;
  unlink(userId: string): Promise<void>;
  addPendingCode(code: string, chatId: number | bigint): Promise<void>;
  /** Takes a code (single use) younger than `maxAgeSeconds` and returns its chat id. */
  takePendingCode(code: string, maxAgeSeconds: number): Promise<string | undefined>;
}
