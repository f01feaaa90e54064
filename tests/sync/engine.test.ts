import { afterAll, beforeAll, expect, test } from 'bun:test';
import { appendFileSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { copyFixtures } from '../helpers/fixtures.ts';
import { registerAllTables } from '../../src/sync/registry.ts';
import { sha256File } from '../../src/sync/files.ts';
import { analyticsDbPath, parquetPath } from '../../src/sync/paths.ts';
import { ProfileSchema } from '../../src/sync/profile-schema.ts';
import type { TableSyncResult } from '../../src/sync/engine.ts';

let server: TestServer;
let fx: ReturnType<typeof copyFixtures>;
const engine = () => server.services.sync;

beforeAll(async () => {
  fx = copyFixtures();
  server = await startTestServer({ DA_CONFIG: fx.configPath });
  await registerAllTables(server.deps, engine(), 'sales', null);
  await registerAllTables(server.deps, engine(), 'hr', null);
});
afterAll(async () => {
  await server.stop();
  rmSync(fx.dir, { recursive: true, force: true });
});

async function analytics(sql: string) {
  const instance = await DuckDBInstance.fromCache(analyticsDbPath(server.dataDir));
  const conn = await instance.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson();
  } finally {
    conn.closeSync();
  }
}

test('a sync writes every registered table to Parquet whose hash matches sync_state, with history and a profile', async () => {
  const job = await engine().runNow();
  expect(job.status).toBe('succeeded');
  const results = (job.result as { tables: TableSyncResult[] }).tables;
  expect(results.map((r) => r.table_id).sort()).toEqual(
    ['hr.departments', 'hr.employees', 'hr.salaries', 'sales.customers', 'sales.order_items', 'sales.orders', 'sales.products'],
  );
  for (const r of results) {
    const [dataset, name] = r.table_id.split('.');
    const file = parquetPath(server.dataDir, dataset!, name!);
    expect(existsSync(file)).toBe(true);
    const state = (await server.deps.repos.syncState.get(r.table_id))!;
    expect(state.hash).toBe(await sha256File(file));
    expect(state).toMatchObject({ status: 'ok', rows: r.rows, columns: r.columns, file_size_bytes: Bun.file(file).size });
    const history = await server.deps.repos.syncState.history(r.table_id, 5);
    expect(history[0]).toMatchObject({ job_id: job.id, status: 'ok', rows: r.rows });
    const profile = ProfileSchema.parse((await server.deps.repos.profiles.get(r.table_id))!.profile);
    expect(profile.rows).toBe(r.rows!);
    expect(profile.sample.length).toBe(Math.min(5, r.rows!));
  }
  expect(results.find((r) => r.table_id === 'sales.orders')).toMatchObject({ rows: 2000, columns: 10 });
  // No temporary files are left beside the tables.
  expect(readdirSync(join(server.dataDir, 'parquet', 'sales')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
});

test('the analytics database has a schema per dataset and unqualified views for unique names', async () => {
  expect(await analytics(`SELECT count(*)::INT AS n FROM sales.orders`)).toEqual([{ n: 2000 }]);
  expect(await analytics(`SELECT count(*)::INT AS n FROM hr.employees`)).toEqual([{ n: 60 }]);
  const joined = await analytics(
    `SELECT count(*)::INT AS n FROM orders o JOIN customers c USING (customer_id) JOIN order_items i USING (order_id)`,
  );
  expect(joined).toEqual([{ n: 5001 }]);
});

test('a profile reports types, missing values, histograms, top values and alerts', async () => {
  const profile = ProfileSchema.parse((await server.deps.repos.profiles.get('sales.orders'))!.profile);
  const col = (n: string) => profile.columns.find((c) => c.name === n)!;
  expect(col('order_id')).toMatchObject({ kind: 'numeric', null_count: 0, distinct_count: 2000, min: 1, max: 2000 });
  expect(col('order_id').histogram!.reduce((s, b) => s + b.count, 0)).toBe(2000);
  expect(col('status').top_values![0]).toEqual({ value: 'delivered', count: expect.any(Number) });
  expect(col('ordered_at').kind).toBe('date');
  expect(profile.date_range!.column).toBe('ordered_at');
  expect(col('note').null_pct).toBeGreaterThan(50);
  expect(profile.alerts).toContainEqual(expect.objectContaining({ column: 'currency', kind: 'constant' }));
  expect(profile.alerts).toContainEqual(expect.objectContaining({ column: 'note', kind: 'high_missing' }));
  expect(profile.alerts).toContainEqual(expect.objectContaining({ column: 'order_id', kind: 'all_unique' }));
  expect(profile.alerts).toContainEqual(expect.objectContaining({ column: 'total_amount', kind: 'skewed' }));
});

test('a table that fails mid-sync keeps its previous file and records the error while the others sync', async () => {
  const before = (await server.deps.repos.syncState.get('hr.departments'))!;
  const file = parquetPath(server.dataDir, 'hr', 'departments');
  writeFileSync(join(fx.hr, 'departments.json'), '[{"department_id": 1, "name": "Sales"}, {broken');
  appendFileSync(join(fx.sales, 'orders.csv'), '9001,1,2030-01-01 10:00:00,processing,web,10.00,EUR,,,2030-01-01 10:00:00\n');
  const job = await engine().runNow();
  expect(job.status).toBe('failed');
  expect(job.error).toContain('hr.departments');
  const results = (job.result as { tables: TableSyncResult[] }).tables;
  expect(results.filter((r) => r.status === 'error').map((r) => r.table_id)).toEqual(['hr.departments']);
  // The old file is still served, and its facts stay.
  const after = (await server.deps.repos.syncState.get('hr.departments'))!;
  expect(after).toMatchObject({ status: 'error', hash: before.hash, rows: before.rows });
  expect(after.error).toBeTruthy();
  expect(await sha256File(file)).toBe(before.hash!);
  const history = await server.deps.repos.syncState.history('hr.departments', 1);
  expect(history[0]).toMatchObject({ job_id: job.id, status: 'error' });
  // The others synced; orders merged the new row incrementally.
  expect(results.find((r) => r.table_id === 'sales.orders')).toMatchObject({ status: 'ok', mode: 'incremental', rows: 2001, rows_read: 1 });
  expect(await analytics(`SELECT count(*)::INT AS n FROM hr.departments`)).toEqual([{ n: 5 }]);
});

test('a trigger while a sync runs returns the running job instead of starting a second one', async () => {
  const first = await engine().trigger({});
  const second = await engine().trigger({});
  expect(first.already_running).toBe(false);
  expect(second).toMatchObject({ already_running: true, job: { id: first.job.id } });
  await engine().idle();
  expect((await server.deps.repos.syncState.getJob(first.job.id))!.status).toMatch(/succeeded|failed/);
});

test('an unknown table in a trigger is refused before any job starts', async () => {
  await expect(engine().trigger({ tables: ['sales.nope'] })).rejects.toThrow(/not registered/);
  expect(engine().runningJobId()).toBeNull();
});

test('recovery at start-up fails jobs a dead process left and removes leftover temporary files', async () => {
  const stale = await server.deps.repos.syncState.createJob({ id: 'stale-job', requestedBy: null, tables: null });
  await server.deps.repos.syncState.updateJob(stale.id, { status: 'running' });
  const leftover = join(server.dataDir, 'parquet', 'sales', '.orders.parquet.deadbeef.tmp');
  writeFileSync(leftover, 'half a parquet file');
  await engine().recover();
  expect(existsSync(leftover)).toBe(false);
  expect(await server.deps.repos.syncState.getJob('stale-job')).toMatchObject({ status: 'failed' });
  const state = (await server.deps.repos.syncState.get('sales.orders'))!;
  expect(await sha256File(parquetPath(server.dataDir, 'sales', 'orders'))).toBe(state.hash!);
});

test('recovery completes a rename whose new hash sync_state already recorded', async () => {
  const file = parquetPath(server.dataDir, 'sales', 'products');
  const state = (await server.deps.repos.syncState.get('sales.products'))!;
  // Simulate a crash between the commit (state names the new file) and the rename.
  const temp = join(server.dataDir, 'parquet', 'sales', '.products.parquet.crashed.tmp');
  writeFileSync(temp, await Bun.file(file).bytes());
  writeFileSync(file, 'the previous version');
  await engine().recover();
  expect(existsSync(temp)).toBe(false);
  expect(await sha256File(file)).toBe(state.hash!);
});
