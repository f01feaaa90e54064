import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { parquetPath } from '../../src/sync/paths.ts';
import { startBigQueryStandIn, type BigQueryStandIn } from '../stand-ins/bigquery.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createDaSandbox, type DaSandbox } from '../helpers/cli.ts';
import { testYaml } from '../helpers/data.ts';
import { sessionCookie, signInPage } from '../helpers/web.ts';
import { launchBrowser, screenshots } from '../helpers/browser.ts';

let bq: BigQueryStandIn;
let server: TestServer;
let granted: { id: string; email: string; password: string; token: string };
let outsider: { id: string; token: string };
const sandboxes: DaSandbox[] = [];

interface QueryBody {
  columns: Array<{ name: string; type: string }>; rows: unknown[][]; row_count: number; truncated: boolean;
  bytes_scanned?: number; estimated_cost_usd?: number; detail?: string;
}

async function query(sql: string, token: string, limit?: number) {
  const res = await server.fetch('/api/query', { method: 'POST', token, json: { sql, ...(limit ? { limit } : {}) } });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as QueryBody };
}

beforeAll(async () => {
  bq = await startBigQueryStandIn({ pageSize: 2 });
  await bq.createTable('events', {
    description: 'Every click, billions of rows',
    fields: [{ name: 'id', type: 'INT64' }, { name: 'user_id', type: 'STRING' }, { name: 'seen_at', type: 'TIMESTAMP' }, { name: 'value', type: 'FLOAT64' }],
  });
  // Another dataset of the project, not part of any source: remote queries must never read it.
  await bq.createTable('salaries', { fields: [{ name: 'name', type: 'STRING' }, { name: 'salary', type: 'INT64' }] }, 'hr');
  await bq.insert('hr.salaries', `('ann', 100000)`);
  await bq.insert('events', [1, 2, 3, 4, 5].map((i) => `(${i}, 'u${i % 2}', TIMESTAMPTZ '2025-03-0${i} 12:00:00.25+00', ${i / 2})`).join(', '));
  server = await startTestServer({ BQ_TOKEN: bq.token }, {
    yaml: testYaml(`sync:
  schedule: null
query:
  timeout_ms: 20000
sources:
  lake:
    type: bigquery
    mode: remote
    project: ${bq.project}
    dataset: ${bq.dataset}
    access_token: \${BQ_TOKEN}
    api_endpoint: ${bq.url}
    max_bytes_scanned: 100000
`),
  });
  granted = await server.createUser('analyst');
  outsider = await server.createUser('analyst');
  const res = await server.fetch(`/api/users/${granted.id}/permissions/lake`, { method: 'PUT', token: server.adminToken, json: { access: 'read' } });
  expect(res.status).toBeLessThan(300);
});

afterAll(async () => {
  for (const s of sandboxes) s.cleanup();
  await server?.stop();
  bq?.stop();
});

test('a sync registers remote tables without downloading them, and the manifest lists them as remote', async () => {
  const job = await server.services.sync.runNow();
  expect(job.status).toBe('succeeded');
  const result = job.result as { tables: unknown[]; sources: Array<{ registered: string[] }> };
  expect(result.sources[0]!.registered).toEqual(['lake.events']);
  expect(result.tables).toEqual([]);
  expect(existsSync(parquetPath(server.dataDir, 'lake', 'events'))).toBe(false);
  const { items } = (await (await server.fetch('/api/tables', { token: server.adminToken })).json()) as { items: Array<{ id: string; remote: boolean; sync: unknown }> };
  expect(items).toEqual([expect.objectContaining({ id: 'lake.events', remote: true, sync: null })]);
  // No query job ran: remote tables are never extracted.
  expect(bq.queries).toEqual([]);

  const manifest = (await (await server.fetch('/api/sync/manifest', { token: granted.token })).json()) as {
    tables: Record<string, unknown>; remote_tables?: Record<string, unknown>;
  };
  expect(manifest.tables['lake.events']).toBeUndefined();
  expect(manifest.remote_tables).toEqual({
    'lake.events': { dataset: 'lake', name: 'events', remote: true, engine: 'bigquery', description: 'Every click, billions of rows', tags: [] },
  });
  const hidden = (await (await server.fetch('/api/sync/manifest', { token: outsider.token })).json()) as { remote_tables?: Record<string, unknown> };
  expect(hidden.remote_tables?.['lake.events']).toBeUndefined();
});

