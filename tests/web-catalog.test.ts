import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { profileParquet } from '../src/sync/profiler.ts';
import { launchBrowser, screenshots } from './helpers/browser.ts';
import { seedTable, testYaml } from './helpers/data.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { formToken, sessionCookie, signInPage } from './helpers/web.ts';

/**
 * The catalog pages in a real browser against a real server: the list with its search and
 * filters (a plain GET form), a table's page with its profile drawn as inline SVG, the query
 * box (the code of POST /api/query, its refusals and audit) with its CSV download, and what
 * a viewer or a stranger to a dataset does not get.
 */
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

async function seedProfiled(t: { dataset: string; table: string; select: string; description?: string }) {
  const seeded = await seedTable(server, t);
  await server.deps.repos.profiles.put(seeded.id, await profileParquet(seeded.path, { tableId: seeded.id }));
  return seeded;
}

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startTestServer({}, {
      yaml: testYaml(
        'sources:\n  sales: { type: local, path: /tmp, public: true, description: Orders and customers }\n' +
          '  marketing: { type: local, path: /tmp, public: true }\n  hr: { type: local, path: /tmp }\n',
      ),
    }),
    launchBrowser(),
  ]);
  await seedProfiled({
    dataset: 'sales',
    table: 'orders',
    description: 'One row per order',
    select: `SELECT range AS order_id, round((range % 97) * 1.25, 2) AS amount,
               ['web', 'shop', 'phone'][range % 3 + 1] AS channel,
               DATE '2024-01-01' + (range % 300)::INTEGER AS order_date,
               CASE WHEN range % 4 = 0 THEN NULL ELSE 'c' || (range % 50) END AS customer
             FROM range(2500)`,
  });
  await seedProfiled({ dataset: 'sales', table: 'customers', description: 'Who buys', select: `SELECT range AS customer_id, 'name ' || range AS full_name FROM range(40)` });
  await seedProfiled({ dataset: 'marketing', table: 'campaigns', description: 'Spend per campaign', select: `SELECT range AS campaign_id, range * 1000 AS budget FROM range(3)` });
  await seedProfiled({ dataset: 'marketing', table: 'empty_list', select: `SELECT 1 AS x WHERE false` });
  await seedTable(server, { dataset: 'hr', table: 'salaries', select: 'SELECT 1 AS id, 50000 AS salary', description: 'Secret salaries' });
  // One table synced long ago, one whose last sync failed.
  await syncedAgo('marketing.campaigns', 3 * 24 * 3600_000);
  await server.deps.repos.syncState.recordFailure('sales.customers', 'connection refused');
});
/** The table's last successful sync, as if it had been `ms` ago (the same file, synced then). */
async function syncedAgo(tableId: string, ms: number) {
  const { syncState } = server.deps.repos;
  const s = (await syncState.get(tableId))!;
  await syncState.recordSuccess(
    { tableId, rows: s.rows!, fileSizeBytes: s.file_size_bytes!, uncompressedSizeBytes: s.uncompressed_size_bytes, columns: s.columns!, hash: s.hash!, watermark: s.watermark },
    { at: new Date(Date.now() - ms) },
  );
}
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const rowsOf = (page: import('playwright-core').Page) =>
  page.$$eval('[data-testid=catalog-tables] tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-table')));

