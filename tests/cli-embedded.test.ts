import { expect, test } from 'bun:test';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrivateDir } from '../cli/duckdb-embedded.ts';

test('the native cache folder is created private, and a folder others may write to is refused', () => {
  const base = mkdtempSync(join(tmpdir(), 'da-cache-test-'));
  try {
    const fresh = join(base, 'fresh', 'duckdb-1');
    ensurePrivateDir(fresh);
    expect(statSync(fresh).mode & 0o077).toBe(0);

    const shared = join(base, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    expect(() => ensurePrivateDir(shared)).toThrow('writable by others');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
