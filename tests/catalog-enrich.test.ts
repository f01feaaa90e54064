import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { enrichCatalog } from '../jobs/catalog-enrich.ts';
import { profileParquet } from '../src/sync/profiler.ts';
import { ManifestSchema } from '../src/sync/manifest-schema.ts';
import { startOpenMetadataStandIn, type OpenMetadataStandIn } from './stand-ins/openmetadata.ts';
import { seedTable, testYaml } from './helpers/data.ts';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/server.ts';
import { sessionCookie } from './helpers/web.ts';
import { createDaSandbox } from './helpers/cli.ts';
import type { DomainEvent } from '../src/events.ts';

/**
 * Catalog enrichment: an admin's descriptions and tags of tables and columns
 * (PATCH /api/tables/{id}), and the catalog-enrich job reading OpenMetadata (a stand-in over
 * real HTTP). Admin edits win over OpenMetadata, which wins over the source.
 */

let om: OpenMetadataStandIn;
let server: TestServer;
let users: Record<'viewer' | 'analyst', { email: string; password: string; token: string }>;

const ORDERS = `SELECT range AS order_id, 'c' || (range % 7) AS customer, (range * 1.5)::DOUBLE AS amount FROM range(50)`;

beforeAll(async () => {
  om = startOpenMetadataStandIn({ token: 'om-secret-token' });
  // The token comes from the environment, as instance.yaml's ${ENV} says.
  server = await startTestServer({ CATALOG_ENRICH_TEST_TOKEN: 'om-secret-token' }, {
    yaml: testYaml(`catalog:
  openmetadata:
    url: ${om.url}
    token: \${CATALOG_ENRICH_TEST_TOKEN}
    service: warehouse
    schedule: null
    retry_backoff_ms: 1
    max_retries: 2
    datasets:
      sales: shop.sales
      crm: crmsvc.main.public
`),
  });
  for (const [dataset, table, description] of [['sales', 'orders', 'Orders as the source says'], ['sales', 'refunds', null], ['crm', 'accounts', null], ['hr', 'people', null]] as const) {
    const seeded = await seedTable(server, { dataset, table, select: ORDERS, description: description ?? undefined });
    await server.deps.repos.profiles.put(seeded.id, await profileParquet(seeded.path, { tableId: seeded.id }));
  }
  const viewer = await server.createUser('viewer');
  const analyst = await server.createUser('analyst');
  users = { viewer, analyst };
  for (const u of [viewer, analyst]) {
    for (const d of ['sales', 'crm', 'hr']) {
      await server.fetch(`/api/users/${u.id}/permissions/${d}`, { method: 'PUT', token: server.adminToken, json: { access: 'read' } });
    }
  }
});

afterAll(async () => {
  await server?.stop();
  om?.stop();
});

/** PATCH as the admin, as another user's token, or (null) without one. */
const patch = (id: string, json: unknown, token: string | null = server.adminToken) =>
  server.fetch(`/api/tables/${id}`, { method: 'PATCH', token: token ?? undefined, json });

async function catalogItem(id: string, token = users.viewer.token) {
  const res = await server.fetch(`/api/catalog/tables/${id}`, { token });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    description: string | null; description_origin: string | null; tags: string[]; column_descriptions: Record<string, string>;
    profile: { columns: Array<{ name: string; description: string | null }> };
  };
}

function runJob(): Promise<Extract<DomainEvent, { type: 'job.finished' }>> {
  return new Promise((resolve, reject) => {
    const off = server.services.events.on('job.finished', (e) => {
      if (e.name !== 'catalog-enrich') return;
      off();
      resolve(e);
    });
    server.fetch('/api/jobs/catalog-enrich/run', { method: 'POST', token: server.adminToken }).then((res) => {
      if (res.status !== 202) reject(new Error(`run answered ${res.status}`));
    }, reject);
  });
}

