import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/server.ts';
import { createDaSandbox, ensureCliBuilt, type DaSandbox } from './helpers/cli.ts';
import { putServerTable, setDatasetAccess } from './helpers/cli-data.ts';
import { spawnServer, type SpawnedServer } from './helpers/spawn.ts';
import { errorLines } from '../cli/commands/sync.ts';

/**
 * `da sync` over a network that fails: connections dropped mid-body, reset before the answer,
 * responses that stall, 503s, and a real server killed and restarted on the same port in the
 * middle of a sync. Each is retried (resuming from the bytes on disk) and the sync completes.
 */
const rowsSql = (rows: number, salt: number) =>
  `SELECT i AS id, md5((i * ${salt})::VARCHAR) || md5((i + ${salt})::VARCHAR) AS payload FROM range(${rows}) t(i)`;
const sha256 = (path: string) => new Bun.CryptoHasher('sha256').update(readFileSync(path)).digest('hex');

async function waitFor(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

type Fault = 'drop' | 'stall' | '503' | 'reset';
const CUT_AT = 1536 * 1024;

/**
 * A TCP proxy in front of a server that applies one fault per download request, in the order
 * listed for its table: `drop` resets the connection after 1.5 MiB of the answer, `stall`
 * sends 1.5 MiB and then nothing, `503` answers 503 itself, `reset` resets before any answer.
 */
function faultyProxy(upstreamPort: number, faults: Record<string, Fault[]>) {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let fault: Fault | undefined;
    let sent = 0;
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => {
      const text = d.toString('latin1', 0, 200);
      if (/^[A-Z]+ \//.test(text)) {
        const id = /^GET \/api\/data\/([^/]+)\/download/.exec(text)?.[1];
        if (id) requests.push(id);
        fault = id ? faults[id]?.shift() : undefined;
        sent = 0;
        if (fault === 'reset') return void (client.resetAndDestroy(), upstream.destroy());
        if (fault === '503') return void client.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n', () => upstream.destroy());
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if ((fault === 'drop' || fault === 'stall') && sent + d.byteLength >= CUT_AT) {
        client.write(d.subarray(0, CUT_AT - sent));
        if (fault === 'drop') client.resetAndDestroy(), upstream.destroy();
        else upstream.pause();
        sent = CUT_AT;
        return;
      }
      sent += d.byteLength;
      client.write(d);
    });
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return {
    requests,
    listen: () => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))),
    stop() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('connections that drop, stall or answer 503', () => {
  let server: TestServer;
  let da: DaSandbox;
  let proxy: ReturnType<typeof faultyProxy>;

  beforeAll(async () => {
    [server] = await Promise.all([startTestServer(), ensureCliBuilt()]);
    await putServerTable(server, 'net', 'dropped', rowsSql(100_000, 3));
    await putServerTable(server, 'net', 'unavailable', rowsSql(60_000, 5));
    await putServerTable(server, 'net', 'reset', rowsSql(20_000, 7));
    const analyst = await server.createUser('analyst');
    await setDatasetAccess(server, analyst.id, 'net', 'read');
    proxy = faultyProxy(Number(new URL(server.url).port), {
      'net.dropped': ['drop', 'stall', 'drop'],
      'net.unavailable': ['503', '503'],
      'net.reset': ['reset'],
    });
    const port = await proxy.listen();
    da = createDaSandbox({
      DA_SERVER: `http://127.0.0.1:${port}`, DA_TOKEN: analyst.token, DA_SYNC_BACKOFF_MS: '10', DA_SYNC_TIMEOUT_SECONDS: '1',
    });
  });

  afterAll(async () => {
    proxy?.stop();
    da?.cleanup();
    await server?.stop();
  });

  test('each table is retried, resumes from the bytes on disk, and the sync completes with nothing downloaded twice', async () => {
    const r = await da.run(['sync', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = r.json();
    expect(report.tables.added.map((t: { id: string }) => t.id)).toEqual(['net.dropped', 'net.reset', 'net.unavailable']);
    expect(report.tables.resumed).toEqual(['net.dropped']);
    const files = ['dropped', 'unavailable', 'reset'].map((t) => [join(da.workspace, 'server', 'parquet', 'net', `${t}.parquet`), join(server.dataDir, 'parquet', 'net', `${t}.parquet`)]);
    for (const [mine, theirs] of files) expect(sha256(mine!)).toBe(sha256(theirs!));
    // Bytes that reached the disk before a drop or a stall were kept, not fetched again.
    expect(report.bytes_downloaded).toBe(files.reduce((n, [, theirs]) => n + Bun.file(theirs!).size, 0));
    const tries = (id: string) => proxy.requests.filter((x) => x === id).length;
    expect([tries('net.dropped'), tries('net.unavailable'), tries('net.reset')]).toEqual([4, 3, 2]);
  });
});

describe('a server restarted in the middle of a sync', () => {
  let dataDir: string;
  let port: number;
  let token: string;
  let live: SpawnedServer;
  let da: DaSandbox;
  const tables = ['t1', 't2', 't3', 't4'];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'da-restart-'));
    const [seed] = await Promise.all([startTestServer({ DA_DATA_DIR: dataDir }), ensureCliBuilt()]);
    for (const [i, t] of tables.entries()) await putServerTable(seed, 'big', t, rowsSql(150_000, 3 + i));
    const analyst = await seed.createUser('analyst');
    await setDatasetAccess(seed, analyst.id, 'big', 'read');
    token = analyst.token;
    await seed.stop();
    // The OS picks the port; the restart below binds the same one again.
    live = await spawnServer({ ...serverEnv(), PORT: '0' });
    port = Number(new URL(live.url).port);
    da = createDaSandbox({ DA_SERVER: `http://127.0.0.1:${port}`, DA_TOKEN: token, DA_SYNC_BACKOFF_MS: '20' });
  });

  afterAll(async () => {
    if (live && live.child.exitCode === null) {
      live.child.kill('SIGKILL');
      await live.exited;
    }
    da?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const serverEnv = () => ({ DA_DATA_DIR: dataDir, DA_CONFIG: join(dataDir, 'instance.test.yaml'), DA_ADMIN_EMAIL: ADMIN_EMAIL, DA_ADMIN_PASSWORD: ADMIN_PASSWORD, PORT: String(port) });

  test('the sync keeps trying while the server is down and finishes every table once it is back', async () => {
    const child = da.spawn(['sync', '--json', '--concurrency', '1']);
    const parquetDir = join(da.workspace, 'server', 'parquet', 'big');
    const listed = () => (existsSync(parquetDir) ? readdirSync(parquetDir) : []);
    await waitFor('the first download to start', () => listed().some((f) => f.endsWith('.part')) || child.exitCode !== null);

    // Freeze the server, check the sync is still mid-way, then kill it: its connections drop.
    live.child.kill('SIGSTOP');
    expect(child.exitCode).toBeNull();
    expect(listed().filter((f) => f.endsWith('.parquet')).length).toBeLessThan(tables.length);
    live.child.kill('SIGKILL');
    await live.exited;

    // While it is down, whatever listens on the port resets every connection; wait for retries.
    let attempts = 0;
    const placeholder = createServer((s) => {
      attempts++;
      s.resetAndDestroy();
    });
    await new Promise<void>((resolve) => placeholder.listen(port, '127.0.0.1', () => resolve()));
    await waitFor('da sync to retry twice', () => attempts >= 2);
    await new Promise<void>((resolve) => placeholder.close(() => resolve()));

    live = await spawnServer(serverEnv());
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.tables.added.map((t: { id: string }) => t.id)).toEqual(tables.map((t) => `big.${t}`));
    for (const t of tables) expect(sha256(join(parquetDir, `${t}.parquet`))).toBe(sha256(join(dataDir, 'parquet', 'big', `${t}.parquet`)));
    expect(listed().filter((f) => f.includes('.part'))).toEqual([]);
  });
});

describe('errors on the terminal', () => {
  test('tables that fail alike share one line, and there are never more than a handful of lines', () => {
    const disk = 'the disk is full (/w, 0 B free); free some space and run da sync again';
    const lines = errorLines([
      ...Array.from({ length: 40 }, (_, i) => ({ id: `s.t${i}`, message: disk, reason: 'disk_full' })),
      ...Array.from({ length: 20 }, (_, i) => ({ id: `x.bad${i}`, message: `downloaded file has sha256 ${i}` })),
    ]);
    expect(lines[0]).toBe(`da: s.t0, s.t1, s.t2, s.t3 and 36 more: ${disk}`);
    expect(lines.length).toBeLessThanOrEqual(6);
    expect(lines.at(-1)).toMatch(/^da: and 16 more failed \(x\.bad4, .*\); see da sync --json$/);
  });
});
