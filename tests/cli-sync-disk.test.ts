import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statfsSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { createDaSandbox, DA_BIN, ensureCliBuilt, type DaResult, type DaSandbox } from './helpers/cli.ts';
import { putServerTable, setDatasetAccess } from './helpers/cli-data.ts';
import { syncStatePath } from '../cli/sync-state.ts';

/**
 * `da sync` when the analyst's machine fails it: a full disk (a small tmpfs when this process
 * may mount one, and always a file-size limit, which fails writes the same way with EFBIG),
 * a local DuckDB cut off to 4 KB, files damaged after the sync. Nothing cut off may reach a
 * final name or the state, and the next `da sync` repairs the workspace by itself.
 */
let server: TestServer;
let token: string;
/** Set by a test: the proxy fills the tmpfs when a download starts, after the free-space check. */
let fillOnDownload: { dir: string; leave: number } | undefined;
let proxy: ReturnType<typeof Bun.serve>;

const MB = 1024 * 1024;
const rowsSql = (rows: number, salt: number) =>
  `SELECT i AS id, md5((i * ${salt})::VARCHAR) || md5((i + ${salt})::VARCHAR) AS payload FROM range(${rows}) t(i)`;
const sha256 = (path: string) => new Bun.CryptoHasher('sha256').update(readFileSync(path)).digest('hex');
const serverFile = (id: string) => join(server.dataDir, 'parquet', ...id.split('.')) + '.parquet';

/** Failures print a line or two: no stack, no bundle source, no runtime dump. */
function expectFewLines(stderr: string, max = 3) {
  const lines = stderr.trim().split('\n').filter(Boolean);
  expect(lines.length).toBeLessThanOrEqual(max);
  expect(stderr).not.toMatch(/^\s+at |\$bunfs|^\s*\d+ \| /m);
}

/** Every file the state calls synced is on disk with the recorded hash. */
function expectStateMatchesDisk(da: DaSandbox, workspace: string) {
  const path = syncStatePath(da.configDir, workspace);
  if (!existsSync(path)) return;
  const state = JSON.parse(readFileSync(path, 'utf8')) as { tables: Record<string, { dataset: string; name: string; hash: string; size_bytes: number }> };
  for (const t of Object.values(state.tables)) {
    const file = join(workspace, 'server', 'parquet', t.dataset, `${t.name}.parquet`);
    expect(sha256(file)).toBe(t.hash);
  }
}

