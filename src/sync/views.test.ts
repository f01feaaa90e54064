import { afterAll, beforeAll, expect, test } from 'bun:test';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { analyticsDbPath, parquetPath } from './paths.ts';
import { rebuildAnalyticsViews, type ViewTable } from './views.ts';

let dataDir: string;
let source: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'da-views-'));
  source = join(dataDir, 'source.parquet');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`COPY (SELECT range AS id FROM range(3)) TO '${source}' (FORMAT parquet)`);
  conn.closeSync();
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function place(...tables: ViewTable[]): ViewTable[] {
  for (const t of tables) {
    const path = parquetPath(dataDir, t.dataset, t.name);
    mkdirSync(dirname(path), { recursive: true });
    copyFileSync(source, path);
  }
  return tables;
}

async function analytics(sql: string): Promise<Record<string, unknown>[]> {
  const conn = await (await DuckDBInstance.fromCache(analyticsDbPath(dataDir))).connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
  }
}

const views = async () =>
  (await analytics(`SELECT schema_name || '.' || view_name AS v FROM duckdb_views() WHERE NOT internal ORDER BY v`)).map((r) => r.v);

test('a second rebuild with nothing changed creates nothing and keeps every view working', async () => {
  const tables = place({ dataset: 'sales', name: 'orders' }, { dataset: 'sales', name: 'items' }, { dataset: 'hr', name: 'people' });
  expect((await rebuildAnalyticsViews(dataDir, tables)).sort()).toEqual(
    ['hr.people', 'items', 'orders', 'people', 'sales.items', 'sales.orders'],
  );
  expect(await rebuildAnalyticsViews(dataDir, tables)).toEqual([]);
  expect(await analytics('SELECT count(*)::INT AS n FROM sales.orders')).toEqual([{ n: 3 }]);
  expect(await views()).toEqual(['hr.people', 'main.items', 'main.orders', 'main.people', 'sales.items', 'sales.orders']);
});

test('only what changed is touched: a table gone, a new one, a view dropped or redefined by hand', async () => {
  const tables = place({ dataset: 'sales', name: 'orders' }, { dataset: 'sales', name: 'items' }, { dataset: 'hr', name: 'people' });
  await rebuildAnalyticsViews(dataDir, tables);
  await analytics('DROP VIEW sales.items');
  await analytics(`CREATE OR REPLACE VIEW main.orders AS SELECT 42 AS id`);
  const next = [...tables.filter((t) => t.dataset !== 'hr'), ...place({ dataset: 'crm', name: 'accounts' })];
  expect((await rebuildAnalyticsViews(dataDir, next)).sort()).toEqual(['accounts', 'crm.accounts', 'orders', 'sales.items']);
  expect(await views()).toEqual(['crm.accounts', 'main.accounts', 'main.items', 'main.orders', 'sales.items', 'sales.orders']);
  expect(await analytics(`SELECT schema_name FROM duckdb_schemas() WHERE schema_name = 'hr'`)).toEqual([]);
  expect(await analytics('SELECT count(*)::INT AS n FROM orders')).toEqual([{ n: 3 }]);
});

test('a name that becomes ambiguous loses its unqualified view; the qualified ones stay', async () => {
  const tables = place({ dataset: 'sales', name: 'orders' }, { dataset: 'crm', name: 'orders' });
  expect(await rebuildAnalyticsViews(dataDir, tables)).toEqual(['crm.orders']);
  expect(await views()).toEqual(['crm.orders', 'sales.orders']);
});
