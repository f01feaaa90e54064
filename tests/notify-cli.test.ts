import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { testYaml } from './helpers/data.ts';
import { createDaSandbox, type DaSandbox } from './helpers/cli.ts';
import { startTelegramStandIn, type TelegramStandIn } from './stand-ins/telegram.ts';

/** `da telegram link|status|unlink` and `da notifications`, in-process against a real server and a Bot API stand-in. */
let tg: TelegramStandIn;
let server: TestServer;
let da: DaSandbox;
let userId: string;

beforeAll(async () => {
  tg = startTelegramStandIn();
  server = await startTestServer({}, { yaml: testYaml(`telegram:\n  token: "${tg.token}"\n  api_root: ${tg.url}\n`) });
  await server.services.notifications.start();
  const user = await server.createUser('analyst');
  userId = user.id;
  da = createDaSandbox();
  const r = await da.runInProcess(['login', '--server', server.url, '--email', user.email, '--password', user.password]);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(async () => {
  da?.cleanup();
  await server?.stop();
  tg?.stop();
});

test('da telegram link CODE links the chat that got the code; status and unlink follow it', async () => {
  const before = await da.runInProcess(['telegram', 'status', '--json']);
  expect(before.code, before.stderr).toBe(0);
  expect(before.json()).toMatchObject({ linked: false, bot_enabled: true, bot_username: 'da_standin_bot' });
  expect((await da.runInProcess(['telegram', 'status'])).stdout).toContain('send /start to @da_standin_bot');

  tg.userSays(9100, '/start');
  const code = /\b(\d{6})\b/.exec((await tg.nextMessage(9100, (t) => t.includes('link code'))).text)![1]!;
  const linked = await da.runInProcess(['telegram', 'link', code, '--json']);
  expect(linked.code, linked.stderr).toBe(0);
  expect(linked.json()).toMatchObject({ linked: true });
  expect(await server.deps.repos.notifications.userForChat(9100)).toBe(userId);

  const reused = await da.runInProcess(['telegram', 'link', code]);
  expect(reused.code).toBe(1);
  expect(reused.stderr).toContain('wrong, used or expired');
  const malformed = await da.runInProcess(['telegram', 'link', '12x']);
  expect(malformed.code).toBe(2);
  expect(malformed.stderr).toContain('6 digits');

  expect((await da.runInProcess(['telegram', 'status'])).stdout).toContain('Linked since');
  const unlinked = await da.runInProcess(['telegram', 'unlink', '--json']);
  expect(unlinked.code, unlinked.stderr).toBe(0);
  expect(unlinked.json()).toEqual({ linked: false });
  const again = await da.runInProcess(['telegram', 'unlink']);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('no Telegram chat is linked');
});

test('da notifications shows the channels and turns them on and off', async () => {
  const shown = await da.runInProcess(['notifications', '--json']);
  expect(shown.code, shown.stderr).toBe(0);
  expect(shown.json().items).toHaveLength(6);
  const changed = await da.runInProcess(['notifications', '--off', 'sync.finished:telegram', '--off', 'script.failed:websocket', '--json']);
  expect(changed.code, changed.stderr).toBe(0);
  const items = changed.json().items as Array<{ event: string; websocket: boolean; telegram: boolean }>;
  expect(items.find((i) => i.event === 'sync.finished')).toEqual({ event: 'sync.finished', websocket: true, telegram: false });
  expect(items.find((i) => i.event === 'script.failed')).toEqual({ event: 'script.failed', websocket: false, telegram: true });
  expect((await da.runInProcess(['notifications'])).stdout).toMatch(/sync\.finished\s+on\s+off/);
  const bad = await da.runInProcess(['notifications', '--off', 'sync.finished']);
  expect(bad.code).toBe(2);
  const unknown = await da.runInProcess(['notifications', '--off', 'nope.event:telegram']);
  expect(unknown.code).toBe(1);
});
