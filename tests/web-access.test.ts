import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshots } from './helpers/browser.ts';
import { seedTable, testYaml } from './helpers/data.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { sessionCookie, signInPage } from './helpers/web.ts';

/**
 * Access requests in a real browser: the catalog lists every configured dataset (name and
 * description, never another dataset's tables), an analyst asks for hr there, an admin
 * approves on /admin/access and hr's tables show up in the analyst's catalog; a denial with
 * a note; form posts without the CSRF token are refused.
 */
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startTestServer({}, {
      yaml: testYaml(
        'sources:\n  sales: { type: local, path: /tmp, public: true, description: Orders and customers }\n' +
          '  hr: { type: local, path: /tmp, description: People and pay }\n  finance: { type: local, path: /tmp, description: Ledgers }\n',
      ),
    }),
    launchBrowser(),
  ]);
  await seedTable(server, { dataset: 'sales', table: 'orders', select: 'SELECT 1 AS id' });
  await seedTable(server, { dataset: 'hr', table: 'salaries', select: `SELECT 'ceo' AS who, 1 AS salary` });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function submit(page: Page, selector: string) {
  await Promise.all([page.waitForEvent('load'), page.click(selector)]);
}

const formHeaders = (cookie: string) => ({ cookie, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' });

describe('access requests in the browser', () => {
  test('an analyst asks for hr in the catalog, an admin approves it on /admin/access', async () => {
    const analyst = await server.createUser('analyst');
    let { page, violations } = await signInPage(browser, server, analyst);
    try {
      await page.goto(`${server.url}/catalog`);
      const section = page.locator('[data-testid=dataset-access]');
      expect(await section.locator('tr[data-dataset=sales]').textContent()).toContain('You can read it');
      expect(await section.locator('tr[data-dataset=hr]').textContent()).toContain('People and pay');
      // hr's tables are not shown: only its name and description.
      expect(await page.content()).not.toContain('hr.salaries');
      await page.fill('[data-testid=request-hr] input[name=reason]', 'pay equity study');
      await screenshots(page, 'catalog-access');
      await submit(page, '[data-testid=request-hr] button');
      expect(await page.textContent('[data-testid=flash]')).toContain('Requested access to hr');
      expect(await section.locator('tr[data-dataset=hr]').textContent()).toContain('Request pending');
      expect(await page.locator('[data-testid=my-requests] li[data-status=pending]').textContent()).toContain('hr');

      const admin = await signInPage(browser, server, { email: 'admin@example.com', password: 'admin-password-1' });
      try {
        await admin.page.goto(`${server.url}/admin/access`);
        expect(await admin.page.locator('nav a[href="/admin/access"]').count()).toBeGreaterThan(0);
        const row = admin.page.locator('[data-testid=pending-requests] tr', { hasText: analyst.email });
        expect(await row.textContent()).toContain('pay equity study');
        await screenshots(admin.page, 'admin-access');
        await submit(admin.page, `[data-testid=pending-requests] tr:has-text("${analyst.email}") [data-testid=approve]`);
        expect(await admin.page.textContent('[data-testid=flash]')).toContain(`${analyst.email} may now read hr`);
        expect(await admin.page.locator('[data-testid=decided-requests] li[data-status=approved]').count()).toBe(1);
        expect(admin.violations).toEqual([]);
      } finally {
        await admin.page.close();
      }

      // One browser profile holds one session: the analyst signs in again.
      await page.close();
      page = (await signInPage(browser, server, analyst)).page;
      await page.goto(`${server.url}/catalog`);
      const section2 = page.locator('[data-testid=dataset-access]');
      expect(await page.locator('[data-testid=catalog-tables]').textContent()).toContain('hr.salaries');
      expect(await section2.locator('tr[data-dataset=hr]').textContent()).toContain('You can read it');
      expect(await page.locator('[data-testid=my-requests] li[data-status=approved]').count()).toBe(1);

      // The page posts were audited under the API's operationIds, via the web.
      await server.deps.repos.audit.flush();
      for (const action of ['accessRequests.create', 'accessRequests.approve']) {
        const items = ((await (await server.fetch(`/api/audit?action=${action}`, { token: server.adminToken })).json()) as { items: Array<{ status: number; params: { via?: string; body?: Record<string, unknown> } }> }).items;
        const web = items.find((e) => e.params?.via === 'web')!;
        expect({ action, status: web.status }).toEqual({ action, status: 303 });
        expect(web.params.body?._csrf).toBeUndefined();
      }
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test('a denial with a note shows in the requester\'s catalog', async () => {
    const viewer = await server.createUser('viewer');
    let { page } = await signInPage(browser, server, viewer);
    try {
      await page.goto(`${server.url}/catalog`);
      await page.fill('[data-testid=request-finance] input[name=reason]', 'budget');
      await submit(page, '[data-testid=request-finance] button');
      const admin = await signInPage(browser, server, { email: 'admin@example.com', password: 'admin-password-1' });
      try {
        await admin.page.goto(`${server.url}/admin/access`);
        const sel = `[data-testid=pending-requests] tr:has-text("${viewer.email}")`;
        await admin.page.fill(`${sel} input[name=note]`, 'ask your manager');
        await submit(admin.page, `${sel} [data-testid=deny]`);
        expect(await admin.page.textContent('[data-testid=flash]')).toContain('Denied');
      } finally {
        await admin.page.close();
      }
      await page.close();
      page = (await signInPage(browser, server, viewer)).page;
      await page.goto(`${server.url}/catalog`);
      const denied = page.locator('[data-testid=my-requests] li[data-status=denied]');
      expect(await denied.textContent()).toContain('ask your manager');
      // Denied, not pending: the form is offered again.
      expect(await page.locator('[data-testid=request-finance]').count()).toBe(1);
      await screenshots(page, 'catalog-access-denied');
    } finally {
      await page.close();
    }
  });

  test('form posts without the CSRF token are refused and change nothing', async () => {
    const analyst = await server.createUser('analyst');
    const before = (await server.deps.repos.accessRequests.list({})).length;
    const cookie = await sessionCookie(server, analyst);
    const res = await fetch(`${server.url}/catalog/access-requests`, {
      method: 'POST', headers: formHeaders(cookie), body: new URLSearchParams({ dataset: 'finance', reason: 'x' }), redirect: 'manual',
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('This form has expired or did not come from a page of this server.');
    const pending = await server.deps.repos.accessRequests.createPending({ id: 'csrf-req', userId: analyst.id, dataset: 'hr', reason: 'r' });
    expect(pending.created).toBeDefined();
    const adminCookie = await sessionCookie(server, { email: 'admin@example.com', password: 'admin-password-1' });
    for (const path of ['/admin/access/csrf-req/approve', '/admin/access/csrf-req/deny']) {
      const r = await fetch(server.url + path, { method: 'POST', headers: formHeaders(adminCookie), body: new URLSearchParams({ note: 'n' }), redirect: 'manual' });
      expect({ path, status: r.status }).toEqual({ path, status: 403 });
    }
    expect((await server.deps.repos.accessRequests.list({})).length).toBe(before + 1);
    expect((await server.deps.repos.accessRequests.get('csrf-req'))!.status).toBe('pending');
    // And an analyst cannot reach the admin page.
    const page = await fetch(`${server.url}/admin/access`, { headers: { cookie }, redirect: 'manual' });
    expect(page.status).toBe(403);
  });
});
