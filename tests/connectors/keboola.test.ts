import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeboolaConnector, duckTypeFor } from '../../src/connectors/keboola/index.ts';
import { startKeboolaStandIn, type KeboolaStandIn } from '../stand-ins/keboola.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { readParquetFile } from '../helpers/parquet.ts';

let kbc: KeboolaStandIn;
let dir: string;
const source = () => ({
  type: 'keboola' as const, url: kbc.url, token: kbc.token, public: false, poll_interval_ms: 5, auto_register: true, max_retries: 2, retry_backoff_ms: 10, request_timeout_ms: 5000,
});

const ACCOUNT_COLUMNS = [
  { name: 'id', basetype: 'INTEGER' as const },
  { name: 'name', basetype: 'STRING' as const },
  { name: 'revenue', basetype: 'NUMERIC' as const, length: '12,2' },
  { name: 'score', basetype: 'FLOAT' as const },
  { name: 'active', basetype: 'BOOLEAN' as const },
  { name: 'signed_on', basetype: 'DATE' as const },
  { name: 'updated_at', basetype: 'TIMESTAMP' as const },
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'da-kbc-'));
  kbc = startKeboolaStandIn();
  kbc.addTable({
    id: 'in.c-crm.accounts', bucket: 'in.c-crm', name: 'accounts', description: 'CRM accounts', primaryKey: ['id'],
    columns: ACCOUNT_COLUMNS,
    rows: [
      { id: '1', name: 'Acme, Inc.', revenue: '1234.50', score: '0.75', active: 'true', signed_on: '2024-02-29', updated_at: '2025-01-01 10:00:00' },
      { id: '2', name: 'He said "hi"\nand left', revenue: '', score: '', active: 'false', signed_on: '', updated_at: '2025-01-02 11:30:00' },
      { id: '3', name: '', revenue: '-7.05', score: '1e3', active: '1', signed_on: '2023-12-31', updated_at: '' },
    ],
  });
  kbc.addTable({
    id: 'out.c-reports.Monthly-Revenue', bucket: 'out.c-reports', name: 'Monthly-Revenue', primaryKey: [],
    columns: [{ name: 'month', basetype: 'STRING' }, { name: 'revenue', basetype: 'NUMERIC' }],
    rows: [{ month: '2025-01', revenue: '100.123456789' }],
  });
});
afterAll(() => {
  kbc.stop();
  rmSync(dir, { recursive: true, force: true });
});

const pullArgs = (target: string) => ({ target, existing: null, watermark: null, primary_key: null, scratch_dir: dir, mode: 'full' as const });

test('Keboola base types map to DuckDB types, keeping numeric precision', () => {
  expect(duckTypeFor('INTEGER')).toBe('BIGINT');
  expect(duckTypeFor('NUMERIC', '12,2')).toBe('DECIMAL(12,2)');
  expect(duckTypeFor('NUMERIC', '60,4')).toBe('DECIMAL(38,4)');
  expect(duckTypeFor('NUMERIC')).toBe('DECIMAL(38,9)');
  expect(duckTypeFor('FLOAT')).toBe('DOUBLE');
  expect(duckTypeFor('TIMESTAMP')).toBe('TIMESTAMP');
  expect(duckTypeFor(undefined)).toBe('VARCHAR');
});

test('the connector lists buckets and tables with keys, descriptions, row counts and typed columns', async () => {
  const tables = await createKeboolaConnector('crm', source()).listTables();
  expect(tables.map((t) => [t.source_table, t.name])).toEqual([
    ['in.c-crm.accounts', 'accounts'],
    ['out.c-reports.Monthly-Revenue', 'monthly_revenue'],
  ]);
  expect(tables[0]).toMatchObject({ primary_key: ['id'], description: 'CRM accounts', row_estimate: 3 });
  expect(tables[0]!.columns).toContainEqual({ name: 'revenue', type: 'DECIMAL(12,2)' });
  expect(tables[1]!.primary_key).toBeNull();
  expect(kbc.requests).toContain('GET /v2/storage/buckets/in.c-crm/tables?include=columns,columnMetadata,metadata');
});

test('a full export runs the async job, downloads the sliced gzipped CSV and writes typed Parquet', async () => {
  const target = join(dir, 'accounts.parquet');
  const result = await createKeboolaConnector('crm', source()).pull({ source_table: 'in.c-crm.accounts', ...pullArgs(target) });
  expect(result).toMatchObject({ mode: 'full', rows_read: 3 });
  // The watermark keeps unix seconds of the export for changedSince, and when the last full pull ran.
  const wm = JSON.parse(result.watermark!) as { changed_since: number; full_at: number };
  expect(wm.changed_since).toBeGreaterThan(1_600_000_000);
  expect(wm.full_at).toBe(wm.changed_since);
  const { types, rows } = await readParquetFile(target);
  expect(types).toEqual({
    id: 'BIGINT', name: 'VARCHAR', revenue: 'DECIMAL(12,2)', score: 'DOUBLE', active: 'BOOLEAN', signed_on: 'DATE', updated_at: 'TIMESTAMP',
  });
  expect(rows).toEqual([
    { id: '1', name: 'Acme, Inc.', revenue: '1234.50', score: 0.75, active: true, signed_on: '2024-02-29', updated_at: '2025-01-01 10:00:00' },
    { id: '2', name: 'He said "hi"\nand left', revenue: null, score: null, active: false, signed_on: null, updated_at: '2025-01-02 11:30:00' },
    { id: '3', name: '', revenue: '-7.05', score: 1000, active: true, signed_on: '2023-12-31', updated_at: null },
  ]);
  // Two slices of two rows, each fetched from the manifest's URLs; the job was polled until success.
  expect(kbc.requests.filter((r) => r.includes('/slices/'))).toHaveLength(2);
  expect(kbc.requests.some((r) => /^GET \/v2\/storage\/files\/\d+\?federationToken=1$/.test(r))).toBe(true);
  expect(kbc.requests.filter((r) => r.startsWith('GET /v2/storage/jobs/')).length).toBeGreaterThanOrEqual(2);
});

