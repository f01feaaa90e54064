/**
 * /api/health answers from the state database's liveness probe (src/db/liveness.ts) rather
 * than a query per request, and still reports a database that has stopped working.
 */
import { expect, test } from 'bun:test';
import { HealthSchema } from '../src/api/health.ts';
import { startTestServer } from './helpers/server.ts';

test('health reports the state database ok, then failed with 503 once the database is gone', async () => {
  const server = await startTestServer();
  try {
    const ok = await server.fetch('/api/health');
    expect(ok.status).toBe(200);
    expect(HealthSchema.parse(await ok.json()).checks.state_db).toEqual({ status: 'ok', detail: `schema version ${server.deps.db.schemaVersion}` });

    await server.deps.db.close();
    // The probe pings every second: poll until it has noticed (bounded by the test timeout).
    let res: Response;
    for (;;) {
      res = await server.fetch('/api/health');
      if (res.status !== 200) break;
      await res.arrayBuffer();
      await Bun.sleep(50);
    }
    expect(res.status).toBe(503);
    const health = HealthSchema.parse(await res.json());
    expect(health.checks.state_db!.status).toBe('failed');
    expect(health.status).toBe('degraded');
  } finally {
    await server.stop().catch(() => {});
  }
});
