/**
 * The MCP `query` tool's lock-down, tested on the function the tool calls (runReadOnlyQuery)
 * over a real workspace database as `da sync` builds it: views over Parquet files still work
 * with external access off, and every way out of the workspace is refused.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { CliError } from '../cli/errors.ts';
import { openLocalDb, writeViews } from '../cli/local-db.ts';
import { runReadOnlyQuery, type ReadOnlyLimits } from '../cli/mcp/query.ts';
import { workspacePaths, type WorkspacePaths } from '../cli/workspace.ts';

let root: string;
let ws: WorkspacePaths;
/** A Parquet file outside the workspace's server/parquet folder (beside the workspace). */
let outside: string;
const LIMITS: ReadOnlyLimits = { limit: 1000, timeoutMs: 10_000, maxBytes: 1024 * 1024 };
const q = (sql: string, limits: Partial<ReadOnlyLimits> = {}) => runReadOnlyQuery(ws, sql, { ...LIMITS, ...limits });
const sha256 = (path: string) => new Bun.CryptoHasher('sha256').update(readFileSync(path)).digest('hex');
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

async function writeParquet(path: string, select: string) {
  mkdirSync(join(path, '..'), { recursive: true });
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`COPY (${select}) TO ${lit(path)} (FORMAT parquet)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** The refusal (or error) a query gets: its one-line message. */
async function refusal(sql: string): Promise<string> {
  try {
    await q(sql);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return (err as Error).message;
  }
  throw new Error(`not refused: ${sql}`);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'da-mcp-query-'));
  ws = workspacePaths(join(root, 'work'));
  outside = join(root, 'outside.parquet');
  await writeParquet(join(ws.parquetDir, 'sales', 'orders.parquet'), 'SELECT i AS order_id, i % 7 AS customer_id, i * 2.5 AS amount FROM range(1000) t(i)');
  await writeParquet(join(ws.parquetDir, 'hr', 'employees.parquet'), "SELECT i AS id, 'emp ' || i AS name FROM range(20) t(i)");
  await writeParquet(outside, "SELECT 'secret' AS s");
  writeFileSync(join(root, 'secret.csv'), 'a,b\n1,2\n');
  await writeViews(ws.db, [
    { dataset: 'sales', name: 'orders', path: join(ws.parquetDir, 'sales', 'orders.parquet') },
    { dataset: 'hr', name: 'employees', path: join(ws.parquetDir, 'hr', 'employees.parquet') },
  ]);
  // The analyst's own table, as `da query "CREATE TABLE …"` leaves it.
  const db = await openLocalDb(ws.db);
  try {
    await db.conn.run(`CREATE TABLE my_notes AS SELECT 1 AS id, 'keep me' AS note`);
  } finally {
    db.close();
  }
  // Links planted in the synced folder that point out of it.
  symlinkSync('/etc/passwd', join(ws.parquetDir, 'sales', 'passwd.csv'));
  symlinkSync(outside, join(ws.parquetDir, 'sales', 'linked.parquet'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the MCP query tool reads the workspace', () => {
  test('views over the synced Parquet files work with external access off, and so do the analyst\'s own tables', async () => {
    const r = await q('SELECT count(*)::INTEGER AS n, sum(amount)::DOUBLE AS total FROM sales.orders');
    expect(r.rows).toEqual([[1000, 1248750]]);
    expect(r.columns).toEqual([{ name: 'n', type: 'INTEGER' }, { name: 'total', type: 'DOUBLE' }]);
    expect(r.sql).toBe('SELECT count(*)::INTEGER AS n, sum(amount)::DOUBLE AS total FROM sales.orders');
    expect((await q('SELECT count(*)::INTEGER FROM employees')).rows).toEqual([[20]]);
    expect((await q('SELECT note FROM my_notes')).rows).toEqual([['keep me']]);
    const joined = await q('WITH c AS (SELECT customer_id, count(*) AS n FROM orders GROUP BY ALL) SELECT count(*)::INTEGER FROM c JOIN hr.employees e ON e.id = c.customer_id');
    expect(joined.rows).toEqual([[7]]);
  });

  test('DuckDB 1.5 binds a view over Parquet when it is queried: with external access off and no allowed folder the view fails, which is why the lock-down names server/parquet', async () => {
    const db = await DuckDBInstance.create(ws.db, { access_mode: 'READ_ONLY' });
    const conn = await db.connect();
    try {
      await conn.run('SET enable_external_access = false');
      await expect(conn.run('SELECT count(*) FROM sales.orders')).rejects.toThrow('Permission Error');
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });

  test('every statement DuckDB classifies as SELECT runs: FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE', async () => {
    expect((await q('FROM sales.orders SELECT order_id ORDER BY order_id LIMIT 2')).rows).toEqual([['0'], ['1']]);
    expect((await q('VALUES (1, 2)')).rows).toEqual([[1, 2]]);
    expect((await q('DESCRIBE sales.orders')).rows.map((r) => r[0])).toEqual(['order_id', 'customer_id', 'amount']);
    expect((await q('SHOW ALL TABLES')).rows.length).toBeGreaterThanOrEqual(4);
    expect((await q('SUMMARIZE hr.employees')).row_count).toBe(2);
  });

  test('the synced files themselves may be read by path (they are inside server/parquet)', async () => {
    const file = join(ws.parquetDir, 'sales', 'orders.parquet');
    expect((await q(`SELECT count(*)::INTEGER FROM read_parquet(${lit(file)})`)).rows).toEqual([[1000]]);
    expect((await q(`SELECT count(*)::INTEGER FROM ${lit(file)}`)).rows).toEqual([[1000]]);
  });

  test('rows are capped at the limit and at the byte cap, with truncated: true', async () => {
    const r = await q('SELECT * FROM range(5000)', { limit: 10 });
    expect(r.row_count).toBe(10);
    expect(r.truncated).toBe(true);
    const exact = await q('SELECT * FROM range(10)', { limit: 10 });
    expect(exact.truncated).toBe(false);
    const bytes = await q("SELECT repeat('x', 1000) AS s FROM range(100)", { maxBytes: 10_000 });
    expect(bytes.row_count).toBeLessThan(10);
    expect(bytes.truncated).toBe(true);
  });

  test('a query past the time limit is interrupted with a clear error, and the next query runs', async () => {
    const started = performance.now();
    let message = '';
    try {
      await q('SELECT count(*) FROM range(100000000000) a', { timeoutMs: 300 });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('ran longer than 0.3 s and was stopped');
    expect(performance.now() - started).toBeLessThan(10_000);
    expect((await q('SELECT 42 AS answer')).rows).toEqual([[42]]);
  });

  test('bad SQL is one line from DuckDB; an unknown table names the table', async () => {
    expect(await refusal('SELEC 1')).toContain('syntax error at or near "SELEC"');
    expect(await refusal('SELECT * FROM sales.nope')).toContain('nope');
    expect(await refusal('   ')).toContain('no SQL');
  });
});

describe('the MCP query tool cannot write or read outside the workspace', () => {
  const out = () => join(root, 'written');

  test('COPY TO, EXPORT DATABASE and a COPY hidden behind a first statement are refused and write nothing', async () => {
    expect(await refusal(`COPY (SELECT 1) TO ${lit(`${out()}.csv`)}`)).toStartWith('refused:');
    expect(await refusal(`COPY sales.orders TO ${lit(`${out()}.parquet`)} (FORMAT parquet)`)).toStartWith('refused:');
    expect(await refusal(`EXPORT DATABASE ${lit(out())}`)).toStartWith('refused:');
    expect(await refusal(`SELECT 1; COPY (SELECT 1) TO ${lit(`${out()}-2.csv`)}`)).toBe('refused: 2 statements; send one SELECT at a time');
    for (const f of [`${out()}.csv`, `${out()}.parquet`, out(), `${out()}-2.csv`]) expect(existsSync(f)).toBe(false);
  });

  test('ATTACH (a file or memory), DETACH and USE are refused', async () => {
    expect(await refusal(`ATTACH ${lit(join(root, 'other.duckdb'))} AS other`)).toStartWith('refused:');
    expect(await refusal(`ATTACH ':memory:' AS m`)).toBe('refused: ATTACH statements are not allowed; this tool runs one read-only SELECT (also WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE)');
    expect(await refusal('DETACH analytics')).toStartWith('refused: DETACH');
    expect(await refusal('USE memory')).toStartWith('refused');
    expect(existsSync(join(root, 'other.duckdb'))).toBe(false);
  });

  test('INSTALL and LOAD are refused', async () => {
    expect(await refusal('INSTALL httpfs')).toStartWith('refused:');
    expect(await refusal('LOAD httpfs')).toStartWith('refused:');
    expect(await refusal(`LOAD ${lit(join(root, 'evil.duckdb_extension'))}`)).toStartWith('refused:');
  });

  test('SET, RESET, SET VARIABLE, PRAGMA and CALL are refused; the lock-down stays in force', async () => {
    expect(await refusal('SET enable_external_access = true')).toBe('refused: SET statements are not allowed; this tool runs one read-only SELECT (also WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE)');
    expect(await refusal('RESET lock_configuration')).toStartWith('refused: SET');
    expect(await refusal('SET VARIABLE x = 1')).toStartWith('refused: SET');
    expect(await refusal('PRAGMA enable_profiling')).toStartWith('refused:');
    expect(await refusal('CALL pragma_version()')).toStartWith('refused: CALL');
    const settings = await q("SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration', 'autoload_known_extensions') ORDER BY name");
    expect(settings.rows).toEqual([['autoload_known_extensions', 'false'], ['enable_external_access', 'false'], ['lock_configuration', 'true']]);
  });

  test('CREATE, INSERT, DROP and temporary objects are refused; the database file does not change', async () => {
    const before = sha256(ws.db);
    expect(await refusal('CREATE TABLE t AS SELECT 1')).toStartWith('refused: CREATE');
    expect(await refusal('CREATE TEMP TABLE t AS SELECT 1')).toStartWith('refused: CREATE');
    expect(await refusal('INSERT INTO my_notes VALUES (2, \'x\')')).toStartWith('refused: INSERT');
    expect(await refusal('DROP VIEW sales.orders')).toStartWith('refused: DROP');
    expect(await refusal('UPDATE my_notes SET note = \'gone\'')).toStartWith('refused: UPDATE');
    expect(await refusal('CHECKPOINT')).toStartWith('refused');
    expect(sha256(ws.db)).toBe(before);
    expect((await q('SELECT note FROM my_notes')).rows).toEqual([['keep me']]);
  });

  test('file readers outside server/parquet are refused: read_csv, read_text, read_blob, read_json, read_parquet, sniff_csv', async () => {
    for (const sql of [
      `SELECT * FROM read_csv('/etc/passwd')`,
      `SELECT * FROM read_text('/etc/hostname')`,
      `SELECT * FROM read_blob('/etc/passwd')`,
      `SELECT * FROM read_json(${lit(join(root, 'secret.csv'))})`,
      `SELECT * FROM read_csv(${lit(join(root, 'secret.csv'))})`,
      `SELECT * FROM read_parquet(${lit(outside)})`,
      `SELECT * FROM sniff_csv('/etc/passwd')`,
    ]) {
      expect(await refusal(sql), sql).toMatch(/^refused: Permission Error: Cannot access file/);
    }
  });

  test('a path that climbs out of server/parquet, or a link in it that points out, is refused', async () => {
    const climb = join(ws.parquetDir, '..', '..', '..', 'outside.parquet');
    expect(await refusal(`SELECT * FROM read_parquet(${lit(climb)})`)).toStartWith('refused: Permission Error');
    expect(await refusal(`SELECT * FROM read_csv(${lit(join(ws.parquetDir, 'sales', 'passwd.csv'))})`)).toStartWith('refused: Permission Error');
    expect(await refusal(`SELECT * FROM read_parquet(${lit(join(ws.parquetDir, 'sales', 'linked.parquet'))})`)).toStartWith('refused: Permission Error');
  });

  test('replacement scans of files and glob outside server/parquet are refused', async () => {
    expect(await refusal(`SELECT * FROM '/etc/passwd'`)).toContain('/etc/passwd');
    expect(await refusal(`SELECT * FROM ${lit(outside)}`)).toContain('outside.parquet');
    expect(await refusal(`SELECT * FROM ${lit(join(root, 'secret.csv'))}`)).toContain('secret.csv');
    expect(await refusal(`SELECT * FROM glob('/etc/*')`)).toStartWith('refused: Permission Error');
    expect(await refusal(`SELECT * FROM glob(${lit(`${root}/*`)})`)).toStartWith('refused: Permission Error');
  });

  test('the network and table functions that run other statements are refused', async () => {
    expect(await refusal(`SELECT * FROM read_parquet('https://example.com/x.parquet')`)).toStartWith('refused: Permission Error');
    expect(await refusal(`SELECT * FROM read_csv('s3://bucket/x.csv')`)).toStartWith('refused');
    expect(await refusal(`SELECT * FROM query('ATTACH ''${join(root, 'q.duckdb')}''')`)).toContain('SELECT');
    expect(existsSync(join(root, 'q.duckdb'))).toBe(false);
  });
});

describe('the MCP query tool and other da processes', () => {
  test('before the first sync it runs on an empty in-memory database, still locked down', async () => {
    const fresh = workspacePaths(join(root, 'fresh'));
    const r = await runReadOnlyQuery(fresh, 'SELECT 42 AS answer', LIMITS);
    expect(r.rows).toEqual([[42]]);
    await expect(runReadOnlyQuery(fresh, `SELECT * FROM read_csv('/etc/passwd')`, LIMITS)).rejects.toThrow('refused');
    expect(existsSync(fresh.db)).toBe(false);
  });

  test('the file is not held between queries: a writer opens it right after; while one writes, a query says so', async () => {
    await q('SELECT 1');
    // A writer in another process (da sync, or da query creating a table) holds the file.
    const script = `import { DuckDBInstance } from '@duckdb/node-api';
      const db = await DuckDBInstance.create(${JSON.stringify(ws.db)}); const c = await db.connect();
      await c.run('CREATE OR REPLACE TABLE my_other AS SELECT 2 AS x'); console.log('open'); await Bun.sleep(30000);`;
    const writer = Bun.spawn(['bun', '-e', script], { cwd: join(import.meta.dir, '..'), stdout: 'pipe', stderr: 'pipe' });
    try {
      const reader = writer.stdout.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain('open');
      const message = await refusal('SELECT 1');
      expect(message).toContain('the local database is being written');
      expect(message).toContain('retry');
    } finally {
      writer.kill();
      await writer.exited;
    }
    expect((await q('SELECT x FROM my_other')).rows).toEqual([[2]]);
  });
});