describe('PATCH /api/tables/{id} with descriptions', () => {
  test('anonymous 401, viewer and analyst 403, admin 200', async () => {
    const body = { description: 'x' };
    expect((await patch('sales.refunds', body, null)).status).toBe(401);
    expect((await patch('sales.refunds', body, users.viewer.token)).status).toBe(403);
    expect((await patch('sales.refunds', body, users.analyst.token)).status).toBe(403);
    const res = await patch('sales.refunds', { description: 'Refunds, one row per refund' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: 'sales.refunds', description: 'Refunds, one row per refund', description_origin: 'admin', source_description: null });
  });

  test('an unknown table is a 404, an unknown column a 422 naming it, and a refused patch changes nothing', async () => {
    const missing = await patch('sales.nope', { description: 'x' });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    const bad = await patch('sales.orders', { description: 'must not land', enabled: false, columns: { amount: { description: 'ok' }, colour: { description: 'x' } } });
    expect(bad.status).toBe(422);
    const problem = (await bad.json()) as { detail: string; errors: Array<{ path: string }> };
    expect(problem.detail).toContain('colour');
    expect(problem.errors.map((e) => e.path)).toEqual(['columns.colour']);
    const item = await catalogItem('sales.orders');
    expect(item.description).toBe('Orders as the source says');
    expect(item.column_descriptions).toEqual({});
    expect((await server.deps.repos.tableRegistry.get('sales.orders'))!.enabled).toBe(true);
    // Bad shapes are refused by the schema.
    expect((await patch('sales.orders', { tags: 'pii' })).status).toBe(422);
    expect((await patch('sales.orders', { columns: { amount: { note: 'x' } } })).status).toBe(422);
  });

  test('an admin edit shows in /api/tables, the catalog API, the profile, the manifest and the profile asset da downloads', async () => {
    const res = await patch('sales.orders', {
      description: 'Every web shop order', tags: ['finance', ' pii ', 'finance'], columns: { amount: { description: 'Gross amount in EUR' } },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      description: 'Every web shop order', source_description: 'Orders as the source says', tags: ['finance', 'pii'],
      column_descriptions: { amount: 'Gross amount in EUR' },
    });

    const list = (await (await server.fetch('/api/tables', { token: server.adminToken })).json()) as { items: Array<Record<string, unknown>> };
    expect(list.items.find((t) => t.id === 'sales.orders')).toMatchObject({ description: 'Every web shop order', description_origin: 'admin', tags: ['finance', 'pii'] });

    const listed = (await (await server.fetch('/api/catalog/tables', { token: users.analyst.token })).json()) as { items: Array<Record<string, unknown>> };
    expect(listed.items.find((t) => t.id === 'sales.orders')).toMatchObject({ description: 'Every web shop order', tags: ['finance', 'pii'] });
    const item = await catalogItem('sales.orders');
    expect(item.column_descriptions).toEqual({ amount: 'Gross amount in EUR' });
    expect(item.profile.columns.find((c) => c.name === 'amount')!.description).toBe('Gross amount in EUR');
    expect(item.profile.columns.find((c) => c.name === 'customer')!.description).toBeNull();

    const manifestRes = await server.fetch('/api/sync/manifest', { token: users.analyst.token });
    const manifest = ManifestSchema.parse(await manifestRes.json());
    expect(manifest.tables['sales.orders']).toMatchObject({ description: 'Every web shop order', tags: ['finance', 'pii'], column_descriptions: { amount: 'Gross amount in EUR' } });
    // The profile asset carries the descriptions, and its hash in the manifest is over what is served.
    const asset = manifest.assets['profiles/sales.orders.json']!;
    const served = await (await server.fetch(asset.url, { token: users.analyst.token })).text();
    expect(new Bun.CryptoHasher('sha256').update(served).digest('hex')).toBe(asset.hash);
    expect(Buffer.byteLength(served)).toBe(asset.size_bytes!);
    const profile = JSON.parse(served) as { description: string; tags: string[]; columns: Array<{ name: string; description: string | null }> };
    expect(profile.description).toBe('Every web shop order');
    expect(profile.columns.find((c) => c.name === 'amount')!.description).toBe('Gross amount in EUR');

    // Clearing a column description: back to nothing; the table description stays.
    await patch('sales.orders', { columns: { amount: { description: null } } });
    expect((await catalogItem('sales.orders')).column_descriptions).toEqual({});
    expect((await catalogItem('sales.orders')).description).toBe('Every web shop order');
  });

  test('the catalog page shows the description, the tags and the column descriptions', async () => {
    await patch('sales.orders', { columns: { customer: { description: 'Who ordered' } } });
    const cookie = await sessionCookie(server, users.viewer);
    const html = await (await fetch(`${server.url}/catalog/sales.orders`, { headers: { cookie } })).text();
    expect(html).toContain('Every web shop order');
    expect(html).toContain('data-testid="tags"');
    expect(html).toContain('finance');
    expect(html).toContain('Who ordered');
    const search = await (await fetch(`${server.url}/catalog?q=finance`, { headers: { cookie } })).text();
    expect(search).toContain('sales.orders');
    expect(search).not.toContain('sales.refunds');
  });
});

