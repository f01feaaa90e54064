import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, openSync, closeSync, writeSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { createDaSandbox, ensureCliBuilt, type DaSandbox } from './helpers/cli.ts';
import { putServerTable, setDatasetAccess } from './helpers/cli-data.ts';

let server: TestServer;
let da: DaSandbox;
let analyst: { id: string; email: string; password: string; token: string };
/** A proxy in front of the server that can stall table downloads half-way. */
let proxy: ReturnType<typeof Bun.serve>;
let stallDownloads = false;

const sha256 = (path: string) => new Bun.CryptoHasher('sha256').update(readFileSync(path)).digest('hex');
const EVENTS_SQL = (salt: number) =>
  `SELECT i AS id, md5((i * ${salt})::VARCHAR) || md5((i + ${salt})::VARCHAR) AS payload FROM range(150000) t(i)`;

beforeAll(async () => {
  [server] = await Promise.all([startTestServer(), ensureCliBuilt()]);
  await putServerTable(server, 'sales', 'orders', 'SELECT i AS order_id, i % 50 AS customer_id, (i * 3.5)::DOUBLE AS amount FROM range(1000) t(i)');
  await putServerTable(server, 'sales', 'customers', "SELECT i AS customer_id, 'customer ' || i AS name FROM range(100) t(i)");
  await putServerTable(server, 'sales', 'events', EVENTS_SQL(7));
  await putServerTable(server, 'hr', 'employees', "SELECT i AS employee_id, 'emp ' || i AS name FROM range(50) t(i)");
  analyst = await server.createUser('analyst');
  await setDatasetAccess(server, analyst.id, 'sales', 'read');
  await setDatasetAccess(server, analyst.id, 'hr', 'read');

  proxy = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const headers = new Headers(req.headers);
      headers.delete('host');
      const upstream = await fetch(server.url + url.pathname + url.search, {
        method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : await req.arrayBuffer(),
      });
      if (!(stallDownloads && url.pathname.endsWith('/download') && upstream.status === 200)) return upstream;
      // Pass the first 1 MB through, then hold the connection open without sending more.
      const reader = upstream.body!.getReader();
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent >= 1024 * 1024) return new Promise<void>(() => {});
          const { done, value } = await reader.read();
          if (done) return controller.close();
          sent += value.byteLength;
          controller.enqueue(value);
        },
      });
      return new Response(body, { status: 200, headers: upstream.headers });
    },
  });
  da = createDaSandbox();
  const login = await da.run(['login', '--server', `http://127.0.0.1:${proxy.port}`, '--email', analyst.email, '--password', analyst.password]);
  if (login.code !== 0) throw new Error(login.stderr);
});

afterAll(async () => {
  proxy?.stop(true);
  da?.cleanup();
  await server?.stop().catch(() => {});
});

const parquet = (ds: string, t: string) => join(da.workspace, 'server', 'parquet', ds, `${t}.parquet`);

