import { afterAll, beforeAll, expect, spyOn, test } from 'bun:test';
import { startTestServer, type TestServer } from '../tests/helpers/server.ts';
import { retentionJob } from './retention.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const DAY = 86_400_000;

test('the retention job deletes audit entries, history and revocations past their age, and keeps the rest', async () => {
  const { audit, syncState, tokens } = server.deps.repos;
  await server.fetch('/api/me', { token: server.adminToken });
  await audit.flush();
  await audit.append(
    {
      id: 'old-1', timestamp: new Date(Date.now() - 400 * DAY).toISOString(), request_id: null, user_id: null, action: 'me.get',
      resource: null, params: undefined, result: null, status: null, duration_ms: null, ip: null,
    },
    { urgent: true },
  );
  const history = { table_id: 'sales.orders', job_id: null, rows: null, bytes: null, columns: null, duration_ms: null, status: 'ok', error: null };
  await syncState.addHistory({ ...history, id: 'h-old' }, { at: new Date(Date.now() - 100 * DAY) });
  await syncState.addHistory({ ...history, id: 'h-new' });
  await tokens.revokeJwt('gone', new Date(Date.now() - 3_600_000));
  await tokens.revokeJwt('kept', new Date(Date.now() + 3_600_000));
  // That expired revocations are deleted from the store is the tokens repository's own test
  // (src/repositories/duckdb/tokens.test.ts); here, that the job asks for it.
  const purge = spyOn(tokens, 'purgeExpired');

  try {
    const result = await retentionJob.run(server.runtime);
    expect(result).toEqual({ audit_deleted: 1, history_deleted: 1, job_runs_deleted: 0 });
    expect(purge).toHaveBeenCalledTimes(1);
  } finally {
    purge.mockRestore();
  }

  const { items } = await audit.list({ limit: 1000 });
  expect(items.map((r) => r.id)).not.toContain('old-1');
  expect(items.length).toBeGreaterThan(0);
  expect((await syncState.history(undefined, 1000)).map((r) => r.id)).toEqual(['h-new']);
  expect(await tokens.isJwtRevoked('kept')).toBe(true);
});
