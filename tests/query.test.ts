import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { seedTable, sha256File, testYaml } from './helpers/data.ts';

/**
 * POST /api/query is secure by construction: a sandbox per permission set with only the
 * caller's views, no file access beyond their tables' files, a locked configuration, a time
 * limit and a row cap. Every escape attempt below must be refused (or capped) with a
 * precise status.
 */
let server: TestServer;
let analyst: { id: string; token: string };
let other: { id: string; token: string };
let viewer: { token: string };
let sales: { path: string; hash: string };
let hr: { path: string; hash: string };

const TIMEOUT_MS = 800;

beforeAll(async () => {
  server = await startTestServer({}, {
    yaml: testYaml(`query:\n  timeout_ms: ${TIMEOUT_MS}\n  default_limit: 1000\n  max_limit: 50000\n  memory_limit: 256MB\n  threads: 1
sources:
  pub: { type: local, path: /nonexistent/pub, public: true }
  sales: { type: local, path: /nonexistent/sales }
  hr: { type: local, path: /nonexistent/hr }
  crm: { type: local, path: /nonexistent/crm }
`),
  });
  await seedTable(server, { dataset: 'pub', table: 'events', select: `SELECT range AS id, 'e' || range AS kind FROM range(50)` });
  sales = await seedTable(server, {
    dataset: 'sales', table: 'orders',
    select: `SELECT range AS id, (range % 7)::DECIMAL(10,2) AS amount, DATE '2024-01-01' + range::INT AS day FROM range(3000)`,
  });
  hr = await seedTable(server, { dataset: 'hr', table: 'salaries', select: `SELECT 'ceo' AS who, 1000000 AS salary` });
  await seedTable(server, { dataset: 'crm', table: 'contacts', select: `SELECT 1 AS id, 'a@b.c' AS email` });
  analyst = await server.createUser('analyst');
  other = await server.createUser('analyst');
  viewer = await server.createUser('viewer');
  for (const dataset of ['sales', 'crm']) {
    const res = await server.fetch(`/api/users/${analyst.id}/permissions/${dataset}`, { method: 'PUT', token: server.adminToken, json: { access: 'read' } });
    expect(res.status).toBe(200);
  }
});
afterAll(() => server.stop());

async function query(token: string | undefined, sql: string, limit?: number) {
  const res = await server.fetch('/api/query', { method: 'POST', token, json: limit === undefined ? { sql } : { sql, limit } });
  const body = (await res.json()) as any;
  return { status: res.status, body, type: res.headers.get('content-type') };
}

describe('the query API answers', () => {
  test('an analyst with the typed result of a query over a granted table', async () => {
    const { status, body } = await query(analyst.token, 'SELECT count(*) AS n, sum(amount) AS total, min(day) AS first FROM sales.orders');
    expect(status).toBe(200);
    expect(body.columns).toEqual([
      { name: 'n', type: 'BIGINT' },
      { name: 'total', type: 'DECIMAL(38,2)' },
      { name: 'first', type: 'DATE' },
    ]);
    expect(body.rows).toEqual([['3000', '8994.00', '2024-01-01']]);
    expect(body).toMatchObject({ row_count: 1, truncated: false });
    expect(typeof body.elapsed_ms).toBe('number');
  });

  test('unqualified names where a table name is unique, and public datasets for everyone', async () => {
    expect((await query(analyst.token, 'SELECT count(*) FROM orders')).body.rows).toEqual([['3000']]);
    expect((await query(other.token, 'SELECT count(*) FROM pub.events')).body.rows).toEqual([['50']]);
    expect((await query(other.token, 'SELECT count(*) FROM events')).body.rows).toEqual([['50']]);
  });

  test('read-only statement kinds: WITH, VALUES, FROM-first, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN', async () => {
    for (const sql of [
      'WITH x AS (SELECT 1 AS a) SELECT * FROM x', 'VALUES (1), (2)', 'FROM sales.orders LIMIT 1',
      'DESCRIBE sales.orders', 'SHOW ALL TABLES', 'SUMMARIZE sales.orders', 'EXPLAIN SELECT * FROM sales.orders',
      'EXPLAIN ANALYZE SELECT count(*) FROM sales.orders',
    ]) {
      const { status } = await query(analyst.token, sql);
      expect({ sql, status }).toEqual({ sql, status: 200 });
    }
  });

  test('SHOW ALL TABLES lists exactly the caller’s tables', async () => {
    const { body } = await query(analyst.token, 'SELECT database, schema, name FROM (SHOW ALL TABLES) ORDER BY schema, name');
    const names = body.rows.map((r: string[]) => `${r[1]}.${r[2]}`);
    expect(names).toEqual(['crm.contacts', 'main.contacts', 'main.events', 'main.orders', 'pub.events', 'sales.orders']);
  });

  test('a 10M-row result is capped at the default limit and marked truncated', async () => {
    const { status, body } = await query(analyst.token, 'SELECT range AS n FROM range(10000000)');
    expect(status).toBe(200);
    expect(body.row_count).toBe(1000);
    expect(body.rows.length).toBe(1000);
    expect(body.truncated).toBe(true);
  });

  test('a caller-chosen limit cuts the result; one above the maximum is refused', async () => {
    const small = await query(analyst.token, 'SELECT * FROM sales.orders', 5);
    expect(small.body).toMatchObject({ row_count: 5, truncated: true });
    const exact = await query(analyst.token, 'SELECT * FROM range(5)', 5);
    expect(exact.body).toMatchObject({ row_count: 5, truncated: false });
    const over = await query(analyst.token, 'SELECT 1', 50001);
    expect(over.status).toBe(422);
    expect(over.body.errors).toEqual([{ path: 'limit', message: 'limit may be at most 50000' }]);
  });

  test('bad SQL with DuckDB’s own message as a 400 problem', async () => {
    const { status, body, type } = await query(analyst.token, 'SELEC 1');
    expect(status).toBe(400);
    expect(type).toContain('application/problem+json');
    expect(body.detail).toContain('syntax error at or near "SELEC"');
  });
});

