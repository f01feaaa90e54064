/**
 * `da mcp` query round trip vs `da query` on the same SQL, in a workspace synced from a real
 * server: an agent's `tools/call query` to a running `da mcp` (the SDK's client over stdio;
 * the server opens the database read-only, locks it down, runs the SELECT and answers JSON)
 * against spawning `da query --json` (process start, open, run, print). Goal: ≤ 1×.
 *
 * @example bun bench/mcp-query.ts --rows 1000000 --runs 30
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
// The server first: its OpenAPI layer extends zod before the CLI's modules build their schemas.
import { benchTmp, median, report, seedServedTable, startBenchServer, type BenchResult } from './lib.ts';
import { ensureCliBuilt } from '../tests/helpers/cli.ts';

async function ordersParquet(rows: number): Promise<string> {
  const path = join(benchTmp('mcp-query'), `orders-${rows}.parquet`);
  if (existsSync(path)) return path;
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(
      `COPY (SELECT i AS order_id, i % 5000 AS customer_id, (i % 977) * 1.25 AS amount, DATE '2024-01-01' + (i % 730)::INTEGER AS day
             FROM range(${rows}) t(i)) TO '${path}.tmp' (FORMAT parquet)`,
    );
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  renameSync(`${path}.tmp`, path);
  return path;
}

export async function benchMcpQuery({ rows = 1_000_000, runs = 30 } = {}): Promise<BenchResult> {
  const bin = await ensureCliBuilt();
  const source = await ordersParquet(rows);
  const server = await startBenchServer({ datasets: ['bench'] });
  const home = mkdtempSync(join(tmpdir(), 'da-bench-mcp-'));
  const cwd = join(home, 'work');
  mkdirSync(cwd);
  const env = {
    PATH: '/usr/bin:/bin', HOME: home, DA_CONFIG_DIR: join(home, 'config'), DA_SERVER: server.url, DA_TOKEN: server.analystToken,
    DA_CACHE_DIR: join(tmpdir(), 'da-test-native-cache'),
  };
  let client: Client | undefined;
  try {
    await seedServedTable(server, { dataset: 'bench', table: 'orders', source, rows, columns: 4 });
    // Spawned without blocking: the server answering the sync runs in this process.
    const sync = Bun.spawn([bin, 'sync', '--quiet'], { cwd, env, stdout: 'ignore', stderr: 'pipe' });
    const [syncErr, syncCode] = await Promise.all([new Response(sync.stderr).text(), sync.exited]);
    if (syncCode !== 0) throw new Error(`da sync failed: ${syncErr}`);

    const sql = 'SELECT customer_id % 50 AS bucket, count(*) AS n, sum(amount) AS total FROM bench.orders WHERE day >= DATE \'2024-07-01\' GROUP BY ALL ORDER BY ALL';
    const viaCli = async () => {
      const t = performance.now();
      const proc = Bun.spawn([bin, 'query', '--json', sql], { cwd, env, stdout: 'pipe', stderr: 'pipe' });
      const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      const ms = performance.now() - t;
      if (code !== 0 || JSON.parse(out).row_count !== 50) throw new Error(`da query failed (${code}): ${await new Response(proc.stderr).text()}`);
      return ms;
    };

    const connectStarted = performance.now();
    const transport = new StdioClientTransport({ command: bin, args: ['mcp'], cwd, env, stderr: 'ignore' });
    client = new Client({ name: 'da-bench', version: '1.0.0' });
    await client.connect(transport);
    const connectMs = performance.now() - connectStarted;
    const viaMcp = async () => {
      const t = performance.now();
      const r = await client!.callTool({ name: 'query', arguments: { sql } });
      const ms = performance.now() - t;
      const text = (r.content as { text: string }[])[0]!.text;
      if (r.isError || JSON.parse(text).row_count !== 50) throw new Error(`mcp query failed: ${text}`);
      return ms;
    };
    const firstMcp = await viaMcp();

    for (let i = 0; i < 3; i++) {
      await viaCli();
      await viaMcp();
    }
    const ours: number[] = [];
    const base: number[] = [];
    // Interleaved, so both sides see the same machine load.
    for (let i = 0; i < runs; i++) {
      ours.push(await viaMcp());
      base.push(await viaCli());
    }
    const o = median(ours);
    const b = median(base);
    return {
      name: 'mcp-query',
      what: `An agent's \`query\` call to a running \`da mcp\` (MCP SDK client over stdio; read-only, locked-down database opened per call; JSON answer) vs \`da query --json\` spawned for the same SQL (\`${sql}\`) over ${rows.toLocaleString('en-US')} synced rows; median of ${runs} interleaved runs each, after 3 warm-up runs.`,
      ours: `${o.toFixed(1)} ms`,
      baseline: `${b.toFixed(1)} ms`,
      ratio: o / b,
      goal: '≤ 1×',
      met: o <= b,
      notes: `Starting \`da mcp\` and the MCP handshake took ${connectMs.toFixed(0)} ms once per session; its first query ${firstMcp.toFixed(0)} ms.`,
    };
  } finally {
    await client?.close().catch(() => {});
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '30' } } });
  report(await benchMcpQuery({ rows: Number(values.rows), runs: Number(values.runs) }));
}
