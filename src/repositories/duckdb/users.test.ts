import { afterEach, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSystemDb, type SystemDb } from '../../db/system.ts';
import { createDuckDbUsersRepository } from './users.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test('a read that overlaps a deactivation does not cache the user as still active', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'da-users-'));
  dirs.push(dir);
  const real = await openSystemDb(join(dir, 'system.duckdb'));
  // Holds back the result of one read, as a slow reader connection would.
  let hold: Promise<void> | undefined;
  const db: SystemDb = {
    ...real,
    path: real.path,
    schemaVersion: real.schemaVersion,
    async read(fn) {
      const gate = hold;
      hold = undefined;
      const result = await real.read(fn);
      if (gate) await gate;
      return result;
    },
    write: (fn) => real.write(fn),
  };
  try {
    const users = createDuckDbUsersRepository(db);
    // Created through another instance (another process, say), so nothing is cached in this one yet.
    await createDuckDbUsersRepository(real).create({ id: 'u1', email: 'u1@example.com', role: 'analyst' });
    const user = { id: 'u1' };
    let release!: () => void;
    hold = new Promise<void>((r) => (release = r));
    const slow = users.get(user.id);
    await Bun.sleep(20);
    expect((await users.update(user.id, { active: false }))?.active).toBe(false);
    release();
    await slow;
    expect((await users.get(user.id))?.active).toBe(false);
  } finally {
    await real.close();
  }
});
