import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { loadConfig, ConfigError } from '../src/config.ts';
import { hashLinkCode } from '../src/notify/link-codes.ts';
import { splitMessage } from '../src/notify/messages.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { deploy } from './helpers/scripts.ts';
import { testYaml } from './helpers/data.ts';
import { startTelegramStandIn, type TelegramStandIn } from './stand-ins/telegram.ts';

/**
 * The Telegram bot against a local stand-in of the Bot API over real HTTP: linking with the
 * /start code, commands, notifications, and webhook mode with its secret.
 */

const SOURCES = 'sources:\n  sales: { type: local, path: fixtures/data/sales, public: true }\n  hr: { type: local, path: fixtures/data/hr }\n';

describe('long polling', () => {
  let tg: TelegramStandIn;
  let server: TestServer;
  let analyst: Awaited<ReturnType<TestServer['createUser']>>;
  const CHAT = 7001;

  beforeAll(async () => {
    tg = startTelegramStandIn();
    server = await startTestServer({}, { yaml: testYaml(`${SOURCES}telegram:\n  token: "${tg.token}"\n  api_root: ${tg.url}\n  mode: polling\n`) });
    await server.services.notifications.start();
    analyst = await server.createUser('analyst');
  });
  afterAll(async () => {
    await server?.stop();
    tg?.stop();
  });

  /** Sends /start from `chat` and returns the code the bot replied with. */
  async function codeFor(chat: number): Promise<string> {
    tg.userSays(chat, '/start');
    const reply = await tg.nextMessage(chat, (t) => t.includes('link code'));
    return /\b(\d{6})\b/.exec(reply.text)![1]!;
  }
  const link = (code: string, token = analyst.token) => server.fetch('/api/telegram/link', { method: 'POST', token, json: { code } });

  test('/start gives a code; linking with it ties the chat to the user, and a finished sync is sent there', async () => {
    expect(server.services.notifications.telegram?.username()).toBe('da_standin_bot');
    const code = await codeFor(CHAT);
    // The code itself is not what is stored (its HMAC is: see src/repositories/duckdb/notifications.test.ts).
    expect(await server.deps.repos.notifications.takeLinkCode(code)).toBeUndefined();

    const before = await server.fetch('/api/telegram/link', { token: analyst.token });
    expect(await before.json()).toEqual({ linked: false, linked_at: null, bot_enabled: true, bot_username: 'da_standin_bot' });
    const res = await link(code);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ linked: true, bot_enabled: true });
    expect((await tg.nextMessage(CHAT, (t) => t.includes('now linked'))).text).toContain(analyst.email);

    // The code worked once.
    const again = await link(code);
    expect(again.status).toBe(422);
    expect(((await again.json()) as { errors: Array<{ path: string }> }).errors[0]!.path).toBe('code');

    await server.fetch('/api/sources/sales/register-all', { method: 'POST', token: server.adminToken });
    const trigger = await server.fetch('/api/sync/trigger', { method: 'POST', token: server.adminToken, json: {} });
    expect(trigger.status).toBe(202);
    const note = await tg.nextMessage(CHAT, (t) => t.startsWith('✅ Sync finished'));
    expect(note.text).toContain('sales.orders');
  });

  test('/whoami and /status answer for the linked user; an unlinked chat is told how to link', async () => {
    tg.userSays(CHAT, '/whoami');
    expect((await tg.nextMessage(CHAT, (t) => t.startsWith('You are'))).text).toContain(`${analyst.email}`);
    tg.userSays(CHAT, '/status');
    const status = await tg.nextMessage(CHAT, (t) => t.startsWith('Your tables:'));
    expect(status.text).toMatch(/🟢 sales\.orders: fresh, synced \d{4}-\d\d-\d\d/);
    expect(status.text).not.toContain('hr.');
    expect(status.text).toContain('Your scripts:\nnone deployed');

    tg.userSays(7999, '/whoami');
    expect((await tg.nextMessage(7999)).text).toContain('not linked');
    tg.userSays(CHAT, '/help');
    expect((await tg.nextMessage(CHAT, (t) => t.includes('/run NAME'))).text).toContain('/unlink');
  });

  test('/scripts lists only my scripts; /run runs one of mine in the sandbox and the result comes back to the chat', async () => {
    const other = await server.createUser('analyst');
    await deploy(server, analyst.token, { name: 'daily_revenue', language: 'typescript', source: 'console.log("revenue ok")' });
    await deploy(server, other.token, { name: 'someone_elses', language: 'typescript', source: 'console.log("not yours")' });
    tg.userSays(CHAT, '/scripts');
    const list = await tg.nextMessage(CHAT, (t) => t.startsWith('Your scripts'));
    expect(list.text).toContain('daily_revenue (never run)');
    expect(list.text).not.toContain('someone_elses');
    tg.userSays(CHAT, '/run someone_elses');
    expect((await tg.nextMessage(CHAT, (t) => t.startsWith('Cannot run'))).text).toContain('you have no script named someone_elses');
    tg.userSays(CHAT, '/run daily_revenue');
    const started = await tg.nextMessage(CHAT, (t) => t.startsWith('Started daily_revenue'));
    const runId = /\(run ([^)]+)\)/.exec(started.text)![1];
    const finished = await tg.nextMessage(CHAT, (t) => t.startsWith('✅ Script daily_revenue'));
    expect(finished.text).toContain(`(run ${runId})`);
    // What the bot did for the chat is in the audit trail, under the linked user.
    const audit = (await (await server.fetch('/api/audit?action=telegram.run', { token: server.adminToken })).json()) as { items: Array<Record<string, unknown>> };
    expect(audit.items[0]).toMatchObject({ action: 'telegram.run', user_id: analyst.id, resource: `telegram/chats/${CHAT}` });
    expect(audit.items.map((i) => i.result)).toContain('refused');
  });

  test('a long text reaches the chat in parts of at most 4096 characters; a channel turned off sends nothing', async () => {
    const long = Array.from({ length: 400 }, (_, i) => `row ${i}: ${'y'.repeat(30)}`).join('\n');
    const before = tg.sent.length;
    await server.services.notifications.telegram!.sendText(String(CHAT), long);
    const parts = tg.sent.slice(before).filter((m) => m.chat_id === CHAT);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.every((m) => m.text.length <= 4096)).toBe(true);
    expect(parts.map((m) => m.text).join('\n')).toBe(long);

    await server.fetch('/api/notifications/preferences', { method: 'PUT', token: analyst.token, json: { items: [{ event: 'access.granted', telegram: false }] } });
    const done = new Promise<unknown[]>((resolve) => {
      const off = server.services.notifications.onDelivered((e, d) => {
        if (e.type !== 'access.granted') return;
        off();
        resolve(d);
      });
    });
    const mark = tg.sent.length;
    server.services.events.emit({ type: 'access.granted', at: new Date().toISOString(), requestId: 'r1', userId: analyst.id, dataset: 'hr', decidedBy: 'admin' });
    expect(await done).toEqual([]);
    server.services.events.emit({
      type: 'script.failed', at: new Date().toISOString(), scriptId: 's1', name: 'daily_revenue', owner: analyst.id, runId: 'r9',
      status: 'timed_out', exitCode: null, durationMs: 300000, reason: 'ran past its 300 s limit',
    });
    const next = await tg.nextMessage(CHAT, (t) => t.startsWith('❌ Script'));
    expect(next.text).toBe('❌ Script daily_revenue timed out: ran past its 300 s limit (run r9).');
    // The only message since is the script's: the grant was never sent there.
    expect(tg.sent.slice(mark).filter((m) => m.chat_id === CHAT)).toEqual([next]);
  });

  test('an expired code is refused, and is used up by the attempt', async () => {
    const hash = hashLinkCode(server.deps.key, '424242');
    await server.deps.repos.notifications.addLinkCode(hash, 7002, -1);
    expect((await link('424242')).status).toBe(422);
    expect(await server.deps.repos.notifications.purgeExpiredCodes()).toBe(0);
  });

  test('a malformed code is 422, too many wrong codes are 429, and a viewer can link too', async () => {
    const viewer = await server.createUser('viewer');
    expect((await link('12ab', viewer.token)).status).toBe(422);
    let last = 0;
    for (let i = 0; i < 11; i++) last = (await link(String(100000 + i), viewer.token)).status;
    expect(last).toBe(429);
    expect((await server.fetch('/api/telegram/link', { method: 'POST', json: { code: '123456' } })).status).toBe(401);
  });

  test('/unlink in the chat and DELETE /api/telegram/link both end the link', async () => {
    tg.userSays(CHAT, '/unlink');
    await tg.nextMessage(CHAT, (t) => t.startsWith('Unlinked'));
    expect(await (await server.fetch('/api/telegram/link', { token: analyst.token })).json()).toMatchObject({ linked: false });
    expect((await server.fetch('/api/telegram/link', { method: 'DELETE', token: analyst.token })).status).toBe(404);
    expect((await link(await codeFor(CHAT))).status).toBe(200);
    expect((await server.fetch('/api/telegram/link', { method: 'DELETE', token: analyst.token })).status).toBe(204);
    expect(await server.deps.repos.notifications.linkFor(analyst.id)).toBeUndefined();
  });

  test('a chat belongs to one user: linking it to another ends the first link', async () => {
    const other = await server.createUser('analyst');
    expect((await link(await codeFor(CHAT))).status).toBe(200);
    expect((await link(await codeFor(CHAT), other.token)).status).toBe(200);
    expect(await server.deps.repos.notifications.linkFor(analyst.id)).toBeUndefined();
    expect(await server.deps.repos.notifications.userForChat(CHAT)).toBe(other.id);
  });
});