describe('da', () => {
  test('da sync brings the descriptions along: da explore shows them offline and from the server', async () => {
    const da = createDaSandbox();
    try {
      const login = await da.runInProcess(['login', '--server', server.url, '--email', users.analyst.email, '--password', users.analyst.password]);
      expect(login.code).toBe(0);
      expect((await da.runInProcess(['sync', '--json'])).code).toBe(0);
      const local = (await da.runInProcess(['explore', 'sales.orders', '--json'])).json();
      expect(local).toMatchObject({ source: 'local', description: 'Every web shop order', tags: ['finance', 'pii'] });
      const byName = Object.fromEntries((local.columns as Array<{ name: string; description: string | null }>).map((c) => [c.name, c.description]));
      expect(byName).toEqual({ order_id: null, customer: 'Who ordered', amount: null });
      const text = await da.runInProcess(['explore', 'sales.orders']);
      expect(text.stdout).toContain('Every web shop order');
      expect(text.stdout).toContain('tags: finance, pii');
      expect(text.stdout).toContain('Who ordered');
      const remote = (await da.runInProcess(['explore', 'sales.orders', '--remote', '--json'])).json();
      expect(remote).toMatchObject({ source: 'remote', description: 'Every web shop order', tags: ['finance', 'pii'] });
      expect((remote.columns as Array<{ name: string; description: string | null }>).find((c) => c.name === 'customer')!.description).toBe('Who ordered');
      // A later edit reaches the workspace with the next sync (the profile's hash changed), without a new table download.
      await patch('sales.orders', { columns: { order_id: { description: 'Order number' } } });
      const again = (await da.runInProcess(['sync', '--json'])).json();
      expect(again.tables.changed).toEqual([]);
      const after = (await da.runInProcess(['explore', 'sales.orders', '--json'])).json();
      expect((after.columns as Array<{ name: string; description: string | null }>).find((c) => c.name === 'order_id')!.description).toBe('Order number');
      await patch('sales.orders', { columns: { order_id: { description: null } } });
    } finally {
      da.cleanup();
    }
  });
});

