import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { launchBrowser, screenshots } from './helpers/browser.ts';
import { testYaml } from './helpers/data.ts';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/server.ts';
import { formToken, sessionCookie, signInPage } from './helpers/web.ts';
import { runHealthChecks } from '../jobs/health.ts';
import { startTelegramStandIn, type TelegramStandIn } from './stand-ins/telegram.ts';
import type { Role } from '../src/auth/roles.ts';

/**
 * The Telegram and notification sections of /settings and the /admin/jobs page, in Chromium
 * and over plain HTTP; the health job; and who may call every notification route.
 * With DA_SCREENSHOTS=<dir>, the pages are saved there as PNGs.
 */
let tg: TelegramStandIn;
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const admin = { email: ADMIN_EMAIL, password: ADMIN_PASSWORD };

beforeAll(async () => {
  tg = startTelegramStandIn();
  [server, browser] = await Promise.all([
    startTestServer({}, { yaml: testYaml(`sources:\n  sales: { type: local, path: fixtures/data/sales, public: true }\ntelegram:\n  token: "${tg.token}"\n  api_root: ${tg.url}\n`) }),
    launchBrowser(),
  ]);
  await server.services.notifications.start();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  tg?.stop();
});

describe('/settings', () => {
  test('a user links Telegram with the code from /start, chooses channels, and unlinks, without JavaScript', async () => {
    const user = await server.createUser('analyst');
    const { page, violations } = await signInPage(browser, server, user);
    await page.goto(`${server.url}/settings`);
    expect(await page.textContent('[data-testid=telegram]')).toContain('Send /start to @da_standin_bot');

    // A wrong code comes back beside the field, 422.
    await page.fill('#code', '000000');
    await page.click('[data-testid=telegram-form] button[type=submit]');
    expect(await page.textContent('#code-error')).toContain('wrong, was used already or has expired');

    tg.userSays(9200, '/start');
    const code = /\b(\d{6})\b/.exec((await tg.nextMessage(9200, (t) => t.includes('link code'))).text)![1]!;
    await page.fill('#code', code);
    await Promise.all([page.waitForURL(`${server.url}/settings`), page.click('[data-testid=telegram-form] button[type=submit]')]);
    expect(await page.textContent('[data-testid=telegram]')).toStartWith('Linked since');
    expect(await server.deps.repos.notifications.userForChat(9200)).toBe(user.id);

    // Channels: every box is on until unchecked.
    expect(await page.isChecked('#tg_sync_finished')).toBe(true);
    await page.uncheck('#tg_sync_finished');
    await page.uncheck('#ws_script_failed');
    await Promise.all([page.waitForURL(`${server.url}/settings`), page.click('[data-testid=notifications-form] button[type=submit]')]);
    expect(await page.textContent('.flash')).toContain('notification settings were saved');
    expect(await page.isChecked('#tg_sync_finished')).toBe(false);
    expect(await page.isChecked('#ws_sync_finished')).toBe(true);
    const prefs = (await (await server.fetch('/api/notifications/preferences', { token: user.token })).json()) as { items: Array<Record<string, unknown>> };
    expect(prefs.items.find((i) => i.event === 'sync.finished')).toEqual({ event: 'sync.finished', websocket: true, telegram: false });
    expect(prefs.items.find((i) => i.event === 'script.failed')).toEqual({ event: 'script.failed', websocket: false, telegram: true });

    await page.screenshot({ path: '/tmp/notify-settings.png', fullPage: true });
    await screenshots(page, 'settings-telegram');
    await Promise.all([page.waitForURL(`${server.url}/settings`), page.click('[data-testid=telegram-unlink] button')]);
    expect(await page.textContent('[data-testid=telegram]')).toStartWith('Not linked.');
    expect(violations).toEqual([]);
    await page.close();
  });

  test('the forms need their CSRF token (403 without)', async () => {
    const user = await server.createUser('viewer');
    const cookie = await sessionCookie(server, user);
    for (const path of ['/settings/telegram/link', '/settings/telegram/unlink', '/settings/notifications']) {
      const res = await fetch(server.url + path, { method: 'POST', redirect: 'manual', headers: { cookie, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' }, body: 'code=123456' });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
    }
  });
});

describe('/admin/jobs and the health job', () => {
  test('the health job checks the state, the data directory, the query pool and the sandbox, and keeps its findings', async () => {
    const findings = await runHealthChecks(server.runtime);
    expect(findings.map((f) => f.name).sort()).toEqual(['data_dir', 'query_pool', 'sandbox', 'state_db']);
    expect(findings.filter((f) => f.name !== 'sandbox').every((f) => f.ok)).toBe(true);
    expect((await server.deps.repos.healthChecks.list()).map((f) => f.name)).toContain('query_pool');
  });

  test('a failed check fails the run with its reason', async () => {
    await expect(runHealthChecks(server.runtime, { minFreeBytes: Number.MAX_SAFE_INTEGER })).rejects.toThrow(/data_dir: only .* free/);
    expect((await server.deps.repos.healthChecks.list()).find((f) => f.name === 'data_dir')).toMatchObject({ ok: false });
  });

  test('GET /api/jobs lists the health job', async () => {
    const jobs = (await (await server.fetch('/api/jobs', { token: server.adminToken })).json()) as Array<{ name: string; schedule: string }>;
    expect(jobs.find((j) => j.name === 'health')).toMatchObject({ schedule: '*/5 * * * *' });
  });

  test('an admin sees every job and starts one with Run now (the same runner as the API)', async () => {
    const { page, violations } = await signInPage(browser, server, admin);
    await page.goto(`${server.url}/admin/jobs`);
    const names = await page.$$eval('[data-testid=jobs] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-job')));
    expect(names).toEqual(['backup', 'catalog-enrich', 'data-refresh', 'health', 'memory-collect', 'retention', 'script-runs-retention']);
    await Promise.all([page.waitForURL(`${server.url}/admin/jobs`), page.click('[data-job=health] button')]);
    expect(await page.textContent('.flash')).toContain('Started health');
    const runs = await server.deps.repos.jobRuns.latestByName();
    expect(runs.get('health')?.trigger).toBe('manual');
    await page.reload();
    expect(await page.textContent('[data-testid=health]')).toContain('query_pool');
    await page.screenshot({ path: '/tmp/notify-admin-jobs.png', fullPage: true });
    await screenshots(page, 'admin-jobs');
    expect(violations).toEqual([]);
    await page.close();
  });

  test('a running job is said so; an unknown one is the 404 page', async () => {
    const cookie = await sessionCookie(server, admin);
    const { token, cookie: jar } = await formToken(server, { cookie, path: '/admin/jobs' });
    let release!: () => void;
    server.services.jobs.add({ name: 'slow-test', schedule: null, run: () => new Promise<void>((r) => (release = r)) });
    await server.services.jobs.runNow('slow-test');
    const post = (name: string) =>
      fetch(`${server.url}/admin/jobs/${name}/run`, {
        method: 'POST', redirect: 'manual',
        headers: { cookie: jar, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: token }),
      });
    const busy = await post('slow-test');
    expect(busy.status).toBe(303);
    // The one-time message travels with the cookies the redirect set.
    const cookies = [jar, ...busy.headers.getSetCookie().map((c) => c.split(';')[0]!)].join('; ');
    const page = await (await fetch(`${server.url}/admin/jobs`, { headers: { cookie: cookies } })).text();
    expect(page).toContain('slow-test is running already');
    expect(page).toMatch(/data-job="slow-test"[\s\S]*?Running…/);
    release();
    expect((await post('no-such-job')).status).toBe(404);
    server.services.jobs.remove('slow-test');
  });
});

