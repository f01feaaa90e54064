import { afterEach, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS, type Migration } from './migrations.ts';
import { openSystemDb, SchemaTooNewError } from './system.ts';

const dirs: string[] = [];
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'da-db-'));
  dirs.push(dir);
  return join(dir, 'state', 'system.duckdb');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const SPEC_TABLES = [
  'users', 'user_sync_settings', 'dataset_permissions', 'sync_state', 'sync_history', 'knowledge_items',
  'knowledge_votes', 'audit_log', 'telegram_links', 'pending_codes', 'script_registry', 'table_registry',
  'table_profiles', 'personal_access_tokens', 'one_time_tokens', 'revoked_tokens',
];

test('an empty file is migrated to the latest schema with every state table', async () => {
  const path = tempDb();
  const db = await openSystemDb(path);
  try {
    expect(db.schemaVersion).toBe(MIGRATIONS[MIGRATIONS.length - 1]!.version);
    const rows = await db.read((q) => q.all<{ table_name: string }>(`SELECT table_name FROM information_schema.tables`));
    const names = rows.map((r) => r.table_name);
    for (const t of SPEC_TABLES) expect(names).toContain(t);
    // No backup is taken of a database that had nothing in it.
    expect(existsSync(`${path}.pre-v${MIGRATIONS[MIGRATIONS.length - 1]!.version}`)).toBe(false);
  } finally {
    await db.close();
  }
});

test('a database at an older version is copied before it is migrated, and keeps its data', async () => {
  const path = tempDb();
  const first = await openSystemDb(path);
  await first.write((q) => q.run(`INSERT INTO users (id, email, role) VALUES ('u1', 'a@example.com', 'viewer')`));
  await first.close();

  const next: Migration = { version: MIGRATIONS[MIGRATIONS.length - 1]!.version + 1, name: 'add a column', sql: `ALTER TABLE users ADD COLUMN locale VARCHAR` };
  const db = await openSystemDb(path, { migrations: [...MIGRATIONS, next] });
  try {
    expect(db.schemaVersion).toBe(next.version);
    const backup = `${path}.pre-v${next.version}`;
    expect(existsSync(backup)).toBe(true);
    const row = await db.read((q) => q.one<{ email: string; locale: string | null }>(`SELECT email, locale FROM users WHERE id = 'u1'`));
    expect(row).toEqual({ email: 'a@example.com', locale: null });
  } finally {
    await db.close();
  }
});

test('a database written by a newer version is refused with a clear message', async () => {
  const path = tempDb();
  const future: Migration = { version: MIGRATIONS[MIGRATIONS.length - 1]!.version + 5, name: 'from the future', sql: `CREATE TABLE future_thing (x INTEGER)` };
  const newer = await openSystemDb(path, { migrations: [...MIGRATIONS, future] });
  await newer.close();
  const err = await openSystemDb(path).catch((e) => e);
  expect(err).toBeInstanceOf(SchemaTooNewError);
  expect(String(err.message)).toContain(`schema version ${future.version}`);
  expect(String(err.message)).toContain('upgrade da');
});

test('a failing migration leaves the database at its previous version', async () => {
  const path = tempDb();
  const broken: Migration = { version: MIGRATIONS[MIGRATIONS.length - 1]!.version + 1, name: 'broken', sql: `CREATE TABLE ok_part (x INTEGER); SELECT * FROM no_such_table` };
  await expect(openSystemDb(path, { migrations: [...MIGRATIONS, broken] })).rejects.toThrow();
  const db = await openSystemDb(path);
  try {
    expect(db.schemaVersion).toBe(MIGRATIONS[MIGRATIONS.length - 1]!.version);
    const rows = await db.read((q) => q.all(`SELECT table_name FROM information_schema.tables WHERE table_name = 'ok_part'`));
    expect(rows).toEqual([]);
  } finally {
    await db.close();
  }
});

test('writes queued together are applied one after another, in order', async () => {
  const db = await openSystemDb(tempDb());
  try {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        db.write((q) => q.run(`INSERT INTO audit_log (id, timestamp, action) VALUES (?, current_timestamp, ?)`, [`a${i}`, `n${i}`])),
      ),
    );
    const row = await db.read((q) => q.one<{ n: string }>(`SELECT count(*) AS n FROM audit_log`));
    expect(Number(row!.n)).toBe(50);
  } finally {
    await db.close();
  }
});

test('a copy taken through the write queue holds a concurrent transaction fully or not at all', async () => {
  const path = tempDb();
  const db = await openSystemDb(path);
  const copies: string[] = [];
  try {
    for (let round = 0; round < 5; round++) {
      // A two-row transaction with a pause between its rows, racing the copy.
      const write = db.write((q) =>
        q.transaction(async () => {
          await q.run(`INSERT INTO audit_log (id, timestamp, action) VALUES (?, current_timestamp, 'first')`, [`r${round}a`]);
          await Bun.sleep(5);
          await q.run(`INSERT INTO audit_log (id, timestamp, action) VALUES (?, current_timestamp, 'second')`, [`r${round}b`]);
        }),
      );
      const copy = `${path}.copy${round}`;
      copies.push(copy);
      const later = Promise.resolve().then(() => db.write((q) => q.run(`INSERT INTO audit_log (id, timestamp, action) VALUES (?, current_timestamp, 'after')`, [`r${round}c`])));
      const pinned = await db.copyTo(copy, async () => 'pinned');
      expect(pinned).toBe('pinned');
      await Promise.all([write, later]);
    }
  } finally {
    await db.close();
  }
  for (const [round, copy] of copies.entries()) {
    const c = await openSystemDb(copy);
    try {
      const ids = (await c.read((q) => q.all<{ id: string }>(`SELECT id FROM audit_log WHERE id LIKE ? ORDER BY id`, [`r${round}%`]))).map((r) => r.id);
      // The transaction queued before the copy is whole in it; the write queued after it is not.
      expect(ids).toEqual([`r${round}a`, `r${round}b`]);
    } finally {
      await c.close();
    }
  }
});
