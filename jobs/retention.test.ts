import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from '../tests/helpers/server.ts';
import { retentionJob } from './retention.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

test('the retention job deletes audit entries, history and revocations past their age, and keeps the rest', async () => {
  const { db } = server.deps;
  await server.fetch('/api/me', { token: server.adminToken });
  await server.deps.repos.audit.flush();
  await db.write(async (q) => {
    await q.run(`INSERT INTO audit_log (id, timestamp, action) VALUES ('old-1', current_timestamp - INTERVAL 400 DAY, 'me.get')`);
    await q.run(`INSERT INTO sync_history (id, table_id, synced_at, status) VALUES ('h-old', 'sales.orders', current_timestamp - INTERVAL 100 DAY, 'ok')`);
    await q.run(`INSERT INTO sync_history (id, table_id, synced_at, status) VALUES ('h-new', 'sales.orders', current_timestamp, 'ok')`);
    await q.run(`INSERT INTO revoked_tokens (jti, expires_at) VALUES ('gone', current_timestamp - INTERVAL 1 HOUR), ('kept', current_timestamp + INTERVAL 1 HOUR)`);
  });

  const result = await retentionJob.run(server.runtime);
  expect(result).toEqual({ audit_deleted: 1, history_deleted: 1, job_runs_deleted: 0 });

  const audit = await db.read((q) => q.all<{ id: string }>(`SELECT id FROM audit_log`));
  expect(audit.map((r) => r.id)).not.toContain('old-1');
  expect(audit.length).toBeGreaterThan(0);
  const history = await db.read((q) => q.all<{ id: string }>(`SELECT id FROM sync_history`));
  expect(history.map((r) => r.id)).toEqual(['h-new']);
  const revoked = await db.read((q) => q.all<{ jti: string }>(`SELECT jti FROM revoked_tokens ORDER BY jti`));
  expect(revoked.map((r) => r.jti)).toEqual(['kept']);
});
