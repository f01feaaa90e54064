import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { parquetPath } from '../../src/sync/paths.ts';
import { startBigQueryStandIn, type BigQueryStandIn } from '../stand-ins/bigquery.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { testYaml } from '../helpers/data.ts';
import { readParquetFile } from '../helpers/parquet.ts';

let bq: BigQueryStandIn;
let server: TestServer;

interface TableResult {
  table_id: string; status: string; mode: string | null; rows: number | null; rows_read: number | null; error: string | null;
  notes?: string[]; bytes_scanned?: number; estimated_cost_usd?: number;
}
interface JobResult {
  tables: TableResult[];
  sources: Array<{ dataset: string; status: string; registered: string[]; error: string | null }>;
}

async function query(sql: string) {
  const res = await server.fetch('/api/query', { method: 'POST', token: server.adminToken, json: { sql } });
  return { status: res.status, body: (await res.json()) as { rows: unknown[][]; detail?: string } };
}

const order = (id: number, customer: string, amount: string, paid: boolean, updated: string) =>
  `(${id}, '${customer}', ${amount}, ${Number(amount) * 1.5}, ${paid}, DATE '2025-01-0${id % 9 + 1}', TIMESTAMPTZ '${updated}+00', ` +
  `TIMESTAMP '2025-01-02 03:04:05.123456', '\\x01\\x02'::BLOB)`;

beforeAll(async () => {
  bq = await startBigQueryStandIn({ pageSize: 2 });
  await bq.createTable('orders', {
    description: 'Customer orders, one row per order',
    primaryKey: ['id'],
    fields: [
      { name: 'id', type: 'INT64' }, { name: 'customer', type: 'STRING' }, { name: 'amount', type: 'NUMERIC' }, { name: 'price', type: 'FLOAT64' },
      { name: 'paid', type: 'BOOL' }, { name: 'ordered_on', type: 'DATE' }, { name: 'updated_at', type: 'TIMESTAMP' },
      { name: 'local_time', type: 'DATETIME' }, { name: 'payload', type: 'BYTES' },
    ],
  });
  await bq.insert('orders', [
    order(1, 'ann', '10.25', true, '2025-01-01 10:00:00.5'),
    order(2, 'bob', '20.50', false, '2025-01-02 10:00:00'),
    order(3, 'ann', '5.125', true, '2025-01-03 10:00:00'),
  ].join(', '));
  await bq.createTable('Customers', { description: 'Who buys', fields: [{ name: 'id', type: 'INT64' }, { name: 'name', type: 'STRING' }] });
  await bq.insert('Customers', `(1, 'Ann'), (2, 'Bob')`);
  // An empty table: a third table makes tables.list page (two per page), and an empty result still has its types.
  await bq.createTable('returns', { fields: [{ name: 'id', type: 'INT64' }, { name: 'reason', type: 'STRING' }, { name: 'at', type: 'TIMESTAMP' }] });

  const folder = mkdtempSync(join(tmpdir(), 'da-bq-local-'));
  writeFileSync(join(folder, 'notes.csv'), 'id,text\n1,hello\n');
  server = await startTestServer({ BQ_TOKEN: bq.token }, {
    yaml: testYaml(`sync:
  schedule: null
sources:
  warehouse:
    type: bigquery
    project: ${bq.project}
    dataset: ${bq.dataset}
    access_token: \${BQ_TOKEN}
    api_endpoint: ${bq.url}
    max_bytes_scanned: 1000000
    page_size: 2
    description: Sales warehouse
    tables:
      orders:
        incremental_column: updated_at
      order_totals:
        query: SELECT customer, SUM(amount) AS total FROM \`${bq.project}.${bq.dataset}.orders\` GROUP BY customer
        description: Revenue per customer
  broken:
    type: bigquery
    project: ${bq.project}
    dataset: ${bq.dataset}
    access_token: wrong-token
    api_endpoint: ${bq.url}
  files:
    type: local
    path: ${folder}
`),
  });
});

