import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { seedTable, testYaml } from './helpers/data.ts';
import { createQueryPool } from '../src/query/pool.ts';

/**
 * No query any analyst can send ends the server process, delays another user's request by
 * more than a second, or shows them anything of another user. User SQL runs in worker
 * processes (src/query/pool.ts) after a deny-by-default check of its parse tree
 * (src/query/guard.ts).
 */
let server: TestServer;
let analyst: { id: string; token: string };
let other: { id: string; token: string };

const TIMEOUT_MS = 2000;
const MAX_RESULT_BYTES = 25 * 1024 * 1024;

beforeAll(async () => {
  server = await startTestServer({}, {
    yaml: testYaml(`query:
  timeout_ms: ${TIMEOUT_MS}
  memory_limit: 512MB
  threads: 1
  max_workers: 10
  per_user: 3
  worker_memory_mb: 1536
  max_result_bytes: ${MAX_RESULT_BYTES}
sources:
  sales: { type: local, path: /nonexistent/sales, public: true }
`),
  });
  await seedTable(server, { dataset: 'sales', table: 'orders', select: `SELECT range AS id, range % 7 AS amount FROM range(1000)` });
  analyst = await server.createUser('analyst');
  other = await server.createUser('analyst');
});
afterAll(() => server.stop());

async function query(token: string, sql: string, limit?: number) {
  const res = await server.fetch('/api/query', { method: 'POST', token, json: limit === undefined ? { sql } : { sql, limit } });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as any, bytes: text.length };
}

/** Times /api/health every 50 ms until `during` settles; returns the slowest answer in ms. */
async function slowestHealthDuring(during: Promise<unknown>): Promise<number> {
  let done = false;
  during.finally(() => (done = true));
  let slowest = 0;
  while (!done) {
    const t = performance.now();
    const res = await server.fetch('/api/health');
    await res.arrayBuffer();
    expect(res.status).toBeLessThan(500);
    slowest = Math.max(slowest, performance.now() - t);
    await Bun.sleep(50);
  }
  return slowest;
}

const RUNAWAY = 'SELECT count(*) FROM range(300000) a, range(1000000) b';

describe('one analyst cannot take the server down', () => {
  test('the enable_logging crash sequence is refused and the next query is answered', async () => {
    const crash = await query(analyst.token, `SELECT * FROM enable_logging(storage='file', storage_path='/tmp/x')`);
    expect(crash.status).toBe(400);
    expect(crash.body.detail).toContain('enable_logging() is not available');
    const next = await query(analyst.token, 'SELECT count(*) AS n FROM sales.orders');
    expect(next.status).toBe(200);
    expect(next.body.rows).toEqual([['1000']]);
  });

  test('a worker that dies under a query is replaced: that query gets a 500 that says so, the next one works', async () => {
    const pool = server.services.queryPool;
    const running = query(analyst.token, RUNAWAY);
    // Wait until a worker holds the query, then kill it the way a DuckDB abort() would end it.
    let victim: number | undefined;
    while (victim === undefined) {
      await Bun.sleep(10);
      victim = pool.workers().find((w) => w.state === 'busy')?.pid;
    }
    // What a spilling query leaves behind; the worker cannot remove it once killed.
    const spill = join(server.dataDir, 'tmp', 'query', `${victim}-99`);
    mkdirSync(spill, { recursive: true });
    writeFileSync(join(spill, 'duckdb_temp_block-1.block'), 'x');
    process.kill(victim, 'SIGKILL');
    const died = await running;
    expect(existsSync(spill)).toBe(false);
    expect(died.status).toBe(500);
    expect(died.body.detail).toContain('ended its worker process');
    const next = await query(analyst.token, 'SELECT 42 AS answer');
    expect(next.body.rows).toEqual([[42]]);
    expect(pool.workers().map((w) => w.pid)).not.toContain(victim);
  });

  test('a query past the worker memory cap ends at most its worker, and the server answers on', async () => {
    const blowup = await query(analyst.token, `SELECT list(repeat('x', 1000) || range) FROM range(3000000)`);
    expect([400, 500]).toContain(blowup.status);
    expect(String(blowup.body.detail)).toMatch(/memory|worker/i);
    expect((await query(analyst.token, 'SELECT 1 AS ok')).body.rows).toEqual([[1]]);
    expect((await server.fetch('/api/health')).status).toBe(200);
  });
});

