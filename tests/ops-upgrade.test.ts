import { afterEach, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MIGRATIONS, type Migration } from '../src/db/migrations.ts';
import { openSystemDb, systemDbPath } from '../src/db/system.ts';
import { MigrationFailedError } from '../src/ops/versions.ts';
import { startTestServer } from './helpers/server.ts';

const FIXTURE = resolve(import.meta.dir, '../fixtures/upgrade/v1.tar.gz');
const LATEST = MIGRATIONS.at(-1)!.version;
const PASSWORD = 'fixture-password-1';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh copy of the data directory schema version 1 left (fixtures/upgrade/build-v1.ts). */
function v1DataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'da-upgrade-'));
  dirs.push(dir);
  const r = Bun.spawnSync(['tar', '-xzf', FIXTURE, '-C', dir]);
  if (r.exitCode !== 0) throw new Error(`cannot unpack ${FIXTURE}: ${r.stderr}`);
  return dir;
}

test('the fixture is a schema-1 database', async () => {
  const db = await openSystemDb(systemDbPath(v1DataDir()), { migrations: MIGRATIONS.slice(0, 1) });
  try {
    expect(db.schemaVersion).toBe(1);
  } finally {
    await db.close();
  }
});

test('a schema-1 data directory upgrades on start: a copy is kept first, users and tables stay, health tells the versions', async () => {
  const dataDir = v1DataDir();
  const server = await startTestServer({ DA_DATA_DIR: dataDir });
  try {
    expect(existsSync(`${systemDbPath(dataDir)}.pre-v${LATEST}`)).toBe(true);
    const health = (await (await server.fetch('/api/health')).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', schema_version: LATEST, schema_latest: LATEST, data_version: 1 });
    // The users of v1 sign in with their passwords and keep their roles and grants.
    const analyst = await server.login('analyst@fixture.example', PASSWORD);
    const me = (await (await server.fetch('/api/me', { token: analyst })).json()) as { role: string };
    expect(me.role).toBe('analyst');
    const manifest = (await (await server.fetch('/api/sync/manifest', { token: analyst })).json()) as { tables: Record<string, { hash: string; rows: number }> };
    expect(manifest.tables['sales.orders']).toMatchObject({ rows: 200 });
    const q = await server.fetch('/api/query', { method: 'POST', token: analyst, json: { sql: 'SELECT count(*) AS n FROM sales.orders' } });
    expect(q.status).toBe(200);
    expect(Number(((await q.json()) as { rows: unknown[][] }).rows[0]![0])).toBe(200);
  } finally {
    await server.stop();
  }
});

test('a failed migration leaves the old database usable and says how to roll back', async () => {
  const dataDir = v1DataDir();
  const path = systemDbPath(dataDir);
  const broken: Migration = { version: LATEST + 1, name: 'broken on purpose', sql: 'CREATE TABLE half_done (x INTEGER); SELECT * FROM no_such_table' };
  const err = await openSystemDb(path, { migrations: [...MIGRATIONS, broken] }).catch((e) => e);
  expect(err).toBeInstanceOf(MigrationFailedError);
  const message = String(err.message);
  expect(message).toContain(`migration ${broken.version} (broken on purpose) failed`);
  expect(message).toContain('is unchanged at schema version 1');
  expect(message).toContain('To roll back, run the previous da release');
  expect(message).toContain(`${path}.pre-v${broken.version}`);
  expect(existsSync(`${path}.pre-v${broken.version}`)).toBe(true);
  // The da that wrote schema 1 still opens it as it was.
  const old = await openSystemDb(path, { migrations: MIGRATIONS.slice(0, 1) });
  try {
    expect(old.schemaVersion).toBe(1);
  } finally {
    await old.close();
  }
  // And today's da upgrades it once the migration is fixed; the data is there.
  const server = await startTestServer({ DA_DATA_DIR: dataDir });
  try {
    expect(await server.login('analyst@fixture.example', PASSWORD)).toBeString();
  } finally {
    await server.stop();
  }
});