test('an incremental export asks for changedSince and merges the changed rows on the primary key', async () => {
  const connector = createKeboolaConnector('crm', source());
  const first = join(dir, 'inc-1.parquet');
  const full = await connector.pull({ source_table: 'in.c-crm.accounts', ...pullArgs(first) });
  await Bun.sleep(5);
  kbc.upsert('in.c-crm.accounts', [
    { id: '2', name: 'Renamed', revenue: '99.99', score: '2', active: 'true', signed_on: '2025-03-01', updated_at: '2025-03-01 08:00:00' },
    { id: '4', name: 'New account', revenue: '10', score: '0', active: 'false', signed_on: '2025-03-02', updated_at: '2025-03-02 08:00:00' },
  ]);
  kbc.requests.length = 0;
  const second = join(dir, 'inc-2.parquet');
  const inc = await connector.pull({
    source_table: 'in.c-crm.accounts', target: second, existing: first, watermark: full.watermark, primary_key: ['id'],
    scratch_dir: dir, mode: 'incremental',
  });
  expect(inc).toMatchObject({ mode: 'incremental', rows_read: 2 });
  expect(JSON.parse(inc.watermark!).changed_since).toBeGreaterThanOrEqual(JSON.parse(full.watermark!).changed_since);
  expect(JSON.parse(inc.watermark!).full_at).toBe(JSON.parse(full.watermark!).full_at);
  const { rows } = await readParquetFile(second);
  expect(rows.map((r) => [r.id, r.name, r.revenue])).toEqual([
    ['1', 'Acme, Inc.', '1234.50'], ['2', 'Renamed', '99.99'], ['3', '', '-7.05'], ['4', 'New account', '10.00'],
  ]);
  const exportCall = kbc.requests.find((r) => r.startsWith('POST /v2/storage/tables/in.c-crm.accounts/export-async'));
  expect(exportCall).toBeDefined();
  // changedSince in unix seconds, the columns named in their order.
  expect(kbc.exports.at(-1)).toMatchObject({
    changedSince: String(JSON.parse(full.watermark!).changed_since), columns: ACCOUNT_COLUMNS.map((c) => c.name).join(','), format: 'rfc', gzip: '1',
  });
});

test('a failed export job fails the pull with Keboola\'s message', async () => {
  kbc.failExports.add('out.c-reports.Monthly-Revenue');
  try {
    await expect(
      createKeboolaConnector('crm', source()).pull({ source_table: 'out.c-reports.Monthly-Revenue', ...pullArgs(join(dir, 'x.parquet')) }),
    ).rejects.toThrow(/ended with status error: Export of table out.c-reports.Monthly-Revenue failed/);
  } finally {
    kbc.failExports.clear();
  }
});

test('a wrong token is reported with the Storage API\'s error', async () => {
  await expect(createKeboolaConnector('crm', { ...source(), token: 'wrong' }).listTables()).rejects.toThrow(/401: Invalid access token/);
});

test('a server configured with a Keboola source registers and syncs its tables by itself, recording a failed export', async () => {
  const configPath = join(dir, 'instance.yaml');
  writeFileSync(configPath, `sources:\n  crm:\n    type: keboola\n    url: ${kbc.url}\n    token: \${KBC_TOKEN}\n    poll_interval_ms: 5\n`);
  const server: TestServer = await startTestServer({ DA_CONFIG: configPath, KBC_TOKEN: kbc.token });
  try {
    kbc.failExports.add('out.c-reports.Monthly-Revenue');
    const job = await server.services.sync.runNow();
    const registered = await server.deps.repos.tableRegistry.list();
    expect(registered.map((t) => [t.id, t.sync_strategy, t.registered_by])).toEqual([['crm.accounts', 'incremental', null], ['crm.monthly_revenue', 'full', null]]);
    const results = (job.result as { tables: Array<{ table_id: string; status: string; error: string | null; rows: number | null }> }).tables;
    expect(results.find((r) => r.table_id === 'crm.accounts')).toMatchObject({ status: 'ok', rows: 4 });
    expect(results.find((r) => r.table_id === 'crm.monthly_revenue')).toMatchObject({ status: 'error', error: expect.stringContaining('ended with status error') });
    expect(await server.deps.repos.syncState.get('crm.monthly_revenue')).toMatchObject({ status: 'error', hash: null });
    const profile = (await server.deps.repos.profiles.get('crm.accounts'))!.profile as { columns: Array<{ name: string; type: string }> };
    expect(profile.columns.find((c) => c.name === 'revenue')!.type).toBe('DECIMAL(12,2)');
  } finally {
    kbc.failExports.clear();
    await server.stop();
  }
});
