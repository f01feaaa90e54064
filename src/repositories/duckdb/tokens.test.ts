import { afterEach, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSystemDb } from '../../db/system.ts';
import { createDuckDbTokensRepository } from './tokens.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test('purgeExpired deletes expired revocations from the table and keeps live ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'da-tokens-'));
  dirs.push(dir);
  const db = await openSystemDb(join(dir, 'system.duckdb'));
  try {
    const tokens = createDuckDbTokensRepository(db);
    await tokens.revokeJwt('gone', new Date(Date.now() - 3_600_000));
    await tokens.revokeJwt('kept', new Date(Date.now() + 3_600_000));
    await tokens.purgeExpired();
    // Only the table can tell: an expired revocation is never asked about again.
    const revoked = await db.read((q) => q.all<{ jti: string }>(`SELECT jti FROM revoked_tokens ORDER BY jti`));
    expect(revoked.map((r) => r.jti)).toEqual(['kept']);
  } finally {
    await db.close();
  }
});
