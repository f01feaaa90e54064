import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DA_BIN, SHARED_CACHE } from './helpers/cli.ts';
import { copyFixtures } from './helpers/fixtures.ts';
import { spawnBinaryServer, syncNow, tokenFor, type BinaryServer } from './helpers/ops.ts';

const ADMIN = { email: 'ops-admin@example.com', password: 'ops-admin-password' };

describe('da server start from the compiled binary', () => {
  let fixtures: ReturnType<typeof copyFixtures>;
  let dataDir: string;
  let server: BinaryServer;
  let token: string;

  beforeAll(async () => {
    fixtures = copyFixtures();
    dataDir = mkdtempSync(join(tmpdir(), 'da-ops-bin-'));
    server = await spawnBinaryServer({
      DA_DATA_DIR: dataDir, DA_CONFIG: fixtures.configPath, DA_ADMIN_EMAIL: ADMIN.email, DA_ADMIN_PASSWORD: ADMIN.password,
    });
    token = await tokenFor(server.url, ADMIN.email, ADMIN.password);
    expect(await syncNow(server.url, token)).toMatchObject({ status: 'succeeded' });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(fixtures.dir, { recursive: true, force: true });
  });

  test('serves the manifest of the tables it synced', async () => {
    const res = await fetch(`${server.url}/api/sync/manifest`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const manifest = (await res.json()) as { tables: Record<string, { hash: string; rows: number }> };
    expect(Object.keys(manifest.tables)).toContain('sales.orders');
    expect(manifest.tables['sales.orders']!.rows).toBeGreaterThan(0);
  });

  test('answers a query through a worker process started from the same executable', async () => {
    const res = await fetch(`${server.url}/api/query`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM sales.orders' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { rows: unknown[][] };
    expect(Number(body.rows[0]![0])).toBeGreaterThan(0);
    // The worker is this binary with the hidden worker argument, not `bun src/query/worker.ts`.
    const ps = Bun.spawnSync(['ps', '-eo', 'ppid,args']).stdout.toString();
    const workers = ps.split('\n').filter((l) => l.trim().startsWith(`${server.child.pid} `) && l.includes('__query-worker'));
    expect(workers.length).toBeGreaterThan(0);
    expect(workers[0]).toContain(DA_BIN);
  });

  test('runs TypeScript and SQL scripts in the sandbox with the Bun and the DuckDB inside the binary', async () => {
    const call = async (path: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const ts = await call('/api/scripts', { name: 'bin_ts', language: 'typescript', source: 'const n: number = 6 * 7; console.log(`answer ${n}`);' });
    expect(ts.status).toBe(201);
    const run = await call(`/api/scripts/${ts.body.id}/run?wait=true`);
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ status: 'succeeded', exit_code: 0 });
    expect(run.body.stdout).toBe('answer 42\n');
    const sql = await call('/api/scripts', { name: 'bin_sql', language: 'sql', source: 'SELECT count(*) AS n FROM sales.orders' });
    const sqlRun = await call(`/api/scripts/${sql.body.id}/run?wait=true`);
    expect(sqlRun.body).toMatchObject({ status: 'succeeded', exit_code: 0, artifacts: [expect.objectContaining({ name: 'result.csv' })] });
    expect(sqlRun.body.stdout).toMatch(/^n\n[1-9]\d*\n$/);
  });

  test('serves the docs page and its embedded Swagger UI assets', async () => {
    const page = await fetch(`${server.url}/api/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/api/docs/assets/swagger-ui-bundle.js');
    for (const [file, type] of [['swagger-ui-bundle.js', 'javascript'], ['swagger-ui.css', 'css'], ['init.js', 'javascript']] as const) {
      const res = await fetch(`${server.url}/api/docs/assets/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as { openapi: string };
    expect(doc.openapi).toBe('3.1.0');
  });

  test('serves the web pages', async () => {
    const login = await fetch(`${server.url}/login`);
    expect(login.status).toBe(200);
    expect(login.headers.get('content-type')).toContain('text/html');
    expect(await login.text()).toContain('<form');
    const home = await fetch(`${server.url}/`, { redirect: 'manual' });
    expect(home.status).toBe(302);
    expect(home.headers.get('location')).toStartWith('/login');
  });

  test('hands out its own executable at /cli/da', async () => {
    const res = await fetch(`${server.url}/cli/da`);
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const own = readFileSync(DA_BIN);
    expect(bytes.byteLength).toBe(own.byteLength);
    const hash = new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
    expect(hash).toBe(new Bun.CryptoHasher('sha256').update(own).digest('hex'));
    expect(res.headers.get('x-content-sha256')).toBe(hash);
  });

  test('backs up with the compiled da, restores elsewhere with it, and a server started there has the same data and users', async () => {
    const work = mkdtempSync(join(tmpdir(), 'da-ops-bin-backup-'));
    try {
      const env = { PATH: '/usr/bin:/bin', HOME: work, DA_CACHE_DIR: SHARED_CACHE, DA_SERVER: server.url, DA_TOKEN: token, DA_CONFIG_DIR: join(work, 'cfg') };
      const backup = Bun.spawnSync([DA_BIN, 'server', 'backup', '--out', join(work, 'b.tar.gz'), '--json'], { cwd: work, env });
      expect({ code: backup.exitCode, stderr: backup.stderr.toString() }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(backup.stdout.toString())).toMatchObject({ file: join(work, 'b.tar.gz') });
      const restore = Bun.spawnSync([DA_BIN, 'server', 'restore', join(work, 'b.tar.gz'), '--data-dir', join(work, 'restored'), '--json'], { cwd: work, env });
      expect({ code: restore.exitCode, stderr: restore.stderr.toString() }).toEqual({ code: 0, stderr: '' });
      const again = await spawnBinaryServer({ DA_DATA_DIR: join(work, 'restored'), DA_CONFIG: fixtures.configPath });
      try {
        // The signing key is not in a backup: a token of the old server is refused, signing in again works.
        expect((await fetch(`${again.url}/api/sync/manifest`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
        const t = await tokenFor(again.url, ADMIN.email, ADMIN.password);
        const manifest = async (url: string, tk: string) => {
          const m = (await (await fetch(`${url}/api/sync/manifest`, { headers: { authorization: `Bearer ${tk}` } })).json()) as { tables: Record<string, { hash: string }> };
          return Object.fromEntries(Object.entries(m.tables).map(([k, v]) => [k, v.hash]));
        };
        const restoredTables = await manifest(again.url, t);
        expect(Object.keys(restoredTables).length).toBeGreaterThan(0);
        expect(restoredTables).toEqual(await manifest(server.url, token));
        const q = await fetch(`${again.url}/api/query`, {
          method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
          body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM sales.orders' }),
        });
        expect(q.status).toBe(200);
      } finally {
        expect(await again.stop()).toBe(0);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);

  test('stops on SIGTERM with exit 0', async () => {
    const probe = await spawnBinaryServer({ DA_DATA_DIR: mkdtempSync(join(tmpdir(), 'da-ops-stop-')) });
    expect(await probe.stop()).toBe(0);
  }, 60_000);
});

describe('da server start refuses what it cannot run with one line', () => {
  test('a config file that does not exist: exit 2', async () => {
    const s = await spawnBinaryServer({ DA_CONFIG: '/nonexistent/instance.yaml' }, { waitHealthy: false });
    expect(await s.exited).toBe(2);
    expect(s.output().trim()).toBe('da server: config file /nonexistent/instance.yaml (DA_CONFIG) does not exist');
  }, 60_000);

  test('a port in use: exit 1, naming the port', async () => {
    const busy = Bun.serve({ port: 0, hostname: '0.0.0.0', fetch: () => new Response('busy') });
    try {
      const s = await spawnBinaryServer({ DA_DATA_DIR: mkdtempSync(join(tmpdir(), 'da-ops-port-')), PORT: String(busy.port) }, { waitHealthy: false });
      expect(await s.exited).toBe(1);
      expect(s.output()).toContain(`da server: port ${busy.port} is in use`);
    } finally {
      busy.stop(true);
    }
  }, 60_000);

  test('a data directory another server holds: exit 1, saying so', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'da-ops-lock-'));
    const first = await spawnBinaryServer({ DA_DATA_DIR: dataDir });
    try {
      const second = await spawnBinaryServer({ DA_DATA_DIR: dataDir }, { waitHealthy: false });
      expect(await second.exited).toBe(1);
      expect(second.output().trim()).toBe(`da server: the data directory ${dataDir} is in use by another process (PID ${first.child.pid}); stop it first (two servers must never share a data directory)`);
    } finally {
      expect(await first.stop()).toBe(0);
    }
  }, 60_000);

  test('a data directory it may not write: exit 1, naming the folder', async () => {
    if (process.getuid?.() === 0) {
      // root writes anywhere; a read-only place is still refused: a folder under a file.
      const file = join(mkdtempSync(join(tmpdir(), 'da-ops-ro-')), 'a-file');
      writeFileSync(file, 'x');
      const s = await spawnBinaryServer({ DA_DATA_DIR: join(file, 'data') }, { waitHealthy: false });
      expect(await s.exited).toBe(1);
      expect(s.output().split('\n').filter(Boolean).at(-1)).toContain('da server:');
      expect(s.output()).toContain(join(file, 'data'));
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'da-ops-ro-'));
    mkdirSync(join(dir, 'data'));
    chmodSync(join(dir, 'data'), 0o500);
    const s = await spawnBinaryServer({ DA_DATA_DIR: join(dir, 'data') }, { waitHealthy: false });
    expect(await s.exited).toBe(1);
    expect(s.output()).toContain('is not writable');
  }, 60_000);
});
