import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '../cli/client.ts';
import { runSync } from '../cli/workspace-sync.ts';
import { createDaSandbox, type DaSandbox } from './helpers/cli.ts';
import { seedTable, testYaml } from './helpers/data.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { sessionCookie } from './helpers/web.ts';

/**
 * The metrics catalog against a real server over real HTTP: who may define and change what,
 * the SQL checks on save (through the query pool and its guard), YAML export and import
 * into another server, delivery by `da sync`, `da metrics value` offline matching the
 * server's value, and the table page listing the metrics that use the table.
 */
const YAML = testYaml('sources:\n  sales: { type: local, path: /tmp, public: true }\n  hr: { type: local, path: /tmp }\n');
const ORDERS = 'SELECT range AS order_id, (range % 10) * 1.5 AS amount FROM range(100)';
let server: TestServer;
let analyst: Awaited<ReturnType<TestServer['createUser']>>;
let other: Awaited<ReturnType<TestServer['createUser']>>;
let viewer: Awaited<ReturnType<TestServer['createUser']>>;

async function seed(s: TestServer) {
  await seedTable(s, { dataset: 'sales', table: 'orders', select: ORDERS });
  await seedTable(s, { dataset: 'hr', table: 'salaries', select: 'SELECT 1 AS id, 50000 AS salary' });
}

const revenue = {
  name: 'net_revenue',
  description: 'Sum of order amounts',
  sql: 'SELECT sum(amount) AS value, count(*) AS orders FROM sales.orders',
  datasets: ['sales'],
  owner: 'finance@example.com',
  unit: 'EUR',
  grain: 'all time',
  tags: ['finance', 'core'],
  status: 'certified',
};

async function create(token: string, body: unknown) {
  const res = await server.fetch('/api/metrics', { method: 'POST', token, json: body });
  return { status: res.status, body: (await res.json()) as any };
}

async function list(token: string): Promise<any[]> {
  return (await (await server.fetch('/api/metrics', { token })).json()) as any[];
}

beforeAll(async () => {
  server = await startTestServer({}, { yaml: YAML });
  await seed(server);
  [analyst, other, viewer] = [await server.createUser('analyst'), await server.createUser('analyst'), await server.createUser('viewer')];
});
afterAll(() => server?.stop());

describe('who may define metrics', () => {
  test('an admin defines and certifies; viewers read it and its value', async () => {
    const made = await create(server.adminToken, revenue);
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ ...revenue, datasets: ['sales'] });
    expect((await list(viewer.token)).map((m) => m.name)).toContain('net_revenue');
    const value = await server.fetch(`/api/metrics/${made.body.id}/value`, { token: viewer.token });
    expect(value.status).toBe(200);
    const v = (await value.json()) as any;
    expect(v.columns.map((c: any) => c.name)).toEqual(['value', 'orders']);
    expect(Number(v.rows[0][0])).toBe(675);
    expect(Number(v.rows[0][1])).toBe(100);
  });

  test('analysts propose drafts and edit only their own; only admins certify', async () => {
    expect((await create(analyst.token, { ...revenue, name: 'aov' })).status).toBe(403);
    const draft = await create(analyst.token, { ...revenue, name: 'aov', status: 'draft', sql: 'SELECT avg(amount) AS value FROM sales.orders' });
    expect(draft.status).toBe(201);
    const id = draft.body.id;
    const patch = (token: string, json: unknown) => server.fetch(`/api/metrics/${id}`, { method: 'PATCH', token, json });
    expect((await patch(analyst.token, { description: 'Average order value' })).status).toBe(200);
    expect((await patch(other.token, { description: 'mine now' })).status).toBe(403);
    expect((await patch(analyst.token, { status: 'certified' })).status).toBe(403);
    expect((await patch(server.adminToken, { status: 'certified' })).status).toBe(200);
    // Certified, it is no longer the analyst's to change or delete.
    expect((await patch(analyst.token, { description: 'x' })).status).toBe(403);
    expect((await server.fetch(`/api/metrics/${id}`, { method: 'DELETE', token: analyst.token })).status).toBe(403);
    const got = (await (await server.fetch(`/api/metrics/${id}`, { token: viewer.token })).json()) as any;
    expect(got).toMatchObject({ name: 'aov', description: 'Average order value', status: 'certified' });
  });

  test('viewers see only metrics over datasets they may read', async () => {
    const hr = await create(server.adminToken, { ...revenue, name: 'payroll', sql: 'SELECT sum(salary) AS value FROM hr.salaries', datasets: ['hr'] });
    expect(hr.status).toBe(201);
    expect((await list(viewer.token)).map((m) => m.name)).not.toContain('payroll');
    expect((await server.fetch(`/api/metrics/${hr.body.id}`, { token: viewer.token })).status).toBe(404);
    expect((await server.fetch(`/api/metrics/${hr.body.id}/value`, { token: viewer.token })).status).toBe(404);
    expect((await list(server.adminToken)).map((m) => m.name)).toContain('payroll');
  });
});

