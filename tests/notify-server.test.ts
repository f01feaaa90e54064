import { afterAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer } from './helpers/spawn.ts';
import { startTelegramStandIn } from './stand-ins/telegram.ts';

/** `bun src/server.ts` as production runs it: the bot polls once the server listens, and stops with it. */
const tg = startTelegramStandIn();
const dir = mkdtempSync(join(tmpdir(), 'da-notify-server-'));
afterAll(() => {
  tg.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the server starts polling Telegram, answers /start, and stops polling on SIGTERM', async () => {
  const config = join(dir, 'instance.yaml');
  writeFileSync(config, `telegram:\n  token: "${tg.token}"\n  api_root: ${tg.url}\n  mode: polling\n`);
  const server = await spawnServer({ DA_DATA_DIR: join(dir, 'data'), DA_CONFIG: config, DA_ADMIN_EMAIL: 'admin@example.com', DA_ADMIN_PASSWORD: 'admin-password-1' });
  try {
    tg.userSays(9300, '/start');
    expect((await tg.nextMessage(9300)).text).toContain('link code');
    expect(tg.calls.some((c) => c.method === 'getUpdates')).toBe(true);
  } finally {
    server.child.kill('SIGTERM');
  }
  expect(await server.exited).toBe(0);
  expect(server.output()).toContain('telegram polling started');
});