describe('webhook mode', () => {
  let tg: TelegramStandIn;
  let server: TestServer;
  const SECRET = 'webhook-secret-0123456789';

  beforeAll(async () => {
    tg = startTelegramStandIn();
    server = await startTestServer({}, {
      yaml: testYaml(
        `instance:\n  base_url: https://da.example.com\ntelegram:\n  token: "${tg.token}"\n  api_root: ${tg.url}\n  mode: webhook\n  webhook_secret: ${SECRET}\n`,
      ),
    });
    await server.services.notifications.start();
  });
  afterAll(async () => {
    await server?.stop();
    tg?.stop();
  });

  const post = (update: unknown, secret?: string) =>
    server.fetch('/webhooks/telegram', { method: 'POST', json: update, headers: secret === undefined ? {} : { 'x-telegram-bot-api-secret-token': secret } });

  test('start registers the webhook with its secret, and no polling happens', () => {
    expect(tg.webhook).toEqual({ url: 'https://da.example.com/webhooks/telegram', secret_token: SECRET });
    expect(tg.calls.some((c) => c.method === 'getUpdates')).toBe(false);
  });

  test('an update with the right secret is handled; a wrong or missing secret is 401 and nothing is answered', async () => {
    const wrong = await post(tg.userSays(8001, '/help'), 'not-the-secret-000000');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
    expect((await post(tg.userSays(8001, '/help'))).status).toBe(401);
    expect(tg.sent.filter((m) => m.chat_id === 8001)).toEqual([]);

    const res = await post(tg.userSays(8001, '/start'), SECRET);
    expect(res.status).toBe(200);
    expect((await tg.nextMessage(8001)).text).toContain('link code');
    expect((await post({ nope: true }, SECRET)).status).toBe(400);
  });

  test('a polling server has no webhook (404)', async () => {
    const plain = await startTestServer();
    try {
      expect((await plain.fetch('/webhooks/telegram', { method: 'POST', json: { update_id: 1 } })).status).toBe(404);
      // Without a bot, linking says Telegram is off.
      expect((await plain.fetch('/api/telegram/link', { method: 'POST', token: plain.adminToken, json: { code: '123456' } })).status).toBe(404);
      expect(await (await plain.fetch('/api/telegram/link', { token: plain.adminToken })).json()).toMatchObject({ bot_enabled: false });
    } finally {
      await plain.stop();
    }
  });
});

