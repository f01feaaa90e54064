import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { launchBrowser, screenshots } from './helpers/browser.ts';
import { seedTable, testYaml } from './helpers/data.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { formToken, sessionCookie, signInPage } from './helpers/web.ts';

/**
 * The settings page in a real browser: name, password change (ends every other session),
 * personal access tokens (shown once, work against the API, stop working when revoked),
 * what `da sync` fetches (the manifest honours it), and the Telegram slot. Each form posts,
 * redirects and shows a one-time message; a refused form comes back with its errors (422).
 * Page actions are audited under the API's action names.
 */
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startTestServer({}, {
      yaml: testYaml(
        'sources:\n  sales: { type: local, path: /tmp, public: true, description: Orders and customers }\n  hr: { type: local, path: /tmp }\n',
      ),
    }),
    launchBrowser(),
  ]);
  await seedTable(server, { dataset: 'sales', table: 'orders', select: 'SELECT range AS id FROM range(10)' });
  await seedTable(server, { dataset: 'sales', table: 'customers', select: 'SELECT range AS id FROM range(5)' });
  await seedTable(server, { dataset: 'sales', table: 'returns', select: 'SELECT range AS id FROM range(2)' });
  await seedTable(server, { dataset: 'hr', table: 'salaries', select: 'SELECT 1 AS id' });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

type AuditItem = { action: string; resource: string; status: number; result: string; user_id: string; params: Record<string, any> };
async function auditOf(action: string, userId: string): Promise<AuditItem[]> {
  const res = await server.fetch(`/api/audit?action=${action}&user=${userId}`, { token: server.adminToken });
  return ((await res.json()) as { items: AuditItem[] }).items;
}

