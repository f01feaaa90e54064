import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser } from './helpers/browser.ts';
import { testYaml } from './helpers/data.ts';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/server.ts';
import { formToken, signInPage } from './helpers/web.ts';

/**
 * The admin pages in a real browser against a real server: users (add, role, deactivate,
 * grants), tables (discover, register, settings), sync (trigger, follow the job), audit
 * (filters, paging, CSV); who may use them; and that every action goes through the same
 * rules as the API. With DA_SCREENSHOTS=<dir>, every admin page is saved there as a PNG.
 */
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const shots = process.env.DA_SCREENSHOTS;
const admin = { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }; // km_admin

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startTestServer({}, {
      yaml: testYaml(
        'sources:\n' +
          '  sales: { type: local, path: fixtures/data/sales, public: true, auto_register: false, description: Orders of a coffee shop }\n' +
          '  hr: { type: local, path: fixtures/data/hr, description: Restricted staff data }\n',
      ),
    }),
    launchBrowser(),
  ]);
  if (shots) mkdirSync(shots, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

interface Session {
  page: Page;
  /** Content-Security-Policy violations the page reported. */
  violations: string[];
}

/** Signs in through the sign-in form (one session at a time: the browser's cookies are cleared first). */
function signIn(user: { email: string; password: string }, viewport = { width: 1100, height: 800 }): Promise<Session> {
  return signInPage(browser, server, user, { viewport });
}

async function shot(page: Page, name: string) {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Clicks and waits for the page the click leads to (a form post and its redirect). */
async function submit(page: Page, selector: string) {
  await Promise.all([page.waitForEvent('load'), page.click(selector)]);
}

/** What every admin page must hold: labelled inputs, scoped table headers, no overflow of the page itself. */
async function checkPage(page: Page) {
  const problems = await page.evaluate(() => {
    const out: string[] = [];
    for (const el of Array.from(document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('main input:not([type=hidden]), main select'))) {
      if (!el.labels?.length && !el.getAttribute('aria-label')) out.push(`unlabelled ${el.tagName} ${el.name}`);
    }
    for (const th of Array.from(document.querySelectorAll('main th'))) if (!th.getAttribute('scope')) out.push(`th without scope: ${th.textContent}`);
    for (const b of Array.from(document.querySelectorAll('main button'))) if (!b.textContent?.trim()) out.push('button without text');
    return out;
  });
  expect(problems).toEqual([]);
}

const sessionCookie = async (user: { email: string; password: string }) => {
  const res = await server.fetch('/auth/token', { method: 'POST', json: { email: user.email, password: user.password, cookie: true } });
  return res.headers.get('set-cookie')!.split(';')[0]!;
};

const formHeaders = (cookie: string) => ({ cookie, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' });

const api = (path: string, init: RequestInit & { json?: unknown } = {}) => server.fetch(path, { ...init, token: server.adminToken });

async function catalogIds(token: string): Promise<string[]> {
  const res = await server.fetch('/api/catalog/tables', { token });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: Array<{ id: string }> }).items.map((t) => t.id);
}

/** RFC 4180 rows (quoted fields with "" escapes, CRLF or LF line ends). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field), rows.push(row), (row = []), (field = '');
    } else field += ch;
  }
  if (field || row.length) row.push(field), rows.push(row);
  return rows;
}

describe('users', () => {
  test('an admin adds a user in the browser and grants a dataset; the user then reads it', async () => {
    await api('/api/sources/hr/register-all', { method: 'POST' });
    await server.services.sync.runNow();

    const { page, violations } = await signIn(admin);
    try {
      await page.goto(`${server.url}/admin/users`);
      await checkPage(page);
      await page.fill('#email', 'Nora@Example.com');
      await page.fill('#name', 'Nora Analyst');
      await page.selectOption('#role', 'analyst');
      await page.fill('#password', 'nora-password-1');
      await submit(page, 'form[action="/admin/users"] button[type=submit]');
      expect(new URL(page.url()).pathname).toMatch(/^\/admin\/users\/[0-9a-z]+$/);
      expect(await page.textContent('[data-testid=flash]')).toContain('Added nora@example.com as analyst.');
      expect(await page.textContent('[data-testid=user-email]')).toBe('nora@example.com');
      await checkPage(page);

      const nora = await server.login('nora@example.com', 'nora-password-1');
      expect((await catalogIds(nora)).filter((id) => id.startsWith('hr.'))).toEqual([]);

      const hr = page.locator('tr[data-dataset=hr]');
      expect(await hr.locator('[data-testid=readable]').textContent()).toBe('no');
      await submit(page, 'button[aria-label="Grant read on hr"]');
      expect(await page.textContent('[data-testid=flash]')).toContain('nora@example.com may now read hr.');
      expect(await hr.locator('[data-testid=setting]').textContent()).toBe('granted read');
      expect(await hr.locator('[data-testid=readable]').textContent()).toBe('yes');
      await shot(page, 'admin-user');
      expect((await catalogIds(nora)).filter((id) => id.startsWith('hr.')).sort()).toEqual(['hr.departments', 'hr.employees', 'hr.salaries']);

      // "none" hides even a public dataset; removing the setting brings the default back.
      await submit(page, 'button[aria-label="Set none on sales"]');
      expect((await catalogIds(nora)).some((id) => id.startsWith('sales.'))).toBe(false);
      await submit(page, 'button[aria-label="Remove the setting on hr"]');
      await submit(page, 'button[aria-label="Remove the setting on sales"]');
      expect(await page.locator('tr[data-dataset=hr] [data-testid=setting]').textContent()).toBe('default');
      expect((await catalogIds(nora)).some((id) => id.startsWith('hr.'))).toBe(false);

      // Each change went through the audit trail under the API's action name, by the admin.
      const entries = (await (await api('/api/audit?action=users.permissions.put')).json()) as { items: Array<Record<string, any>> };
      const grant = entries.items.find((e) => e.resource?.endsWith('/permissions/hr'))!;
      expect(grant).toMatchObject({ result: 'allowed', status: 303, params: { body: { access: 'read' } } });
      expect(grant.resource).toStartWith('/admin/users/');
      expect(grant.params.body._csrf).toBeUndefined();
      await page.goto(`${server.url}/admin/users`);
      await shot(page, 'admin-users');
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test('a setup link is shown once, and works', async () => {
    const { page, violations } = await signIn(admin);
    try {
      await page.goto(`${server.url}/admin/users`);
      await page.fill('#email', 'linda@example.com');
      await page.check('input[name=mode][value=link]');
      await submit(page, 'form[action="/admin/users"] button[type=submit]');
      const link = await page.inputValue('[data-testid=flash-secret]');
      // The sign-in page where a setup token sets the first password (not /setup, the first-run page).
      expect(link).toStartWith(`${server.url}/set-password?token=`);
      await shot(page, 'admin-user-setup-link');
      await page.reload();
      expect(await page.locator('[data-testid=flash]').count()).toBe(0);
      expect(await page.content()).not.toContain(link);

      const token = new URL(link).searchParams.get('token')!;
      const form = await fetch(link);
      expect(form.status).toBe(200);
      expect(await form.text()).toContain('Choose your password');
      const setup = await server.fetch('/auth/setup', { method: 'POST', json: { token, password: 'linda-password-1' } });
      expect(setup.status).toBe(200);
      expect(await server.login('linda@example.com', 'linda-password-1')).toBeString();
      // The audit has the creation, never the token.
      const text = await (await api('/api/audit?action=users.create')).text();
      expect(text).toContain('linda@example.com');
      expect(text).not.toContain(token);
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test('a form the server refuses comes back with the errors beside the inputs (422), an email in use with 409', async () => {
    const { page } = await signIn(admin);
    try {
      await page.goto(`${server.url}/admin/users`);
      await page.fill('#email', 'not-an-email');
      await page.fill('#name', 'Kept Name');
      await page.fill('#password', 'short');
      const [res] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('form[action="/admin/users"] button[type=submit]')]);
      expect(res.status()).toBe(422);
      await page.waitForLoadState();
      expect(await page.textContent('[data-testid=error-email]')).toBe('not an email address');
      expect(await page.textContent('[data-testid=error-password]')).toContain('at least 8 characters');
      expect(await page.getAttribute('#email', 'aria-invalid')).toBe('true');
      expect(await page.getAttribute('#email', 'aria-describedby')).toBe('email-error');
      expect(await page.inputValue('#email')).toBe('not-an-email');
      expect(await page.inputValue('#name')).toBe('Kept Name');
      expect(await page.inputValue('#password')).toBe(''); // never sent back
      await checkPage(page);
      await shot(page, 'admin-users-422');

      const taken = await server.createUser('viewer');
      await page.fill('#email', taken.email.toUpperCase());
      await page.fill('#password', 'long-enough-1');
      const [dup] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('form[action="/admin/users"] button[type=submit]')]);
      expect(dup.status()).toBe(409);
      await page.waitForLoadState();
      expect(await page.textContent('[data-testid=error-email]')).toContain('already exists');
    } finally {
      await page.close();
    }
  });

  test('role change, deactivate (the token stops working) and reactivate from the list', async () => {
    const eve = await server.createUser('analyst');
    const { page, violations } = await signIn(admin);
    try {
      await page.goto(`${server.url}/admin/users`);
      const row = page.locator(`tr[data-email="${eve.email}"]`);
      await row.locator('select[name=role]').selectOption('viewer');
      await Promise.all([page.waitForEvent('load'), row.locator('button', { hasText: 'Change role' }).click()]);
      expect(new URL(page.url()).pathname).toBe('/admin/users');
      expect(await page.textContent('[data-testid=flash]')).toContain(`${eve.email} is now viewer.`);
      expect(await page.locator(`tr[data-email="${eve.email}"] [data-testid=role]`).textContent()).toBe('viewer');
      const me = (await (await server.fetch('/api/me', { token: eve.token })).json()) as { role: string };
      expect(me.role).toBe('viewer');

      await submit(page, `button[aria-label="Deactivate ${eve.email}"]`);
      expect(await page.locator(`tr[data-email="${eve.email}"] [data-testid=status]`).textContent()).toBe('deactivated');
      expect((await server.fetch('/api/me', { token: eve.token })).status).toBe(401);
      await shot(page, 'admin-users-deactivated');

      await submit(page, `button[aria-label="Reactivate ${eve.email}"]`);
      expect(await page.locator(`tr[data-email="${eve.email}"] [data-testid=status]`).textContent()).toBe('active');
      expect((await server.fetch('/api/me', { token: eve.token })).status).toBe(401); // the old session stays ended
      expect(await server.login(eve.email, eve.password)).toBeString();

      await submit(page, `button[aria-label="Password reset link for ${eve.email}"]`);
      expect(await page.inputValue('[data-testid=flash-secret]')).toStartWith(`${server.url}/reset?token=`);
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test('an admin cannot manage a km_admin or lock themselves out: a refusal page, nothing changed', async () => {
    const plain = await server.createUser('admin');
    const top = (await server.deps.repos.users.findByEmail(ADMIN_EMAIL))!;
    const { page, violations } = await signIn(plain);
    try {
      await page.goto(`${server.url}/admin/users`);
      const topRow = page.locator(`tr[data-email="${ADMIN_EMAIL}"]`);
      expect(await topRow.textContent()).toContain('Only a km_admin can change this account.');
      expect(await topRow.locator('form').count()).toBe(0);
      // The role list offers nothing above the admin's own role.
      expect(await page.locator('#role option').allTextContents()).toEqual(['viewer', 'analyst', 'admin']);

      // A crafted post with a valid token, from the browser: the server's refusal page.
      const token = await page.inputValue('input[name=_csrf]');
      const post = async (action: string, fields: Record<string, string>) => {
        await Promise.all([
          page.waitForEvent('load'),
          page.evaluate(
            ({ action, fields }) => {
              const form = document.createElement('form');
              form.method = 'post';
              form.action = action;
              for (const [name, value] of Object.entries(fields)) {
                const input = document.createElement('input');
                input.type = 'hidden';
                input.name = name;
                input.value = value;
                form.append(input);
              }
              document.body.append(form);
              form.submit();
            },
            { action, fields: { ...fields, _csrf: token } },
          ),
        ]);
        return { h1: await page.textContent('h1'), detail: await page.textContent('[role=alert]') };
      };
      const demote = await post(`/admin/users/${top.id}/role`, { role: 'viewer' });
      expect(demote.h1).toBe('403 Forbidden');
      expect(demote.detail).toContain('only a km_admin can change a user whose role is km_admin');
      await shot(page, 'admin-refused-403');
      expect((await post(`/admin/users/${top.id}/deactivate`, {})).h1).toBe('403 Forbidden');
      expect((await post(`/admin/users/${top.id}/reset-token`, {})).h1).toBe('403 Forbidden');
      expect((await post('/admin/users', { email: 'up@example.com', role: 'km_admin', password: 'up-password-1' })).detail).toContain('above your own');
      const self = await post(`/admin/users/${plain.id}/deactivate`, {});
      expect(self.h1).toBe('409 Conflict');
      expect(self.detail).toContain('cannot deactivate yourself');
      expect((await post(`/admin/users/${plain.id}/role`, { role: 'analyst' })).h1).toBe('409 Conflict');

      expect(await server.deps.repos.users.get(top.id)).toMatchObject({ role: 'km_admin', active: true });
      expect(await server.deps.repos.users.get(plain.id)).toMatchObject({ role: 'admin', active: true });
      expect(await server.deps.repos.users.findByEmail('up@example.com')).toBeUndefined();
      // The API refuses the same attempt with the same words.
      const viaApi = await server.fetch(`/api/users/${top.id}`, { method: 'PATCH', token: plain.token, json: { role: 'viewer' } });
      expect(viaApi.status).toBe(403);
      expect(((await viaApi.json()) as { detail: string }).detail).toBe(demote.detail!);
      // …and the refusals are on record.
      const refused = (await (await api(`/api/audit?user=${plain.id}&status=403`)).json()) as { items: Array<{ action: string; resource: string }> };
      expect(refused.items.map((e) => e.action)).toContain('users.update');
      expect(refused.items.some((e) => e.resource === `/admin/users/${top.id}/deactivate`)).toBe(true);
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('tables and sync', () => {
  test('register tables of the local folder from the browser, sync them, and follow the job to its end', async () => {
    const { page, violations } = await signIn(admin);
    try {
      await page.goto(`${server.url}/admin/tables`);
      await checkPage(page);
      await Promise.all([page.waitForEvent('load'), page.click('a[href="/admin/tables/sources/sales"]')]);
      expect(await page.locator('[data-testid=offered] tbody tr').count()).toBe(4);
      await checkPage(page);
      await shot(page, 'admin-source');

      // One table with settings: incremental without a key is refused beside the key field.
      await page.selectOption('#source_table', 'customers.csv');
      await page.selectOption('#sync_strategy', 'incremental');
      const [res] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('form.stacked button[type=submit]')]);
      expect(res.status()).toBe(422);
      await page.waitForLoadState();
      expect(await page.textContent('[data-testid=error-primary_key]')).toBe('required for incremental sync');
      expect(await page.inputValue('#source_table')).toBe('customers.csv');
      await shot(page, 'admin-source-422');
      await page.fill('#primary_key', 'customer_id');
      await submit(page, 'form.stacked button[type=submit]');
      expect(await page.textContent('[data-testid=flash]')).toContain('Registered sales.customers (incremental).');
      expect(await page.textContent('tr[data-source-table="customers.csv"]')).toContain('registered');

      // The rest at once.
      await submit(page, 'form[action$="/register-all"] button');
      expect(new URL(page.url()).pathname).toBe('/admin/tables');
      expect(await page.textContent('[data-testid=flash]')).toContain('Registered 3 tables of sales');
      expect(await page.locator('[data-testid=tables] tbody tr[data-table^="sales."]').count()).toBe(4);

      // Disable one; a bad strategy change on another is shown in its own row.
      await submit(page, 'button[aria-label="Disable sales.products"]');
      expect(await page.textContent('tr[data-table="sales.products"] [data-testid=enabled]')).toBe('no');
      const orders = page.locator('[data-testid="settings-sales.orders"]');
      await orders.locator('select').selectOption('incremental');
      await orders.locator('input[name=primary_key]').fill('');
      const [bad] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), orders.locator('button').click()]);
      expect(bad.status()).toBe(422);
      await page.waitForLoadState();
      expect(await page.locator('[data-testid="settings-sales.orders"] [data-testid=error-primary_key]').textContent()).toBe('required for incremental sync');
      expect(await page.getAttribute('#primary_key-sales-orders', 'aria-describedby')).toBe('primary_key-sales-orders-error');
      await shot(page, 'admin-tables-422');
      await page.locator('#primary_key-sales-orders').fill('order_id');
      await submit(page, '[data-testid="settings-sales.orders"] button');
      expect(await page.textContent('[data-testid=flash]')).toContain('Saved sales.orders: incremental, key order_id.');
      expect(await server.deps.repos.tableRegistry.get('sales.orders')).toMatchObject({ sync_strategy: 'incremental', primary_key: ['order_id'] });
      await checkPage(page);
      await shot(page, 'admin-tables');

      // Sync: the button starts a job; the page follows it (reloading itself) until it ends.
      await page.goto(`${server.url}/admin/sync`);
      await checkPage(page);
      await submit(page, '[data-testid=trigger]');
      const jobId = new URL(page.url()).searchParams.get('job')!;
      expect(jobId).toBeTruthy();
      expect(await page.textContent('[data-testid=flash]')).toMatch(/Started a sync of \d+ tables|already running/);
      await page.locator('[data-testid=job][data-status=succeeded]').waitFor({ timeout: 30_000 });
      expect(await page.getAttribute('[data-testid=job]', 'data-job-id')).toBe(jobId);
      const enabled = (await server.deps.repos.tableRegistry.list()).filter((t) => t.enabled).length;
      expect(await page.textContent('[data-testid=job]')).toContain(`${enabled} of ${enabled} tables done`);
      const state = page.locator('tr[data-table="sales.orders"]');
      expect(await state.locator('[data-testid=rows]').textContent()).not.toBe('');
      const hash = (await server.deps.repos.syncState.get('sales.orders'))!.hash!;
      expect(await state.locator('code[title]').getAttribute('title')).toBe(hash);
      expect(await server.deps.repos.syncState.get('sales.products')).toBeUndefined(); // disabled: not pulled
      const job = (await (await api(`/api/sync/jobs/${jobId}`)).json()) as { status: string; requested_by: string };
      expect(job.status).toBe('succeeded');
      expect(await page.textContent('[data-testid=history]')).toContain('sales.orders');
      await checkPage(page);
      await shot(page, 'admin-sync');

      // Unregister: gone from the registry and the page.
      await page.goto(`${server.url}/admin/tables`);
      await submit(page, 'button[aria-label="Unregister sales.products"]');
      expect(await page.textContent('[data-testid=flash]')).toContain('Unregistered sales.products');
      expect(await server.deps.repos.tableRegistry.get('sales.products')).toBeUndefined();
      const trigger = (await (await api('/api/audit?action=sync.trigger')).json()) as { items: Array<{ resource: string; status: number }> };
      expect(trigger.items.some((e) => e.resource === '/admin/sync' && e.status === 303)).toBe(true);
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test('the sync page shows a running job with its progress and reloads itself until the job ends', async () => {
    // A job as the engine leaves it halfway: running, one of its two tables done.
    const { syncState } = server.deps.repos;
    const id = crypto.randomUUID();
    await syncState.createJob({ id, requestedBy: null, tables: ['hr.employees', 'hr.departments'] });
    await syncState.updateJob(id, { status: 'running' });
    await syncState.addHistory({
      id: crypto.randomUUID(), table_id: 'hr.employees', job_id: id, rows: 5, bytes: 900, columns: 4, duration_ms: 120, status: 'ok', error: null,
    });
    const { page, violations } = await signIn(admin);
    try {
      const res = await page.goto(`${server.url}/admin/sync?job=${id}`);
      expect(res!.headers()['refresh']).toBe('2');
      expect(await page.getAttribute('[data-testid=job]', 'data-status')).toBe('running');
      expect(await page.textContent('[data-testid=job]')).toContain('1 of 2 tables done');
      expect(await page.getAttribute('[data-testid=job-progress]', 'value')).toBe('1');
      expect(await page.textContent('[data-testid=job]')).toContain('reloads itself');
      await checkPage(page);
      await shot(page, 'admin-sync-running');

      // The job ends; the page, reloading on its own, shows it.
      await syncState.updateJob(id, {
        status: 'failed', error: '1 of 2 tables failed: hr.departments',
        result: { tables: [
          { table_id: 'hr.employees', status: 'ok', mode: 'full', rows: 5, rows_read: 5, bytes: 900, columns: 4, hash: 'x', duration_ms: 120, error: null },
          { table_id: 'hr.departments', status: 'error', mode: null, rows: null, rows_read: null, bytes: null, columns: null, hash: null, duration_ms: 30, error: 'file is unreadable' },
        ] },
      });
      const reloaded = await page.waitForResponse((r) => r.url().endsWith(`/admin/sync?job=${id}`), { timeout: 10_000 });
      expect(reloaded.headers()['refresh']).toBeUndefined();
      await page.locator('[data-testid=job][data-status=failed]').waitFor();
      expect(await page.textContent('[data-testid=job]')).toContain('2 of 2 tables done');
      expect(await page.textContent('[data-testid=job-tables]')).toContain('file is unreadable');
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('audit', () => {
  test('filters, cursor paging and the CSV export of the same filters', async () => {
    const busy = await server.createUser('analyst');
    for (let i = 0; i < 60; i++) await server.fetch('/api/me', { token: busy.token });
    const { page, violations } = await signIn(admin);
    try {
      await page.goto(`${server.url}/admin/audit`);
      await checkPage(page);
      await page.fill('#f-user', busy.email);
      await page.fill('#f-action', 'me.get');
      await submit(page, 'form.filters button[type=submit]');
      expect(await page.locator('[data-testid=audit] tbody tr').count()).toBe(50);
      expect(new Set(await page.locator('[data-testid=audit] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action'))))).toEqual(new Set(['me.get']));
      await shot(page, 'admin-audit');
      await submit(page, '[data-testid=older]');
      expect(await page.locator('[data-testid=audit] tbody tr').count()).toBe(10);
      expect(await page.locator('[data-testid=older]').count()).toBe(0);
      expect(await page.inputValue('#f-user')).toBe(busy.email); // the filters stay

      // Time range: nothing after a minute from now; everything of the user since an hour ago.
      const at = (ms: number) => new Date(Date.now() + ms).toISOString().slice(0, 16);
      await page.goto(`${server.url}/admin/audit?${new URLSearchParams({ user: busy.email, since: at(60_000) })}`);
      expect(await page.locator('[data-testid=no-entries]').count()).toBe(1);
      await page.goto(`${server.url}/admin/audit?${new URLSearchParams({ user: busy.email, action: 'me.get', since: at(-3_600_000), until: at(60_000) })}`);
      expect(await page.locator('[data-testid=audit] tbody tr').count()).toBe(50);

      // A filter it cannot use is shown beside its field (422).
      const res = await page.goto(`${server.url}/admin/audit?status=abc&since=yesterday`);
      expect(res!.status()).toBe(422);
      expect(await page.textContent('[data-testid=error-status]')).toContain('status code');
      expect(await page.textContent('[data-testid=error-since]')).toContain('date and time');
      await shot(page, 'admin-audit-422');

      // Status filter, on the refusals a viewer just got.
      const viewer = await server.createUser('viewer');
      await server.fetch('/api/users', { token: viewer.token });
      await page.goto(`${server.url}/admin/audit?${new URLSearchParams({ user: viewer.email, status: '403' })}`);
      expect(await page.textContent('[data-testid=audit]')).toContain('users.list');

      // CSV of the filtered entries: a header and one row per entry.
      await page.goto(`${server.url}/admin/audit?${new URLSearchParams({ user: busy.email, action: 'me.get' })}`);
      const href = await page.getAttribute('[data-testid=csv]', 'href');
      const csv = await page.request.get(server.url + href);
      expect(csv.status()).toBe(200);
      expect(csv.headers()['content-type']).toContain('text/csv');
      expect(csv.headers()['content-disposition']).toMatch(/^attachment; filename="audit-\d{8}-\d{6}\.csv"$/);
      const rows = parseCsv(await csv.text());
      const [header, ...data] = rows;
      expect(header).toEqual(['timestamp', 'user_id', 'user_email', 'action', 'resource', 'status', 'result', 'duration_ms', 'ip', 'request_id', 'params']);
      expect(data.length).toBe(60);
      for (const r of data) expect([r[1], r[2], r[3], r[4], r[5], r[6]]).toEqual([busy.id, busy.email, 'me.get', '/api/me', '200', 'allowed']);

      // A user added with the page's form: the export has the form, with the password redacted and no CSRF token.
      await page.goto(`${server.url}/admin/users`);
      await page.fill('#email', 'Audited@Example.com');
      await page.fill('#password', 'audited-password-1');
      await submit(page, 'form[action="/admin/users"] button[type=submit]');
      const created = parseCsv(await (await page.request.get(`${server.url}/admin/audit.csv?action=users.create&resource=/admin/users`)).text());
      const row = created.find((r) => r[10]?.includes('Audited@Example.com'))!;
      expect([row[2], row[4], row[5], row[6]]).toEqual([ADMIN_EMAIL, '/admin/users', '303', 'allowed']);
      expect(JSON.parse(row[10]!)).toEqual({ body: { email: 'Audited@Example.com', name: '', role: 'analyst', mode: 'password', password: '[redacted]' }, via: 'web' });
      expect(created.flat().join()).not.toContain('audited-password-1');
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('access', () => {
  test('viewers and analysts get a 403 page at every admin address; nobody signed in goes to sign in', async () => {
    const target = await server.createUser('viewer');
    const gets = [
      '/admin', '/admin/users', `/admin/users/${target.id}`, '/admin/tables', '/admin/tables/sources/sales', '/admin/sync',
      '/admin/audit', '/admin/audit.csv', '/admin/access',
    ];
    const posts = [
      '/admin/users', `/admin/users/${target.id}/role`, `/admin/users/${target.id}/deactivate`, `/admin/users/${target.id}/reactivate`,
      `/admin/users/${target.id}/reset-token`, `/admin/users/${target.id}/permissions/hr`, `/admin/users/${target.id}/permissions/hr/remove`,
      '/admin/tables/sources/sales/register', '/admin/tables/sources/sales/register-all', '/admin/tables/sales.orders',
      '/admin/tables/sales.orders/unregister', '/admin/sync', '/admin/access/some-id/approve', '/admin/access/some-id/deny',
    ];
    for (const role of ['viewer', 'analyst'] as const) {
      const user = await server.createUser(role);
      const cookie = await sessionCookie(user);
      const { token } = await formToken(server, { cookie, path: '/' });
      for (const path of gets) {
        const res = await fetch(server.url + path, { headers: { cookie }, redirect: 'manual' });
        expect({ role, path, status: res.status }).toEqual({ role, path, status: 403 });
        expect(res.headers.get('content-type')).toContain('text/html');
        expect(await res.text()).toContain('needs the admin role');
      }
      for (const path of posts) {
        const res = await fetch(server.url + path, {
          method: 'POST', headers: formHeaders(cookie), redirect: 'manual',
          body: new URLSearchParams({ _csrf: token, role: 'km_admin', access: 'read', email: 'x@example.com', password: 'long-password-1' }),
        });
        expect({ role, path, status: res.status }).toEqual({ role, path, status: 403 });
        await res.arrayBuffer();
      }
    }
    expect(await server.deps.repos.users.get(target.id)).toMatchObject({ role: 'viewer', active: true });
    expect(await server.deps.repos.permissions.listForUser(target.id)).toEqual([]);

    const anonymous = await fetch(`${server.url}/admin/users`, { redirect: 'manual' });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toBe('/login?next=%2Fadmin%2Fusers');

    const analyst = await server.createUser('analyst');
    const { page } = await signIn(analyst);
    try {
      const res = await page.goto(`${server.url}/admin/sync`);
      expect(res!.status()).toBe(403);
      expect(await page.textContent('h1')).toBe('403 Forbidden');
    } finally {
      await page.close();
    }
  });

  test('a form post without the CSRF token is refused and changes nothing', async () => {
    const target = await server.createUser('analyst');
    const cookie = await sessionCookie(admin);
    const attempts: Array<[string, Record<string, string>]> = [
      [`/admin/users/${target.id}/deactivate`, {}],
      [`/admin/users/${target.id}/role`, { role: 'viewer' }],
      [`/admin/users/${target.id}/permissions/hr`, { access: 'read' }],
      ['/admin/users', { email: 'csrf@example.com', role: 'analyst', password: 'csrf-password-1' }],
      ['/admin/sync', {}],
    ];
    for (const [path, fields] of attempts) {
      const res = await fetch(server.url + path, { method: 'POST', headers: formHeaders(cookie), body: new URLSearchParams(fields), redirect: 'manual' });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
      expect(await res.text()).toContain('This form has expired or did not come from a page of this server.');
    }
    expect(await server.deps.repos.users.get(target.id)).toMatchObject({ role: 'analyst', active: true });
    expect(await server.deps.repos.permissions.listForUser(target.id)).toEqual([]);
    expect(await server.deps.repos.users.findByEmail('csrf@example.com')).toBeUndefined();
  });
});

describe('at phone width', () => {
  test('every admin page fits the screen, wide tables scroll inside their box, and keyboard focus shows', async () => {
    const { page, violations } = await signIn(admin, { width: 390, height: 844 });
    try {
      const someone = await server.createUser('analyst');
      for (const [path, name] of [
        ['/admin/users', 'phone-admin-users'], [`/admin/users/${someone.id}`, 'phone-admin-user'], ['/admin/tables', 'phone-admin-tables'],
        ['/admin/tables/sources/hr', 'phone-admin-source'], ['/admin/sync', 'phone-admin-sync'], ['/admin/audit', 'phone-admin-audit'],
        ['/admin/access', 'phone-admin-access'],
      ] as const) {
        expect((await page.goto(server.url + path))!.status()).toBe(200);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect({ path, overflow }).toEqual({ path, overflow: 0 });
        await shot(page, name);
      }
      // Keyboard focus is visible: tab into the administration links.
      await page.goto(`${server.url}/admin/users`);
      for (let i = 0; i < 10 && !(await page.evaluate(() => !!document.activeElement?.closest('main.admin'))); i++) await page.keyboard.press('Tab');
      const focus = await page.evaluate(() => {
        const style = getComputedStyle(document.activeElement!);
        return { text: document.activeElement!.textContent, outline: `${style.outlineStyle} ${style.outlineWidth}` };
      });
      expect(focus).toEqual({ text: 'Users', outline: 'solid 3px' });
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