test('a permitted analyst’s query on a remote table runs in BigQuery, typed, with the bytes scanned', async () => {
  const before = bq.queries.length;
  const r = await query('SELECT user_id, count(*) AS n, min(seen_at) AS first_at FROM lake.events GROUP BY user_id ORDER BY user_id', granted.token);
  expect(r.body.detail).toBeUndefined();
  expect(r.status).toBe(200);
  expect(r.body.columns).toEqual([{ name: 'user_id', type: 'VARCHAR' }, { name: 'n', type: 'BIGINT' }, { name: 'first_at', type: 'TIMESTAMP' }]);
  expect(r.body.rows).toEqual([['u0', '2', '2025-03-02 12:00:00.25'], ['u1', '3', '2025-03-01 12:00:00.25']]);
  expect(r.body.truncated).toBe(false);
  expect(r.body.bytes_scanned).toBe(5000);
  expect(r.body.estimated_cost_usd).toBeGreaterThan(0);
  const pushed = 'SELECT user_id, count(*) AS n, min(seen_at) AS first_at FROM `acme-analytics.sales.events` GROUP BY user_id ORDER BY user_id';
  expect(bq.queries.slice(before)).toEqual([`dry:${pushed}`, pushed]);
});

test('the row cap cuts a remote result and says so', async () => {
  const r = await query('SELECT id FROM lake.events ORDER BY id', granted.token, 3);
  expect(r.status).toBe(200);
  expect(r.body.rows).toEqual([['1'], ['2'], ['3']]);
  expect(r.body.truncated).toBe(true);
});

test('an analyst without a grant gets 404 for a remote table, and BigQuery is never asked', async () => {
  const before = bq.queries.length;
  const r = await query('SELECT count(*) FROM lake.events', outsider.token);
  expect(r.status).toBe(404);
  expect(r.type).toContain('application/problem+json');
  expect(r.body.detail).toBe('table lake.events not found');
  const unknown = await query('SELECT count(*) FROM lake.nope', granted.token);
  expect(unknown.status).toBe(404);
  expect(unknown.body.detail).toBe('table lake.nope not found');
  expect(bq.queries.length).toBe(before);
});

test('remote queries may not reach past their tables: backticks, INFORMATION_SCHEMA and non-SELECT are refused', async () => {
  const tick = await query('SELECT * FROM lake.events, `acme-analytics.sales.events`', granted.token);
  expect(tick.status).toBe(400);
  expect(tick.body.detail).toContain('without backticks');
  const info = await query('SELECT * FROM lake.events JOIN lake.INFORMATION_SCHEMA.TABLES ON true', granted.token);
  expect(info.status).toBe(400);
  expect(info.body.detail).toContain('INFORMATION_SCHEMA');
  const script = await query('DELETE FROM lake.events WHERE true', granted.token);
  expect(script.status).toBe(400);
  expect(script.body.detail).toBe('a remote query must be one SELECT statement');
});

test('a remote query that would read a table it does not name as a remote table is refused by its dry run', async () => {
  const before = bq.queries.length;
  const r = await query('SELECT e.id, s.salary FROM lake.events e CROSS JOIN hr.salaries s', granted.token);
  expect(r.status).toBe(404);
  expect(r.body.detail).toBe('a remote query may read only the remote tables it names as dataset.table');
  // Only the dry run reached BigQuery: its referencedTables named hr.salaries.
  expect(bq.queries.slice(before)).toEqual(['dry:SELECT e.id, s.salary FROM `acme-analytics.sales.events` e CROSS JOIN hr.salaries s']);
});

test('a remote query past query.timeout_ms is stopped with 408 and its BigQuery job cancelled', async () => {
  const { runRemoteQuery } = await import('../../src/connectors/bigquery/remote.ts');
  const { deps, services } = server;
  bq.setResultDelay(1500);
  try {
    const user = (await deps.repos.users.get(granted.id))!;
    const inputs = {
      config: { ...deps.config, query: { ...deps.config.query, timeout_ms: 300 } },
      access: services.access, catalog: services.catalog, registry: deps.repos.tableRegistry,
    };
    const err = await runRemoteQuery(inputs, { ...user, role: 'analyst' } as never, { sql: 'SELECT id FROM lake.events', limit: 10 }).catch((e) => e);
    expect(err.constructor.name).toBe('TimeoutError');
    expect(err.message).toBe('the query ran longer than 300 ms and was stopped');
    expect(bq.cancelled.length).toBe(1);
  } finally {
    bq.setResultDelay(0);
  }
});