describe('the query API refuses by role', () => {
  test('anonymous callers with 401 and viewers with 403', async () => {
    expect((await query(undefined, 'SELECT 1')).status).toBe(401);
    expect((await query(viewer.token, 'SELECT 1')).status).toBe(403);
  });
});

/** [what is tried, SQL, expected status, text the problem detail contains] */
const ESCAPES = (): Array<[string, string, number, string]> => {
  const parquetDir = join(server.dataDir, 'parquet');
  return [
    ['read_csv of /etc/passwd', `SELECT * FROM read_csv('/etc/passwd')`, 400, 'table function read_csv() is not available'],
    ['read_text of /etc/passwd', `SELECT * FROM read_text('/etc/passwd')`, 400, 'table function read_text() is not available'],
    ['read_blob of /etc/passwd', `SELECT * FROM read_blob('/etc/passwd')`, 400, 'table function read_blob() is not available'],
    ['read_json of /proc/self/environ', `SELECT * FROM read_json_auto('/proc/self/environ')`, 400, 'read_json_auto() is not available'],
    ['sniff_csv of /etc/passwd', `SELECT * FROM sniff_csv('/etc/passwd')`, 400, 'sniff_csv() is not available'],
    ['read_parquet of a forbidden table’s file', `SELECT * FROM read_parquet('${hr.path}')`, 400, 'read_parquet() is not available'],
    ['a replacement scan of a forbidden file', `SELECT * FROM '${hr.path}'`, 400, 'does not exist among the tables you may read'],
    ['a glob over the parquet directory', `SELECT * FROM read_parquet('${parquetDir}/*/*.parquet')`, 400, 'read_parquet() is not available'],
    ['a path that climbs out of a permitted folder', `SELECT * FROM read_parquet('${parquetDir}/sales/../hr/salaries.parquet')`, 400, 'read_parquet() is not available'],
    ['a list of a permitted and a forbidden file', `SELECT * FROM read_parquet(['${sales.path}', '${hr.path}'])`, 400, 'read_parquet() is not available'],
    ['parquet_metadata of a forbidden file', `SELECT * FROM parquet_metadata('${hr.path}')`, 400, 'parquet_metadata() is not available'],
    ['glob of the root directory', `SELECT * FROM glob('/*')`, 400, 'glob() is not available'],
    ['glob of the parquet directory', `SELECT * FROM glob('${parquetDir}/**')`, 400, 'glob() is not available'],
    ['a forbidden dataset’s view', `SELECT * FROM hr.salaries`, 400, 'Catalog Error'],
    ['state tables as an analyst', `SELECT * FROM state.users`, 400, 'Catalog Error'],
    ['ATTACH of the state database', `ATTACH '${join(server.dataDir, 'state', 'system.duckdb')}' AS s`, 400, 'ATTACH statement'],
    ['ATTACH of an in-memory database', `ATTACH ':memory:' AS m`, 400, 'ATTACH statement'],
    ['DETACH', `DETACH memory`, 400, 'DETACH statement'],
    ['COPY … TO a file', `COPY sales.orders TO '/tmp/da-escape.csv'`, 400, 'COPY statement'],
    ['COPY … TO over a permitted table’s own file', `COPY (SELECT 1 AS id) TO '${sales.path}' (FORMAT parquet, USE_TMP_FILE false)`, 400, 'COPY statement'],
    ['EXPLAIN ANALYZE wrapping a COPY', `EXPLAIN ANALYZE COPY (SELECT 1 AS id) TO '${sales.path}' (FORMAT parquet, USE_TMP_FILE false)`, 400, 'EXPLAIN is allowed only'],
    ['EXPLAIN ANALYZE with a comment before COPY', `EXPLAIN /* x */ ANALYZE /* y */ CREATE TABLE t AS SELECT 1`, 400, 'EXPLAIN is allowed only'],
    ['EXPORT DATABASE', `EXPORT DATABASE '/tmp/da-escape-export'`, 400, 'EXPORT statement'],
    ['INSTALL of an extension', `INSTALL httpfs`, 400, 'LOAD statement'],
    ['LOAD of an extension', `LOAD httpfs`, 400, 'LOAD statement'],
    ['turning external access back on', `SET enable_external_access = true`, 400, 'SET statement'],
    ['widening the allowed paths', `SET allowed_paths = ['/etc/passwd']`, 400, 'SET statement'],
    ['RESET of the allowed paths', `RESET allowed_paths`, 400, 'SET statement'],
    ['raising the thread count', `SET threads = 64`, 400, 'SET statement'],
    ['a PRAGMA that changes settings', `PRAGMA threads = 64`, 400, 'statement'],
    ['SET VARIABLE', `SET VARIABLE x = 1`, 400, 'SET statement'],
    ['USE of another schema', `USE sales`, 400, 'SET statement'],
    ['CALL', `CALL pragma_version()`, 400, 'CALL statement'],
    ['CHECKPOINT', `CHECKPOINT`, 400, 'CALL statement'],
    ['two statements', `SELECT 1; SELECT 2`, 400, 'one statement per query'],
    ['a harmless statement followed by a COPY', `SELECT 1; COPY (SELECT 1) TO '/tmp/da-escape2.csv'`, 400, 'one statement per query'],
    ['CREATE TABLE', `CREATE TABLE t AS SELECT 1`, 400, 'CREATE statement'],
    ['CREATE MACRO', `CREATE MACRO leak() AS 1`, 400, 'CREATE statement'],
    ['DROP of a view', `DROP VIEW sales.orders`, 400, 'DROP statement'],
    ['INSERT', `INSERT INTO sales.orders VALUES (1, 1, DATE '2024-01-01')`, 400, 'INSERT statement'],
    ['PREPARE', `PREPARE p AS SELECT 1`, 400, 'PREPARE statement'],
    ['BEGIN', `BEGIN TRANSACTION`, 400, 'TRANSACTION statement'],
    ['the query() table function wrapping a COPY', `SELECT * FROM query('COPY (SELECT 1) TO ''/tmp/da-escape3.csv''')`, 400, 'table function query() is not available'],
    ['getenv', `SELECT getenv('HOME')`, 400, 'function getenv() is not available'],
    ['an empty query', `   -- nothing\n`, 400, 'empty'],
  ];
};