describe('profile', () => {
  test('the name is saved (Post/Redirect/Get with a one-time message) and is what GET /api/me says', async () => {
    const viewer = await server.createUser('viewer');
    const { page, violations } = await signInPage(browser, server, viewer);
    try {
      await page.click('nav.main a[href="/settings"]');
      await page.waitForURL(`${server.url}/settings`);
      await screenshots(page, 'settings');
      await page.fill('#name', 'Vera Viewer');
      const [posted] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/settings/profile')), page.click('[data-testid=profile-form] button')]);
      expect(posted.status()).toBe(303);
      await page.waitForURL(`${server.url}/settings`);
      expect(await page.textContent('[data-testid=flash]')).toContain('Your name was saved.');
      expect(await page.inputValue('#name')).toBe('Vera Viewer');
      const me = (await (await server.fetch('/api/me', { token: viewer.token })).json()) as { name: string };
      expect(me.name).toBe('Vera Viewer');
      // The message is shown once.
      await page.reload();
      expect(await page.$('[data-testid=flash]')).toBeNull();
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
    const [entry] = await auditOf('me.update', viewer.id);
    expect(entry).toMatchObject({ resource: '/settings/profile', status: 303, result: 'allowed', params: { via: 'web', body: { name: 'Vera Viewer' } } });
  });
});

describe('personal access tokens', () => {
  test('a token created in settings is shown once, works against the API, shows its last use, and stops working once revoked', async () => {
    const analyst = await server.createUser('analyst');
    const { page, violations } = await signInPage(browser, server, analyst);
    let secret: string;
    try {
      await page.goto(`${server.url}/settings`);
      await page.fill('#token_name', 'laptop');
      await page.selectOption('#expires_in_days', '30');
      const [shown] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${server.url}/settings` && r.request().method() === 'GET'),
        page.click('[data-testid=token-form] button'),
      ]);
      expect(shown.headers()['cache-control']).toBe('no-store'); // the secret is not kept by a cache
      secret = (await page.textContent('[data-testid=flash-secret]'))!.trim();
      expect(secret).toMatch(/^dapat_[a-z2-7]{32}$/);
      await screenshots(page, 'settings-token-created');
      const row = page.locator('[data-testid=tokens] tbody tr', { hasText: 'laptop' });
      expect(await row.textContent()).toContain(secret.slice(0, 10));
      expect(await row.textContent()).toContain('active until');
      expect(await row.locator('[data-testid=last-used]').textContent()).toBe('never');

      // It works against the API …
      const me = await server.fetch('/api/me', { token: secret });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { email: string; via: string })).toMatchObject({ email: analyst.email, via: 'pat' });
      // … the list shows its last use (written in the background) …
      const deadline = Date.now() + 10_000;
      for (;;) {
        await page.reload();
        const used = await row.locator('[data-testid=last-used]').textContent();
        if (used !== 'never') break;
        if (Date.now() > deadline) throw new Error('last use never shown');
        await Bun.sleep(100);
      }
      // … and the secret is not on the page any more.
      expect(await page.content()).not.toContain(secret);

      await Promise.all([page.waitForURL(`${server.url}/settings`), row.locator('button', { hasText: 'Revoke' }).click()]);
      expect(await page.textContent('[data-testid=flash]')).toContain('revoked');
      expect(await row.textContent()).toContain('revoked');
      expect(await row.locator('button').count()).toBe(0);
      expect((await server.fetch('/api/me', { token: secret })).status).toBe(401);
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
    const [created] = await auditOf('tokens.create', analyst.id);
    expect(created).toMatchObject({ resource: '/settings/tokens', status: 303, params: { via: 'web', body: { name: 'laptop', expires_in_days: '30' } } });
    expect(JSON.stringify(created)).not.toContain(secret);
    const [revoked] = await auditOf('tokens.revoke', analyst.id);
    expect(revoked).toMatchObject({ status: 303, result: 'allowed', params: { via: 'web' } });
    expect(revoked.resource).toStartWith('/settings/tokens/');
  });

  test('a token without a name comes back with the field error (422); someone else\'s token cannot be revoked (404)', async () => {
    const viewer = await server.createUser('viewer');
    const other = await server.createUser('viewer');
    const theirs = (await (await server.fetch('/api/tokens', { method: 'POST', token: other.token, json: { name: 'theirs' } })).json()) as { id: string; token: string };
    const cookie = await sessionCookie(server, viewer);
    const { token } = await formToken(server, { cookie, path: '/settings' });
    const headers = { cookie, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' };
    const blank = await fetch(`${server.url}/settings/tokens`, { method: 'POST', headers, body: new URLSearchParams({ name: '  ', _csrf: token }) });
    expect(blank.status).toBe(422);
    const html = await blank.text();
    expect(html).toContain('Give the token a name.');
    expect(html).toContain('aria-invalid="true"');
    const foreign = await fetch(`${server.url}/settings/tokens/${theirs.id}/revoke`, { method: 'POST', headers, body: new URLSearchParams({ _csrf: token }), redirect: 'manual' });
    expect(foreign.status).toBe(404);
    expect((await server.fetch('/api/me', { token: theirs.token })).status).toBe(200);

    const { page } = await signInPage(browser, server, viewer);
    try {
      await page.goto(`${server.url}/settings`);
      await page.$eval('[data-testid=token-form]', (f) => ((f as HTMLFormElement).noValidate = true));
      const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/settings/tokens')), page.click('[data-testid=token-form] button')]);
      expect(res.status()).toBe(422);
      expect(await page.textContent('#token_name-error')).toBe('Give the token a name.');
      await screenshots(page, 'settings-token-refused');
    } finally {
      await page.close();
    }
  });

  test('a form post without the CSRF token is refused (403) and creates nothing', async () => {
    const viewer = await server.createUser('viewer');
    const cookie = await sessionCookie(server, viewer);
    const res = await fetch(`${server.url}/settings/tokens`, {
      method: 'POST', headers: { cookie, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: 'sneaky' }), redirect: 'manual',
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('403 Forbidden');
    expect(((await (await server.fetch('/api/tokens', { token: viewer.token })).json()) as { items: unknown[] }).items).toEqual([]);
    const [refused] = await auditOf('tokens.create', viewer.id);
    expect(refused).toMatchObject({ status: 403, result: 'refused', params: { via: 'web', body: { name: 'sneaky' } } });
    // Without a session at all: sent to sign in, and on record as refused.
    const anonymous = await fetch(`${server.url}/settings/tokens`, {
      method: 'POST', headers: { origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: 'anonymous-token' }), redirect: 'manual',
    });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toBe('/login');
    const all = await (await server.fetch('/api/audit?action=tokens.create', { token: server.adminToken })).json() as { items: AuditItem[] };
    expect(all.items.find((e) => e.params.body?.name === 'anonymous-token')).toMatchObject({ user_id: null, status: 302, result: 'refused' });
  });
});

describe('password', () => {
  test('a change needs the current password, ends every other session, keeps this browser signed in, and is audited without the passwords', async () => {
    const analyst = await server.createUser('analyst');
    const elsewhere = await sessionCookie(server, analyst); // another browser
    const { page, violations } = await signInPage(browser, server, analyst);
    try {
      await page.goto(`${server.url}/settings`);
      // Wrong current password: the form again, with the field's error, 422.
      await page.fill('#current_password', 'not-my-password');
      await page.fill('#new_password', 'brand-new-password');
      await page.fill('#confirm_password', 'brand-new-password');
      const [wrong] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/settings/password')), page.click('[data-testid=password-form] button')]);
      expect(wrong.status()).toBe(422);
      expect(await page.textContent('#current_password-error')).toBe('This is not your current password.');
      expect(await page.inputValue('#current_password')).toBe(''); // passwords are never sent back
      await screenshots(page, 'settings-password-refused');
      // The two new ones differ.
      await page.fill('#current_password', analyst.password);
      await page.fill('#new_password', 'brand-new-password');
      await page.fill('#confirm_password', 'brand-new-passwort');
      await Promise.all([page.waitForResponse((r) => r.url().endsWith('/settings/password')), page.click('[data-testid=password-form] button')]);
      expect(await page.textContent('#confirm_password-error')).toBe('The two new passwords differ.');
      expect((await server.fetch('/api/me', { headers: { cookie: elsewhere } })).status).toBe(200);

      await page.fill('#current_password', analyst.password);
      await page.fill('#new_password', 'brand-new-password');
      await page.fill('#confirm_password', 'brand-new-password');
      await Promise.all([page.waitForURL(`${server.url}/settings`), page.click('[data-testid=password-form] button')]);
      expect(await page.textContent('[data-testid=flash]')).toContain('Your password was changed');
      // This browser goes on; the other session and the old bearer token have ended.
      await page.goto(`${server.url}/catalog`);
      expect(await page.textContent('[data-testid=whoami]')).toBe(analyst.email);
      expect((await server.fetch('/api/me', { headers: { cookie: elsewhere } })).status).toBe(401);
      expect((await server.fetch('/api/me', { token: analyst.token })).status).toBe(401);
      expect((await server.fetch('/auth/token', { method: 'POST', json: { email: analyst.email, password: analyst.password } })).status).toBe(401);
      expect((await server.fetch('/auth/token', { method: 'POST', json: { email: analyst.email, password: 'brand-new-password' } })).status).toBe(200);
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
    const entries = await auditOf('me.password', analyst.id);
    expect(entries.map((e) => e.status).sort()).toEqual([303, 422, 422]);
    const text = JSON.stringify(entries);
    expect(text).not.toContain('brand-new-password');
    expect(text).not.toContain(analyst.password);
    expect(entries[0]!.params.body.new_password).toBe('[redacted]');
  });

  test('POST /api/me/password does the same over the API and answers with a token that continues', async () => {
    const viewer = await server.createUser('viewer');
    const wrong = await server.fetch('/api/me/password', { method: 'POST', token: viewer.token, json: { current_password: 'nope-nope', new_password: 'another-password-1' } });
    expect(wrong.status).toBe(422);
    expect(((await wrong.json()) as { errors: Array<{ path: string }> }).errors[0]!.path).toBe('current_password');
    const ok = await server.fetch('/api/me/password', { method: 'POST', token: viewer.token, json: { current_password: viewer.password, new_password: 'another-password-1' } });
    expect(ok.status).toBe(200);
    const { access_token } = (await ok.json()) as { access_token: string };
    expect((await server.fetch('/api/me', { token: access_token })).status).toBe(200);
    expect((await server.fetch('/api/me', { token: viewer.token })).status).toBe(401);
  });
});

describe('sync settings', () => {
  test('what da sync fetches is chosen per dataset and table, and the manifest honours it', async () => {
    const analyst = await server.createUser('analyst');
    await server.fetch(`/api/users/${analyst.id}/permissions/hr`, { method: 'PUT', token: server.adminToken, json: { access: 'read' } });
    const manifestTables = async () => {
      const res = await server.fetch('/api/sync/manifest', { token: analyst.token });
      return Object.keys(((await res.json()) as { tables: object }).tables).sort();
    };
    expect(await manifestTables()).toEqual(['hr.salaries', 'sales.customers', 'sales.orders', 'sales.returns']);

    const { page, violations } = await signInPage(browser, server, analyst);
    try {
      await page.goto(`${server.url}/settings`);
      expect(await page.isChecked('#sync_hr')).toBe(true);
      expect(await page.isChecked('#mode_sales_all')).toBe(true);
      // Only some tables, but none chosen: the form again with the error (422), nothing saved.
      await page.check('#mode_sales_explicit');
      const [refused] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/settings/sync')), page.click('[data-testid=sync-form] button[type=submit]')]);
      expect(refused.status()).toBe(422);
      expect(await page.textContent('#tables_sales-error')).toContain('Choose at least one table of sales');
      expect(await page.isChecked('#mode_sales_explicit')).toBe(true); // what was posted, kept
      expect(await manifestTables()).toEqual(['hr.salaries', 'sales.customers', 'sales.orders', 'sales.returns']);

      await page.uncheck('#sync_hr');
      await page.check('#t_sales_orders');
      await page.check('#t_sales_returns');
      await Promise.all([page.waitForURL(`${server.url}/settings`), page.click('[data-testid=sync-form] button[type=submit]')]);
      expect(await page.textContent('[data-testid=flash]')).toContain('sync settings were saved');
      expect(await page.isChecked('#sync_hr')).toBe(false);
      expect(await page.isChecked('#mode_sales_explicit')).toBe(true);
      expect(await page.isChecked('#t_sales_customers')).toBe(false);
      await screenshots(page, 'settings-sync');
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
    // The very next manifest has only what was chosen (profiles of the others are gone too).
    expect(await manifestTables()).toEqual(['sales.orders', 'sales.returns']);
    const api = (await (await server.fetch(`/api/users/${analyst.id}/settings`, { token: analyst.token })).json()) as { items: unknown[] };
    expect(api.items).toEqual([
      expect.objectContaining({ dataset: 'hr', enabled: false }),
      expect.objectContaining({ dataset: 'sales', enabled: true, table_mode: 'explicit', tables: ['orders', 'returns'] }),
    ]);
    const [saved] = await auditOf('users.settings.put', analyst.id);
    expect(saved).toMatchObject({ resource: '/settings/sync', status: 303, params: { via: 'web' } });

    // The API's way of saving them reaches the manifest the same way.
    await server.fetch(`/api/users/${analyst.id}/settings`, {
      method: 'PUT', token: analyst.token, json: { items: [{ dataset: 'sales', enabled: true, table_mode: 'all' }] },
    });
    expect(await manifestTables()).toEqual(['sales.customers', 'sales.orders', 'sales.returns']);
  });

  test('a viewer (who does not sync) gets no sync settings; Telegram is a slot that says it is not linked', async () => {
    const viewer = await server.createUser('viewer');
    const html = await (await fetch(`${server.url}/settings`, { headers: { cookie: await sessionCookie(server, viewer) } })).text();
    expect(html).not.toContain('data-testid="sync-form"');
    expect(html).toMatch(/data-testid="telegram">Not linked\./);
  });
});