/** Files under a folder, recursively (relative paths). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

beforeAll(async () => {
  [server] = await Promise.all([startTestServer(), ensureCliBuilt()]);
  await putServerTable(server, 'sales', 'a', rowsSql(100_000, 3));
  await putServerTable(server, 'sales', 'b', rowsSql(100_000, 5));
  await putServerTable(server, 'sales', 'c', rowsSql(50_000, 7));
  const analyst = await server.createUser('analyst');
  await setDatasetAccess(server, analyst.id, 'sales', 'read');
  token = analyst.token;
  proxy = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (fillOnDownload && url.pathname.endsWith('/download')) {
        const { dir, leave } = fillOnDownload;
        fillOnDownload = undefined;
        const fs = statfsSync(dir);
        writeFileSync(join(dir, 'filler'), Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - leave)));
      }
      const headers = new Headers(req.headers);
      headers.delete('host');
      return fetch(server.url + url.pathname + url.search, { method: req.method, headers, body: req.method === 'GET' ? undefined : await req.arrayBuffer() });
    },
  });
});

afterAll(async () => {
  proxy?.stop(true);
  await server?.stop();
});

function sandbox(): DaSandbox {
  return createDaSandbox({ DA_SERVER: `http://127.0.0.1:${proxy.port}`, DA_TOKEN: token, DA_SYNC_BACKOFF_MS: '10' });
}

/** Runs `da` with a file-size limit (RLIMIT_FSIZE): a write past `bytes` fails with EFBIG. */
async function runWithFileSizeLimit(da: DaSandbox, args: string[], bytes: number, cwd: string): Promise<DaResult> {
  const prlimit = Bun.which('prlimit', { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' });
  const cmd = prlimit
    ? [prlimit, `--fsize=${bytes}`, '--', DA_BIN, ...args]
    : ['/bin/sh', '-c', `ulimit -f ${Math.floor(bytes / 512)} && exec "$0" "$@"`, DA_BIN, ...args];
  const proc = Bun.spawn(cmd, { cwd, env: da.env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

/** Mounts a tmpfs of `mb` MiB; false when this process may not mount (then the file-size limit tests the fault). */
function mountTmpfs(dir: string, mb: number): boolean {
  try {
    return Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir], { stderr: 'pipe', stdout: 'pipe' }).exitCode === 0;
  } catch {
    return false; // no mount(8) here
  }
}

const mountPoint = mkdtempSync(join(tmpdir(), 'da-full-disk-'));
const canMount = mountTmpfs(mountPoint, 16);

afterAll(() => {
  if (canMount && Bun.spawnSync(['umount', mountPoint]).exitCode !== 0) Bun.spawnSync(['umount', '-l', mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describe.skipIf(!canMount)('a full disk (16 MiB tmpfs)', () => {
  let da: DaSandbox;
  const ws = join(mountPoint, 'work');

  beforeAll(() => {
    mkdirSync(ws);
    da = sandbox();
  });

  afterAll(() => {
    da?.cleanup();
    fillOnDownload = undefined;
  });

  test('tables that do not fit stop the sync before it writes anything, in one line naming the need, the free space and the tables', async () => {
    const r = await da.run(['sync'], { cwd: ws });
    expect(r.code).toBe(1);
    expectFewLines(r.stderr, 1);
    expect(r.stderr).toMatch(new RegExp(`^da: not enough disk space: this sync needs [\\d.]+ MB in ${ws}, [\\d.]+ MB is free \\(`));
    for (const id of ['sales.a', 'sales.b', 'sales.c']) expect(r.stderr).toMatch(new RegExp(`${id} [\\d.]+ MB`));
    expect(filesUnder(join(ws, 'server'))).toEqual([]);
    expect(existsSync(join(ws, 'user', 'duckdb', 'analytics.duckdb'))).toBe(false);
    expect(existsSync(syncStatePath(da.configDir, ws))).toBe(false);

    const j = await da.run(['sync', '--json'], { cwd: ws });
    expect(j.code).toBe(1);
    const doc = j.json();
    expect(doc.error).toMatchObject({ reason: 'disk_full', exit_code: 1 });
    expect(doc.error.needed_bytes).toBeGreaterThan(doc.error.free_bytes);
    expect(doc.error.tables.map((t: { id: string }) => t.id).sort()).toEqual(['sales.a', 'sales.b', 'sales.c']);
    expect(filesUnder(join(ws, 'server'))).toEqual([]);
  });

  test('a disk that fills up during a download: the table fails, the previous file, view and state stay, the part is kept', async () => {
    const first = await da.run(['sync', '--table', 'sales.c', '--json'], { cwd: ws });
    expect(first.code).toBe(0);
    const oldHash = sha256(join(ws, 'server', 'parquet', 'sales', 'c.parquet'));
    const stateBefore = readFileSync(syncStatePath(da.configDir, ws), 'utf8');

    await putServerTable(server, 'sales', 'c', rowsSql(60_000, 11));
    fillOnDownload = { dir: mountPoint, leave: MB };
    const r = await da.run(['sync', '--table', 'sales.c'], { cwd: ws });
    expect(r.code).toBe(1);
    expectFewLines(r.stderr, 1);
    expect(r.stderr).toContain('da: sales.c: the disk is full');
    expect(r.stderr).toContain('run da sync again');

    expect(sha256(join(ws, 'server', 'parquet', 'sales', 'c.parquet'))).toBe(oldHash);
    expect(readFileSync(syncStatePath(da.configDir, ws), 'utf8')).toBe(stateBefore);
    expectStateMatchesDisk(da, ws);
    const part = join(ws, 'server', 'parquet', 'sales', 'c.parquet.part');
    expect(existsSync(part)).toBe(true);
    const q = await da.run(['query', '--json', 'SELECT count(*)::INTEGER AS n FROM sales.c'], { cwd: ws });
    expect(q.json().rows).toEqual([[50_000]]);
    const status = (await da.run(['status', '--local', '--json'], { cwd: ws })).json();
    expect(status.tables.map((t: { id: string; state: string }) => [t.id, t.state])).toEqual([['sales.c', 'synced']]);
  });

  test('after space is freed the next sync completes every table, resuming the kept part', async () => {
    rmSync(join(mountPoint, 'filler'), { force: true });
    expect(Bun.spawnSync(['mount', '-o', 'remount,size=64m', mountPoint]).exitCode).toBe(0);
    const r = await da.run(['sync', '--json'], { cwd: ws });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = r.json();
    expect(report.tables.resumed).toEqual(['sales.c']);
    for (const id of ['sales.a', 'sales.b', 'sales.c']) expect(sha256(join(ws, 'server', 'parquet', ...id.split('.')) + '.parquet')).toBe(sha256(serverFile(id)));
    expect(filesUnder(join(ws, 'server', 'parquet')).filter((f) => f.includes('.part'))).toEqual([]);
    expectStateMatchesDisk(da, ws);
    const status = (await da.run(['status', '--local', '--json'], { cwd: ws })).json();
    expect(status.tables.map((t: { state: string }) => t.state)).toEqual(['synced', 'synced', 'synced']);
  });
});

describe('a file-size limit (EFBIG, no mount needed)', () => {
  let da: DaSandbox;

  beforeAll(() => {
    da = sandbox();
  });
  afterAll(() => da?.cleanup());

  test('a write that fails part-way leaves the previous file and state, says so in one line, and a later sync completes', async () => {
    await putServerTable(server, 'sales', 'c', rowsSql(50_000, 13));
    const first = await da.run(['sync', '--table', 'sales.c'], { cwd: da.workspace });
    expect(first.code).toBe(0);
    const file = join(da.workspace, 'server', 'parquet', 'sales', 'c.parquet');
    const oldHash = sha256(file);
    const stateBefore = readFileSync(syncStatePath(da.configDir, da.workspace), 'utf8');

    await putServerTable(server, 'sales', 'c', rowsSql(100_000, 17));
    const r = await runWithFileSizeLimit(da, ['sync', '--table', 'sales.c'], 5 * MB, da.workspace);
    expect(r.code).toBe(1);
    expectFewLines(r.stderr, 1);
    expect(r.stderr).toContain('da: sales.c: a file-size limit (ulimit -f) stopped the write');
    expect(sha256(file)).toBe(oldHash);
    expect(readFileSync(syncStatePath(da.configDir, da.workspace), 'utf8')).toBe(stateBefore);
    expectStateMatchesDisk(da, da.workspace);
    const q = await da.run(['query', '--json', 'SELECT count(*)::INTEGER AS n FROM sales.c']);
    expect(q.json().rows).toEqual([[50_000]]);

    const again = await da.run(['sync', '--table', 'sales.c', '--json']);
    expect(again.code).toBe(0);
    expect(again.json().tables.resumed).toEqual(['sales.c']);
    expect(sha256(file)).toBe(sha256(serverFile('sales.c')));
    expectStateMatchesDisk(da, da.workspace);
  });

  test('several tables stopped by the limit share one line', async () => {
    const r = await runWithFileSizeLimit(da, ['sync'], 5 * MB, da.workspace);
    expect(r.code).toBe(1);
    expectFewLines(r.stderr, 1);
    expect(r.stderr).toMatch(/^da: sales\.[ab], sales\.[ab]: a file-size limit/);
    expectStateMatchesDisk(da, da.workspace);
  });

  test('a local database that cannot be written is not left cut off: there is none, and the next sync builds it', async () => {
    const dbDir = join(da.workspace, 'user', 'duckdb');
    rmSync(join(dbDir, 'analytics.duckdb'));
    const r = await runWithFileSizeLimit(da, ['sync', '--table', 'sales.c'], 100 * 1024, da.workspace);
    expect(r.code).toBe(1);
    expectFewLines(r.stderr, 1);
    expect(r.stderr).toContain('da: user/duckdb/analytics.duckdb: local views not rebuilt: a file-size limit');
    expect(readdirSync(dbDir)).toEqual([]);

    const again = await da.run(['sync', '--table', 'sales.c']);
    expect(again.code).toBe(0);
    const q = await da.run(['query', '--json', 'SELECT count(*)::INTEGER AS n FROM sales.c']);
    expect(q.json().rows).toEqual([[100_000]]);
  });
});

describe('a damaged workspace', () => {
  let da: DaSandbox;
  const db = () => join(da.workspace, 'user', 'duckdb', 'analytics.duckdb');

  beforeAll(async () => {
    da = sandbox();
    const r = await da.run(['sync', '--table', 'sales.c']);
    if (r.code !== 0) throw new Error(r.stderr);
  });
  afterAll(() => da?.cleanup());

  test('a local DuckDB cut to 4 KB: query and diagnose explain it, sync moves it aside (never deletes it) and rebuilds the views', async () => {
    const mine = await da.run(['query', 'CREATE TABLE my_notes AS SELECT 1 AS id']);
    expect(mine.code).toBe(0);
    mkdirSync(join(da.workspace, 'user', 'artifacts'), { recursive: true });
    writeFileSync(join(da.workspace, 'user', 'artifacts', 'notes.md'), '# mine\n');
    writeFileSync(join(da.workspace, 'user', 'duckdb', 'scratch.duckdb'), 'my other database');
    truncateSync(db(), 4096);
    const damagedHash = sha256(db());
    const others = ['user/artifacts/notes.md', 'user/duckdb/scratch.duckdb'].map((p) => [p, sha256(join(da.workspace, p))]);

    const q = await da.run(['query', 'SELECT 1']);
    expect(q.code).toBe(1);
    expectFewLines(q.stderr, 1);
    expect(q.stderr).toContain('is damaged');
    expect(q.stderr).toContain('run da sync');

    const d = await da.run(['diagnose', '--component', 'local_db', '--json']);
    expect(d.code).toBe(1);
    const check = d.json().checks.find((c: { name: string }) => c.name === 'database');
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('is damaged');
    expect(check.fix).toContain('da sync');
    expect((await da.run(['status', '--local', '--json'])).json().local_db.damaged).toBe(true);

    const s = await da.run(['sync', '--json']);
    expect(s.code).toBe(0);
    const moved = s.json().views.moved_aside as string;
    expect(moved).toMatch(/analytics\.duckdb\.damaged-\d{8}-\d{6}$/);
    expectFewLines(s.stderr, 1);
    expect(s.stderr).toContain(`moved it to ${moved}`);
    expect(sha256(moved)).toBe(damagedHash);
    for (const [p, h] of others) expect(sha256(join(da.workspace, p!))).toBe(h!);

    const after = await da.run(['query', '--json', 'SELECT count(*)::INTEGER AS n FROM sales.c']);
    expect(after.code).toBe(0);
    expect(after.json().rows[0][0]).toBeGreaterThan(0);
    expect((await da.run(['diagnose', '--component', 'local_db', '--json'])).code).toBe(0);
  });

  test('status reports files as they are on disk: cut off is damaged, same size but changed is unverified until --verify says damaged; sync repairs both', async () => {
    await da.run(['sync', '--table', 'sales.a']);
    const a = join(da.workspace, 'server', 'parquet', 'sales', 'a.parquet');
    const c = join(da.workspace, 'server', 'parquet', 'sales', 'c.parquet');
    truncateSync(c, 4096);
    const fd = openSync(a, 'r+');
    writeSync(fd, Buffer.from('garbage!'), 0, 8, 1000);
    closeSync(fd);

    const quick = await da.run(['status', '--local', '--json']);
    const states = (r: DaResult) => Object.fromEntries(r.json().tables.map((t: { id: string; state: string }) => [t.id, t.state]));
    expect(states(quick)).toEqual({ 'sales.a': 'unverified', 'sales.b': 'synced', 'sales.c': 'damaged' });
    expect(quick.json().damaged_files).toEqual(['sales.c']);
    const human = await da.run(['status', '--local']);
    expect(human.stdout).toMatch(/tables: +1 synced \([\d.]+ MB\), 1 unverified, 1 damaged\n/);
    expect(human.stdout).toMatch(/damaged: +sales\.c \(run da sync to repair\)/);
    expect(states(await da.run(['status', '--local', '--verify', '--json']))).toEqual({ 'sales.a': 'damaged', 'sales.b': 'synced', 'sales.c': 'damaged' });

    const r = await da.run(['sync', '--json']);
    expect(r.code).toBe(0);
    expect(states(await da.run(['status', '--local', '--verify', '--json']))).toEqual({ 'sales.a': 'synced', 'sales.b': 'synced', 'sales.c': 'synced' });
    expectStateMatchesDisk(da, da.workspace);
  });
});
