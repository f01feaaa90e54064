/** The kinds of notification a user can receive, each a domain event of the same name. */
export const NOTIFICATION_EVENTS = [
  'sync.finished',
  'sync.failed',
  'script.finished',
  'script.failed',
  'memory.status_changed',
  'access.granted',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** Where notifications go: the notification WebSocket, the linked Telegram chat. */
export const NOTIFICATION_CHANNELS = ['websocket', 'telegram'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** One stored choice: a channel turned on or off for one kind of notification. */
export interface ChannelChoice {
  event: NotificationEvent;
  channel: NotificationChannel;
  enabled: boolean;
}

export interface TelegramLink {
  user_id: string;
  chat_id: string;
  linked_at: string | null;
}

/** Telegram links between users and chats, the one-time link codes, and each user's channel choices. */
export interface NotificationsRepository {
  linkFor(userId: string): Promise<TelegramLink | undefined>;
  /** The user linked to a chat, if any. */
  userForChat(chatId: number | bigint | string): Promise<string | undefined>;
  /** Every user with a linked chat. */
  linkedUserIds(): Promise<string[]>;
  /** Links the user to a chat, replacing any chat linked before; a chat belongs to one user (another user's link to it ends). */
  link(userId: string, chatId: number | bigint | string): Promise<void>;
  /** Ends the user's link; false when there was none. */
  unlink(userId: string): Promise<boolean>;
  /** Stores a link code (its hash) for a chat, good for `ttlSeconds`; the chat's earlier codes end. */
  addLinkCode(codeHash: string, chatId: number | bigint | string, ttlSeconds: number): Promise<void>;
  /** Takes a code (single use: it is deleted, also when expired) and returns its chat id while it was still good. */
  takeLinkCode(codeHash: string): Promise<string | undefined>;
  /** Deletes expired codes; returns how many went. */
  purgeExpiredCodes(): Promise<number>;
  /** The user's stored choices (a pair without a row is on). */
  preferences(userId: string): Promise<ChannelChoice[]>;
  /** Users who turned `channel` off for `event`. */
  optedOut(event: NotificationEvent, channel: NotificationChannel): Promise<Set<string>>;
  /** Stores choices of the user (each replaces the one of the same event and channel). */
  setPreferences(userId: string, choices: ChannelChoice[]): Promise<void>;
}
