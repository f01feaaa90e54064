import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import { testYaml } from '../helpers/data.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { signInPage } from '../helpers/web.ts';

interface JobBody {
  job_id: string;
  status: string;
  error: string | null;
  message: string | null;
  tables: Array<{ table_id: string; status: string; rows: number | null; error: string | null }>;
  sources: Array<{ dataset: string; status: string; registered: string[]; missing: string[]; returned: string[]; error: string | null }>;
}
interface TableBody {
  id: string;
  missing: boolean;
  missing_since: string | null;
  sync: { rows: number; hash: string; status: string } | null;
}

let dir: string;
let shop: string;
let server: TestServer;

const admin = (path: string, init: RequestInit & { json?: unknown } = {}) => server.fetch(path, { ...init, token: server.adminToken });

/** Starts a sync of every table over the API and waits for its result. */
async function syncAll(s: TestServer = server): Promise<JobBody> {
  const res = await s.fetch('/api/sync/trigger', { method: 'POST', token: s.adminToken });
  expect(res.status).toBe(202);
  const { job_id } = (await res.json()) as { job_id: string };
  await s.services.sync.idle();
  return (await (await s.fetch(`/api/sync/jobs/${job_id}`, { token: s.adminToken })).json()) as JobBody;
}

async function tables(): Promise<Map<string, TableBody>> {
  const body = (await (await admin('/api/tables')).json()) as { items: TableBody[] };
  return new Map(body.items.map((t) => [t.id, t]));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'da-autoreg-'));
  shop = join(dir, 'shop');
  const warehouse = join(dir, 'warehouse');
  mkdirSync(shop);
  mkdirSync(warehouse);
  writeFileSync(join(shop, 'orders.csv'), 'order_id,amount\n1,10.5\n2,20\n');
  writeFileSync(join(warehouse, 'big_table.csv'), 'id\n1\n');
  const yaml = testYaml(`sources:
  shop:
    type: local
    path: ${shop}
    public: true
  warehouse:
    type: local
    path: ${warehouse}
    auto_register: false
  broken:
    type: local
    path: ${join(dir, 'no-such-folder')}
`);
  writeFileSync(join(dir, 'instance.yaml'), yaml);
  server = await startTestServer({ DA_CONFIG: join(dir, 'instance.yaml') });
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a sync registers and pulls the tables of a configured source without an admin step; a failing source does not stop the others', async () => {
  expect((await tables()).size).toBe(0);
  const job = await syncAll();
  expect(job.tables.map((t) => [t.table_id, t.status, t.rows])).toEqual([['shop.orders', 'ok', 2]]);
  expect(job.sources.find((s) => s.dataset === 'shop')).toMatchObject({ status: 'ok', registered: ['shop.orders'], missing: [] });
  // auto_register: false: nothing registered (and a source with nothing registered is not even listed).
  expect(job.sources.find((s) => s.dataset === 'warehouse')).toMatchObject({ status: 'ok', registered: [] });
  // The broken source is reported, in the job's error too, while shop synced.
  expect(job.sources.find((s) => s.dataset === 'broken')).toMatchObject({ status: 'error', error: expect.stringContaining('no-such-folder') });
  expect(job.status).toBe('failed');
  expect(job.error).toContain('listing the tables of source broken failed');
  expect(job.message).toBeNull();
  const listed = await tables();
  expect([...listed.keys()]).toEqual(['shop.orders']);
  expect(listed.get('shop.orders')).toMatchObject({ missing: false, missing_since: null, sync: { rows: 2, status: 'ok' } });
  // Analysts get it through the manifest at once.
  const analyst = await server.createUser('analyst');
  const manifest = (await (await server.fetch('/api/sync/manifest', { token: analyst.token })).json()) as { tables: Record<string, unknown> };
  expect(Object.keys(manifest.tables)).toContain('shop.orders');
});

test('a new file is registered and synced by the next sync', async () => {
  writeFileSync(join(shop, 'customers.csv'), 'customer_id,name\n1,Ann\n2,Bob\n3,Cy\n');
  const job = await syncAll();
  expect(job.sources.find((s) => s.dataset === 'shop')!.registered).toEqual(['shop.customers']);
  expect(job.tables.find((t) => t.table_id === 'shop.customers')).toMatchObject({ status: 'ok', rows: 3 });
  expect((await tables()).get('shop.customers')!.sync).toMatchObject({ rows: 3, status: 'ok' });
});

