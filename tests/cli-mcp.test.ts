/**
 * `da mcp` end to end: the MCP SDK's own client drives the compiled dist/da over stdio, in a
 * workspace synced from a real test server; then the server is stopped and everything but
 * `sync` must keep working offline.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
// The server first: its OpenAPI layer extends zod before the CLI's modules build their schemas.
import { startTestServer, type TestServer } from './helpers/server.ts';
import { SKILLS } from '../cli/skills.ts';
import { createDaSandbox, DA_BIN, ensureCliBuilt, type DaSandbox } from './helpers/cli.ts';
import { putServerTable, setDatasetAccess } from './helpers/cli-data.ts';
import { seedTable } from './helpers/data.ts';

let server: TestServer;
let da: DaSandbox;
let serverUp = true;

const ORDERS_PROFILE = {
  description: 'Every order, one row each',
  columns: [
    { name: 'order_id', type: 'BIGINT', null_pct: 0, distinct_count: 1000, min: 0, max: 999, mean: 499.5 },
    { name: 'customer_id', type: 'BIGINT', null_pct: 0, distinct_count: 50, min: 0, max: 49, mean: 24.5 },
    { name: 'amount', type: 'DOUBLE', null_pct: 0, distinct_count: 1000, min: 0, max: 3496.5, mean: 1748.25 },
  ],
};

/** One MCP session with `da mcp`: the SDK client, and what the server wrote on stderr. */
interface Session {
  client: Client;
  stderr(): string;
  /** Errors the client saw on the wire (a line on stdout that is not an MCP message lands here). */
  wireErrors: Error[];
  close(): Promise<void>;
}

async function connect(args: string[] = []): Promise<Session> {
  const transport = new StdioClientTransport({ command: DA_BIN, args: ['mcp', ...args], cwd: da.workspace, env: da.env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'da-test', version: '1.0.0' });
  const wireErrors: Error[] = [];
  client.onerror = (err) => wireErrors.push(err);
  await client.connect(transport);
  return { client, stderr: () => stderr, wireErrors, close: () => client.close() };
}

/** Calls a tool and returns its text and whether it is a tool error. */
async function call(s: Session, name: string, args: Record<string, unknown> = {}): Promise<{ isError: boolean; text: string; json<T = any>(): T }> {
  const r = await s.client.callTool({ name, arguments: args });
  const text = (r.content as { type: string; text: string }[]).map((c) => c.text).join('\n');
  return { isError: Boolean(r.isError), text, json: () => JSON.parse((r.content as { text: string }[])[0]!.text) };
}

beforeAll(async () => {
  [server] = await Promise.all([startTestServer(), ensureCliBuilt()]);
  await seedTable(server, {
    dataset: 'sales', table: 'orders', profile: ORDERS_PROFILE, description: 'Orders',
    select: 'SELECT i AS order_id, i % 50 AS customer_id, (i * 3.5)::DOUBLE AS amount FROM range(1000) t(i)',
  });
  await putServerTable(server, 'sales', 'customers', "SELECT i AS customer_id, 'customer ' || i AS name FROM range(50) t(i)");
  await putServerTable(server, 'hr', 'employees', "SELECT i AS employee_id, 'emp ' || i AS name FROM range(20) t(i)");
  mkdirSync(join(server.dataDir, 'docs', 'rules'), { recursive: true });
  writeFileSync(join(server.dataDir, 'docs', 'knowledge.md'), '# What we know\n\nCustomers churn after 90 days without an order.\n\n## Orders\n\nOrder amounts are in EUR, VAT included.\n');
  writeFileSync(join(server.dataDir, 'docs', 'rules', 'revenue.md'), '# Revenue\n\nNet revenue is always net of discounts and refunds.\n\nNever report gross revenue to customers.\n');
  const analyst = await server.createUser('analyst');
  await setDatasetAccess(server, analyst.id, 'sales', 'read');
  await setDatasetAccess(server, analyst.id, 'hr', 'read');
  // The server rescans its documents at most once a second: wait until the manifest offers both.
  for (let tries = 0; ; tries++) {
    const manifest = (await (await server.fetch('/api/sync/manifest', { token: analyst.token })).json()) as { assets: object };
    const paths = Object.keys(manifest.assets);
    if (paths.includes('docs/knowledge.md') && paths.includes('docs/rules/revenue.md')) break;
    if (tries > 50) throw new Error(`the manifest never offered the documents: ${paths.join(', ')}`);
    await Bun.sleep(50);
  }
  da = createDaSandbox();
  const login = await da.runInProcess(['login', '--server', server.url, '--email', analyst.email, '--password', analyst.password]);
  if (login.code !== 0) throw new Error(login.stderr);
  const sync = await da.run(['sync', '--json']);
  if (sync.code !== 0) throw new Error(sync.stderr);
  const own = await da.run(['query', "CREATE TABLE my_notes AS SELECT 1 AS id, 'keep me' AS note"]);
  if (own.code !== 0) throw new Error(own.stderr);
  mkdirSync(join(da.workspace, '.claude', 'rules'), { recursive: true });
  writeFileSync(join(da.workspace, '.claude', 'rules', 'style.md'), 'Round money to two decimals; revenue in EUR.\n');
});

