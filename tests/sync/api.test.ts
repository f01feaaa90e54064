import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { copyFixtures } from '../helpers/fixtures.ts';
import { parquetPath } from '../../src/sync/paths.ts';
import { sha256File } from '../../src/sync/files.ts';
import { dataRefreshJob } from '../../jobs/data-refresh.ts';

let server: TestServer;
let fx: ReturnType<typeof copyFixtures>;
let analyst: { token: string };
let misc: string;

beforeAll(async () => {
  fx = copyFixtures();
  misc = join(fx.dir, 'misc');
  mkdirSync(misc);
  writeFileSync(join(misc, 'Orders.csv'), 'id,amount\n1,2.5\n');
  writeFileSync(join(misc, 'orders.json'), '[{"id": 1, "amount": 3}]');
  writeFileSync(join(misc, '2024 Report.csv'), 'month,revenue\n2024-01,100\n');
  const extra = `  misc:
    type: local
    path: ${misc}
  crm:
    type: keboola
    url: http://127.0.0.1:9
    token: kbc-secret-token-123
    auto_register: false
`;
  writeFileSync(fx.configPath, (await Bun.file(fx.configPath).text()) + extra);
  server = await startTestServer({ DA_CONFIG: fx.configPath });
  analyst = await server.createUser('analyst');
});
afterAll(async () => {
  await server.stop();
  rmSync(fx.dir, { recursive: true, force: true });
});

const admin = (path: string, init: RequestInit & { json?: unknown } = {}) => server.fetch(path, { ...init, token: server.adminToken });

async function waitForJob(id: string) {
  for (;;) {
    const job = (await (await admin(`/api/sync/jobs/${id}`)).json()) as { status: string; tables: Array<Record<string, unknown>>; error: string | null };
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    await Bun.sleep(50);
  }
}

const ROUTES: Array<[string, string, unknown?]> = [
  ['GET', '/api/tables'],
  ['POST', '/api/tables', { dataset: 'sales', source_table: 'orders.csv' }],
  ['PATCH', '/api/tables/sales.orders', { enabled: false }],
  ['DELETE', '/api/tables/sales.orders'],
  ['GET', '/api/sources'],
  ['GET', '/api/sources/sales/discover'],
  ['POST', '/api/sources/sales/register-all'],
  ['POST', '/api/sync/trigger', {}],
  ['GET', '/api/sync/jobs/some-job'],
  ['GET', '/api/sync/history'],
];

test('every table registry and sync route refuses anonymous callers with 401 and analysts with 403', async () => {
  for (const [method, path, json] of ROUTES) {
    const anon = await server.fetch(path, { method, json });
    expect([method, path, anon.status]).toEqual([method, path, 401]);
    const refused = await server.fetch(path, { method, json, token: analyst.token });
    expect([method, path, refused.status]).toEqual([method, path, 403]);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
  }
  // Nothing was registered by the refused calls.
  expect(((await (await admin('/api/tables')).json()) as { items: unknown[] }).items).toEqual([]);
});

test('sources are listed without their secrets', async () => {
  const res = await admin('/api/sources');
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(text).not.toContain('kbc-secret-token-123');
  const { items } = JSON.parse(text) as { items: Array<Record<string, unknown>> };
  expect(items.map((s) => s.dataset).sort()).toEqual(['crm', 'hr', 'misc', 'sales']);
  expect(items.find((s) => s.dataset === 'crm')).toMatchObject({ type: 'keboola', location: 'http://127.0.0.1:9', public: false });
});

test('discover lists normalised names and flags names that collide after normalisation', async () => {
  const res = await admin('/api/sources/misc/discover');
  expect(res.status).toBe(200);
  const { items } = (await res.json()) as { items: Array<{ source_table: string; name: string; conflict: string | null; registered: boolean }> };
  expect(items.map((t) => [t.source_table, t.name, t.conflict !== null])).toEqual([
    ['2024 Report.csv', '_2024_report', false],
    ['Orders.csv', 'orders', true],
    ['orders.json', 'orders', true],
  ]);
  expect((await admin('/api/sources/nope/discover')).status).toBe(404);
});

test('register-all registers what it can and skips colliding names instead of overwriting', async () => {
  const res = await admin('/api/sources/misc/register-all', { method: 'POST' });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { registered: Array<{ id: string }>; skipped: Array<{ source_table: string }> };
  expect(body.registered.map((t) => t.id)).toEqual(['misc._2024_report']);
  expect(body.skipped.map((s) => s.source_table)).toEqual(['Orders.csv', 'orders.json']);
  // One of them can still be registered under an explicit name; the other name stays taken.
  const named = await admin('/api/tables', { method: 'POST', json: { dataset: 'misc', source_table: 'orders.json', name: 'orders_json' } });
  expect(named.status).toBe(201);
  const clash = await admin('/api/tables', { method: 'POST', json: { dataset: 'misc', source_table: 'Orders.csv', name: 'orders_json' } });
  expect(clash.status).toBe(409);
});