afterAll(async () => {
  await server?.stop();
  bq?.stop();
});

test('a sync registers the dataset tables and configured queries with descriptions, and the wrong token fails only its own source', async () => {
  const job = await server.services.sync.runNow();
  const result = job.result as JobResult;
  expect(result.sources.find((s) => s.dataset === 'warehouse')).toMatchObject({ status: 'ok' });
  expect(result.sources.find((s) => s.dataset === 'warehouse')!.registered.sort()).toEqual(
    ['warehouse.customers', 'warehouse.order_totals', 'warehouse.orders', 'warehouse.returns'],
  );
  expect(bq.requests.filter((r) => r === 'GET /bigquery/v2/projects/acme-analytics/datasets/sales/tables').length).toBeGreaterThanOrEqual(2);
  const broken = result.sources.find((s) => s.dataset === 'broken')!;
  expect(broken.status).toBe('error');
  expect(broken.error).toContain('access denied (401)');
  expect(broken.error).toContain('invalid authentication credentials');
  // The failing BigQuery did not stop the other sources.
  expect(result.tables.find((t) => t.table_id === 'files.notes')).toMatchObject({ status: 'ok', rows: 1 });
  expect(result.tables.filter((t) => t.table_id.startsWith('warehouse.')).every((t) => t.status === 'ok')).toBe(true);
  expect(job.status).toBe('failed');
  expect(job.error).toContain('source broken');

  const { items } = (await (await server.fetch('/api/tables', { token: server.adminToken })).json()) as {
    items: Array<{ id: string; description: string | null; sync_strategy: string; primary_key: string[] | null; source_table: string; remote: boolean }>;
  };
  expect(items.find((t) => t.id === 'warehouse.orders')).toMatchObject({
    description: 'Customer orders, one row per order', sync_strategy: 'incremental', primary_key: ['id'], source_table: 'orders', remote: false,
  });
  expect(items.find((t) => t.id === 'warehouse.customers')).toMatchObject({ description: 'Who buys', sync_strategy: 'full', source_table: 'Customers' });
  expect(items.find((t) => t.id === 'warehouse.order_totals')).toMatchObject({ description: 'Revenue per customer', sync_strategy: 'full' });

  const discover = await server.fetch('/api/sources/warehouse/discover', { token: server.adminToken });
  expect(discover.status).toBe(200);
  const offered = ((await discover.json()) as { items: Array<{ source_table: string; columns: Array<{ name: string; type: string }> }> }).items;
  expect(offered.find((t) => t.source_table === 'orders')!.columns).toContainEqual({ name: 'amount', type: 'DECIMAL(38,9)' });
  expect(offered.find((t) => t.source_table === 'order_totals')!.columns).toEqual([
    { name: 'customer', type: 'VARCHAR' }, { name: 'total', type: 'DECIMAL(38,9)' },
  ]);
});

test('a full extract pages the query results into Parquet with real types and reports the bytes scanned', async () => {
  const orders = await readParquetFile(parquetPath(server.dataDir, 'warehouse', 'orders'), 'id');
  expect(orders.types).toEqual({
    id: 'BIGINT', customer: 'VARCHAR', amount: 'DECIMAL(38,9)', price: 'DOUBLE', paid: 'BOOLEAN', ordered_on: 'DATE',
    updated_at: 'TIMESTAMP', local_time: 'TIMESTAMP', payload: 'BLOB',
  });
  expect(orders.rows).toHaveLength(3);
  expect(orders.rows[0]).toMatchObject({
    id: '1', customer: 'ann', amount: '10.250000000', price: 15.375, paid: true, ordered_on: '2025-01-02',
    updated_at: '2025-01-01 10:00:00.5', local_time: '2025-01-02 03:04:05.123456',
  });
  const returns = await readParquetFile(parquetPath(server.dataDir, 'warehouse', 'returns'), 'id');
  expect(returns).toEqual({ types: { id: 'BIGINT', reason: 'VARCHAR', at: 'TIMESTAMP' }, rows: [] });
  const totals = await readParquetFile(parquetPath(server.dataDir, 'warehouse', 'order_totals'), 'customer');
  expect(totals.rows).toEqual([{ customer: 'ann', total: '15.375000000' }, { customer: 'bob', total: '20.500000000' }]);

  // Three rows at two per page: getQueryResults was called with a pageToken.
  expect(bq.requests.filter((r) => r.startsWith('GET /bigquery/v2/projects/acme-analytics/queries/')).length).toBeGreaterThanOrEqual(2);
  // Every query job was preceded by its dry run.
  const real = bq.queries.filter((q) => !q.startsWith('dry:'));
  for (const q of real) expect(bq.queries).toContain(`dry:${q}`);
});

