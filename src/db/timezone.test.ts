import { expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('state timestamps are UTC even when the host runs in another time zone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'da-tz-'));
  try {
    // A child process, because the time zone of a process is fixed when DuckDB starts.
    const script = `
      import { openSystemDb } from ${JSON.stringify(join(import.meta.dir, 'system.ts'))};
      import { createDuckDbRepositories } from ${JSON.stringify(join(import.meta.dir, '..', 'repositories', 'duckdb', 'index.ts'))};
      const db = await openSystemDb(${JSON.stringify(join(dir, 'system.duckdb'))});
      const repos = createDuckDbRepositories(db);
      const user = await repos.users.create({ id: 'u1', email: 'tz@example.com', name: null, role: 'analyst', passwordHash: null });
      console.log(JSON.stringify({ created: user.created_at, now: new Date().toISOString() }));
      await db.close();`;
    const proc = Bun.spawn([process.execPath, '-e', script], { env: { ...process.env, TZ: 'America/New_York' }, stdout: 'pipe', stderr: 'pipe' });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(code, err).toBe(0);
    const { created, now } = JSON.parse(out.trim().split('\n').pop()!);
    expect(Math.abs(Date.parse(created) - Date.parse(now))).toBeLessThan(60_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