describe('the catalog list', () => {
  test('lists the datasets and tables the user may read; search by name, description and column; filters by dataset, rows, size and freshness; works without script', async () => {
    const analyst = await server.createUser('analyst');
    const { page, violations } = await signInPage(browser, server, analyst);
    try {
      await page.click('nav.main a[href="/catalog"]');
      await page.waitForURL(`${server.url}/catalog`);
      expect(await page.getAttribute('nav.main a[href="/catalog"]', 'aria-current')).toBe('page');
      expect(await rowsOf(page)).toEqual(['marketing.campaigns', 'marketing.empty_list', 'sales.customers', 'sales.orders']);
      expect(await page.textContent('[data-testid=datasets]')).toContain('Orders and customers');
      expect(await page.content()).not.toContain('hr.salaries');
      expect(await page.textContent('tr[data-table="marketing.campaigns"] .badge')).toBe('stale');
      expect(await page.textContent('tr[data-table="sales.customers"] .badge')).toBe('last sync failed');
      expect(await page.textContent('tr[data-table="sales.orders"] .badge')).toBe('fresh');
      await screenshots(page, 'catalog');

      // By a column name only the profile knows, through the form.
      await page.fill('#q', 'CHANNEL');
      await Promise.all([page.waitForURL(/q=CHANNEL/), page.click('form.filters button[type=submit]')]);
      expect(await rowsOf(page)).toEqual(['sales.orders']);
      expect(await page.textContent('tr[data-table="sales.orders"]')).toContain('columns: channel');
      expect(await page.inputValue('#q')).toBe('CHANNEL');
      // By description, and the dataset filter on top.
      await page.goto(`${server.url}/catalog?q=spend`);
      expect(await rowsOf(page)).toEqual(['marketing.campaigns']);
      await page.goto(`${server.url}/catalog?q=&dataset=sales`);
      expect(await rowsOf(page)).toEqual(['sales.customers', 'sales.orders']);
      expect(await page.$eval('#dataset', (s) => (s as HTMLSelectElement).value)).toBe('sales');
      await page.goto(`${server.url}/catalog?rows=medium`);
      expect(await rowsOf(page)).toEqual(['sales.orders']);
      await page.goto(`${server.url}/catalog?rows=empty`);
      expect(await rowsOf(page)).toEqual(['marketing.empty_list']);
      await page.goto(`${server.url}/catalog?size=large`);
      expect(await page.textContent('[data-testid=catalog-count]')).toContain('0 of 4 tables match');
      await page.goto(`${server.url}/catalog?freshness=stale`);
      expect(await rowsOf(page)).toEqual(['marketing.campaigns']);
      await page.goto(`${server.url}/catalog?freshness=failed`);
      expect(await rowsOf(page)).toEqual(['sales.customers']);
      await page.goto(`${server.url}/catalog?sort=rows`);
      expect((await rowsOf(page))[0]).toBe('sales.orders');
      await screenshots(page, 'catalog-sorted');
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test('a filter value the page does not know is a 422 page', async () => {
    const cookie = await sessionCookie(server, await server.createUser('viewer'));
    const res = await fetch(`${server.url}/catalog?freshness=ancient`, { headers: { cookie } });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain('<code>freshness</code>');
  });
});

describe('a table page', () => {
  test('shows description, columns with types, the profile with histograms and top values as SVG with titles, alerts, sample rows, and how to query it', async () => {
    const analyst = await server.createUser('analyst');
    const { page, violations } = await signInPage(browser, server, analyst);
    try {
      await page.goto(`${server.url}/catalog`);
      await Promise.all([page.waitForURL(`${server.url}/catalog/sales.orders`), page.click('a[href="/catalog/sales.orders"]')]);
      expect(await page.textContent('h1')).toBe('sales.orders');
      expect(await page.textContent('[data-testid=description]')).toBe('One row per order');
      const columns = await page.$$eval('[data-testid=columns] tbody tr', (trs) =>
        trs.map((tr) => [tr.querySelector('th')!.textContent, tr.querySelectorAll('td')[0]!.textContent]),
      );
      expect(columns).toEqual([
        ['order_id', 'BIGINT'], ['amount', 'DECIMAL(22,2)'], ['channel', 'VARCHAR'], ['order_date', 'DATE'], ['customer', 'VARCHAR'],
      ]);
      expect(await page.$$eval('[data-testid=columns] th[scope]', (ths) => ths.length)).toBeGreaterThan(7);
      // A histogram: one rect per bin, each with a tooltip naming its range and count.
      const bins = await page.$$eval('[data-testid="histogram-amount"] rect.bar', (rects) => rects.map((r) => r.querySelector('title')?.textContent ?? ''));
      expect(bins).toHaveLength(20);
      for (const t of bins) expect(t).toMatch(/^[\d.,]+ – [\d.,]+: [\d,]+ rows \([\d.]+ %\)$/);
      const dateBins = await page.$$eval('[data-testid="histogram-order_date"] rect.bar title', (ts) => ts.map((t) => t.textContent));
      expect(dateBins[0]).toMatch(/^2024-01-01 – 2024-01-1\d/);
      const top = await page.$$eval('[data-testid="top-values-channel"] rect.bar title', (ts) => ts.map((t) => t.textContent));
      expect(top.sort()).toEqual(['phone: 833 rows (33.3 %)', 'shop: 833 rows (33.3 %)', 'web: 834 rows (33.4 %)']);
      expect(await page.textContent('[data-testid=alerts]')).toContain('25% of values are missing');
      expect(await page.$$eval('[data-testid=sample] tbody tr', (trs) => trs.length)).toBe(5);
      expect(await page.textContent('[data-testid=da-query]')).toContain('da query "SELECT * FROM sales.orders LIMIT 10"');
      expect(await page.textContent('[data-testid=starter-sql]')).toContain("date_trunc('month', order_date)");
      await screenshots(page, 'catalog-table');
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test('an unknown table, and one the user may not read, are the same 404 page', async () => {
    const analyst = await server.createUser('analyst');
    const cookie = await sessionCookie(server, analyst);
    const secret = await fetch(`${server.url}/catalog/hr.salaries`, { headers: { cookie } });
    const unknown = await fetch(`${server.url}/catalog/hr.nothing`, { headers: { cookie } });
    const garbage = await fetch(`${server.url}/catalog/..%2Fstate`, { headers: { cookie } });
    for (const res of [secret, unknown, garbage]) {
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('text/html');
      const html = await res.text();
      expect(html).toContain('404 Not Found');
      expect(html).not.toContain('Secret salaries');
    }
    // The query box of such a table is refused the same way, before any SQL runs.
    const { token } = await formToken(server, { cookie, path: '/catalog/sales.orders' });
    const post = await fetch(`${server.url}/catalog/hr.salaries/query`, {
      method: 'POST', headers: { cookie, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ sql: 'SELECT 1', _csrf: token }),
    });
    expect(post.status).toBe(404);

    const { page } = await signInPage(browser, server, analyst);
    try {
      expect((await page.goto(`${server.url}/catalog/hr.salaries`))!.status()).toBe(404);
      expect(await page.textContent('h1')).toBe('404 Not Found');
      await screenshots(page, 'catalog-table-404');
    } finally {
      await page.close();
    }
  });
});

describe('the query box', () => {
  test('runs the SQL like POST /api/query, shows the result, downloads it as CSV, and is audited as query.run', async () => {
    const analyst = await server.createUser('analyst');
    const { page, violations } = await signInPage(browser, server, analyst);
    try {
      await page.goto(`${server.url}/catalog/sales.orders`);
      expect(await page.inputValue('#sql')).toBe('SELECT * FROM sales.orders LIMIT 100');
      const sql = 'SELECT channel, count(*) AS n, sum(amount) AS total FROM sales.orders GROUP BY ALL ORDER BY channel';
      await page.fill('#sql', sql);
      await Promise.all([page.waitForURL(`${server.url}/catalog/sales.orders/query#result`), page.click('button[value=html]')]);
      const headers = await page.$$eval('[data-testid=query-result] thead th', (ths) => ths.map((th) => th.getAttribute('scope') + ':' + th.textContent));
      expect(headers).toEqual(['col:channel VARCHAR', 'col:n BIGINT', 'col:total DECIMAL(38,2)']);
      const cells = await page.$$eval('[data-testid=query-result] tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
      const api = await server.fetch('/api/query', { method: 'POST', token: analyst.token, json: { sql } });
      const expected = ((await api.json()) as { rows: unknown[][] }).rows.map((r) => r.map(String));
      expect(cells).toEqual(expected);
      expect(await page.textContent('[data-testid=query-result] caption')).toMatch(/^3 rows in \d+ ms$/);
      expect(await page.inputValue('#sql')).toBe(sql);
      await screenshots(page, 'catalog-query-result');

      // The same form, as a CSV file.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[value=csv]')]);
      expect(download.suggestedFilename()).toBe('sales.orders.csv');
      const csv = readFileSync((await download.path())!, 'utf8');
      expect(csv).toBe(`channel,n,total\r\n${expected.map((r) => r.join(',')).join('\r\n')}\r\n`);

      // A refusal of the guard (a file reader) is shown on the page with the API's status.
      await page.goto(`${server.url}/catalog/sales.orders`);
      await page.fill('#sql', "SELECT * FROM read_csv('/etc/passwd')");
      const [refused] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/query')), page.click('button[value=html]')]);
      expect(refused.status()).toBe(400);
      expect(await page.textContent('[data-testid=query-error]')).toContain('read_csv');
      const apiRefusal = await server.fetch('/api/query', { method: 'POST', token: analyst.token, json: { sql: "SELECT * FROM read_csv('/etc/passwd')" } });
      expect(apiRefusal.status).toBe(400);
      expect(await page.textContent('[data-testid=query-error]')).toContain(((await apiRefusal.json()) as { detail: string }).detail);
      await screenshots(page, 'catalog-query-refused');

      // A limit over the server's maximum re-renders the form with the field's error (422)
      // (the browser's own check of the field's max turned off, as an older browser would).
      await page.$eval('[data-testid=query-form]', (f) => ((f as HTMLFormElement).noValidate = true));
      await page.fill('#limit', String(server.config.query.max_limit + 1));
      const [tooMany] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/query')), page.click('button[value=html]')]);
      expect(tooMany.status()).toBe(422);
      expect(await page.textContent('#limit-error')).toContain(`at most ${server.config.query.max_limit}`);
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }

    const audit = await server.fetch(`/api/audit?action=query.run&user=${analyst.id}`, { token: server.adminToken });
    const entries = ((await audit.json()) as { items: Array<{ resource: string; status: number; params: { body?: { sql?: string; _csrf?: string }; via?: string } }> }).items;
    const web = entries.filter((e) => e.params.via === 'web');
    expect(web.map((e) => e.status).sort()).toEqual([200, 200, 400, 422]);
    expect(web.every((e) => e.resource === '/catalog/sales.orders/query')).toBe(true);
    expect(web.some((e) => e.params.body?.sql?.includes('GROUP BY ALL'))).toBe(true);
    expect(web.every((e) => e.params.body?._csrf === undefined)).toBe(true);
    expect(entries.filter((e) => e.params.via === undefined)).toHaveLength(2); // the two API calls
  });

  test('a viewer sees no query box, and posting to it anyway is a 403 page', async () => {
    const viewer = await server.createUser('viewer');
    const cookie = await sessionCookie(server, viewer);
    const html = await (await fetch(`${server.url}/catalog/sales.orders`, { headers: { cookie } })).text();
    expect(html).not.toContain('data-testid="query-form"');
    expect(html).toContain('data-testid="histogram-amount"');
    const { token } = await formToken(server, { cookie, path: '/catalog/sales.orders' });
    const res = await fetch(`${server.url}/catalog/sales.orders/query`, {
      method: 'POST', headers: { cookie, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ sql: 'SELECT 1', _csrf: token }),
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('needs the analyst role');
  });

  test('a query post without the CSRF token is refused (403) and runs nothing', async () => {
    const analyst = await server.createUser('analyst');
    const cookie = await sessionCookie(server, analyst);
    const res = await fetch(`${server.url}/catalog/sales.orders/query`, {
      method: 'POST', headers: { cookie, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ sql: 'SELECT 42 AS answer', format: 'csv' }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('text/html');
    const audit = await server.fetch(`/api/audit?action=query.run&user=${analyst.id}`, { token: server.adminToken });
    expect(((await audit.json()) as { items: Array<{ status: number }> }).items.map((e) => e.status)).toEqual([403]);
  });
});
