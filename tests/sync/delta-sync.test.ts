import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createDaSandbox, type DaSandbox } from '../helpers/cli.ts';
import { setDatasetAccess } from '../helpers/cli-data.ts';
import { testYaml } from '../helpers/data.ts';
import { ManifestSchema } from '../../src/sync/manifest-schema.ts';
import { runReadOnlyQuery } from '../../cli/mcp/query.ts';
import { workspacePaths } from '../../cli/workspace.ts';
import { sandboxStatus } from '../../src/scripts/sandbox.ts';

// Delta sync end to end: a local source file changes (rows appended, updated, deleted), the
// server syncs it and keeps a base + delta parts, and `da sync` fetches only the parts and
// keeps them beside its file, its views merging them on the key at query time; local results
// (da query, the MCP query tool, da explore) must equal the server's POST /api/query results exactly.

const N = 100_000;
const TABLE = 'src.events';
let server: TestServer;
let da: DaSandbox;
let sourceDir: string;
let analyst: { id: string; token: string; email: string; password: string };
/** A proxy in front of the server that can corrupt part downloads. */
let proxy: ReturnType<typeof Bun.serve>;
let corruptParts = false;
let partsGone = false;
/** Part downloads whose first response stalls half-way (then served whole): the paths already cut. */
let cutParts = false;
const cut = new Set<string>();

/** The source rows: ids 0..n-1 minus `deleted`, payloads changed for `updated`, `tag` marks a version. */
function sourceSql(v: { n: number; updatedMod?: number; updatedTag?: string; deletedMod?: number; extra?: string }): string {
  const payload = `md5(i::VARCHAR) || md5((i * 7)::VARCHAR)`;
  const upd = v.updatedMod ? `CASE WHEN i % ${v.updatedMod} = 0 THEN '${v.updatedTag}-' || ${payload} ELSE ${payload} END` : payload;
  const del = v.deletedMod ? `WHERE i % ${v.deletedMod} <> 1` : '';
  return `SELECT i::BIGINT AS id, ${upd} AS payload, (i % 1000)::DOUBLE AS amount FROM range(${v.n}) t(i) ${del} ${v.extra ?? ''}`;
}

