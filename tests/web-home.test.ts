import { afterAll, beforeAll, expect, test } from 'bun:test';
import { launchBrowser, screenshots } from './helpers/browser.ts';
import { seedTable, testYaml } from './helpers/data.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { formToken, sessionCookie, signInPage } from './helpers/web.ts';

let server: TestServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startTestServer({}, {
      yaml: testYaml('sources:\n  sales: { type: local, path: /tmp, public: true }\n  hr: { type: local, path: /tmp }\n  ops: { type: local, path: /tmp }\n'),
    }),
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
    expect(await page.textContent('[data-testid=install-command-windows]')).toBe(`irm ${server.url}/cli/install.ps1 | iex`);
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

test('the dashboard: my tables\' freshness with stale and failed ones flagged, my last syncs, my uploads, mandatory knowledge, Telegram', async () => {
  const { repos } = server.deps;
  const analyst = await server.createUser('analyst');
  await repos.permissions.set(analyst.id, 'ops', 'read', null);
  await seedTable(server, { dataset: 'ops', table: 'fresh_one', select: 'SELECT 1 AS x', description: 'Synced just now' });
  await seedTable(server, { dataset: 'ops', table: 'old_one', select: 'SELECT 1 AS x', description: 'Synced long ago' });
  await seedTable(server, { dataset: 'ops', table: 'broken_one', select: 'SELECT 1 AS x' });
  await repos.tableRegistry.insert({
    id: 'ops.waiting', name: 'waiting', dataset: 'ops', source_table: 'waiting', sync_strategy: 'full', primary_key: null, description: null, registered_by: null,
  });
  // The schedule is every 15 minutes: a table last synced 2 hours ago is stale.
  const old = (await repos.syncState.get('ops.old_one'))!;
  await repos.syncState.recordSuccess(
    { tableId: old.table_id, rows: old.rows!, fileSizeBytes: old.file_size_bytes!, uncompressedSizeBytes: old.uncompressed_size_bytes, columns: old.columns!, hash: old.hash!, watermark: old.watermark },
    { at: new Date(Date.now() - 2 * 3600_000) },
  );
  await repos.syncState.recordFailure('ops.broken_one', 'connection refused by warehouse.internal');
  for (const [table, status, error] of [['ops.fresh_one', 'ok', null], ['ops.broken_one', 'error', 'connection refused by warehouse.internal'], ['hr.salaries', 'ok', null]] as const) {
    await repos.syncState.addHistory({ id: crypto.randomUUID(), table_id: table, job_id: null, rows: 1, bytes: 10, columns: 1, duration_ms: 42, status, error });
  }
  const upload = await server.fetch('/api/upload/sessions?name=monday.jsonl', {
    method: 'POST', token: analyst.token, headers: { 'content-type': 'application/octet-stream' }, body: '{"role":"user"}\n',
  });
  expect(upload.status).toBe(201);
  const km = await server.createUser('km_admin');
  const made = await server.fetch('/api/memory', { method: 'POST', token: km.token, json: { title: 'Revenue excludes VAT', content: 'orders.amount is net of VAT.' } });
  const item = (await made.json()) as { id: string };
  const setStatus = (status: string) => server.fetch(`/api/memory/${item.id}/status`, { method: 'POST', token: km.token, json: { status } });
  expect((await setStatus('mandatory')).status).toBe(200);

  const { page, violations } = await signInPage(browser, server, analyst);
  try {
    expect(await page.getAttribute('nav.main a[href="/"]', 'aria-current')).toBe('page');
    const cards = await page.$$eval('[data-testid=freshness] li', (lis) => lis.map((li) => `${li.getAttribute('data-state')}=${li.querySelector('strong')!.textContent}`));
    // sales.orders and ops.fresh_one are fresh; hr.salaries is not readable.
    expect(cards).toEqual(['fresh=2', 'stale=1', 'failed=1', 'never=1']);
    const rows = await page.$$eval('[data-testid=tables] tbody tr', (trs) => trs.map((tr) => `${tr.querySelector('th')!.textContent}:${tr.getAttribute('data-freshness')}`));
    expect(rows).toEqual(['ops.broken_one:failed', 'ops.old_one:stale', 'ops.waiting:never', 'ops.fresh_one:fresh', 'sales.orders:fresh']);
    expect(await page.textContent('[data-testid=tables] tr[data-freshness=stale] .badge')).toBe('stale');
    expect(await page.textContent('[data-testid=tables] tr[data-freshness=stale]')).toContain('2 h ago');
    expect(await page.textContent('#fresh-title + ul + p')).toContain('older than 30 min');

    const syncs = await page.$$eval('[data-testid=syncs] tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(syncs).toHaveLength(2); // not the hr table's
    expect(syncs.join('\n')).toContain('ops.broken_one');
    expect(syncs.join('\n')).toContain('failed');
    expect(syncs.join('\n')).not.toContain('warehouse.internal'); // source errors are for admins
    expect(await page.textContent('[data-testid=uploads]')).toContain('1 file');
    expect(await page.textContent('#uploads-title + p + ul')).toContain('sessions/monday.jsonl');
    expect(await page.textContent('[data-testid=mandatory-knowledge]')).toBe('1 mandatory item of the corporate memory.');
    expect(await page.textContent('[data-testid=telegram]')).toStartWith('Not linked.');
    expect(await page.textContent('[data-testid=install-command]')).toBe(`curl -fsSL ${server.url}/cli/install.sh | sh`);
    expect(await page.textContent('[data-testid=setup-commands]')).toContain(`da login --server ${server.url}`);
    expect(await page.getAttribute('a[href="/cli/da"]', 'download')).not.toBeNull();
    await screenshots(page, 'dashboard');

    await repos.notifications.link(analyst.id, 424242);
    await page.reload();
    expect(await page.textContent('[data-testid=telegram]')).toStartWith('Linked since');
    expect(violations).toEqual([]);
  } finally {
    await page.close();
    await setStatus('revoked');
  }
});

test('a viewer\'s navigation has the dashboard, catalog and settings and no admin links; an admin\'s also the Admin menu', async () => {
  const viewer = await server.createUser('viewer');
  const html = await (await fetch(`${server.url}/`, { headers: { cookie: await sessionCookie(server, viewer) } })).text();
  const links = [...html.matchAll(/<nav class="main"[\s\S]*?<\/nav>/g)][0]![0].match(/href="[^"]+"/g);
  expect(links).toEqual(['href="/"', 'href="/catalog"', 'href="/memory"', 'href="/settings"']);
  expect(html).not.toContain('/admin/');
  expect(html).not.toContain('data-testid="uploads"'); // viewers do not upload

  const admin = await server.createUser('admin');
  const { page, violations } = await signInPage(browser, server, admin);
  try {
    expect(await page.isVisible('a[href="/admin/users"]')).toBe(false);
    await page.click('[data-testid=admin-menu] summary');
    const adminLinks = await page.$$eval('[data-testid=admin-menu] a', (as) => as.map((a) => `${a.getAttribute('href')} ${a.textContent}`));
    expect(adminLinks).toEqual(['/admin/users Users', '/admin/tables Tables', '/admin/sync Sync', '/admin/access Access requests', '/admin/audit Audit log', '/admin/jobs Jobs']);
    expect(await page.isVisible('a[href="/admin/users"]')).toBe(true);
    // Keyboard users see where the focus is.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('href'))).toBe('/admin/users');
    expect(await page.$eval('a[href="/admin/users"]', (a) => getComputedStyle(a).outlineStyle)).toBe('solid');
    await screenshots(page, 'dashboard-admin-menu');
    expect(violations).toEqual([]);
  } finally {
    await page.close();
  }
});
