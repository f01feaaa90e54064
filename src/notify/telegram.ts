import { Bot, type Context } from 'grammy';
import type { Update } from 'grammy/types';
import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';
import type { AuthUser } from '../context.ts';
import { DomainError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { NotificationsRepository } from '../repositories/notifications.ts';
import type { AuditRepository } from '../repositories/audit.ts';
import { newId } from '../auth/secrets.ts';
import type { User, UsersRepository } from '../repositories/users.ts';
import type { Freshness } from '../sync/freshness.ts';
import type { ChatSender } from './dispatch.ts';
import { LINK_CODE_TTL_SECONDS, type TelegramLinks } from './link-codes.ts';
import { splitMessage } from './messages.ts';
import type { ScriptsPort } from './scripts-port.ts';

export type TelegramConfig = NonNullable<Config['telegram']>;

/** One of the user's tables for /status. */
export interface TableFreshness {
  id: string;
  freshness: Freshness;
  last_sync: string | null;
}

export interface TelegramBotDeps {
  config: TelegramConfig;
  /** `instance.base_url`: where Telegram posts updates in webhook mode. */
  baseUrl: string | undefined;
  repos: { users: Pick<UsersRepository, 'get'>; notifications: Pick<NotificationsRepository, 'userForChat'>; audit: Pick<AuditRepository, 'append'> };
  /** Linking, read late (the links confirm in the chat through this bot). */
  links: () => TelegramLinks;
  /** The tables a user may read, with how current each is. */
  tables(user: AuthUser): Promise<TableFreshness[]>;
  scripts: ScriptsPort;
  logger: Logger;
}

/** The bot: notifications out, commands in, by long polling or a webhook. */
export interface TelegramBot extends ChatSender {
  readonly mode: TelegramConfig['mode'];
  /** The bot's @name once known (after start). */
  username(): string | null;
  /** Polling: starts fetching updates. Webhook: registers `<base_url>/webhooks/telegram` with its secret. Failures are logged, not thrown. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True when `header` is the configured webhook secret (constant time); false without one. */
  checkWebhookSecret(header: string | undefined): boolean;
  /** Handles one update Telegram posted to the webhook. */
  handleUpdate(update: Update): Promise<void>;
}

export const WEBHOOK_PATH = '/webhooks/telegram';

const HELP = [
  'I send your da notifications (syncs, script runs, knowledge, access) and answer:',
  '/start: a code to link this chat to your da account',
  '/whoami: the da account this chat is linked to',
  '/status: how current your tables are, and your scripts\' last runs',
  '/scripts: your scripts',
  '/run NAME: run one of your scripts now',
  '/unlink: stop notifications here and unlink this chat',
  '/help: this list',
].join('\n');

const FRESHNESS_MARK: Record<Freshness, string> = { fresh: '🟢', stale: '🟡', failed: '🔴', never: '⚪', remote: '🔵' };
const when = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : 'never');

/**
 * The Telegram bot (grammy) pointed at `api_root`. Commands work in private chats only:
 * a group would show a link code and the notifications to everyone in it.
 */
