import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { profileParquet } from '../src/sync/profiler.ts';
import { launchBrowser } from './helpers/browser.ts';
import { enrichCatalog } from '../jobs/catalog-enrich.ts';
import { startOpenMetadataStandIn, type OpenMetadataStandIn } from './stand-ins/openmetadata.ts';
import { testYaml } from './helpers/data.ts';
import { seedTable } from './helpers/data.ts';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/server.ts';
import { formToken, sessionCookie, signInPage } from './helpers/web.ts';

/**
 * The admin's describe page (/admin/tables/<id>/describe) in headless Chromium: a CSRF
 * form post that saves the table's description, tags and column descriptions, a refused
 * post shown beside its field, and what the catalog page then shows. With
 * DA_SCREENSHOTS=<dir>, the pages are saved there (else under /tmp).
 */
let server: TestServer;
let om: OpenMetadataStandIn;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const shots = process.env.DA_SCREENSHOTS ?? '/tmp/da-catalog-enrich-shots';
const admin = { email: ADMIN_EMAIL, password: ADMIN_PASSWORD };

beforeAll(async () => {
  om = startOpenMetadataStandIn();
  [server, browser] = await Promise.all([
    startTestServer({}, { yaml: testYaml(`catalog:\n  openmetadata: { url: "${om.url}", token: ${om.token}, schedule: null, datasets: { sales: warehouse.shop.sales } }\n`) }),
    launchBrowser(),
  ]);
  mkdirSync(shots, { recursive: true });
  const seeded = await seedTable(server, {
    dataset: 'sales', table: 'orders', description: 'Orders as the source says',
    select: `SELECT range AS order_id, 'c' || (range % 7) AS customer, (range * 1.5)::DOUBLE AS amount FROM range(50)`,
  });
  await server.deps.repos.profiles.put(seeded.id, await profileParquet(seeded.path, { tableId: seeded.id }));
  // What OpenMetadata says: shown as the fallback of each field.
  om.tables.set('warehouse.shop.sales.orders', {
    description: 'Orders from the warehouse', tags: ['Tier.Tier1'], columns: [{ name: 'customer', description: 'Who placed the order' }],
  });
  await enrichCatalog({ deps: server.deps });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  om?.stop();
});

async function submit(page: Page, selector: string) {
  await Promise.all([page.waitForEvent('load'), page.click(selector)]);
}

test('an admin describes a table and its columns in the browser; the catalog shows it', async () => {
  const { page, violations } = await signInPage(browser, server, admin, { viewport: { width: 1100, height: 800 } });
  try {
    await page.goto(`${server.url}/admin/tables`);
    expect(await page.textContent('[data-testid=enrichment]')).toContain('1 table enriched, 0 not found');
    await page.screenshot({ path: join(shots, 'admin-tables.png'), fullPage: true });
    await submit(page, 'tr[data-table="sales.orders"] [data-testid=describe-link]');
    expect(new URL(page.url()).pathname).toBe('/admin/tables/sales.orders/describe');
    expect(await page.textContent('[data-testid=fallback-description]')).toContain('Orders from the warehouse (OpenMetadata)');
    expect(await page.getAttribute('#col-customer', 'placeholder')).toBe('Who placed the order');

    // Too many characters in a tag: refused beside the field, what was typed kept.
    await page.fill('#description', 'Every web shop order, one row each');
    await page.fill('#tags', `finance, ${'x'.repeat(120)}`);
    const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('form[data-testid=describe-form] button[type=submit]')]);
    expect(refused.status()).toBe(422);
    await page.waitForLoadState();
    expect(await page.textContent('[data-testid=error-tags]')).toBe('each tag at most 100 characters');
    expect(await page.inputValue('#description')).toBe('Every web shop order, one row each');

    await page.fill('#tags', 'finance, pii');
    await page.fill('#col-amount', 'Gross amount in EUR');
    await submit(page, 'form[data-testid=describe-form] button[type=submit]');
    expect(await page.textContent('[data-testid=flash]')).toContain('Saved the descriptions of sales.orders.');
    expect(await page.inputValue('#col-amount')).toBe('Gross amount in EUR');
    await page.screenshot({ path: join(shots, 'admin-describe.png'), fullPage: true });

    await page.goto(`${server.url}/catalog/sales.orders`);
    expect(await page.textContent('[data-testid=description]')).toContain('Every web shop order, one row each');
    expect(await page.textContent('[data-testid=tags]')).toContain('finance');
    const described = await page.locator('[data-testid=column-description]').allTextContents();
    expect(described.sort()).toEqual(['Gross amount in EUR', 'Who placed the order']);
    await page.screenshot({ path: join(shots, 'catalog-described.png'), fullPage: false });
    await page.locator('[data-testid=columns]').screenshot({ path: join(shots, 'catalog-described-columns.png') });
    expect(violations).toEqual([]);
  } finally {
    await page.close();
  }
});

test('the describe page is for admins; its post needs the CSRF token', async () => {
  const analyst = await server.createUser('analyst');
  const cookie = await sessionCookie(server, analyst);
  expect((await fetch(`${server.url}/admin/tables/sales.orders/describe`, { headers: { cookie }, redirect: 'manual' })).status).toBe(403);
  expect((await fetch(`${server.url}/admin/tables/sales.orders/describe`, { redirect: 'manual' })).status).toBe(302);
  const adminCookie = await sessionCookie(server, admin);
  const unknown = await fetch(`${server.url}/admin/tables/sales.nope/describe`, { headers: { cookie: adminCookie } });
  expect(unknown.status).toBe(404);
  const post = (body: Record<string, string>, c = adminCookie) =>
    fetch(`${server.url}/admin/tables/sales.orders/describe`, {
      method: 'POST', redirect: 'manual', headers: { cookie: c, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });
  expect((await post({ description: 'no token' })).status).toBe(403);
  const { token } = await formToken(server, { cookie: adminCookie, path: '/admin/tables/sales.orders/describe' });
  // A column the table does not have: 422, beside nothing the form offers, and nothing saved.
  const bad = await post({ _csrf: token, description: 'not saved', 'col.colour': 'x' });
  expect(bad.status).toBe(422);
  expect(await bad.text()).toContain('has no column colour');
  expect((await server.deps.repos.tableAnnotations.get('sales.orders', 'admin'))!.description).toBe('Every web shop order, one row each');
  const { token: analystToken } = await formToken(server, { cookie, path: '/settings' });
  expect((await post({ _csrf: analystToken, description: 'analyst' }, cookie)).status).toBe(403);
});