describe('time limits hold under concurrency', () => {
  test('three parallel runaway queries of one analyst all get 408 within the limit + 5 s; health stays fast', async () => {
    const started = performance.now();
    const all = Promise.all([1, 2, 3].map(() => query(analyst.token, RUNAWAY).then((r) => ({ ...r, at: performance.now() - started }))));
    const slowest = await slowestHealthDuring(all);
    for (const r of await all) {
      expect(r.status).toBe(408);
      expect(r.at).toBeLessThan(TIMEOUT_MS + 5000);
    }
    expect(slowest).toBeLessThan(1000);
  });

  test('eight parallel runaway queries of four analysts all get 408 within the limit + 5 s; health stays fast', async () => {
    const users = [analyst, other, await server.createUser('analyst'), await server.createUser('analyst')];
    const started = performance.now();
    const all = Promise.all(
      [...users, ...users].map((u) => query(u.token, RUNAWAY).then((r) => ({ ...r, at: performance.now() - started }))),
    );
    const slowest = await slowestHealthDuring(all);
    for (const r of await all) {
      expect(r.status).toBe(408);
      expect(r.at).toBeLessThan(TIMEOUT_MS + 5000);
    }
    expect(slowest).toBeLessThan(1000);
  });

  test('one long scalar call (levenshtein of two 120,000-character strings) is stopped at the limit', async () => {
    const started = performance.now();
    const r = await query(analyst.token, `SELECT levenshtein(repeat('a', 120000), repeat('b', 120000))`);
    expect(r.status).toBe(408);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 5000);
  });

  test('a fourth query of one analyst while three run gets 429; another analyst is served meanwhile', async () => {
    const three = [1, 2, 3].map(() => query(analyst.token, RUNAWAY));
    try {
      // The three are counted as soon as the server has taken them; poll until the fourth is refused.
      let fourth = await query(analyst.token, 'SELECT 1');
      for (let i = 0; fourth.status !== 429 && i < 50; i++) {
        await Bun.sleep(20);
        fourth = await query(analyst.token, 'SELECT 1');
      }
      expect(fourth.status).toBe(429);
      expect(fourth.body.detail).toContain('at most 3 at once');
      const t = performance.now();
      const meanwhile = await query(other.token, 'SELECT count(*) FROM sales.orders');
      expect(meanwhile.status).toBe(200);
      expect(performance.now() - t).toBeLessThan(1000);
      for (const r of await Promise.all(three)) expect(r.status).toBe(408);
    } finally {
      // Whatever happened above, the next tests start with none of this analyst's queries running.
      await Promise.allSettled(three);
    }
  });
});

describe('results are bounded', () => {
  test('a 600 MB result is cut at the byte cap and marked truncated', async () => {
    const r = await query(analyst.token, `SELECT repeat('x', 10000000) AS s FROM range(60)`);
    expect(r.status).toBe(200);
    expect(r.body.truncated).toBe(true);
    expect(r.body.row_count).toBe(2);
    expect(r.body.rows.length).toBe(r.body.row_count);
    expect(r.bytes).toBeLessThanOrEqual(MAX_RESULT_BYTES + 4096);
  });

  test('a result under both caps is whole', async () => {
    const r = await query(analyst.token, `SELECT range AS n FROM range(100)`);
    expect(r.body).toMatchObject({ row_count: 100, truncated: false });
  });
});

