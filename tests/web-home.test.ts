import { afterAll, beforeAll, expect, test } from 'bun:test';
import { launchBrowser } from './helpers/browser.ts';
import { seedTable, testYaml } from './helpers/data.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { formToken } from './helpers/web.ts';

let server: TestServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startTestServer({}, { yaml: testYaml('sources:\n  sales: { type: local, path: /tmp, public: true }\n  hr: { type: local, path: /tmp }\n') }),
    launchBrowser(),
  ]);
  await seedTable(server, { dataset: 'sales', table: 'orders', select: 'SELECT range AS id FROM range(1234)', description: 'One row per order' });
  await seedTable(server, { dataset: 'hr', table: 'salaries', select: 'SELECT 1 AS id' });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

test('an anonymous visitor of / is sent to the sign-in page', async () => {
  const res = await fetch(`${server.url}/`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  expect(res.headers.get('location')).toBe('/login');
});

test('an analyst signs in on the web, sees the install command and only the tables they may read, and signs out', async () => {
  const analyst = await server.createUser('analyst');
  const page = await browser.context.newPage();
  try {
    await page.goto(`${server.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('#email', analyst.email);
    await page.fill('#password', analyst.password);
    await Promise.all([page.waitForURL(`${server.url}/`), page.click('button[type=submit]')]);

    expect(await page.textContent('[data-testid=whoami]')).toBe(analyst.email);
    expect(await page.textContent('[data-testid=install-command]')).toBe(`curl -fsSL ${server.url}/cli/install.sh | sh`);
    const rows = await page.$$eval('[data-testid=tables] tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('sales.orders');
    expect(rows[0]).toContain('1,234');
    expect(rows[0]).toContain('One row per order');
    const html = await page.content();
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toContain('hr.salaries');

    // The install command the page shows really serves a script for this server.
    const script = await (await fetch(`${server.url}/cli/install.sh`)).text();
    expect(script).toContain(`SERVER="${server.url}"`);

    await Promise.all([page.waitForURL(`${server.url}/login`), page.click('header button[type=submit]')]);
    await page.goto(`${server.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
  } finally {
    await page.close();
  }
});

test('signing out revokes the session token, and a cross-site sign-out form is refused', async () => {
  const viewer = await server.createUser('viewer');
  const login = await server.fetch('/auth/token', { method: 'POST', json: { email: viewer.email, password: viewer.password, cookie: true } });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const token = cookie.split('=')[1]!;
  // The form's CSRF token, as the page with the sign-out button holds it.
  const form = new URLSearchParams({ _csrf: (await formToken(server, { cookie, path: '/' })).token });

  const cross = await fetch(`${server.url}/logout`, {
    method: 'POST', redirect: 'manual',
    headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  expect(cross.status).toBe(403);
  expect((await server.fetch('/api/me', { token })).status).toBe(200);

  const same = await fetch(`${server.url}/logout`, {
    method: 'POST', redirect: 'manual',
    headers: { cookie, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  expect(same.status).toBe(302);
  expect(same.headers.get('location')).toBe('/login');
  expect((await server.fetch('/api/me', { token })).status).toBe(401);
});
