import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createDaSandbox, type DaSandbox } from './helpers/cli.ts';
import { seedTable } from './helpers/data.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { backupJob } from '../jobs/backup.ts';
import { readTar, writeTar } from '../src/ops/archive.ts';
import { tempPathFor } from '../src/sync/files.ts';

const dirs: string[] = [];
function tempDir(prefix = 'da-ops-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

describe('backup and restore', () => {
  let server: TestServer;
  let da: DaSandbox;
  let archive: string;
  let orders: { id: string; hash: string };
  const before: Array<{ email: string; password: string }> = [];
  const during: Array<{ email: string; status: number }> = [];

  beforeAll(async () => {
    server = await startTestServer();
    orders = await seedTable(server, { dataset: 'sales', table: 'orders', select: 'SELECT range AS id, range * 2 AS amount FROM range(5000)' });
    await seedTable(server, { dataset: 'sales', table: 'customers', select: `SELECT range AS id, 'c' || range AS name FROM range(100)` });
    mkdirSync(join(server.dataDir, 'docs', 'rules'), { recursive: true });
    writeFileSync(join(server.dataDir, 'docs', 'rules', 'sql.md'), 'Use CTEs.\n');
    for (let i = 0; i < 3; i++) {
      const u = await server.createUser('analyst');
      before.push(u);
    }
    da = createDaSandbox({ DA_SERVER: server.url, DA_TOKEN: server.adminToken });
    const out = tempDir();
    // Writes keep arriving while the backup runs: each is acknowledged (201) or not.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const email = `during-${i}@example.com`;
        const res = await server.fetch('/api/users', { method: 'POST', token: server.adminToken, json: { email, role: 'viewer' } });
        during.push({ email, status: res.status });
      }
    })();
    const r = await da.runInProcess(['server', 'backup', '--out', join(out, 'b.tar.gz'), '--json']);
    writing = false;
    await writer;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    archive = r.json().file;
    expect(archive).toBe(join(out, 'b.tar.gz'));
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    da?.cleanup();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  test('the archive is a plain tar.gz: header first, manifest last, every file hashed, no secrets', async () => {
    const entries: Array<{ path: string; bytes: Buffer }> = [];
    async function* source() {
      yield new Uint8Array(gunzipSync(readFileSync(archive)));
    }
    for await (const e of readTar(source())) {
      const parts: Uint8Array[] = [];
      for await (const c of e.body) parts.push(c);
      entries.push({ path: e.path, bytes: Buffer.concat(parts) });
    }
    const paths = entries.map((e) => e.path);
    expect(paths[0]).toBe('da-backup.json');
    expect(paths.at(-1)).toBe('MANIFEST.json');
    expect(paths).toContain('state/system.duckdb');
    expect(paths).toContain('parquet/sales/orders.parquet');
    expect(paths).toContain('docs/rules/sql.md');
    expect(paths).toContain('config/effective-config.json');
    expect(paths).not.toContain('state/secret');
    const manifest = JSON.parse(entries.at(-1)!.bytes.toString('utf8'));
    expect(manifest.format).toBe('da-backup');
    expect(manifest.tables[orders.id]).toMatchObject({ path: 'parquet/sales/orders.parquet', sha256: orders.hash });
    for (const e of entries.slice(1, -1)) {
      expect(manifest.files[e.path].sha256).toBe(new Bun.CryptoHasher('sha256').update(e.bytes).digest('hex'));
    }
    const config = entries.find((e) => e.path === 'config/effective-config.json')!.bytes.toString('utf8');
    expect(config).toContain('"admin_password": "[redacted]"');
    expect(config).not.toContain('admin-password-1');
  });

  test('restores into a new folder; the restored server has the users, every acknowledged write and the same tables', async () => {
    const target = join(tempDir(), 'restored');
    const r = await da.runInProcess(['server', 'restore', archive, '--data-dir', target, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ data_dir: target, tables: 2 });
    const restored = await startTestServer({ DA_DATA_DIR: target });
    try {
      // Users created before the backup sign in with their passwords.
      for (const u of before) expect(await restored.login(u.email, u.password)).toBeString();
      const users = (await (await restored.fetch('/api/users?include_inactive=true', { token: restored.adminToken })).json()) as { items: Array<{ email: string }> };
      const emails = new Set(users.items.map((u) => u.email));
      // A write acknowledged before the backup began is in; one during it is whole or absent.
      const acknowledged = during.filter((d) => d.status === 201);
      expect(acknowledged.length).toBeGreaterThan(0);
      const inBackup = acknowledged.filter((d) => emails.has(d.email));
      // The writes land in order, so those in the backup are a prefix of the acknowledged ones.
      expect(inBackup.map((d) => d.email)).toEqual(acknowledged.slice(0, inBackup.length).map((d) => d.email));
      const manifest = (await (await restored.fetch('/api/sync/manifest', { token: restored.adminToken })).json()) as { tables: Record<string, { hash: string }> };
      expect(manifest.tables[orders.id]!.hash).toBe(orders.hash);
      const q = await restored.fetch('/api/query', { method: 'POST', token: restored.adminToken, json: { sql: 'SELECT sum(amount) AS s FROM sales.orders' } });
      expect(q.status).toBe(200);
      expect(Number(((await q.json()) as { rows: unknown[][] }).rows[0]![0])).toBe(5000 * 4999);
      const doc = await restored.fetch('/api/assets/docs/rules/sql.md', { token: restored.adminToken });
      expect(await doc.text()).toBe('Use CTEs.\n');
    } finally {
      await restored.stop();
    }
  }, 60_000);

  test('a damaged, truncated or foreign archive, and a non-empty folder, are refused with one line and nothing written', async () => {
    const dir = tempDir();
    const bytes = readFileSync(archive);
    const raw = gunzipSync(bytes);
    // One byte changed inside the orders Parquet file, recompressed so gzip itself is fine.
    const at = raw.indexOf(Buffer.from('PAR1')) + 100;
    const tampered = Buffer.from(raw);
    tampered[at] = tampered[at]! ^ 0xff;
    const foreign = gzipSync(Buffer.concat(await Array.fromAsync(writeTar([{ path: 'etc/hello.txt', size: 2, body: async function* () { yield new Uint8Array([104, 105]); } }]))));
    const cases: Array<[string, Buffer, RegExp]> = [
      ['tampered', gzipSync(tampered), /is damaged: .* does not match its sha256/],
      ['truncated', bytes.subarray(0, Math.floor(bytes.length / 2)), /is damaged/],
      ['foreign', foreign, /is not a da backup \(its first entry is etc\/hello.txt/],
      ['not-gzip', Buffer.from('just some text\n'), /is not a da backup/],
    ];
    for (const [name, content, message] of cases) {
      const file = join(dir, `${name}.tar.gz`);
      writeFileSync(file, content);
      const target = join(dir, `target-${name}`);
      const r = await da.runInProcess(['server', 'restore', file, '--data-dir', target]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(target)).toBe(false);
    }
    // Nothing left beside the target either.
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);

    const full = join(dir, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'mine');
    const r = await da.runInProcess(['server', 'restore', archive, '--data-dir', full]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is not empty');
    expect(readdirSync(full)).toEqual(['keep.txt']);
  }, 60_000);

  test('only an admin may back up', async () => {
    const analyst = await server.createUser('analyst');
    const res = await server.fetch('/api/backup', { method: 'POST', token: analyst.token });
    expect(res.status).toBe(403);
    expect((await server.fetch('/api/backup', { method: 'POST' })).status).toBe(401);
    const r = await da.runInProcess(['server', 'backup', '--out', join(tempDir(), 'x.tar.gz')], { env: { DA_TOKEN: analyst.token } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('403');
  });

  test('a Parquet file that no longer has its recorded hash fails the backup, and no file is left', async () => {
    const path = join(server.dataDir, 'parquet', 'sales', 'customers.parquet');
    const original = readFileSync(path);
    const damaged = Buffer.from(original);
    damaged[200] = damaged[200]! ^ 0xff;
    writeFileSync(path, damaged);
    try {
      const out = tempDir();
      const r = await da.runInProcess(['server', 'backup', '--out', join(out, 'x.tar.gz')]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('no file was written');
      expect(readdirSync(out)).toEqual([]);
      // The server cleaned up its staging folder.
      expect(readdirSync(join(server.dataDir, 'tmp')).filter((n) => n.startsWith('backup-'))).toEqual([]);
    } finally {
      writeFileSync(path, original);
    }
  });

  test('the scheduled job writes archives into backup.dir and keeps the newest backup.keep', async () => {
    const dir = tempDir();
    const deps = { ...server.deps, config: { ...server.deps.config, backup: { schedule: '0 2 * * *', dir, keep: 2 } } };
    const results = [];
    for (let i = 0; i < 3; i++) {
      results.push(await backupJob.run({ deps, services: server.services }));
    }
    const left = readdirSync(dir).sort();
    expect(left).toHaveLength(2);
    expect(results[2]!.deleted).toHaveLength(1);
    expect(left.map((n) => join(dir, n))).toEqual([results[1]!.path, results[2]!.path].sort());
    expect(server.deps.config.backup.schedule).toBeNull();
  }, 60_000);
});

test('a backup taken between a sync committing a table and renaming its file holds the committed file', async () => {
  const server = await startTestServer();
  const da = createDaSandbox({ DA_SERVER: server.url, DA_TOKEN: server.adminToken });
  const work = tempDir();
  try {
    const old = await seedTable(server, { dataset: 'sales', table: 'orders', select: 'SELECT range AS id FROM range(10)' });
    // What the sync engine leaves for an instant: the new file under its temporary name and
    // sync_state already naming it (the commit point), the old file still in place.
    const scratch = join(work, 'new.parquet');
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    await conn.run(`COPY (SELECT range AS id FROM range(25)) TO '${scratch}' (FORMAT parquet)`);
    conn.closeSync();
    inst.closeSync();
    const bytes = readFileSync(scratch);
    const hash = new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
    writeFileSync(tempPathFor(old.path, 'job-1'), bytes);
    await server.deps.repos.syncState.recordSuccess({ tableId: old.id, rows: 25, fileSizeBytes: bytes.length, columns: 1, hash });

    const backup = await da.runInProcess(['server', 'backup', '--out', join(work, 'b.tar.gz')]);
    expect(backup.code).toBe(0);
    const restore = await da.runInProcess(['server', 'restore', join(work, 'b.tar.gz'), '--data-dir', join(work, 'restored')]);
    expect(restore.code).toBe(0);
    const restoredFile = readFileSync(join(work, 'restored', 'parquet', 'sales', 'orders.parquet'));
    expect(new Bun.CryptoHasher('sha256').update(restoredFile).digest('hex')).toBe(hash);
    expect(readdirSync(join(work, 'restored', 'parquet', 'sales')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  } finally {
    da.cleanup();
    await server.stop();
  }
}, 60_000);

afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