test('an admin registers a table; registering it again is a conflict', async () => {
  const res = await admin('/api/tables', { method: 'POST', json: { dataset: 'sales', source_table: 'orders.csv', sync_strategy: 'incremental' } });
  expect(res.status).toBe(201);
  expect(await res.json()).toMatchObject({ id: 'sales.orders', name: 'orders', primary_key: ['order_id'], sync_strategy: 'incremental', enabled: true });
  expect((await admin('/api/tables', { method: 'POST', json: { dataset: 'sales', source_table: 'orders.csv', name: 'orders2' } })).status).toBe(409);
  expect((await admin('/api/tables', { method: 'POST', json: { dataset: 'sales', source_table: 'nope.csv' } })).status).toBe(422);
  expect((await admin('/api/tables', { method: 'POST', json: { dataset: 'sales', source_table: 'orders.csv', name: 'Bad Name' } })).status).toBe(422);
  expect((await admin('/api/tables', { method: 'POST', json: { dataset: 'nope', source_table: 'x.csv' } })).status).toBe(404);
  const registerAll = await admin('/api/sources/sales/register-all', { method: 'POST' });
  expect(((await registerAll.json()) as { registered: Array<{ id: string }> }).registered.map((t) => t.id)).toEqual(
    ['sales.customers', 'sales.order_items', 'sales.products'],
  );
});

test('a table update needs a primary key for incremental sync', async () => {
  const bad = await admin('/api/tables/misc._2024_report', { method: 'PATCH', json: { sync_strategy: 'incremental' } });
  expect(bad.status).toBe(422);
  const ok = await admin('/api/tables/misc._2024_report', { method: 'PATCH', json: { description: 'Monthly revenue' } });
  expect(ok.status).toBe(200);
  expect(await ok.json()).toMatchObject({ description: 'Monthly revenue' });
  expect((await admin('/api/tables/misc.nope', { method: 'PATCH', json: { enabled: false } })).status).toBe(404);
});

test('a triggered sync is 202 with a job id; a second trigger returns the running job', async () => {
  const res = await admin('/api/sync/trigger', { method: 'POST' });
  expect(res.status).toBe(202);
  const first = (await res.json()) as { job_id: string; already_running: boolean };
  expect(first.already_running).toBe(false);
  const again = await admin('/api/sync/trigger', { method: 'POST', json: { tables: ['sales.orders'] } });
  expect(again.status).toBe(202);
  expect(await again.json()).toMatchObject({ job_id: first.job_id, already_running: true });
  const job = await waitForJob(first.job_id);
  expect(job).toMatchObject({ status: 'succeeded', error: null });
  expect(job.tables.map((t) => t.table_id).sort()).toEqual(
    // hr is not registered by hand: the sync registers its tables itself.
    ['hr.departments', 'hr.employees', 'hr.salaries', 'misc._2024_report', 'misc.orders_json', 'sales.customers', 'sales.order_items', 'sales.orders', 'sales.products'],
  );
  const listed = (await (await admin('/api/tables')).json()) as { items: Array<{ id: string; sync: { hash: string; rows: number } | null }> };
  const orders = listed.items.find((t) => t.id === 'sales.orders')!;
  expect(orders.sync).toMatchObject({ rows: 2000, status: 'ok' });
  expect(orders.sync!.hash).toBe(await sha256File(parquetPath(server.dataDir, 'sales', 'orders')));
  const history = (await (await admin('/api/sync/history?table=sales.orders')).json()) as { items: Array<{ job_id: string }> };
  expect(history.items[0]!.job_id).toBe(first.job_id);
  expect((await admin('/api/sync/jobs/unknown-job')).status).toBe(404);
  expect((await admin('/api/sync/trigger', { method: 'POST', json: { tables: ['sales.nope'] } })).status).toBe(404);
  expect((await admin('/api/sync/trigger', { method: 'POST', json: { tables: ['not an id'] } })).status).toBe(422);
});

test('the data refresh job syncs every enabled table', async () => {
  await admin('/api/tables/misc.orders_json', { method: 'PATCH', json: { enabled: false } });
  const job = await dataRefreshJob.run(server.runtime);
  expect(job.status).toBe('succeeded');
  expect(job.tables).not.toContain('misc.orders_json');
  expect(dataRefreshJob.schedule(server.config)).toBe('*/15 * * * *');
});

test('unregistering a table removes its file, state and profile', async () => {
  const file = parquetPath(server.dataDir, 'misc', '_2024_report');
  expect(existsSync(file)).toBe(true);
  const res = await admin('/api/tables/misc._2024_report', { method: 'DELETE' });
  expect(res.status).toBe(204);
  expect(existsSync(file)).toBe(false);
  expect(await server.deps.repos.syncState.get('misc._2024_report')).toBeUndefined();
  expect(await server.deps.repos.profiles.get('misc._2024_report')).toBeUndefined();
  expect((await admin('/api/tables/misc._2024_report', { method: 'DELETE' })).status).toBe(404);
});