describe('no user observes another', () => {
  test('the log snoop is refused at every step; the other analyst’s SQL never shows', async () => {
    const marker = `secret_marker_${Date.now()}`;
    expect((await query(analyst.token, `SELECT '${marker}' AS s`)).status).toBe(200);
    for (const sql of [
      `SELECT * FROM enable_logging()`,
      `SELECT message FROM duckdb_logs_parsed('QueryLog')`,
      `SELECT * FROM duckdb_logs`,
      `SELECT * FROM duckdb_logs()`,
      `SELECT * FROM enable_peg_parser()`,
      `SELECT * FROM truncate_duckdb_logs()`,
    ]) {
      const r = await query(other.token, sql);
      expect({ sql, status: r.status }).toEqual({ sql, status: 400 });
      expect(JSON.stringify(r.body)).not.toContain(marker);
    }
  });

  test('two analysts with the same grants get separate sandboxes, even in one worker', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'da-pool-'));
    const pool = createQueryPool({ dataDir, memoryLimit: '256MB', threads: 1, minWorkers: 1, maxWorkers: 1 });
    try {
      const spec = { tables: [] };
      const run = (owner: string) => pool.run(spec, { owner, sql: 'SELECT 1', limit: 10, maxBytes: 1e6, timeoutMs: 5000 });
      await run('a');
      await run('a');
      expect(pool.workers().map((w) => w.sandboxes)).toEqual([1]);
      await run('b');
      expect(pool.workers().map((w) => w.sandboxes)).toEqual([2]);
    } finally {
      pool.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** [what is tried, SQL, text the 400's detail contains] */
const REFUSED: Array<[string, string, string]> = [
  ['settings as a table function', `SELECT * FROM duckdb_settings()`, 'duckdb_settings()'],
  ['settings as a view', `SELECT * FROM duckdb_settings`, 'does not exist among'],
  ['a setting as a scalar', `SELECT current_setting('allowed_paths')`, 'current_setting()'],
  ['a qualified setting scalar', `SELECT main.current_setting('threads')`, 'current_setting()'],
  ['SHOW of a setting', `SHOW memory_limit`, 'does not exist among'],
  ['SHOW databases', `SHOW databases`, 'SHOW databases is not available'],
  ['a variable', `SELECT getvariable('x')`, 'getvariable()'],
  ['the random seed', `SELECT setseed(0.5)`, 'setseed()'],
  ['writing to the log', `SELECT write_log('hello')`, 'write_log()'],
  ['enable_logging', `SELECT * FROM enable_logging()`, 'enable_logging()'],
  ['disable_logging', `SELECT * FROM disable_logging()`, 'disable_logging()'],
  ['truncate_duckdb_logs', `SELECT * FROM truncate_duckdb_logs()`, 'truncate_duckdb_logs()'],
  ['duckdb_logs_parsed', `SELECT * FROM duckdb_logs_parsed('QueryLog')`, 'duckdb_logs_parsed()'],
  ['enable_peg_parser', `SELECT * FROM enable_peg_parser()`, 'enable_peg_parser()'],
  ['disable_peg_parser', `SELECT * FROM disable_peg_parser()`, 'disable_peg_parser()'],
  ['check_peg_parser', `SELECT * FROM check_peg_parser('SELECT 1')`, 'check_peg_parser()'],
  ['enable_profiling', `SELECT * FROM enable_profiling()`, 'enable_profiling()'],
  ['disable_profiling', `SELECT * FROM disable_profiling()`, 'disable_profiling()'],
  ['checkpoint as a function', `SELECT * FROM checkpoint()`, 'checkpoint()'],
  ['force_checkpoint', `SELECT * FROM force_checkpoint()`, 'force_checkpoint()'],
  ['pragma_version', `SELECT * FROM pragma_version()`, 'pragma_version()'],
  ['pragma_database_size', `SELECT * FROM pragma_database_size()`, 'pragma_database_size()'],
  ['pragma_platform', `SELECT * FROM pragma_platform()`, 'pragma_platform()'],
  ['pragma_user_agent', `SELECT * FROM pragma_user_agent()`, 'pragma_user_agent()'],
  ['pragma_table_info', `SELECT * FROM pragma_table_info('sales.orders')`, 'pragma_table_info()'],
  ['pragma_storage_info', `SELECT * FROM pragma_storage_info('sales.orders')`, 'pragma_storage_info()'],
  ['pragma_metadata_info', `SELECT * FROM pragma_metadata_info()`, 'pragma_metadata_info()'],
  ['duckdb_secrets', `SELECT * FROM duckdb_secrets()`, 'duckdb_secrets()'],
  ['which_secret', `SELECT * FROM which_secret('s3://bucket/x', 's3')`, 'which_secret()'],
  ['duckdb_extensions', `SELECT * FROM duckdb_extensions()`, 'duckdb_extensions()'],
  ['duckdb_databases', `SELECT * FROM duckdb_databases()`, 'duckdb_databases()'],
  ['duckdb_temporary_files', `SELECT * FROM duckdb_temporary_files()`, 'duckdb_temporary_files()'],
  ['duckdb_memory', `SELECT * FROM duckdb_memory()`, 'duckdb_memory()'],
  ['duckdb_variables', `SELECT * FROM duckdb_variables()`, 'duckdb_variables()'],
  ['duckdb_functions', `SELECT * FROM duckdb_functions()`, 'duckdb_functions()'],
  ['duckdb_prepared_statements', `SELECT * FROM duckdb_prepared_statements()`, 'duckdb_prepared_statements()'],
  ['query_table', `SELECT * FROM query_table('duckdb_settings')`, 'query_table()'],
  ['json_execute_serialized_sql', `SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))`, 'json_execute_serialized_sql()'],
  ['read_duckdb', `SELECT * FROM read_duckdb('/tmp/x.duckdb')`, 'read_duckdb()'],
  ['sql_auto_complete', `SELECT * FROM sql_auto_complete('SEL')`, 'sql_auto_complete()'],
  ['test_all_types', `SELECT * FROM test_all_types()`, 'test_all_types()'],
  ['information_schema', `SELECT * FROM information_schema.tables`, 'does not exist among'],
  ['pg_catalog', `SELECT * FROM pg_catalog.pg_settings`, 'does not exist among'],
  ['a catalog-qualified view', `SELECT * FROM system.main.duckdb_settings`, 'does not exist among'],
  ['a macro that reads the catalog', `SELECT pg_get_viewdef(1)`, 'pg_get_viewdef()'],
  ['a settings function in a scalar subquery', `SELECT (SELECT count(*) FROM duckdb_settings())`, 'duckdb_settings()'],
  ['in a lateral join', `SELECT * FROM sales.orders o, LATERAL (SELECT * FROM duckdb_settings()) s`, 'duckdb_settings()'],
  ['in a WHERE EXISTS', `SELECT 1 WHERE EXISTS (SELECT * FROM enable_logging())`, 'enable_logging()'],
  ['in a CTE body', `WITH s AS (SELECT * FROM duckdb_settings()) SELECT * FROM s`, 'duckdb_settings()'],
  ['a CTE name used outside its scope', `SELECT * FROM (WITH duckdb_settings AS (SELECT 1) SELECT 1), duckdb_settings`, 'does not exist among'],
  ['in a UNION branch', `SELECT 1 UNION ALL SELECT count(*) FROM duckdb_logs()`, 'duckdb_logs()'],
  ['in a function argument', `SELECT abs((SELECT count(*) FROM enable_logging()))`, 'enable_logging()'],
  ['under EXPLAIN ANALYZE', `EXPLAIN ANALYZE SELECT * FROM enable_logging()`, 'enable_logging()'],
  ['under DESCRIBE', `DESCRIBE SELECT * FROM duckdb_settings()`, 'duckdb_settings()'],
  ['under SUMMARIZE', `SUMMARIZE SELECT * FROM duckdb_logs()`, 'duckdb_logs()'],
  ['in a window frame', `SELECT sum(1) OVER (ORDER BY (SELECT 1 FROM enable_logging())) FROM range(2)`, 'enable_logging()'],
  ['a function unknown to this DuckDB', `SELECT brand_new_function(1)`, 'brand_new_function()'],
];

describe('deny by default: table, pragma and settings functions', () => {
  test(`${REFUSED.length} attempts are each refused with a 400 that names what was refused`, async () => {
    expect(REFUSED.length).toBeGreaterThanOrEqual(30);
    const got: Array<[string, number, string]> = [];
    for (const [what, sql, detail] of REFUSED) {
      const r = await query(analyst.token, sql);
      got.push([what, r.status, r.status === 400 && String(r.body.detail).includes(detail) ? detail : String(r.body.detail)]);
    }
    expect(got).toEqual(REFUSED.map(([what, , detail]) => [what, 400, detail]));
  });

  test('value functions and the allowed table functions still work', async () => {
    for (const [sql, rows] of [
      [`SELECT count(*) FROM range(10)`, [['10']]],
      [`SELECT count(*) FROM generate_series(1, 5)`, [['5']]],
      [`SELECT unnest([1, 2]) AS x ORDER BY x`, [[1], [2]]],
      [`SELECT * FROM unnest([3])`, [[3]]],
      [`WITH duckdb_settings AS (SELECT 7 AS a) SELECT a FROM duckdb_settings`, [[7]]],
      [`SELECT upper('a') || lower('B'), round(2.5), list_transform([1], x -> x + 1)`, [['Ab', '3', [2]]]],
      [`SELECT row_number() OVER (ORDER BY id) FROM sales.orders ORDER BY 1 LIMIT 1`, [['1']]],
    ] as const) {
      const r = await query(analyst.token, sql);
      expect({ sql, status: r.status, rows: r.body.rows }).toEqual({ sql, status: 200, rows });
    }
  });
});