describe('catalog-enrich job (OpenMetadata)', () => {
  test('fills descriptions, tags and column descriptions from OpenMetadata, under the admin edits', async () => {
    om.tables.set('warehouse.shop.sales.orders', {
      description: 'Orders (OpenMetadata)', tags: ['Tier.Tier1'],
      columns: [{ name: 'amount', description: 'Amount (OpenMetadata)' }, { name: 'customer', description: 'Customer (OpenMetadata)' }, { name: 'order_id' }],
    });
    om.tables.set('warehouse.shop.sales.refunds', { description: 'Refunds (OpenMetadata)', tags: ['PII.None'], columns: [{ name: 'order_id', description: 'The refunded order' }] });
    om.tables.set('crmsvc.main.public.accounts', { description: 'CRM accounts', tags: ['Domain.Sales', 'Tier.Tier2'], columns: [{ name: 'customer', description: 'Account name' }] });
    om.requests.length = 0;

    const finished = await runJob();
    expect(finished).toMatchObject({ status: 'succeeded', error: null });
    // Every request carried the token; the FQNs follow the dataset mapping (service prefixed to database.schema).
    expect(om.requests.every((r) => r.authorized)).toBe(true);
    expect(om.requests.map((r) => r.path).sort()).toEqual([
      '/api/v1/tables/name/crmsvc.main.public.accounts?fields=columns,tags',
      '/api/v1/tables/name/warehouse.shop.sales.orders?fields=columns,tags',
      '/api/v1/tables/name/warehouse.shop.sales.refunds?fields=columns,tags',
    ]);

    const status = (await (await server.fetch('/api/catalog/enrichment', { token: server.adminToken })).json()) as { configured: boolean; last_run: any };
    expect(status.configured).toBe(true);
    expect(status.last_run).toMatchObject({
      status: 'succeeded', error: null,
      result: { enriched: ['crm.accounts', 'sales.orders', 'sales.refunds'], not_found: [], errors: [], skipped: [{ table: 'hr.people' }] },
    });

    const accounts = await catalogItem('crm.accounts');
    expect(accounts).toMatchObject({ description: 'CRM accounts', description_origin: 'openmetadata', tags: ['Domain.Sales', 'Tier.Tier2'], column_descriptions: { customer: 'Account name' } });
    // The admin's description, tags and column description win; OpenMetadata fills what the admin left empty.
    const orders = await catalogItem('sales.orders');
    expect(orders).toMatchObject({
      description: 'Every web shop order', description_origin: 'admin', tags: ['finance', 'pii'],
      column_descriptions: { amount: 'Amount (OpenMetadata)', customer: 'Who ordered' },
    });
    const refunds = await catalogItem('sales.refunds');
    expect(refunds).toMatchObject({ description: 'Refunds, one row per refund', tags: ['PII.None'], column_descriptions: { order_id: 'The refunded order' } });

    // The manifest carries the merged view.
    const manifest = ManifestSchema.parse(await (await server.fetch('/api/sync/manifest', { token: users.analyst.token })).json());
    expect(manifest.tables['crm.accounts']).toMatchObject({ description: 'CRM accounts', tags: ['Domain.Sales', 'Tier.Tier2'] });

    // An admin who clears the description falls back to OpenMetadata's, not to the source's.
    await patch('sales.orders', { description: '' });
    expect(await catalogItem('sales.orders')).toMatchObject({ description: 'Orders (OpenMetadata)', description_origin: 'openmetadata' });
    await patch('sales.orders', { description: 'Every web shop order' });
  });

  test('a table OpenMetadata does not know is reported as not found; retried 5xx and 429 answers still succeed', async () => {
    om.tables.delete('crmsvc.main.public.accounts');
    om.failures.push(503, 429, 502);
    om.requests.length = 0;
    const finished = await runJob();
    expect(finished.status).toBe('succeeded');
    expect(om.requests.filter((r) => r.status >= 500 || r.status === 429).length).toBe(3);
    const { last_run } = (await (await server.fetch('/api/catalog/enrichment', { token: server.adminToken })).json()) as { last_run: any };
    expect(last_run.result.not_found).toEqual([{ table: 'crm.accounts', fqn: 'crmsvc.main.public.accounts' }]);
    expect(last_run.result.enriched).toEqual(['sales.orders', 'sales.refunds']);
    // What an earlier run fetched for it is kept.
    expect((await catalogItem('crm.accounts')).description).toBe('CRM accounts');
  });

  test('OpenMetadata down: the job fails with the reason and the earlier descriptions stay', async () => {
    om.tables.set('crmsvc.main.public.accounts', { description: 'Never fetched', tags: [] });
    om.down = true;
    try {
      const finished = await runJob();
      expect(finished.status).toBe('failed');
      expect(finished.error).toContain('OpenMetadata answered 503');
      expect(finished.error).toContain('earlier descriptions are kept');
      const jobs = (await (await server.fetch('/api/jobs', { token: server.adminToken })).json()) as Array<{ name: string; last_status: string }>;
      expect(jobs.find((j) => j.name === 'catalog-enrich')).toMatchObject({ last_status: 'failed' });
      const { last_run } = (await (await server.fetch('/api/catalog/enrichment', { token: server.adminToken })).json()) as { last_run: any };
      expect(last_run).toMatchObject({ status: 'failed', result: { enriched: [] } });
      expect(last_run.result.errors).toHaveLength(3);
      expect(await catalogItem('crm.accounts')).toMatchObject({ description: 'CRM accounts', tags: ['Domain.Sales', 'Tier.Tier2'] });
      expect((await catalogItem('sales.refunds')).tags).toEqual(['PII.None']);
    } finally {
      om.down = false;
    }
  });

  test('/admin/tables says what the last run did', async () => {
    const cookie = await sessionCookie(server, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    const html = await (await fetch(`${server.url}/admin/tables`, { headers: { cookie } })).text();
    const section = /<p data-testid="enrichment">(.*?)<\/p>/s.exec(html)?.[1] ?? '';
    expect(section).toContain('failed');
    expect(section).toContain('OpenMetadata answered 503');
  });

  test('a wrong token: refused by OpenMetadata, the run fails saying so', async () => {
    const config = { ...server.deps.config, catalog: { openmetadata: { ...server.deps.config.catalog.openmetadata!, token: 'wrong' } } };
    await expect(enrichCatalog({ deps: { ...server.deps, config } })).rejects.toThrow('OpenMetadata refused the token (401)');
    expect(om.requests.at(-1)).toMatchObject({ authorized: false, status: 401 });
    expect((await catalogItem('crm.accounts')).description).toBe('CRM accounts');
  });

  test('unregistering a table forgets what admins and OpenMetadata said about it', async () => {
    expect(await server.deps.repos.tableAnnotations.get('crm.accounts', 'openmetadata')).toBeDefined();
    expect((await server.fetch('/api/tables/crm.accounts', { method: 'DELETE', token: server.adminToken })).status).toBe(204);
    expect(await server.deps.repos.tableAnnotations.get('crm.accounts', 'openmetadata')).toBeUndefined();
  });

  test('the job and the enrichment status are for admins only', async () => {
    expect((await server.fetch('/api/jobs/catalog-enrich/run', { method: 'POST' })).status).toBe(401);
    expect((await server.fetch('/api/jobs/catalog-enrich/run', { method: 'POST', token: users.analyst.token })).status).toBe(403);
    expect((await server.fetch('/api/catalog/enrichment')).status).toBe(401);
    expect((await server.fetch('/api/catalog/enrichment', { token: users.viewer.token })).status).toBe(403);
    expect((await server.fetch('/api/catalog/enrichment', { token: users.analyst.token })).status).toBe(403);
  });
});

describe('catalog.openmetadata config', () => {
  test('a database.schema mapping needs the service; the token comes from the environment; mistakes name their key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'da-om-config-'));
    try {
      const load = (yaml: string, env: Record<string, string> = {}) => {
        writeFileSync(join(dir, 'instance.yaml'), yaml);
        return loadConfig({ DA_CONFIG: join(dir, 'instance.yaml'), DA_DATA_DIR: dir, ...env }, dir);
      };
      const ok = load('catalog:\n  openmetadata: { url: "http://om.example:8585", token: "${OM_TOKEN}", datasets: { sales: warehouse.shop.sales } }\n', { OM_TOKEN: 't0k' });
      expect(ok.catalog.openmetadata).toMatchObject({ token: 't0k', schedule: '0 * * * *', datasets: { sales: 'warehouse.shop.sales' } });
      expect(load('sources: {}\n').catalog.openmetadata).toBeUndefined();
      expect(() => load('catalog:\n  openmetadata: { url: "http://om.example", token: x, datasets: { sales: shop.sales } }\n'))
        .toThrow('config key catalog.openmetadata.datasets.sales: gives database.schema only');
      expect(() => load('catalog:\n  openmetadata: { url: "http://om.example", token: x, datasets: { sales: sales } }\n'))
        .toThrow('config key catalog.openmetadata.datasets.sales: must be service.database.schema or database.schema');
      expect(() => load('catalog:\n  openmetadata: { url: "http://om.example", token: "${NO_SUCH_TOKEN_VAR}" }\n'))
        .toThrow('config key catalog.openmetadata.token: environment variable NO_SUCH_TOKEN_VAR is not set');
      expect(() => load('catalog:\n  openmetadata: { url: "not a url", token: x }\n')).toThrow('catalog.openmetadata.url');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
