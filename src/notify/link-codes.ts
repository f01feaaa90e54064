import { hmac } from '@oslojs/crypto/hmac';
import { SHA256 } from '@oslojs/crypto/sha2';
import { encodeHexLowerCase } from '@oslojs/encoding';
import { NotFoundError, ValidationError } from '../errors.ts';
import { createRateLimiter } from '../auth/rate-limit.ts';
import type { NotificationsRepository } from '../repositories/notifications.ts';
import type { ChatSender } from './dispatch.ts';

/** How long a code from the bot's /start is good. */
export const LINK_CODE_TTL_SECONDS = 600;
/** Wrong codes one user may enter per 10 minutes (a code has a million values). */
const ATTEMPTS = { limit: 10, windowSeconds: 600 };

/** A user's Telegram link as the API and the settings page show it. */
export interface TelegramLinkState {
  linked: boolean;
  linked_at: string | null;
  /** Whether this server has a Telegram bot configured at all. */
  bot_enabled: boolean;
  /** The bot's @name, once it is known (after start-up). */
  bot_username: string | null;
}

/** Six random digits, each value equally likely. */
export function newLinkCode(): string {
  const buf = new Uint32Array(1);
  const range = 1_000_000;
  const max = Math.floor(0x1_0000_0000 / range) * range;
  for (;;) {
    crypto.getRandomValues(buf);
    if (buf[0]! < max) return String(buf[0]! % range).padStart(6, '0');
  }
}

/**
 * The stored form of a code: an HMAC under the server's key. A plain hash of a six-digit
 * code is reversed by trying all million; without the key it is not.
 */
export function hashLinkCode(key: Uint8Array, code: string): string {
  return encodeHexLowerCase(hmac(SHA256, key, new TextEncoder().encode(`telegram-link:${code}`)));
}

export interface TelegramLinks {
  /** A new code for a chat (its earlier codes end), good for LINK_CODE_TTL_SECONDS. */
  issueCode(chatId: number | string): Promise<string>;
  /** Links the user to the chat the code was issued to. A wrong, used or expired code is a ValidationError; too many is a RateLimitError. */
  link(userId: string, email: string, code: string): Promise<TelegramLinkState>;
  status(userId: string): Promise<TelegramLinkState>;
  /** Ends the user's link; NotFoundError when there is none. */
  unlink(userId: string): Promise<void>;
}

export interface TelegramLinksDeps {
  notifications: NotificationsRepository;
  key: Uint8Array;
  /** The bot, when Telegram is configured: confirms a link in the chat, and tells the page its name. */
  bot?: ChatSender & { username(): string | null };
}

/** Linking a Telegram chat to a user with the one-time code the bot handed out. */
export function createTelegramLinks({ notifications, key, bot }: TelegramLinksDeps): TelegramLinks {
  const attempts = createRateLimiter(ATTEMPTS);
  const state = async (userId: string): Promise<TelegramLinkState> => {
    const link = await notifications.linkFor(userId);
    return { linked: !!link, linked_at: link?.linked_at ?? null, bot_enabled: !!bot, bot_username: bot?.username() ?? null };
  };
  return {
    async issueCode(chatId) {
      const code = newLinkCode();
      await notifications.addLinkCode(hashLinkCode(key, code), chatId, LINK_CODE_TTL_SECONDS);
      return code;
    },

    async link(userId, email, code) {
      const hit = attempts.hit(`user:${userId}`);
      const chatId = await notifications.takeLinkCode(hashLinkCode(key, code));
      if (!chatId) {
        throw new ValidationError('the code is wrong, used or expired', [
          { path: 'code', message: 'This code is wrong, was used already or has expired. Send /start to the bot for a new one.' },
        ]);
      }
      hit.undo(); // a right code costs no attempt
      await notifications.link(userId, chatId);
      await bot?.sendText(chatId, `This chat is now linked to ${email}. You will get your da notifications here; /help lists what I can do.`).catch(() => {});
      return state(userId);
    },

    status: state,

    async unlink(userId) {
      if (!(await notifications.unlink(userId))) throw new NotFoundError('no Telegram chat is linked to your account');
    },
  };
}