test('webhook mode without a secret or a base URL does not start', () => {
  const write = (yaml: string) => {
    const path = `${require('node:os').tmpdir()}/da-telegram-${process.pid}-${Math.random().toString(36).slice(2)}.yaml`;
    require('node:fs').writeFileSync(path, yaml);
    return path;
  };
  expect(() => loadConfig({ DA_CONFIG: write('instance:\n  base_url: https://x.example\ntelegram:\n  token: t\n  mode: webhook\n') })).toThrow(ConfigError);
  expect(() => loadConfig({ DA_CONFIG: write('telegram:\n  token: t\n  mode: webhook\n  webhook_secret: 0123456789abcdef\n') })).toThrow(/base_url/);
});

test('long texts are split at line breaks under Telegram\'s 4096 limit, nothing lost', () => {
  const text = Array.from({ length: 500 }, (_, i) => `line ${i}: ${'x'.repeat(20)}`).join('\n');
  const parts = splitMessage(text);
  expect(parts.length).toBeGreaterThan(2);
  expect(parts.every((p) => p.length <= 4096)).toBe(true);
  expect(parts.join('\n')).toBe(text);
  const emoji = '😀'.repeat(3000);
  const cut = splitMessage(emoji);
  expect(cut.join('')).toBe(emoji);
  expect(cut.every((p) => p.length <= 4096 && !/^[\udc00-\udfff]/.test(p))).toBe(true);
});