describe('the SQL of a metric is checked on save, and a refusal stores nothing', () => {
  const refusals: Array<[string, Partial<typeof revenue>, number]> = [
    ['does not bind', { sql: 'SELECT sum(no_such_column) FROM sales.orders' }, 400],
    ['an unknown table', { sql: 'SELECT count(*) FROM sales.nope' }, 400],
    ['writes', { sql: 'DELETE FROM sales.orders' }, 400],
    ['creates a table', { sql: 'CREATE TABLE sales.x AS SELECT 1' }, 400],
    ['two statements', { sql: 'SELECT 1; DROP TABLE sales.orders' }, 400],
    ['a dataset the author may not read', { sql: 'SELECT count(*) FROM hr.salaries', datasets: ['hr'] }, 403],
    ['reads a dataset it does not declare', { sql: 'SELECT count(*) FROM hr.salaries', datasets: ['sales'] }, 400],
    ['a refused function', { sql: "SELECT count(*) FROM read_csv('/etc/passwd')" }, 400],
    ['a refused scalar function', { sql: "SELECT getenv('HOME') AS value" }, 400],
  ];
  for (const [what, change, status] of refusals) {
    test(what, async () => {
      const before = (await list(server.adminToken)).length;
      const r = await create(analyst.token, { ...revenue, ...change, name: `bad_${what.replaceAll(' ', '_')}`, status: 'draft' });
      expect({ what, status: r.status }).toEqual({ what, status });
      expect(r.body.detail ?? r.body.title).toBeTruthy();
      if (what === 'writes' || what === 'creates a table' || what === 'two statements') expect(r.body.detail).toContain('one read-only SELECT');
      expect((await list(server.adminToken)).length).toBe(before);
    });
  }

  test('an admin may not define a metric over state tables either', async () => {
    const r = await create(server.adminToken, { ...revenue, name: 'users_count', sql: 'SELECT count(*) FROM state.users' });
    expect(r.status).toBe(400);
  });
});

describe('YAML export and import', () => {
  test('one diff-friendly file per metric; importing them into another server gives the same metrics', async () => {
    const exp = await server.fetch('/api/metrics/export', { token: server.adminToken });
    expect(exp.status).toBe(200);
    const { files } = (await exp.json()) as { files: Record<string, string> };
    expect(Object.keys(files).sort()).toEqual(['aov.yaml', 'net_revenue.yaml', 'payroll.yaml']);
    expect(files['net_revenue.yaml']!.split('\n')[1]).toBe('name: net_revenue');
    expect((await server.fetch('/api/metrics/export', { token: analyst.token })).status).toBe(403);

    const second = await startTestServer({}, { yaml: YAML });
    try {
      await seed(second);
      const imp = await second.fetch('/api/metrics/import', { method: 'POST', token: second.adminToken, json: { files } });
      expect(imp.status).toBe(200);
      expect(await imp.json()).toEqual({ created: 3, updated: 0 });
      const strip = (ms: any[]) => ms.map(({ created_by, created_at, updated_at, ...m }) => m);
      const theirs = (await (await second.fetch('/api/metrics', { token: second.adminToken })).json()) as any[];
      expect(strip(theirs)).toEqual(strip(await list(server.adminToken)));
      // Again: the same files update in place.
      const again = await second.fetch('/api/metrics/import', { method: 'POST', token: second.adminToken, json: { files } });
      expect(await again.json()).toEqual({ created: 0, updated: 3 });
      // A file whose SQL is refused stops the whole import.
      const bad = { ...files, 'broken.yaml': files['net_revenue.yaml']!.replace('name: net_revenue', 'name: broken').replace(/^id: .*$/m, 'id: other-id').replace('sales.orders', 'sales.nope') };
      const refused = await second.fetch('/api/metrics/import', { method: 'POST', token: second.adminToken, json: { files: bad } });
      expect(refused.status).toBe(400);
      const twice = await second.fetch('/api/metrics/import', { method: 'POST', token: second.adminToken, json: { files: { 'a.yaml': files['aov.yaml'], 'b.yaml': files['aov.yaml'] } } });
      expect(twice.status).toBe(409);
      expect(((await (await second.fetch('/api/metrics', { token: second.adminToken })).json()) as any[]).length).toBe(3);
    } finally {
      await second.stop();
    }
  });
});