afterAll(async () => {
  da?.cleanup();
  if (serverUp) await server?.stop().catch(() => {});
});

describe('da mcp over stdio (the compiled binary)', () => {
  test('da mcp --help documents the tools, the resources and the lock-down', async () => {
    const r = await da.run(['mcp', '--help']);
    expect(r.code).toBe(0);
    for (const word of ['list_tables', 'describe_table', 'query', 'search_memory', 'sync', 'da://skills/', 'READ_ONLY', '.mcp.json']) expect(r.stdout).toContain(word);
  });

  test('stdout carries only MCP messages, logs go to stderr, and the server ends when stdin closes', async () => {
    const proc = Bun.spawn([DA_BIN, 'mcp'], { cwd: da.workspace, env: da.env, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' });
    const send = (msg: object) => proc.stdin.write(JSON.stringify(msg) + '\n');
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'query', arguments: { sql: 'SELECT count(*)::INTEGER AS n FROM sales.orders' } } });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'query', arguments: { sql: "SELECT * FROM read_csv('/etc/passwd')" } } });
    await proc.stdin.flush();
    // Wait for both answers before closing stdin (the server answers asynchronously).
    let out = '';
    const reader = proc.stdout.getReader();
    while ((out.match(/\n/g) ?? []).length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    await proc.stdin.end();
    for (let r = await reader.read(); !r.done; r = await reader.read()) out += new TextDecoder().decode(r.value);
    const code = await proc.exited;
    const stderr = await new Response(proc.stderr).text();
    expect(code).toBe(0);
    const messages = out.trim().split('\n').map((line) => JSON.parse(line));
    expect(messages.every((m) => m.jsonrpc === '2.0')).toBe(true);
    // Calls run concurrently, so their answers may come in any order.
    const byId = new Map(messages.map((m) => [m.id, m]));
    expect([...byId.keys()].sort()).toEqual([1, 2, 3]);
    expect(byId.get(1).result.serverInfo.name).toBe('da');
    expect(JSON.parse(byId.get(2).result.content[0].text).rows).toEqual([[1000]]);
    expect(byId.get(3).result.isError).toBe(true);
    expect(stderr).toContain(`da mcp: serving ${da.workspace} (3 synced tables) on stdio`);
    expect(stderr).toContain('da mcp: query: refused:');
  });

  test('lists its tools, and the skills as markdown resources', async () => {
    const s = await connect();
    try {
      const { tools } = await s.client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['list_tables', 'describe_table', 'query', 'search_memory', 'sync']);
      const query = tools.find((t) => t.name === 'query')!;
      expect(query.inputSchema.required).toEqual(['sql']);
      expect(query.annotations?.readOnlyHint).toBe(true);
      expect(tools.find((t) => t.name === 'sync')!.annotations?.readOnlyHint).toBe(false);
      expect(s.client.getInstructions()).toContain('list_tables');

      const { resources } = await s.client.listResources();
      expect(resources.map((r) => r.uri).sort()).toEqual(Object.keys(SKILLS).map((n) => `da://skills/${n}`).sort());
      expect(resources.find((r) => r.uri === 'da://skills/query')).toMatchObject({ mimeType: 'text/markdown', title: 'Query: answer questions with SQL' });
      const read = await s.client.readResource({ uri: 'da://skills/query' });
      expect(read.contents).toEqual([{ uri: 'da://skills/query', mimeType: 'text/markdown', text: SKILLS.query! }]);
      await expect(s.client.readResource({ uri: 'da://skills/nope' })).rejects.toThrow('not found');
      expect(s.wireErrors).toEqual([]);
    } finally {
      await s.close();
    }
  });

  test('list_tables: datasets, tables, rows, columns and freshness from the local sync state', async () => {
    const s = await connect();
    try {
      const all = await call(s, 'list_tables');
      expect(all.isError).toBe(false);
      const r = all.json();
      expect(r.workspace).toBe(da.workspace);
      expect(r.server).toBe(server.url);
      expect(r.last_sync).toBeString();
      expect(r.table_count).toBe(3);
      expect(r.datasets.map((d: { name: string }) => d.name)).toEqual(['hr', 'sales']);
      const orders = r.datasets[1].tables.find((t: { id: string }) => t.id === 'sales.orders');
      expect(orders).toMatchObject({ id: 'sales.orders', name: 'orders', rows: 1000, columns: 3, state: 'synced' });
      expect(Date.parse(orders.synced_at)).toBeGreaterThan(Date.now() - 10 * 60_000);
      expect(orders.updated_at).toBeString();

      const hr = (await call(s, 'list_tables', { dataset: 'hr' })).json();
      expect(hr.datasets).toEqual([{ name: 'hr', tables: [expect.objectContaining({ id: 'hr.employees', rows: 20, columns: 2 })] }]);
      const unknown = await call(s, 'list_tables', { dataset: 'finance' });
      expect(unknown.isError).toBe(true);
      expect(unknown.text).toBe('no synced dataset finance; synced datasets: hr, sales');
    } finally {
      await s.close();
    }
  });

  test('describe_table: columns, types, the synced profile and sample rows; an unknown table lists the available ones', async () => {
    const s = await connect();
    try {
      const orders = (await call(s, 'describe_table', { table: 'sales.orders' })).json();
      // The synced profile carries the catalog's description (the registry's here), over what the profile text said.
      expect(orders).toMatchObject({ id: 'sales.orders', source: 'local', rows: 1000, description: 'Orders' });
      expect(orders.columns.map((c: { name: string; type: string }) => `${c.name}:${c.type}`)).toEqual(['order_id:BIGINT', 'customer_id:BIGINT', 'amount:DOUBLE']);
      expect(orders.columns[1]).toMatchObject({ distinct_count: 50, mean: 24.5 });
      expect(orders.profile).toEqual({ ...ORDERS_PROFILE, description: 'Orders', tags: [], columns: ORDERS_PROFILE.columns.map((c) => ({ ...c, description: null })) });
      expect(orders.sample).toHaveLength(5);

      // No profile synced: the statistics come from the local file.
      const employees = (await call(s, 'describe_table', { table: 'employees', sample_rows: 2 })).json();
      expect(employees).toMatchObject({ id: 'hr.employees', rows: 20, profile: null });
      expect(employees.columns.map((c: { name: string }) => c.name)).toEqual(['employee_id', 'name']);
      expect(employees.sample).toHaveLength(2);

      const unknown = await call(s, 'describe_table', { table: 'nope' });
      expect(unknown.isError).toBe(true);
      expect(unknown.text).toBe('no synced table nope; available: hr.employees, sales.customers, sales.orders');
    } finally {
      await s.close();
    }
  });

  test('query: read-only SQL over the views and the analyst\'s own tables, with the SQL echoed and the row cap', async () => {
    const s = await connect(['--max-rows', '50']);
    try {
      const sql = 'SELECT c.name, count(*)::INTEGER AS n FROM sales.orders o JOIN customers c USING (customer_id) GROUP BY ALL ORDER BY c.name LIMIT 2';
      const r = await call(s, 'query', { sql });
      expect(r.isError).toBe(false);
      expect(r.json()).toMatchObject({ sql, columns: [{ name: 'name', type: 'VARCHAR' }, { name: 'n', type: 'INTEGER' }], rows: [['customer 0', 20], ['customer 1', 20]], row_count: 2, truncated: false });
      expect(r.json().elapsed_ms).toBeNumber();
      expect((await call(s, 'query', { sql: 'SELECT note FROM my_notes' })).json().rows).toEqual([['keep me']]);

      const capped = (await call(s, 'query', { sql: 'SELECT order_id FROM sales.orders', limit: 7 })).json();
      expect(capped).toMatchObject({ row_count: 7, truncated: true });
      expect((await call(s, 'query', { sql: 'SELECT order_id FROM sales.orders' })).json().row_count).toBe(50);
      const tooMany = await call(s, 'query', { sql: 'SELECT 1', limit: 51 });
      expect(tooMany.isError).toBe(true);
      expect(tooMany.text).toContain('limit');
    } finally {
      await s.close();
    }
  });

  test('query errors are tool errors with one clear line, and the server keeps serving', async () => {
    const s = await connect();
    try {
      const bad = await call(s, 'query', { sql: 'SELEC 1' });
      expect(bad).toMatchObject({ isError: true, text: expect.stringContaining('syntax error at or near "SELEC"') });
      const unknown = await call(s, 'query', { sql: 'SELECT * FROM sales.nope' });
      expect(unknown.isError).toBe(true);
      expect(unknown.text).toContain('nope');
      const missing = await call(s, 'query', {});
      expect(missing.isError).toBe(true);
      expect(missing.text).toContain('sql');
      const noTool = await s.client.callTool({ name: 'drop_everything', arguments: {} });
      expect(noTool.isError).toBe(true);
      expect((await call(s, 'query', { sql: 'SELECT 42 AS answer' })).json().rows).toEqual([[42]]);
    } finally {
      await s.close();
    }
  });

  test('query refuses file reads, COPY, ATTACH, INSTALL and SET, and writes nothing', async () => {
    const s = await connect();
    const written = join(da.home, 'leak');
    try {
      for (const [sql, expected] of [
        ["SELECT * FROM read_csv('/etc/passwd')", 'refused: Permission Error: Cannot access file "/etc/passwd"'],
        ["SELECT * FROM '/etc/passwd'", '/etc/passwd'],
        [`SELECT * FROM read_parquet('${da.workspace}/server/parquet/../../config/token')`, 'refused: Permission Error'],
        [`SELECT * FROM glob('${da.home}/*')`, 'refused: Permission Error'],
        [`COPY (SELECT * FROM sales.orders) TO '${written}.csv'`, 'refused: Permission Error'],
        [`ATTACH '${written}.duckdb' AS leak`, 'refused'],
        ["ATTACH ':memory:' AS m", 'refused: ATTACH statements are not allowed'],
        ['INSTALL httpfs', 'refused'],
        ['LOAD httpfs', 'refused'],
        ['SET enable_external_access = true', 'refused: SET statements are not allowed'],
        ["CREATE TABLE x AS SELECT 1", 'refused: CREATE statements are not allowed'],
      ] as const) {
        const r = await call(s, 'query', { sql });
        expect(r.isError, sql).toBe(true);
        expect(r.text, sql).toContain(expected);
      }
      expect(existsSync(`${written}.csv`)).toBe(false);
      expect(existsSync(`${written}.duckdb`)).toBe(false);
      expect((await call(s, 'query', { sql: 'SELECT count(*)::INTEGER FROM orders' })).json().rows).toEqual([[1000]]);
    } finally {
      await s.close();
    }
  });

  test('search_memory searches the synced knowledge and rules and .claude/rules, and says what it searched', async () => {
    const s = await connect();
    try {
      const r = (await call(s, 'search_memory', { query: 'net revenue' })).json();
      expect(r.searched.roots).toEqual(['server/docs', '.claude/rules']);
      expect(r.searched.files).toEqual(expect.arrayContaining(['server/docs/knowledge.md', 'server/docs/rules/revenue.md', '.claude/rules/style.md']));
      expect(r.method).toContain('plain-text');
      expect(r.matches[0]).toMatchObject({ file: 'server/docs/rules/revenue.md', heading: 'Revenue', line: 3, text: 'Net revenue is always net of discounts and refunds.', matched: ['net', 'revenue'] });
      expect(r.matches.map((m: { file: string }) => m.file)).toContain('.claude/rules/style.md');
      const churn = (await call(s, 'search_memory', { query: 'CHURN' })).json();
      expect(churn.matches).toEqual([expect.objectContaining({ file: 'server/docs/knowledge.md', text: 'Customers churn after 90 days without an order.' })]);
      const none = (await call(s, 'search_memory', { query: 'kubernetes' })).json();
      expect(none.matches).toEqual([]);
      expect(none.searched.files_count).toBeGreaterThanOrEqual(3);
    } finally {
      await s.close();
    }
  });

  test('sync brings a change from the server, and query sees it in the same session', async () => {
    await putServerTable(server, 'sales', 'customers', "SELECT i AS customer_id, 'customer ' || i AS name FROM range(60) t(i)");
    const s = await connect();
    try {
      expect((await call(s, 'query', { sql: 'SELECT count(*)::INTEGER FROM sales.customers' })).json().rows).toEqual([[50]]);
      const progress: { progress: number; total?: number }[] = [];
      const r = await s.client.callTool({ name: 'sync', arguments: {} }, undefined, { onprogress: (p) => progress.push(p) });
      expect(r.isError).toBeFalsy();
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)!.total).toBeGreaterThan(0);
      const [summary, report] = (r.content as { text: string }[]).map((c) => c.text);
      expect(summary).toContain('synced: 0 added, 1 changed');
      expect(JSON.parse(report!).tables.changed).toEqual([expect.objectContaining({ id: 'sales.customers', rows_before: 50, rows_after: 60 })]);
      expect((await call(s, 'query', { sql: 'SELECT count(*)::INTEGER FROM sales.customers' })).json().rows).toEqual([[60]]);
      expect((await call(s, 'query', { sql: 'SELECT note FROM my_notes' })).json().rows).toEqual([['keep me']]);
    } finally {
      await s.close();
    }
  });

  test('with the server stopped, everything but sync works offline; sync is a clear tool error', async () => {
    await server.stop();
    serverUp = false;
    const s = await connect();
    try {
      expect((await call(s, 'list_tables')).json().table_count).toBe(3);
      expect((await call(s, 'describe_table', { table: 'orders' })).json().rows).toBe(1000);
      expect((await call(s, 'query', { sql: 'SELECT sum(amount)::DOUBLE FROM sales.orders' })).json().rows).toEqual([[1748250]]);
      expect((await call(s, 'search_memory', { query: 'refunds' })).json().matches[0].file).toBe('server/docs/rules/revenue.md');
      expect((await s.client.readResource({ uri: 'da://skills/sync' })).contents[0]).toMatchObject({ text: SKILLS.sync! });

      const sync = await call(s, 'sync');
      expect(sync.isError).toBe(true);
      expect(sync.text).toStartWith(`cannot reach ${server.url}`);
      expect(sync.text).toContain('Nothing was synced; the local data (last synced ');
      expect(sync.text).toContain('stays usable offline');
      // Still serving after the failure.
      expect((await call(s, 'query', { sql: 'SELECT count(*)::INTEGER FROM customers' })).json().rows).toEqual([[60]]);
      expect(s.wireErrors).toEqual([]);
      expect(s.stderr()).toContain('da mcp: sync: cannot reach');
    } finally {
      await s.close();
    }
  });
});