async function writeSource(sql: string): Promise<void> {
  const target = join(sourceDir, 'events.parquet');
  const tmp = join(sourceDir, '.events.tmp');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`COPY (${sql}) TO '${tmp}' (FORMAT parquet, COMPRESSION zstd)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  renameSync(tmp, target);
}

async function serverSync(): Promise<void> {
  const job = await server.services.sync.runNow({ tables: [TABLE] });
  expect(job.status).toBe('succeeded');
}

async function manifest() {
  const res = await server.fetch('/api/sync/manifest', { token: analyst.token });
  return ManifestSchema.parse(await res.json());
}

const localFile = () => join(da.workspace, 'server', 'parquet', 'src', 'events.parquet');
const localParts = () => join(da.workspace, 'server', 'parts', 'src', 'events');
const keptParts = () => (existsSync(localParts()) ? readdirSync(localParts()).sort((a, b) => parseInt(a) - parseInt(b)) : []);
const sha = (path: string) => new Bun.CryptoHasher('sha256').update(readFileSync(path)).digest('hex');
const DIGEST = `SELECT count(*)::BIGINT AS n, md5(string_agg(id || '|' || payload || '|' || amount, ',' ORDER BY id)) AS digest FROM src.events`;
// Every row a change touched (and some that stayed), in key order.
const TOUCHED = `SELECT * FROM src.events WHERE id % 200 = 0 OR id % 400 = 1 OR id % 300 = 0 OR id % 500 = 1 OR id >= ${N} ORDER BY id LIMIT 5000`;

/** `da query`, the MCP query tool and `da explore` see exactly the server's rows and columns. */
async function expectSameAsServer(...more: string[]): Promise<void> {
  for (const sql of [DIGEST, TOUCHED, ...more]) {
    const res = await server.fetch('/api/query', { method: 'POST', token: analyst.token, json: { sql, limit: 5000 } });
    expect(res.status).toBe(200);
    const remote = (await res.json()) as { rows: unknown[][]; columns: { name: string; type: string }[] };
    const local = await da.runInProcess(['query', '--json', '--limit', '5000', sql]);
    expect(local.code).toBe(0);
    expect(local.json().rows).toEqual(remote.rows);
    expect(local.json().columns).toEqual(remote.columns);
    // The MCP query tool runs locked down to the workspace's data folders, parts included.
    const mcp = await runReadOnlyQuery(workspacePaths(da.workspace), sql, { limit: 5000, timeoutMs: 30_000, maxBytes: 50_000_000 });
    expect(mcp.rows).toEqual(remote.rows);
  }
  const explored = await da.runInProcess(['explore', TABLE, '--json']);
  expect(explored.code).toBe(0);
  const m = (await manifest()).tables[TABLE]!;
  expect(explored.json().rows).toBe(m.rows);
}

async function daSync(env: Record<string, string> = {}) {
  const r = await da.runInProcess(['sync', '--json'], { env });
  return { r, report: r.json() };
}

beforeAll(async () => {
  sourceDir = mkdtempSync(join(tmpdir(), 'da-delta-src-'));
  await writeSource(sourceSql({ n: N }));
  server = await startTestServer({}, {
    yaml: testYaml(`sources:\n  src: { type: local, path: "${sourceDir}", tables: { events: { primary_key: [id] } } }\n`),
  });
  // Registered by the first sync; then switched to incremental with a key (every pull is full here:
  // no watermark column, so deletes at the source reach the server's file).
  const first = await server.services.sync.runNow();
  expect(first.status).toBe('succeeded');
  const reg = await server.fetch(`/api/tables/${TABLE}`, { method: 'PATCH', token: server.adminToken, json: { sync_strategy: 'incremental', primary_key: ['id'] } });
  expect(reg.status).toBe(200);
  await serverSync();
  analyst = await server.createUser('analyst');
  await setDatasetAccess(server, analyst.id, 'src', 'read');
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
      if (partsGone && url.pathname.includes('/parts/')) {
        await upstream.body?.cancel();
        return Response.json({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'part not found' }, { status: 404, headers: { 'content-type': 'application/problem+json' } });
      }
      if (cutParts && url.pathname.includes('/parts/') && upstream.status === 200 && !cut.has(url.pathname)) {
        cut.add(url.pathname);
        const bytes = new Uint8Array(await upstream.arrayBuffer());
        const half = bytes.slice(0, Math.floor(bytes.length / 2));
        // Half the bytes, then nothing: the client's idle timeout cuts the connection.
        let sent = false;
        const body = new ReadableStream<Uint8Array>({
          pull(c) {
            if (sent) return new Promise<void>(() => {});
            sent = true;
            c.enqueue(half);
          },
        });
        return new Response(body, { status: 200, headers: upstream.headers });
      }
      if (!(corruptParts && url.pathname.includes('/parts/') && upstream.status === 200)) return upstream;
      const bytes = new Uint8Array(await upstream.arrayBuffer());
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      return new Response(bytes, { status: 200, headers: upstream.headers });
    },
  });
  da = createDaSandbox();
  const login = await da.runInProcess(['login', '--server', `http://127.0.0.1:${proxy.port}`, '--email', analyst.email, '--password', analyst.password]);
  if (login.code !== 0) throw new Error(login.stderr);
});

afterAll(async () => {
  proxy?.stop(true);
  da?.cleanup();
  await server?.stop().catch(() => {});
  rmSync(sourceDir, { recursive: true, force: true });
});