export function createTelegramBot(deps: TelegramBotDeps): TelegramBot {
  const { config, repos, logger } = deps;
  const bot = new Bot(config.token, { client: { apiRoot: config.api_root } });
  bot.catch((err) => logger.error('telegram update failed', { update: err.ctx.update.update_id, error: err.error instanceof Error ? err.error.message : String(err.error) }));

  async function sendText(chatId: string | number, text: string) {
    for (const part of splitMessage(text)) await bot.api.sendMessage(chatId, part);
  }
  const reply = (ctx: Context, text: string) => sendText(ctx.chat!.id, text);

  /** The da user this chat is linked to, or a reply saying how to link. */
  async function linkedUser(ctx: Context): Promise<User | undefined> {
    const id = await repos.notifications.userForChat(ctx.chat!.id);
    const user = id ? await repos.users.get(id) : undefined;
    if (!user?.active) {
      await reply(ctx, 'This chat is not linked to a da account. Send /start for a code.');
      return undefined;
    }
    return user;
  }
  const authUser = (u: User): AuthUser => ({ id: u.id, email: u.email, role: u.role, name: u.name, via: 'jwt' });
  /** What the bot did for a chat, in the audit trail like an API call (`via: telegram`). */
  const record = (ctx: Context, action: string, userId: string | null, params: Record<string, unknown>, result: 'allowed' | 'refused' | 'error') =>
    repos.audit
      .append(
        {
          id: newId(), timestamp: new Date().toISOString(), request_id: null, user_id: userId, action, resource: `telegram/chats/${ctx.chat!.id}`,
          params: { ...params, via: 'telegram' }, result, status: null, duration_ms: null, ip: null,
        },
        { urgent: true },
      )
      .catch((err) => logger.error('audit write failed', { error: String(err) }));
  const words = (err: unknown) => (err instanceof DomainError ? err.message : 'something went wrong; try again later');

  const chats = bot.chatType('private');
  chats.command('start', async (ctx) => {
    const code = await deps.links().issueCode(ctx.chat.id);
    await record(ctx, 'telegram.code', null, {}, 'allowed');
    await reply(
      ctx,
      `Your link code: ${code}\n\nEnter it in da under Settings → Telegram, or run: da telegram link ${code}\n` +
        `It works once, for ${LINK_CODE_TTL_SECONDS / 60} minutes.`,
    );
  });
  chats.command('help', (ctx) => reply(ctx, HELP));
  chats.command('whoami', async (ctx) => {
    const user = await linkedUser(ctx);
    if (user) await reply(ctx, `You are ${user.email}${user.name ? ` (${user.name})` : ''}, role ${user.role}.`);
  });
  chats.command('status', async (ctx) => {
    const user = await linkedUser(ctx);
    if (!user) return;
    const [tables, scripts] = await Promise.all([deps.tables(authUser(user)), deps.scripts.list(user.id)]);
    const lines = ['Your tables:'];
    if (!tables.length) lines.push('none you may read yet');
    for (const t of tables) lines.push(`${FRESHNESS_MARK[t.freshness]} ${t.id}: ${t.freshness}, synced ${when(t.last_sync)}`);
    lines.push('', 'Your scripts:');
    if (!scripts.length) lines.push('none deployed');
    for (const s of scripts) lines.push(`${s.name}: ${s.last_status ?? 'never run'}${s.last_run ? ` at ${when(s.last_run)}` : ''}`);
    await reply(ctx, lines.join('\n'));
  });
  chats.command('scripts', async (ctx) => {
    const user = await linkedUser(ctx);
    if (!user) return;
    const scripts = await deps.scripts.list(user.id);
    await reply(ctx, scripts.length ? ['Your scripts:', ...scripts.map((s) => `• ${s.name} (${s.last_status ?? 'never run'})`)].join('\n') : 'You have no scripts deployed.');
  });
  chats.command('run', async (ctx) => {
    const user = await linkedUser(ctx);
    if (!user) return;
    const name = ctx.match.trim();
    if (!name) return void (await reply(ctx, 'Which script? /run NAME (see /scripts).'));
    try {
      const { runId } = await deps.scripts.run(user.id, name);
      await record(ctx, 'telegram.run', user.id, { name, run_id: runId }, 'allowed');
      await reply(ctx, `Started ${name} (run ${runId}). I will tell you when it ends.`);
    } catch (err) {
      await record(ctx, 'telegram.run', user.id, { name, error: words(err) }, err instanceof DomainError ? 'refused' : 'error');
      await reply(ctx, `Cannot run ${name}: ${words(err)}`);
    }
  });
  chats.command('unlink', async (ctx) => {
    const user = await linkedUser(ctx);
    if (!user) return;
    await deps.links().unlink(user.id).catch(() => {});
    await record(ctx, 'telegram.unlink', user.id, {}, 'allowed');
    await reply(ctx, `Unlinked from ${user.email}. No more notifications here; /start links again.`);
  });
  chats.on('message:text', (ctx) => reply(ctx, `I do not know that. ${HELP}`));

  const secret = config.webhook_secret ? Buffer.from(config.webhook_secret) : undefined;
  let polling: Promise<void> | undefined;
  let stopped = false;

  return {
    mode: config.mode,
    sendText: (chatId, text) => sendText(chatId, text),
    username: () => (bot.isInited() ? bot.botInfo.username : null),

    async start() {
      try {
        await bot.init();
        if (stopped) return;
        if (config.mode === 'webhook') {
          await bot.api.setWebhook(`${deps.baseUrl!.replace(/\/$/, '')}${WEBHOOK_PATH}`, { secret_token: config.webhook_secret });
          logger.info('telegram webhook set', { bot: bot.botInfo.username });
        } else {
          polling = bot.start({ onStart: () => logger.info('telegram polling started', { bot: bot.botInfo.username }) });
          polling.catch((err) => logger.error('telegram polling stopped', { error: err instanceof Error ? err.message : String(err) }));
        }
      } catch (err) {
        logger.error('telegram bot did not start', { error: err instanceof Error ? err.message : String(err) });
      }
    },

    async stop() {
      stopped = true;
      if (bot.isRunning()) await bot.stop().catch(() => {});
      await polling?.catch(() => {});
    },

    checkWebhookSecret(header) {
      if (!secret || header === undefined) return false;
      const given = Buffer.from(header);
      return given.length === secret.length && timingSafeEqual(given, secret);
    },

    async handleUpdate(update) {
      if (!bot.isInited()) await bot.init();
      await bot.handleUpdate(update);
    },
  };
}