describe('who may call what', () => {
  const ROUTES: Array<{ method: string; path: string; json?: unknown; least: Role }> = [
    { method: 'GET', path: '/api/telegram/link', least: 'viewer' },
    { method: 'POST', path: '/api/telegram/link', json: { code: '999999' }, least: 'viewer' },
    { method: 'DELETE', path: '/api/telegram/link', least: 'viewer' },
    { method: 'GET', path: '/api/notifications/preferences', least: 'viewer' },
    { method: 'PUT', path: '/api/notifications/preferences', json: { items: [{ event: 'sync.failed', websocket: true }] }, least: 'viewer' },
    { method: 'GET', path: '/api/jobs', least: 'admin' },
    { method: 'POST', path: '/api/jobs/health/run', least: 'admin' },
  ];

  test('every notification route: 401 without a token, 403 below its role, served from it up', async () => {
    const users = {} as Record<Role, { token: string; email: string; password: string }>;
    for (const role of ['viewer', 'analyst', 'admin', 'km_admin'] as Role[]) users[role] = await server.createUser(role);
    const rank: Role[] = ['viewer', 'analyst', 'admin', 'km_admin'];
    for (const r of ROUTES) {
      const anon = await server.fetch(r.path, { method: r.method, json: r.json });
      expect({ ...r, status: anon.status }).toEqual({ ...r, status: 401 });
      for (const role of rank) {
        const res = await server.fetch(r.path, { method: r.method, json: r.json, token: users[role].token });
        const allowed = rank.indexOf(role) >= rank.indexOf(r.least);
        // Allowed: anything but 401/403 (e.g. 404 for no link, 422 for a wrong code, 409 for a busy job).
        if (allowed) expect({ ...r, role, refused: [401, 403].includes(res.status) }).toEqual({ ...r, role, refused: false });
        else expect({ ...r, role, status: res.status }).toEqual({ ...r, role, status: 403 });
        if (r.path.endsWith('/run') && res.status === 202) await Bun.sleep(0);
      }
    }
    // The socket: 401 without a token for everybody, open for every role (tests/notify-websocket.test.ts covers the handshake).
    expect((await server.fetch('/ws/notifications', { headers: { upgrade: 'websocket' } })).status).toBe(401);
    // Pages: anonymous to sign-in, analyst 403 on /admin/jobs, viewer fine on /settings.
    const anonJobs = await fetch(`${server.url}/admin/jobs`, { redirect: 'manual' });
    expect(anonJobs.status).toBe(302);
    expect(anonJobs.headers.get('location')).toBe('/login?next=%2Fadmin%2Fjobs');
    const analystCookie = await sessionCookie(server, users.analyst);
    expect((await fetch(`${server.url}/admin/jobs`, { headers: { cookie: analystCookie } })).status).toBe(403);
    const viewerCookie = await sessionCookie(server, users.viewer);
    expect((await fetch(`${server.url}/settings`, { headers: { cookie: viewerCookie } })).status).toBe(200);
  });
});