test('a removed file marks its table missing; it stays served until it comes back', async () => {
  const before = (await tables()).get('shop.customers')!.sync!.hash;
  unlinkSync(join(shop, 'customers.csv'));
  const job = await syncAll();
  expect(job.sources.find((s) => s.dataset === 'shop')).toMatchObject({ missing: ['shop.customers'], registered: [] });
  // Missing tables are not pulled (that would only fail); the others are.
  expect(job.tables.map((t) => t.table_id)).toEqual(['shop.orders']);
  const t = (await tables()).get('shop.customers')!;
  expect(t).toMatchObject({ missing: true, sync: { hash: before, status: 'ok' } });
  expect(t.missing_since).toMatch(/^\d{4}-\d\d-\d\dT/);
  // Still served: the download and a query read the last file.
  const download = await admin('/api/data/shop.customers/download');
  expect(download.status).toBe(200);
  expect(download.headers.get('etag')).toBe(`"${before}"`);
  await download.arrayBuffer();
  const query = await admin('/api/query', { method: 'POST', json: { sql: 'SELECT count(*) AS n FROM shop.customers' } });
  expect(Number(((await query.json()) as { rows: unknown[][] }).rows[0]![0])).toBe(3);
  // A second sync keeps it missing since the first time.
  await syncAll();
  expect((await tables()).get('shop.customers')!.missing_since).toBe(t.missing_since);

  // The catalog and /admin/tables say so.
  const browser = await launchBrowser();
  try {
    const { page, violations } = await signInPage(browser, server, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    await page.goto(`${server.url}/catalog`);
    expect(await page.locator('tr[data-table="shop.customers"] [data-testid="missing-badge"]').textContent()).toContain('missing at source');
    expect(await page.locator('tr[data-table="shop.orders"] [data-testid="missing-badge"]').count()).toBe(0);
    await page.screenshot({ path: '/tmp/auto-register-catalog.png', fullPage: true });
    await page.goto(`${server.url}/catalog/shop.customers`);
    expect(await page.getByTestId('missing-note').textContent()).toContain('still served');
    await page.goto(`${server.url}/admin/tables`);
    expect(await page.locator('tr[data-table="shop.customers"] [data-testid="missing"]').textContent()).toContain('no longer offers customers.csv');
    await page.screenshot({ path: '/tmp/auto-register-admin-tables.png', fullPage: true });
    await page.goto(`${server.url}/admin/sync`);
    await page.screenshot({ path: '/tmp/auto-register-admin-sync.png', fullPage: true });
    expect(violations).toEqual([]);
  } finally {
    await browser.close();
  }

  writeFileSync(join(shop, 'customers.csv'), 'customer_id,name\n1,Ann\n2,Bob\n3,Cy\n4,Di\n');
  const back = await syncAll();
  expect(back.sources.find((s) => s.dataset === 'shop')).toMatchObject({ returned: ['shop.customers'], missing: [] });
  expect((await tables()).get('shop.customers')).toMatchObject({ missing: false, missing_since: null, sync: { rows: 4 } });
});

test('an admin can unregister a missing table; its file goes', async () => {
  unlinkSync(join(shop, 'customers.csv'));
  await syncAll();
  expect((await tables()).get('shop.customers')!.missing).toBe(true);
  expect((await admin('/api/tables/shop.customers', { method: 'DELETE' })).status).toBe(204);
  expect((await tables()).has('shop.customers')).toBe(false);
  expect((await admin('/api/data/shop.customers/download')).status).toBe(404);
});

test('auto_register: false registers nothing, and a sync with nothing registered says why', async () => {
  const only = join(dir, 'only.yaml');
  writeFileSync(only, testYaml(`sources:\n  warehouse:\n    type: local\n    path: ${join(dir, 'warehouse')}\n    auto_register: false\n`));
  const other = await startTestServer({ DA_CONFIG: only });
  try {
    const job = await syncAll(other);
    expect(job.status).toBe('succeeded');
    expect(job.tables).toEqual([]);
    expect(job.message).toContain('no table is registered');
    expect(job.message).toContain('warehouse has auto_register: false');
    expect((await other.deps.repos.tableRegistry.list()).length).toBe(0);
    // Registered by hand, it syncs; a later file in that source is not registered by itself.
    expect((await other.fetch('/api/sources/warehouse/register-all', { method: 'POST', token: other.adminToken })).status).toBe(200);
    writeFileSync(join(dir, 'warehouse', 'later.csv'), 'id\n1\n');
    const second = await syncAll(other);
    expect(second.message).toBeNull();
    expect(second.tables.map((t) => t.table_id)).toEqual(['warehouse.big_table']);
    expect(second.sources[0]).toMatchObject({ dataset: 'warehouse', status: 'ok', auto_register: false, registered: [] });
  } finally {
    await other.stop();
  }
});

test('a server without sources says there is nothing to sync', async () => {
  const none = await startTestServer();
  try {
    const job = await syncAll(none);
    expect(job).toMatchObject({ status: 'succeeded', tables: [], sources: [] });
    expect(job.message).toContain('no source is configured');
  } finally {
    await none.stop();
  }
});