describe('delta sync', () => {
  test('the manifest lists a base for an incremental table with a key; the first da sync takes the full file', async () => {
    const m = (await manifest()).tables[TABLE]!;
    expect(m.parts).toBeDefined();
    expect(m.parts!.primary_key).toEqual(['id']);
    expect(m.parts!.base.hash).toBe(m.hash);
    expect(m.parts!.deltas).toEqual([]);
    expect(m.size_bytes!).toBeGreaterThan(2_000_000);
    const { r, report } = await daSync();
    expect(r.code).toBe(0);
    expect(report.tables.added.map((t: { id: string }) => t.id)).toEqual([TABLE]);
    await expectSameAsServer();
  });

  test('a 1% change (appended, updated, deleted rows) downloads only the delta part, merged exactly', async () => {
    // 500 updated, 250 deleted, 250 appended: 1,000 of 100,000 rows.
    await writeSource(sourceSql({ n: N, updatedMod: 200, updatedTag: 'v1', deletedMod: 400, extra: `UNION ALL ${sourceSql({ n: N + 250 }).replace('range(', `range(${N}, `)}` }));
    await serverSync();
    const m = (await manifest()).tables[TABLE]!;
    expect(m.parts!.deltas.length).toBe(1);
    const d = m.parts!.deltas[0]!;
    expect({ ins: d.rows_inserted, upd: d.rows_updated, del: d.rows_deleted }).toEqual({ ins: 250, upd: 500, del: 250 });
    expect(d.full_hash).toBe(m.hash);

    const baseHash = sha(localFile());
    const { r, report } = await daSync();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const changed = report.tables.changed.find((c: { id: string }) => c.id === TABLE);
    expect(changed).toMatchObject({ via: 'delta', rows_added: 250, rows_changed: 500, rows_removed: 250, rows_after: N });
    // The table's bytes are the part's; the rest of bytes_downloaded is the refreshed profile.
    expect(changed.bytes).toBe(d.size_bytes);
    expect(report.bytes_downloaded).toBeLessThanOrEqual(0.05 * m.size_bytes!);
    // Nothing is rewritten: the file stays as downloaded, the part is kept beside it and the views merge them.
    expect(sha(localFile())).toBe(baseHash);
    expect(keptParts()).toEqual([`${d.seq}.parquet`]);
    expect(sha(join(localParts(), `${d.seq}.parquet`))).toBe(d.hash);
    await expectSameAsServer();
    // The base keeps its own hash and the part the server's: --verify and `da status --verify` know them as synced.
    const verified = await da.runInProcess(['sync', '--json', '--verify']);
    expect(verified.json().tables).toMatchObject({ changed: [], added: [], unchanged: 1 });
    const status = await da.runInProcess(['status', '--verify']);
    expect(status.stdout).not.toContain('damaged');
  });

  test('several deltas in a row, each fetched alone; a client two deltas behind fetches both', async () => {
    await writeSource(sourceSql({ n: N, updatedMod: 300, updatedTag: 'v2', deletedMod: 400 }));
    await serverSync();
    const one = await daSync();
    expect(one.report.tables.changed[0]).toMatchObject({ via: 'delta' });
    await expectSameAsServer();

    // Two more deltas while the client is away: the next sync fetches both.
    await writeSource(sourceSql({ n: N, updatedMod: 300, updatedTag: 'v3', deletedMod: 500 }));
    await serverSync();
    await writeSource(sourceSql({ n: N + 10, updatedMod: 300, updatedTag: 'v4', deletedMod: 500 }));
    await serverSync();
    const m = (await manifest()).tables[TABLE]!;
    expect(m.parts!.deltas.map((x) => x.seq)).toEqual([...m.parts!.deltas.map((x) => x.seq)].sort((a, b) => a - b));
    expect(m.parts!.deltas.length).toBe(4);
    const both = await daSync();
    expect(both.r.code).toBe(0);
    const c = both.report.tables.changed[0];
    const last2 = m.parts!.deltas.slice(2);
    expect(c.via).toBe('delta');
    expect(c.bytes).toBe(last2[0]!.size_bytes + last2[1]!.size_bytes);
    expect(c.rows_added).toBe(last2[0]!.rows_inserted + last2[1]!.rows_inserted);
    expect(c.rows_removed).toBe(last2[0]!.rows_deleted + last2[1]!.rows_deleted);
    await expectSameAsServer();
  });

  test('the part route serves a listed part by hash (ETag, 304, Range) and nothing else', async () => {
    const m = (await manifest()).tables[TABLE]!;
    const d = m.parts!.deltas[0]!;
    const res = await server.fetch(d.url, { token: analyst.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${d.hash}"`);
    const body = new Uint8Array(await res.arrayBuffer());
    expect(new Bun.CryptoHasher('sha256').update(body).digest('hex')).toBe(d.hash);
    expect((await server.fetch(d.url, { token: analyst.token, headers: { 'if-none-match': `"${d.hash}"` } })).status).toBe(304);
    expect((await server.fetch(d.url, { token: analyst.token, headers: { range: 'bytes=0-3' } })).status).toBe(206);
    expect((await server.fetch(`/api/data/${TABLE}/parts/999999`, { token: analyst.token })).status).toBe(404);
    expect((await server.fetch(`/api/data/${TABLE}/parts/..%2f1`, { token: analyst.token })).status).toBe(422);
    expect((await server.fetch(d.url)).status).toBe(401);
    const viewer = await server.createUser('viewer');
    expect((await server.fetch(d.url, { token: viewer.token })).status).toBe(403);
    const outsider = await server.createUser('analyst');
    expect((await server.fetch(d.url, { token: outsider.token })).status).toBe(404);
  });

  test('an old client (manifest read without parts) still gets the single full file', async () => {
    const body = (await (await server.fetch('/api/sync/manifest', { token: analyst.token })).json()) as {
      tables: Record<string, { hash: string; url: string; rows: number }>;
    };
    const t = body.tables[TABLE]!;
    const file = new Uint8Array(await (await server.fetch(t.url, { token: analyst.token })).arrayBuffer());
    expect(new Bun.CryptoHasher('sha256').update(file).digest('hex')).toBe(t.hash);
    expect(new Bun.CryptoHasher('sha256').update(readFileSync(join(server.dataDir, 'parquet', 'src', 'events.parquet'))).digest('hex')).toBe(t.hash);

    // `da` told to ignore parts (as a da without them) downloads the whole file.
    const other = createDaSandbox();
    try {
      expect((await other.runInProcess(['login', '--server', server.url, '--email', analyst.email, '--password', analyst.password])).code).toBe(0);
      await writeSource(sourceSql({ n: N + 10, updatedMod: 300, updatedTag: 'v5', deletedMod: 500 }));
      const first = await other.runInProcess(['sync', '--json']);
      expect(first.code).toBe(0);
      await serverSync();
      const again = await other.runInProcess(['sync', '--json'], { env: { DA_SYNC_PARTS: 'off' } });
      expect(again.code).toBe(0);
      const m = (await manifest()).tables[TABLE]!;
      expect(again.json().tables.changed[0]).toMatchObject({ via: 'full', rows_added: null });
      expect(again.json().tables.changed[0].bytes).toBe(m.size_bytes);
      expect(new Bun.CryptoHasher('sha256').update(readFileSync(join(other.workspace, 'server', 'parquet', 'src', 'events.parquet'))).digest('hex')).toBe(m.hash);
    } finally {
      other.cleanup();
    }
    const caughtUp = await daSync();
    expect(caughtUp.report.tables.changed[0]).toMatchObject({ via: 'delta' });
    await expectSameAsServer();
  });

  test('a corrupted part: one clear error line, previous data intact; the next sync repairs', async () => {
    const before = readFileSync(localFile());
    await writeSource(sourceSql({ n: N + 10, updatedMod: 250, updatedTag: 'v6', deletedMod: 500 }));
    await serverSync();
    corruptParts = true;
    let failed;
    try {
      failed = await da.runInProcess(['sync', '--json']);
    } finally {
      corruptParts = false;
    }
    expect(failed.code).toBe(1);
    const errors = failed.json().errors as { id: string; message: string; reason: string }[];
    expect(errors).toHaveLength(1);
    expect(errors[0]!.id).toBe(TABLE);
    expect(errors[0]!.reason).toBe('hash_mismatch');
    expect(errors[0]!.message).not.toContain('\n');
    expect(Buffer.compare(readFileSync(localFile()), before)).toBe(0);
    const m = (await manifest()).tables[TABLE]!;
    expect(keptParts()).not.toContain(`${m.parts!.deltas.at(-1)!.seq}.parquet`);
    const human = await da.runInProcess(['query', '--json', 'SELECT count(*)::BIGINT AS n FROM src.events']);
    expect(human.code).toBe(0);

    const repaired = await daSync();
    expect(repaired.r.code).toBe(0);
    expect(repaired.report.tables.changed[0]).toMatchObject({ via: 'delta' });
    await expectSameAsServer();
  });

  test('a part gone between the manifest and its download (a compaction in between): the full file instead', async () => {
    await writeSource(sourceSql({ n: N + 10, updatedMod: 250, updatedTag: 'v6b', deletedMod: 500 }));
    await serverSync();
    partsGone = true;
    let r;
    try {
      r = await da.runInProcess(['sync', '--json']);
    } finally {
      partsGone = false;
    }
    expect(r.code).toBe(0);
    const m = (await manifest()).tables[TABLE]!;
    expect(r.json().tables.changed[0]).toMatchObject({ via: 'full', bytes: m.size_bytes });
    await expectSameAsServer();
    // The full file carries the chain: the next change is a delta again.
    await writeSource(sourceSql({ n: N + 10, updatedMod: 250, updatedTag: 'v6c', deletedMod: 500 }));
    await serverSync();
    expect((await daSync()).report.tables.changed[0]).toMatchObject({ via: 'delta' });
  });

  test('a key updated, then deleted, then inserted again over three deltas: the latest part wins', async () => {
    const base = sourceSql({ n: N + 10, updatedMod: 250, updatedTag: 'v6c', deletedMod: 500 });
    const KEYS = `SELECT * FROM src.events WHERE id % 1000 = 3 ORDER BY id`;
    await writeSource(`SELECT id, CASE WHEN id % 1000 = 3 THEN 'u1' ELSE payload END AS payload, amount FROM (${base})`);
    await serverSync();
    const one = await daSync();
    expect(one.report.tables.changed[0]).toMatchObject({ via: 'delta', rows_changed: 101 });
    await expectSameAsServer(KEYS);
    const kept = keptParts().length;

    // Deleted, then back with other values, while the client is away: it fetches both.
    await writeSource(`SELECT * FROM (${base}) WHERE id % 1000 <> 3`);
    await serverSync();
    await writeSource(`SELECT id, CASE WHEN id % 1000 = 3 THEN 'r3' ELSE payload END AS payload, amount + CASE WHEN id % 1000 = 3 THEN 0.5 ELSE 0 END AS amount FROM (${base})`);
    await serverSync();
    const m = (await manifest()).tables[TABLE]!;
    const both = await daSync();
    expect(both.r.code).toBe(0);
    expect(both.report.tables.changed[0]).toMatchObject({ via: 'delta', rows_removed: 101, rows_added: 101, rows_before: m.rows, rows_after: m.rows });
    expect(keptParts()).toHaveLength(kept + 2);
    await expectSameAsServer(KEYS, `SELECT count(*) FILTER (WHERE payload = 'r3')::BIGINT AS r3, sum(amount) AS amount FROM src.events`);

    // A local script reads files, not views: it gets the merge (written for the run, then removed).
    if (sandboxStatus().available) {
      writeFileSync(join(da.workspace, 'merged.sql'), `SELECT count(*) AS n, count(*) FILTER (WHERE payload = 'r3') AS r3 FROM src.events`);
      const run = await da.runInProcess(['scripts', 'run', 'merged.sql', '--local', '--json']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.json().stdout).toBe(`n,r3\n${m.rows},101\n`);
      expect(readdirSync(join(da.workspace, 'user', 'scripts')).filter((f) => f.startsWith('.merged'))).toEqual([]);
    }
  });

  test('a damaged kept part: da status --verify says so, and the next sync downloads the full file and drops the parts', async () => {
    const [first] = keptParts();
    const file = join(localParts(), first!);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(file, bytes);
    const status = await da.runInProcess(['status', '--json', '--verify', '--local']);
    expect(status.json().damaged_files).toEqual([TABLE]);
    const m = (await manifest()).tables[TABLE]!;
    const { r, report } = await daSync();
    expect(r.stderr).toBe('');
    expect(report.errors).toEqual([]);
    expect(r.code).toBe(0);
    expect(report.tables.changed[0]).toMatchObject({ via: 'full', reason: 'local file corrupt', bytes: m.size_bytes });
    expect(keptParts()).toEqual([]);
    await expectSameAsServer();
    expect((await da.runInProcess(['status', '--json', '--verify', '--local'])).json().damaged_files).toEqual([]);
    // The file downloaded again still knows its chain: the next change is a delta again.
    await writeSource(sourceSql({ n: N + 15, updatedMod: 250, updatedTag: 'v6d', deletedMod: 500 }));
    await serverSync();
    expect((await daSync()).report.tables.changed[0]).toMatchObject({ via: 'delta', rows_added: 5 });
    await expectSameAsServer();
  });

  test('a connection cut mid-part: without retries one error line and the old views keep working; the next sync resumes the part', async () => {
    await writeSource(sourceSql({ n: N + 20, updatedMod: 250, updatedTag: 'v6e', deletedMod: 500 }));
    await serverSync();
    const m = (await manifest()).tables[TABLE]!;
    const last = m.parts!.deltas.at(-1)!;
    const before = await da.runInProcess(['query', '--json', DIGEST]);
    cutParts = true;
    let failed;
    try {
      failed = await da.runInProcess(['sync', '--json'], { env: { DA_SYNC_RETRY_SECONDS: '0', DA_SYNC_TIMEOUT_SECONDS: '1' } });
    } finally {
      cutParts = false;
    }
    expect(failed.code).toBe(1);
    // The server counts as gone: the table fails, and the downloads after it (the profile) with the same line.
    const errors = failed.json().errors as { id: string; message: string; reason: string }[];
    expect(errors[0]).toMatchObject({ id: TABLE, reason: 'unreachable' });
    expect(new Set(errors.map((e) => e.message)).size).toBe(1);
    expect(errors[0]!.message).not.toContain('\n');
    // Nothing recorded: the old views read the old files; the cut part waits to be resumed.
    expect((await da.runInProcess(['query', '--json', DIGEST])).json().rows).toEqual(before.json().rows);
    expect(keptParts()).toContain(`${last.seq}.parquet.part`);
    expect(keptParts()).not.toContain(`${last.seq}.parquet`);
    const have = statSync(join(localParts(), `${last.seq}.parquet.part`)).size;
    expect(have).toBe(Math.floor(last.size_bytes / 2));

    const resumed = await daSync();
    expect(resumed.r.code).toBe(0);
    // Only the half that was missing comes over the wire.
    expect(resumed.report.tables.changed[0]).toMatchObject({ via: 'delta', rows_added: 5 });
    expect(resumed.report.tables.changed[0].bytes).toBe(last.size_bytes - have);
    expect(resumed.report.tables.resumed).toEqual([TABLE]);
    expect(keptParts().filter((f) => f.endsWith('.part') || f.endsWith('.json'))).toEqual([]);
    await expectSameAsServer();
  });

  test('a connection cut mid-part with retries on: the same sync resumes it', async () => {
    await writeSource(sourceSql({ n: N + 25, updatedMod: 250, updatedTag: 'v6f', deletedMod: 500 }));
    await serverSync();
    const cutBefore = cut.size;
    cutParts = true;
    let r;
    try {
      r = await daSync({ DA_SYNC_BACKOFF_MS: '10', DA_SYNC_TIMEOUT_SECONDS: '1' });
    } finally {
      cutParts = false;
    }
    expect(r.r.code).toBe(0);
    expect(r.report.tables.changed[0]).toMatchObject({ via: 'delta', rows_added: 5 });
    expect(cut.size).toBe(cutBefore + 1);
    await expectSameAsServer();
  });

  test('compaction: when the deltas outgrow half the base, a new base; the client falls back to the full file', async () => {
    // Change 60% of the rows: the delta alone passes the ratio.
    await writeSource(sourceSql({ n: N + 10, updatedMod: 1, updatedTag: 'v7', deletedMod: 500 }).replace(`CASE WHEN i % 1 = 0`, `CASE WHEN i % 5 < 3`));
    await serverSync();
    const m = (await manifest()).tables[TABLE]!;
    expect(m.parts!.deltas).toEqual([]);
    expect(m.parts!.base.hash).toBe(m.hash);
    const partsDir = join(server.dataDir, 'parts', 'src', 'events');
    expect(readdirCount(partsDir)).toBe(1);
    const { r, report } = await daSync();
    expect(r.code).toBe(0);
    expect(report.tables.changed[0]).toMatchObject({ via: 'full' });
    expect(report.tables.changed[0].bytes).toBe(m.size_bytes);
    // The new full file replaces the base and the parts kept for the old one.
    expect(keptParts()).toEqual([]);
    expect(sha(localFile())).toBe(m.hash);
    await expectSameAsServer();

    // And deltas start again from the new base.
    await writeSource(sourceSql({ n: N + 20, updatedMod: 5, updatedTag: 'v7', deletedMod: 500 }).replace(`CASE WHEN i % 5 = 0`, `CASE WHEN i % 5 < 3`));
    await serverSync();
    const next = await daSync();
    expect(next.report.tables.changed[0]).toMatchObject({ via: 'delta', rows_added: 10 });
    expect(sha(localFile())).toBe(m.hash);
    expect(keptParts()).toHaveLength(1);
    await expectSameAsServer();
  });

  test('part files gone (a restored backup holds only full files): no parts offered until the next sync makes a new base', async () => {
    rmSync(join(server.dataDir, 'parts'), { recursive: true, force: true });
    await writeSource(sourceSql({ n: N + 30, updatedMod: 5, updatedTag: 'v8', deletedMod: 500 }));
    await serverSync();
    const m = (await manifest()).tables[TABLE]!;
    expect(m.parts!.deltas).toEqual([]);
    expect(m.parts!.base.hash).toBe(m.hash);
    const { r, report } = await daSync();
    expect(r.code).toBe(0);
    expect(report.tables.changed[0]).toMatchObject({ via: 'full' });
    await expectSameAsServer();
  });
});

function readdirCount(dir: string): number {
  return require('node:fs').readdirSync(dir).length;
}