describe('delivery to the workspace', () => {
  let dir: string;
  let da: DaSandbox;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'da-metrics-sync-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    da?.cleanup();
  });

  test('da sync delivers the certified metrics the caller may read; da metrics value offline matches the server', async () => {
    // A draft is not delivered.
    expect((await create(analyst.token, { ...revenue, name: 'draft_only', status: 'draft' })).status).toBe(201);
    da = createDaSandbox();
    const report = await runSync(createClient(server.url, analyst.token), da.configDir, da.workspace, { claudeDir: join(dir, 'claude') });
    expect(report.errors).toEqual([]);
    const metricsDir = join(da.workspace, 'server', 'metrics');
    expect(existsSync(join(metricsDir, 'net_revenue.yaml'))).toBe(true);
    expect(existsSync(join(metricsDir, 'aov.yaml'))).toBe(true);
    expect(existsSync(join(metricsDir, 'payroll.yaml'))).toBe(false);
    expect(existsSync(join(metricsDir, 'draft_only.yaml'))).toBe(false);
    const md = readFileSync(join(da.workspace, 'server', 'docs', 'metrics.md'), 'utf8');
    expect(md).toContain('## net_revenue');
    expect(md).not.toContain('payroll');

    const env = { DA_SERVER: server.url, DA_TOKEN: analyst.token };
    const listed = await da.runInProcess(['metrics', 'list', '--json'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.json().map((m: any) => m.name)).toEqual(['aov', 'net_revenue']);
    const shown = await da.runInProcess(['metrics', 'show', 'net_revenue'], { env });
    expect(shown.stdout).toContain('unit: EUR');

    const offline = await da.runInProcess(['metrics', 'value', 'net_revenue', '--json'], { env: { DA_SERVER: 'http://127.0.0.1:9', DA_TOKEN: 'x' } });
    expect(offline.code, offline.stderr).toBe(0);
    const id = (await list(analyst.token)).find((m) => m.name === 'net_revenue').id;
    const remote = (await (await server.fetch(`/api/metrics/${id}/value`, { token: analyst.token })).json()) as any;
    expect(offline.json().rows.map((r: unknown[]) => r.map(Number))).toEqual(remote.rows.map((r: unknown[]) => r.map(Number)));
    expect(offline.json().columns.map((c: any) => c.name)).toEqual(remote.columns.map((c: any) => c.name));
    const viaRemote = await da.runInProcess(['metrics', 'value', 'net_revenue', '--remote', '--json'], { env });
    expect(viaRemote.code, viaRemote.stderr).toBe(0);
    expect(viaRemote.json().rows).toEqual(remote.rows);

    // A metric that stops being visible goes away on the next sync.
    const aov = (await list(server.adminToken)).find((m) => m.name === 'aov');
    expect((await server.fetch(`/api/metrics/${aov.id}`, { method: 'PATCH', token: server.adminToken, json: { status: 'draft' } })).status).toBe(200);
    await runSync(createClient(server.url, analyst.token), da.configDir, da.workspace, { claudeDir: join(dir, 'claude') });
    expect(existsSync(join(metricsDir, 'aov.yaml'))).toBe(false);
  });
});

describe('the table page', () => {
  test('lists the metrics that use the table, and only those the reader may see', async () => {
    const cookie = await sessionCookie(server, viewer);
    const html = await (await server.fetch('/catalog/sales.orders', { headers: { cookie } })).text();
    expect(html).toContain('data-testid="table-metrics"');
    expect(html).toContain('data-metric="net_revenue"');
    expect(html).not.toContain('data-metric="payroll"');
    const admin = await sessionCookie(server, { email: 'admin@example.com', password: 'admin-password-1' });
    const hrPage = await (await server.fetch('/catalog/hr.salaries', { headers: { cookie: admin } })).text();
    expect(hrPage).toContain('data-metric="payroll"');
    expect(hrPage).not.toContain('data-metric="net_revenue"');
  });
});