test('an incremental extract reads only rows at or after the watermark (one old row again, two new) and merges them on the key', async () => {
  await bq.insert('orders', order(4, 'cid', '1.00', false, '2025-01-04 10:00:00'));
  await bq.insert('orders', `(2, 'bob', 99.00, 148.5, true, DATE '2025-01-03', TIMESTAMPTZ '2025-01-05 10:00:00+00', NULL, NULL)`);
  const before = bq.queries.length;
  const job = await server.services.sync.runNow({ tables: ['warehouse.orders'] });
  expect(job.status).toBe('succeeded');
  const result = (job.result as JobResult).tables[0]!;
  expect(result).toMatchObject({ status: 'ok', mode: 'incremental', rows: 4, rows_read: 3 });
  expect(result.bytes_scanned).toBeGreaterThan(0);
  expect(result.estimated_cost_usd).toBeGreaterThan(0);
  expect(result.notes!.join(' ')).toMatch(/BigQuery scanned .* \(estimated \$/);
  expect(bq.queries.slice(before)).toContain(
    "SELECT * FROM (SELECT * FROM `acme-analytics.sales.orders`) WHERE `updated_at` >= TIMESTAMP '2025-01-03 10:00:00+00:00'",
  );
  const orders = await readParquetFile(parquetPath(server.dataDir, 'warehouse', 'orders'), 'id');
  expect(orders.rows.map((r) => [r.id, r.amount, r.paid])).toEqual([
    ['1', '10.250000000', true], ['2', '99.000000000', true], ['3', '5.125000000', true], ['4', '1.000000000', false],
  ]);
  const state = await server.deps.repos.syncState.get('warehouse.orders');
  expect(JSON.parse(state!.watermark!)).toEqual({ value: '2025-01-05 10:00:00', type: 'TIMESTAMP' });
});

test('the cost guard refuses a query over max_bytes_scanned: sync history says why and the previous data is still served', async () => {
  bq.setBytes('Customers', 5_000_000_000);
  const before = bq.queries.length;
  const job = await server.services.sync.runNow({ tables: ['warehouse.customers'] });
  expect(job.status).toBe('failed');
  const result = (job.result as JobResult).tables[0]!;
  expect(result.status).toBe('error');
  expect(result.error).toContain('refused by the cost guard: the query would scan 5.0 GB (5000000000 bytes), over max_bytes_scanned 1.0 MB');
  // Only the dry run reached BigQuery.
  expect(bq.queries.slice(before)).toEqual(['dry:SELECT * FROM `acme-analytics.sales.Customers`']);
  const state = await server.deps.repos.syncState.get('warehouse.customers');
  expect(state!.error).toContain('cost guard');
  const history = await server.fetch('/api/sync/history?table=warehouse.customers', { token: server.adminToken });
  expect(history.status).toBe(200);
  const entries = ((await history.json()) as { items: Array<{ status: string; error: string | null }> }).items;
  expect(entries[0]).toMatchObject({ status: 'error' });
  expect(entries[0]!.error).toContain('over max_bytes_scanned');
  expect(entries[1]).toMatchObject({ status: 'ok' });
  const served = await query('SELECT name FROM warehouse.customers ORDER BY id');
  expect(served.status).toBe(200);
  expect(served.body.rows).toEqual([['Ann'], ['Bob']]);
});

test('a missing dataset, a wrong token and an unusable key file are clear errors', async () => {
  const { createBigQueryConnector } = await import('../../src/connectors/bigquery/index.ts');
  const base = { type: 'bigquery' as const, project: bq.project, api_endpoint: bq.url, mode: 'extract' as const, price_per_tib_usd: 6.25,
    page_size: 100, tables: {}, public: false, auto_register: true };
  const missing = createBigQueryConnector('x', { ...base, dataset: 'nope', access_token: bq.token });
  await expect(missing.listTables()).rejects.toThrow('BigQuery dataset acme-analytics.nope does not exist');
  const wrong = createBigQueryConnector('x', { ...base, dataset: bq.dataset, access_token: 'expired' });
  await expect(wrong.listTables()).rejects.toThrow(/access denied \(401\)/);
  const dir = mkdtempSync(join(tmpdir(), 'da-bq-key-'));
  writeFileSync(join(dir, 'user.json'), JSON.stringify({ type: 'authorized_user', client_id: 'x', refresh_token: 'y' }));
  const notServiceAccount = createBigQueryConnector('x', { ...base, dataset: bq.dataset, credentials_file: join(dir, 'user.json') });
  await expect(notServiceAccount.listTables()).rejects.toThrow(`credentials_file ${join(dir, 'user.json')} is not a service-account key (it needs client_email and private_key)`);
  const absent = createBigQueryConnector('x', { ...base, dataset: bq.dataset, credentials_file: join(dir, 'absent.json') });
  await expect(absent.pull({ source_table: 'orders', target: join(dir, 'o.parquet'), mode: 'full', existing: null, watermark: null, primary_key: null, scratch_dir: dir }))
    .rejects.toThrow(`credentials_file ${join(dir, 'absent.json')} cannot be read as JSON: ENOENT`);
});

test('a BigQuery source needs exactly one of credentials_file and access_token', () => {
  const dir = mkdtempSync(join(tmpdir(), 'da-bq-config-'));
  const load = (credentials: string) => {
    writeFileSync(join(dir, 'instance.yaml'), `sources:\n  wh:\n    type: bigquery\n    project: p\n    dataset: d\n${credentials}`);
    return loadConfig({ DA_CONFIG: join(dir, 'instance.yaml'), BQ_TOKEN: 't0k' }, dir);
  };
  expect(() => load('')).toThrow(ConfigError);
  expect(() => load('')).toThrow('set exactly one of credentials_file (service-account key) and access_token');
  expect(() => load('    access_token: a\n    credentials_file: key.json\n')).toThrow('set exactly one of');
  const withToken = load('    access_token: ${BQ_TOKEN}\n').sources.wh!;
  expect(withToken).toMatchObject({ type: 'bigquery', access_token: 't0k', mode: 'extract' });
  const withKey = load('    credentials_file: keys/sa.json\n').sources.wh!;
  expect(withKey).toMatchObject({ credentials_file: join(dir, 'keys/sa.json') });
});

test('the BigQuery examples in docs/connectors.md and the connectors skill are valid instance.yaml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'da-bq-docs-'));
  for (const doc of ['docs/connectors.md', 'cli/skills/connectors.md']) {
    const text = readFileSync(join(import.meta.dir, '..', '..', doc), 'utf8');
    const block = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('type: bigquery'));
    expect(block).toBeDefined();
    writeFileSync(join(dir, 'instance.yaml'), block!);
    const source = loadConfig({ DA_CONFIG: join(dir, 'instance.yaml') }, dir).sources.warehouse!;
    expect(source).toMatchObject({ type: 'bigquery', project: 'acme-analytics', dataset: 'sales', mode: 'extract', max_bytes_scanned: 10_000_000_000 });
  }
});