describe('da sync against a real server', () => {
  test('the first sync downloads every permitted table, verifies it and builds the local views', async () => {
    const r = await da.run(['sync', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = r.json();
    expect(report.tables.added.map((t: { id: string }) => t.id)).toEqual(['hr.employees', 'sales.customers', 'sales.events', 'sales.orders']);
    expect(report.tables.added.find((t: { id: string }) => t.id === 'sales.orders').rows).toBe(1000);
    expect(report.bytes_downloaded).toBeGreaterThan(0);
    expect(sha256(parquet('sales', 'orders'))).toBe(sha256(join(server.dataDir, 'parquet', 'sales', 'orders.parquet')));
    expect(existsSync(join(da.workspace, 'user', 'duckdb', 'analytics.duckdb'))).toBe(true);

    const q = await da.run(['query', '--json', 'SELECT count(*)::INTEGER AS n FROM sales.orders']);
    expect(q.json().rows).toEqual([[1000]]);
    // a unique name gets an unqualified view too
    const u = await da.run(['query', '--format', 'csv', 'SELECT count(*) AS n FROM employees']);
    expect(u.stdout).toBe('n\n50\n');
  });

  test('a second sync downloads nothing', async () => {
    const r = await da.run(['sync', '--json']);
    expect(r.code).toBe(0);
    const report = r.json();
    expect(report.tables.added).toEqual([]);
    expect(report.tables.changed).toEqual([]);
    expect(report.tables.removed).toEqual([]);
    expect(report.bytes_downloaded).toBe(0);
  });

  test('one changed table: only it downloads, with its row delta, and a user table survives the view rebuild', async () => {
    const mine = await da.run(['query', 'CREATE TABLE my_notes AS SELECT 1 AS id, \'keep me\' AS note']);
    expect(mine.code).toBe(0);
    await putServerTable(server, 'sales', 'orders', 'SELECT i AS order_id, i % 50 AS customer_id, (i * 3.5)::DOUBLE AS amount FROM range(1200) t(i)');

    const report = (await da.run(['sync', '--json'])).json();
    expect(report.tables.added).toEqual([]);
    expect(report.tables.changed).toHaveLength(1);
    expect(report.tables.changed[0]).toMatchObject({ id: 'sales.orders', rows_before: 1000, rows_after: 1200, row_delta: 200 });
    expect(report.views.rebuilt).toBe(true);

    const q = await da.run(['query', '--json', 'SELECT (SELECT count(*) FROM orders)::INTEGER AS orders, (SELECT note FROM my_notes) AS note']);
    expect(q.json().rows).toEqual([[1200, 'keep me']]);
  });

  test('a corrupted local file is detected and downloaded again', async () => {
    const path = parquet('sales', 'customers');
    const good = sha256(path);
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.from('garbage!'), 0, 8, 100);
    closeSync(fd);
    expect(sha256(path)).not.toBe(good);

    const report = (await da.run(['sync', '--json'])).json();
    expect(report.tables.changed).toEqual([expect.objectContaining({ id: 'sales.customers', reason: 'local file corrupt' })]);
    expect(sha256(path)).toBe(good);
  });

  test('a sync killed mid-download resumes with Range on the next run and the file verifies', async () => {
    await putServerTable(server, 'sales', 'events', EVENTS_SQL(13));
    const serverFile = join(server.dataDir, 'parquet', 'sales', 'events.parquet');
    const size = statSync(serverFile).size;
    expect(size).toBeGreaterThan(2 * 1024 * 1024);

    stallDownloads = true;
    const child = da.spawn(['sync', '--quiet']);
    const part = `${parquet('sales', 'events')}.part`;
    for (let i = 0; i < 200 && !(existsSync(part) && statSync(part).size >= 1024 * 1024); i++) await Bun.sleep(25);
    child.kill('SIGKILL');
    await child.exited;
    stallDownloads = false;
    const partial = statSync(part).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(size);

    const report = (await da.run(['sync', '--json'])).json();
    expect(report.tables.changed.map((t: { id: string }) => t.id)).toEqual(['sales.events']);
    expect(report.tables.resumed).toEqual(['sales.events']);
    expect(report.bytes_downloaded).toBe(size - partial);
    expect(existsSync(part)).toBe(false);
    expect(sha256(parquet('sales', 'events'))).toBe(sha256(serverFile));
  });

  test('--dry-run reports a change without making it', async () => {
    await putServerTable(server, 'sales', 'customers', "SELECT i AS customer_id, 'customer ' || i AS name FROM range(120) t(i)");
    const before = sha256(parquet('sales', 'customers'));
    const report = (await da.run(['sync', '--dry-run', '--json'])).json();
    expect(report.dry_run).toBe(true);
    expect(report.tables.changed.map((t: { id: string }) => t.id)).toEqual(['sales.customers']);
    expect(sha256(parquet('sales', 'customers'))).toBe(before);
  });

  test('--table syncs only the named table', async () => {
    const report = (await da.run(['sync', '--table', 'customers', '--json'])).json();
    expect(report.tables.changed.map((t: { id: string }) => t.id)).toEqual(['sales.customers']);
    const unknown = await da.run(['sync', '--table', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no table nope');
  });

  test('--table takes globs over ids and names', async () => {
    await putServerTable(server, 'sales', 'customers', "SELECT i AS customer_id, 'customer ' || i AS name FROM range(130) t(i)");
    const report = (await da.run(['sync', '--dry-run', '--table', 'sales.*', '--table', 'employ*', '--json'])).json();
    expect(report.tables.changed.map((t: { id: string }) => t.id)).toEqual(['sales.customers']);
    const none = await da.run(['sync', '--table', 'crm.*']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no table matches crm.*');
  });

  test('a dataset switched off in the sync settings is removed locally with a note, and comes back when switched on', async () => {
    const put = (enabled: boolean) =>
      server.fetch(`/api/users/${analyst.id}/settings`, {
        method: 'PUT', token: analyst.token, json: { items: [{ dataset: 'hr', enabled, table_mode: 'all' }] },
      });
    expect((await put(false)).status).toBe(200);
    const off = await da.run(['sync']);
    expect(off.code).toBe(0);
    expect(off.stdout).toContain('- hr.employees');
    expect(off.stdout).toContain('switched off in your sync settings');
    expect(existsSync(parquet('hr', 'employees'))).toBe(false);
    expect((await put(true)).status).toBe(200);
    const on = (await da.run(['sync', '--json'])).json();
    expect(on.tables.added.map((t: { id: string }) => t.id)).toEqual(['hr.employees']);
    expect(existsSync(parquet('hr', 'employees'))).toBe(true);
  });

  test('a revoked dataset: its tables disappear locally', async () => {
    await setDatasetAccess(server, analyst.id, 'hr', 'none');
    const report = (await da.run(['sync', '--json'])).json();
    expect(report.tables.removed.map((t: { id: string }) => t.id)).toEqual(['hr.employees']);
    expect(existsSync(parquet('hr', 'employees'))).toBe(false);
    const q = await da.run(['query', 'SELECT * FROM hr.employees']);
    expect(q.code).toBe(1);
    const mine = await da.run(['query', '--json', 'SELECT count(*)::INTEGER FROM my_notes']);
    expect(mine.json().rows).toEqual([[1]]);
  });

  test('uploads new session files and CLAUDE.local.md once', async () => {
    mkdirSync(join(da.workspace, 'user', 'sessions', 'day1'), { recursive: true });
    writeFileSync(join(da.workspace, 'user', 'sessions', 'day1', 'a.jsonl'), '{"role":"user","text":"hi"}\n');
    writeFileSync(join(da.workspace, 'user', 'sessions', 'notes.txt'), 'not a session');
    mkdirSync(join(da.workspace, 'user', 'artifacts'), { recursive: true });
    writeFileSync(join(da.workspace, 'user', 'artifacts', 'chart.svg'), '<svg/>');
    writeFileSync(join(da.workspace, 'CLAUDE.local.md'), '# my notes\n');

    const report = (await da.run(['sync', '--upload-only', '--json'])).json();
    expect(report.uploads).toMatchObject({ sessions: ['day1/a.jsonl'], artifacts: ['chart.svg'], local_md: true });
    const stored = join(server.dataDir, 'uploads', analyst.id);
    expect(readFileSync(join(stored, 'sessions', 'day1', 'a.jsonl'), 'utf8')).toContain('"hi"');
    expect(readFileSync(join(stored, 'artifacts', 'chart.svg'), 'utf8')).toBe('<svg/>');
    expect(readFileSync(join(stored, 'CLAUDE.local.md'), 'utf8')).toBe('# my notes\n');

    const again = (await da.run(['sync', '--upload-only', '--json'])).json();
    expect(again.uploads).toMatchObject({ sessions: [], artifacts: [], local_md: false });
  });

  test('explore and status describe tables from the server and locally', async () => {
    const remote = (await da.run(['explore', 'orders', '--remote', '--json'])).json();
    expect(remote).toMatchObject({ id: 'sales.orders', source: 'remote', rows: 1200 });
    expect(remote.columns.map((c: { name: string }) => c.name)).toEqual(['order_id', 'customer_id', 'amount']);
    expect(remote.sample).toHaveLength(5);
    const unknown = await da.run(['explore', 'nope', '--json']);
    expect(unknown.code).toBe(1);
    expect(unknown.json().error.available).toContain('sales.orders');
    const status = (await da.run(['status', '--json'])).json();
    expect(status.server.reachable).toBe(true);
    expect(status.user.email).toBe(analyst.email);
    expect(status.tables.map((t: { id: string }) => t.id)).toEqual(['sales.customers', 'sales.events', 'sales.orders']);
    expect(status.stale).toEqual([]);
  });

  test('after the server stops, query, explore, status --local and skills work offline', async () => {
    proxy.stop(true);
    await server.stop();
    const q = await da.run(['query', '--json', 'SELECT count(*)::INTEGER AS n FROM sales.orders']);
    expect(q.code).toBe(0);
    expect(q.json().rows).toEqual([[1200]]);
    const explore = await da.run(['explore', 'sales.orders', '--json']);
    expect(explore.code).toBe(0);
    const ex = explore.json();
    expect(ex).toMatchObject({ id: 'sales.orders', source: 'local', rows: 1200 });
    expect(ex.columns.map((c: { name: string; type: string }) => `${c.name}:${c.type}`)).toEqual(['order_id:BIGINT', 'customer_id:BIGINT', 'amount:DOUBLE']);
    expect(ex.sample).toHaveLength(5);
    const status = await da.run(['status', '--local', '--json']);
    expect(status.code).toBe(0);
    expect(status.json().last_sync).toBeString();
    expect(status.json().tables).toHaveLength(3);
    const skills = await da.run(['skills', 'show', 'sync']);
    expect(skills.code).toBe(0);
    // A server that stays away is retried briefly (here 1 s), then named in one line.
    const s = await da.run(['sync', '--json'], { env: { DA_SYNC_RETRY_SECONDS: '1', DA_SYNC_BACKOFF_MS: '20' } });
    expect(s.code).toBe(1);
    expect(s.json().error.message).toContain('cannot reach');
    expect(s.stderr.trim().split('\n')).toHaveLength(1);
  });
});
