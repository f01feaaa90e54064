/** A message the bot sent through the stand-in (sendMessage). */
export interface SentMessage {
  chat_id: number;
  text: string;
  message_id: number;
}

export interface TelegramStandIn {
  /** The Bot API root to configure as `telegram.api_root`. */
  url: string;
  token: string;
  /** Every sendMessage call, in order. */
  sent: SentMessage[];
  /** Every Bot API call by method name, with its parameters. */
  calls: Array<{ method: string; params: Record<string, unknown> }>;
  /** The webhook set with setWebhook (url and secret), or undefined after deleteWebhook. */
  webhook: { url: string; secret_token?: string } | undefined;
  /** A private-chat text message from a user, as Telegram would deliver it: queued for getUpdates, and returned as an update (for webhooks). */
  userSays(chatId: number, text: string): Record<string, unknown>;
  /** Resolves with the next message sent to `chatId` that satisfies `match` (also one sent already and not yet taken). */
  nextMessage(chatId: number, match?: (text: string) => boolean): Promise<SentMessage>;
  stop(): void;
}

/**
 * A local stand-in for the Telegram Bot API (https://core.telegram.org/bots/api) over real
 * HTTP: `POST|GET /bot<token>/<method>` with JSON, form or query parameters, answering
 * `{ok, result}` or `{ok: false, error_code, description}` like Telegram. Methods: getMe,
 * getUpdates (offset confirms earlier updates, long polling up to `timeout` seconds),
 * sendMessage (rejects texts over 4096 characters as Telegram does), setWebhook,
 * deleteWebhook; getUpdates is refused while a webhook is set (409), as Telegram does.
 */
export function startTelegramStandIn(token = '123456:stand-in-token'): TelegramStandIn {
  let updateSeq = 1000;
  let messageSeq = 1;
  let queue: Array<Record<string, unknown>> = [];
  let waiters: Array<() => void> = [];
  const taken = new Set<SentMessage>();
  const watchers: Array<{ chatId: number; match: (t: string) => boolean; resolve: (m: SentMessage) => void }> = [];
  const botUser = { id: 123456, is_bot: true, first_name: 'da stand-in', username: 'da_standin_bot', can_join_groups: false, can_read_all_group_messages: false, supports_inline_queries: false };

  const ok = (result: unknown) => Response.json({ ok: true, result });
  const fail = (code: number, description: string) => Response.json({ ok: false, error_code: code, description }, { status: code });

  async function params(req: Request, url: URL): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = Object.fromEntries(url.searchParams);
    const type = req.headers.get('content-type') ?? '';
    if (req.method === 'POST') {
      if (type.includes('application/json')) Object.assign(out, await req.json());
      else if (type.includes('form')) {
        for (const [k, v] of (await req.formData()).entries()) out[k] = typeof v === 'string' ? v : (v as File).name;
      }
    }
    return out;
  }

  function deliver(m: SentMessage) {
    const i = watchers.findIndex((w) => w.chatId === m.chat_id && w.match(m.text));
    if (i >= 0) {
      taken.add(m);
      watchers.splice(i, 1)[0]!.resolve(m);
    }
  }

  const standIn: TelegramStandIn = {
    url: '',
    token,
    sent: [],
    calls: [],
    webhook: undefined,
    userSays(chatId, text) {
      const command = /^\/\w+/.exec(text);
      const update = {
        update_id: ++updateSeq,
        message: {
          message_id: ++messageSeq,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: 'private', first_name: 'Ana' },
          from: { id: chatId, is_bot: false, first_name: 'Ana' },
          text,
          ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {}),
        },
      };
      queue.push(update);
      for (const wake of waiters.splice(0)) wake();
      return update;
    },
    nextMessage(chatId, match = () => true) {
      const already = standIn.sent.find((m) => m.chat_id === chatId && !taken.has(m) && match(m.text));
      if (already) {
        taken.add(already);
        return Promise.resolve(already);
      }
      return new Promise((resolve) => watchers.push({ chatId, match, resolve }));
    },
    stop() {
      for (const wake of waiters.splice(0)) wake();
      server.stop(true);
    },
  };

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 60,
    async fetch(req) {
      const url = new URL(req.url);
      const m = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
      if (!m) return fail(404, 'Not Found');
      if (m[1] !== token) return fail(401, 'Unauthorized');
      const method = m[2]!;
      const p = await params(req, url);
      standIn.calls.push({ method, params: p });
      switch (method) {
        case 'getMe':
          return ok(botUser);
        case 'getUpdates': {
          if (standIn.webhook) return fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
          const offset = Number(p.offset ?? 0);
          // An offset confirms every update before it: they are never sent again.
          if (offset) queue = queue.filter((u) => (u.update_id as number) >= offset);
          const timeout = Math.min(Number(p.timeout ?? 0), 50);
          if (!queue.length && timeout > 0) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, timeout * 1000);
              waiters.push(() => {
                clearTimeout(timer);
                resolve();
              });
              req.signal.addEventListener('abort', () => resolve());
            });
          }
          const limit = Number(p.limit ?? 100);
          return ok(queue.slice(0, limit));
        }
        case 'sendMessage': {
          const text = String(p.text ?? '');
          if (!text) return fail(400, 'Bad Request: message text is empty');
          if (text.length > 4096) return fail(400, 'Bad Request: message is too long');
          const chatId = Number(p.chat_id);
          const msg: SentMessage = { chat_id: chatId, text, message_id: ++messageSeq };
          standIn.sent.push(msg);
          deliver(msg);
          return ok({ message_id: msg.message_id, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private' }, from: botUser, text });
        }
        case 'setWebhook':
          if (!String(p.url ?? '').startsWith('https://') && !String(p.url ?? '').startsWith('http://')) return fail(400, 'Bad Request: bad webhook: invalid URL');
          standIn.webhook = { url: String(p.url), secret_token: p.secret_token as string | undefined };
          return ok(true);
        case 'deleteWebhook':
          standIn.webhook = undefined;
          if (p.drop_pending_updates) queue = [];
          return ok(true);
        default:
          return fail(404, 'Not Found: method not found');
      }
    },
  });
  standIn.url = `http://127.0.0.1:${server.port}`;
  return standIn;
}