describe('the query sandbox refuses escape attempts', () => {
  test('at least 30 attempts, each with its precise status', async () => {
    const cases = ESCAPES();
    expect(cases.length).toBeGreaterThanOrEqual(30);
    const got: Array<[string, number, string]> = [];
    for (const [what, sql, status, detail] of cases) {
      const res = await query(analyst.token, sql);
      got.push([what, res.status, res.status === status && String(res.body.detail).includes(detail) ? detail : String(res.body.detail)]);
    }
    expect(got).toEqual(cases.map(([what, , status, detail]) => [what, status, detail]));
  });

  test('no attempt changed a table’s file', () => {
    expect(sha256File(sales.path)).toBe(sales.hash);
    expect(sha256File(hr.path)).toBe(hr.hash);
  });

  test('settings and catalog functions are refused, so no server path is shown', async () => {
    for (const sql of [
      `SELECT name, value FROM duckdb_settings()`,
      `SELECT current_setting('allowed_paths') AS p`,
      `SELECT sql FROM duckdb_views() WHERE NOT internal`,
    ]) {
      const res = await query(analyst.token, sql);
      expect({ sql, status: res.status }).toEqual({ sql, status: 400 });
      expect(JSON.stringify(res.body)).not.toContain(server.dataDir);
    }
  });

  test('a recursive query that would never end is stopped at the time limit with 408', async () => {
    const { status, body } = await query(analyst.token, 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r');
    expect(status).toBe(408);
    expect(body.detail).toBe(`query exceeded ${TIMEOUT_MS} ms and was stopped`);
  });

  test('a huge cross join is stopped at the time limit with 408', async () => {
    const { status } = await query(analyst.token, 'SELECT count(*) FROM range(1000000) a, range(1000000) b');
    expect(status).toBe(408);
    expect((await query(analyst.token, 'SELECT 1 AS ok')).body.rows).toEqual([[1]]);
  });

  test('one user’s sandbox never shows another user’s tables', async () => {
    expect((await query(analyst.token, 'SELECT count(*) FROM sales.orders')).status).toBe(200);
    const res = await query(other.token, 'SELECT count(*) FROM sales.orders');
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain('Catalog Error');
    const read = await query(other.token, `SELECT count(*) FROM read_parquet('${sales.path}')`);
    expect(read.status).toBe(400);
  });

  test('a revoked grant and a denied public dataset disappear from the sandbox at once', async () => {
    expect((await query(analyst.token, 'SELECT count(*) FROM crm.contacts')).status).toBe(200);
    await server.fetch(`/api/users/${analyst.id}/permissions/crm`, { method: 'PUT', token: server.adminToken, json: { access: 'none' } });
    expect((await query(analyst.token, 'SELECT count(*) FROM crm.contacts')).status).toBe(400);
    await server.fetch(`/api/users/${other.id}/permissions/pub`, { method: 'PUT', token: server.adminToken, json: { access: 'none' } });
    expect((await query(other.token, 'SELECT count(*) FROM pub.events')).status).toBe(400);
  });
});

describe('admins', () => {
  test('query every dataset and the secret-free state views', async () => {
    expect((await query(server.adminToken, 'SELECT count(*) FROM hr.salaries')).body.rows).toEqual([['1']]);
    const users = await query(server.adminToken, `SELECT * FROM state.users`);
    expect(users.status).toBe(200);
    const cols = users.body.columns.map((c: { name: string }) => c.name);
    expect(cols).toContain('email');
    expect(cols).not.toContain('password_hash');
    expect(users.body.row_count).toBeGreaterThanOrEqual(4);
    const pats = await query(server.adminToken, `SELECT * FROM state.personal_access_tokens`);
    expect(pats.status).toBe(200);
    expect(pats.body.columns.map((c: { name: string }) => c.name)).not.toContain('token_hash');
    const state = await query(server.adminToken, `SELECT table_id, hash FROM state.sync_state WHERE table_id = 'sales.orders'`);
    expect(state.body.rows).toEqual([['sales.orders', sales.hash]]);
  });

  test('never see token tables or any hash of a secret', async () => {
    for (const table of ['one_time_tokens', 'revoked_tokens', 'pending_codes']) {
      const res = await query(server.adminToken, `SELECT * FROM state.${table}`);
      expect({ table, status: res.status }).toEqual({ table, status: 400 });
    }
    const cols = await query(server.adminToken, `SELECT name, unnest(column_names) FROM (SHOW ALL TABLES) WHERE schema = 'state'`);
    expect(cols.status).toBe(200);
    const names = cols.body.rows.map((r: string[]) => `${r[0]}.${r[1]}`);
    expect(names).toContain('users.email');
    expect(names.filter((n: string) => /password|token_hash|secret/.test(n))).toEqual([]);
  });

  test('cannot write through the sandbox either', async () => {
    const res = await query(server.adminToken, `COPY state.users TO '/tmp/da-escape-users.csv'`);
    expect(res.status).toBe(400);
  });
});
