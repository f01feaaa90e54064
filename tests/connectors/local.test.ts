import { afterAll, expect, test } from 'bun:test';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLocalConnector } from '../../src/connectors/local/index.ts';
import { findCollisions, normaliseTableName } from '../../src/connectors/types.ts';
import { openScratchDb } from '../../src/connectors/duck.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'da-local-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function query(sql: string) {
  const db = await openScratchDb();
  try {
    return await db.all(sql);
  } finally {
    db.close();
  }
}

test('source table names are normalised to lowercase identifiers of at most 64 characters', () => {
  expect(normaliseTableName('Order Items')).toBe('order_items');
  expect(normaliseTableName('2024-sales.Q1')).toBe('_2024_sales_q1');
  expect(normaliseTableName('Příjmy €')).toBe('prijmy');
  expect(normaliseTableName('__hidden')).toBe('hidden');
  expect(normaliseTableName('a'.repeat(100))).toHaveLength(64);
  for (const n of ['Order Items', '2024-sales.Q1', '!!!', 'x'.repeat(80)]) {
    expect(normaliseTableName(n)).toMatch(/^[a-z_][a-z0-9_]{0,63}$/);
  }
});

test('two source tables that normalise to one name are reported as a collision', () => {
  const collisions = findCollisions([
    { name: 'orders', source_table: 'Orders.csv' },
    { name: 'orders', source_table: 'orders.json' },
    { name: 'items', source_table: 'items.csv' },
  ]);
  expect(collisions).toEqual([{ name: 'orders', source_tables: ['Orders.csv', 'orders.json'] }]);
});

test('the local connector lists the fixture files with columns, keys and row counts', async () => {
  const connector = createLocalConnector('sales', {
    type: 'local', path: resolve('fixtures/data/sales'), public: true, auto_register: true,
    tables: { orders: { primary_key: ['order_id'], watermark_column: 'updated_at' } },
  });
  const tables = await connector.listTables();
  expect(tables.map((t) => t.name)).toEqual(['customers', 'order_items', 'orders', 'products']);
  const orders = tables.find((t) => t.name === 'orders')!;
  expect(orders).toMatchObject({ source_table: 'orders.csv', primary_key: ['order_id'], row_estimate: 2000 });
  expect(orders.columns!.find((c) => c.name === 'total_amount')!.type).toMatch(/DOUBLE|DECIMAL/);
  expect(orders.columns!.find((c) => c.name === 'ordered_at')!.type).toBe('TIMESTAMP');
});

test('CSV, JSON and Parquet files become Parquet tables with their types', async () => {
  const connector = createLocalConnector('hr', { type: 'local', path: resolve('fixtures/data/hr'), public: false, tables: {}, auto_register: true });
  const out = tempDir();
  for (const file of ['employees.csv', 'departments.json', 'salaries.parquet']) {
    const target = join(out, file + '.parquet');
    const result = await connector.pull({ source_table: file, target, mode: 'full', existing: null, watermark: null, primary_key: null, scratch_dir: out });
    expect(result.mode).toBe('full');
    const [{ n }] = (await query(`SELECT count(*)::INT AS n FROM read_parquet('${target}')`)) as Array<{ n: number }>;
    expect(n).toBe(result.rows_read);
  }
  const types = await query(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${join(out, 'employees.csv.parquet')}'))`);
  expect(types).toContainEqual({ column_name: 'hired_on', column_type: 'DATE' });
});

test('an incremental pull merges rows newer than the watermark on the primary key', async () => {
  const src = tempDir();
  cpSync(resolve('fixtures/data/sales/orders.csv'), join(src, 'orders.csv'));
  const source = { type: 'local' as const, path: src, public: false, auto_register: true, tables: { orders: { primary_key: ['order_id'], watermark_column: 'updated_at' } } };
  const connector = createLocalConnector('sales', source);
  const out = tempDir();
  const first = join(out, 'v1.parquet');
  const full = await connector.pull({ source_table: 'orders.csv', target: first, mode: 'full', existing: null, watermark: null, primary_key: ['order_id'], scratch_dir: out });
  expect(full.rows_read).toBe(2000);
  expect(full.watermark).toMatch(/^20\d\d-/);

  // One changed order (newer updated_at), one new order.
  writeFileSync(join(src, 'orders.csv'), [
    'order_id,customer_id,ordered_at,status,channel,total_amount,currency,shipped_on,note,updated_at',
    '1,318,2025-09-03 15:32:13,delivered,web,1182.98,EUR,2025-09-06,,2030-01-01 00:00:00',
    '2,133,2025-08-21 09:55:50,delivered,web,3067.32,EUR,2025-08-25,,2001-01-01 00:00:00',
    '9001,1,2029-12-31 10:00:00,processing,web,10.00,EUR,,,2030-01-02 00:00:00',
  ].join('\n') + '\n');
  const second = join(out, 'v2.parquet');
  const inc = await connector.pull({ source_table: 'orders.csv', target: second, mode: 'incremental', existing: first, watermark: full.watermark, primary_key: ['order_id'], scratch_dir: out });
  expect(inc).toEqual({ mode: 'incremental', rows_read: 2, watermark: '2030-01-02 00:00:00' });
  const rows = (await query(`SELECT count(*)::INT AS n, count(DISTINCT order_id)::INT AS d,
      max(CASE WHEN order_id = 1 THEN status END) AS s1 FROM read_parquet('${second}')`)) as Array<Record<string, unknown>>;
  expect(rows[0]).toEqual({ n: 2001, d: 2001, s1: 'delivered' });
});

test('a source table outside the folder is refused', async () => {
  const connector = createLocalConnector('sales', { type: 'local', path: resolve('fixtures/data/sales'), public: true, tables: {}, auto_register: true });
  const out = tempDir();
  await expect(
    connector.pull({ source_table: '../hr/employees.csv', target: join(out, 'x.parquet'), mode: 'full', existing: null, watermark: null, primary_key: null, scratch_dir: out }),
  ).rejects.toThrow(/not a file name/);
});

test('a brief listing (what every sync does) names the files with their configured keys without reading them', async () => {
  const connector = createLocalConnector('sales', {
    type: 'local', path: resolve('fixtures/data/sales'), public: true, auto_register: true, tables: { orders: { primary_key: ['order_id'] } },
  });
  const brief = await connector.listTables({ brief: true });
  const full = await connector.listTables();
  expect(brief.map((t) => t.source_table)).toEqual(full.map((t) => t.source_table));
  expect(brief.find((t) => t.name === 'orders')).toMatchObject({ primary_key: ['order_id'], columns: null, row_estimate: null });
  expect(full.find((t) => t.name === 'orders')!.row_estimate).toBe(2000);
});