test('a remote result is cut at query.max_result_bytes like a local one', async () => {
  const { runRemoteQuery } = await import('../../src/connectors/bigquery/remote.ts');
  const { deps, services } = server;
  const user = (await deps.repos.users.get(granted.id))!;
  const inputs = {
    config: { ...deps.config, query: { ...deps.config.query, max_result_bytes: 40 } },
    access: services.access, catalog: services.catalog, registry: deps.repos.tableRegistry,
  };
  // Each row is ["<id>","u<n>"] (11 bytes with its comma, after 2 for the brackets): three fit in 40 bytes.
  const r = await runRemoteQuery(inputs, { ...user, role: 'analyst' } as never, { sql: 'SELECT id, user_id FROM lake.events ORDER BY id', limit: 100 });
  expect(JSON.parse(r.rowsJson)).toEqual([['1', 'u1'], ['2', 'u0'], ['3', 'u1']]);
  expect(r.truncated).toBe(true);
});

test('the dry-run cost guard refuses a remote query over max_bytes_scanned before it runs', async () => {
  bq.setBytes('events', 7_000_000);
  const before = bq.queries.length;
  const r = await query('SELECT count(*) FROM lake.events', granted.token);
  bq.setBytes('events', 5000);
  expect(r.status).toBe(400);
  expect(r.body.detail).toContain('refused by the cost guard: the query would scan 7.0 MB (7000000 bytes), over max_bytes_scanned 100.0 KB');
  expect(bq.queries.slice(before)).toEqual(['dry:SELECT count(*) FROM `acme-analytics.sales.events`']);
});

test('da query --remote pushes the query down for a permitted analyst and fails clearly for another', async () => {
  const da = createDaSandbox();
  sandboxes.push(da);
  expect((await da.runInProcess(['login', '--server', server.url, '--email', granted.email, '--password', granted.password])).code).toBe(0);
  // da sync downloads nothing for a remote table and names it.
  const synced = await da.runInProcess(['sync', '--json'], { cwd: da.workspace });
  expect(synced.code).toBe(0);
  expect(synced.json()).toMatchObject({ remote_tables: ['lake.events'], tables: { added: [], changed: [] }, bytes_downloaded: 0 });
  const human = await da.runInProcess(['sync'], { cwd: da.workspace });
  expect(human.stdout).toContain('remote (queried in the warehouse with da query --remote, not downloaded): lake.events');
  const ok = await da.runInProcess(['query', '--remote', '--json', 'SELECT max(value) AS top FROM lake.events']);
  expect(ok.code).toBe(0);
  expect(ok.json()).toMatchObject({ columns: [{ name: 'top', type: 'DOUBLE' }], rows: [[2.5]], bytes_scanned: 5000 });

  const other = createDaSandbox();
  sandboxes.push(other);
  expect((await other.runInProcess(['login', '--server', server.url, '--token', outsider.token])).code).toBe(0);
  const refused = await other.runInProcess(['query', '--remote', 'SELECT max(value) FROM lake.events']);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('table lake.events not found');
});

test('the catalog, its table page and the dashboard show a remote table as queried in place, not as never synced', async () => {
  const cookie = await sessionCookie(server, granted);
  const get = async (path: string) => {
    const res = await server.fetch(path, { headers: { cookie } });
    expect(res.status).toBe(200);
    return res.text();
  };
  const badge = /data-freshness="(\w+)"[^>]*>([^<]+)</;
  for (const page of ['/catalog', '/catalog/lake.events']) {
    const html = await get(page);
    expect(badge.exec(html)?.slice(1)).toEqual(['remote', 'queried in place']);
  }
  expect(await get('/catalog?freshness=remote')).toContain('lake.events');
  expect(await get('/catalog?freshness=never')).not.toContain('href="/catalog/lake.events"');
  const home = await get('/');
  expect(home).toContain('data-state="remote"');
  expect(home).not.toMatch(/data-freshness="never"/);
});

test('in Chromium the remote badge is visible on the catalog and the dashboard', async () => {
  const browser = await launchBrowser();
  try {
    const { page, violations } = await signInPage(browser, server, granted);
    await expect(page.locator('[data-testid=freshness] [data-state=remote]').textContent()).resolves.toContain('Queried in place');
    await page.goto(`${server.url}/catalog`);
    const badge = page.locator('.badge[data-freshness=remote]').first();
    expect(await badge.isVisible()).toBe(true);
    expect(await badge.textContent()).toBe('queried in place');
    expect(await page.locator('td[data-label="Last sync"]').first().textContent()).not.toContain('never');
    await screenshots(page, 'catalog-remote');
    await page.goto(`${server.url}/catalog/lake.events`);
    expect(await page.locator('main').textContent()).toContain('This table stays in its warehouse');
    expect(await page.locator('[data-testid=da-query]').textContent()).toBe('da query --remote "SELECT * FROM lake.events LIMIT 10"');
    expect(await page.locator('main').textContent()).toContain('are not profiled');
    await screenshots(page, 'catalog-remote-table');
    expect(violations).toEqual([]);
  } finally {
    await browser.close();
  }
});
