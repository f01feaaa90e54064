import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { DomainEvent } from '../src/events.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { testYaml } from './helpers/data.ts';

/**
 * The job runner (jobs/runner.ts): built-in jobs and jobs added at run time, one record
 * of runs for all of them, overlap protection, `job.finished` events; and the domain
 * events the sync engine emits.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({}, {
    yaml: testYaml(`sources:\n  sales: { type: local, path: fixtures/data/sales, public: true }\n`),
  });
});
afterAll(() => server.stop());

const admin = (path: string, init: RequestInit & { json?: unknown } = {}) => server.fetch(path, { ...init, token: server.adminToken });

/** Resolves with the first event of `type` the server emits from now on. */
function nextEvent<T extends DomainEvent['type']>(type: T): Promise<Extract<DomainEvent, { type: T }>> {
  return new Promise((resolve) => {
    const off = server.services.events.on(type, (e) => {
      off();
      resolve(e);
    });
  });
}

describe('GET /api/jobs', () => {
  test('lists the built-in jobs with their schedules, not running, never run', async () => {
    const res = await admin('/api/jobs');
    expect(res.status).toBe(200);
    const jobs = (await res.json()) as Array<Record<string, unknown>>;
    const byName = Object.fromEntries(jobs.map((j) => [j.name, j]));
    expect(byName['data-refresh']).toMatchObject({ schedule: '*/15 * * * *', busy: false, last_status: null });
    expect(byName['retention']).toMatchObject({ busy: false, last_status: null });
    // Tests never start the clock: nothing is scheduled to run.
    expect(byName['data-refresh']!.next_run).toBeNull();
  });

  test('is refused to analysts (403) and anonymous callers (401)', async () => {
    const analyst = await server.createUser('analyst');
    expect((await server.fetch('/api/jobs', { token: analyst.token })).status).toBe(403);
    expect((await server.fetch('/api/jobs')).status).toBe(401);
    expect((await server.fetch('/api/jobs/retention/run', { method: 'POST', token: analyst.token })).status).toBe(403);
  });
});

describe('POST /api/jobs/{name}/run', () => {
  test('runs a job now, records the run and emits job.finished', async () => {
    const finished = nextEvent('job.finished');
    const res = await admin('/api/jobs/retention/run', { method: 'POST' });
    expect(res.status).toBe(202);
    const { run_id } = (await res.json()) as { run_id: string };
    const event = await finished;
    expect(event).toMatchObject({ name: 'retention', runId: run_id, status: 'succeeded', error: null });
    const run = await server.deps.repos.jobRuns.get(run_id);
    expect(run).toMatchObject({ name: 'retention', trigger: 'manual', status: 'succeeded' });
    const listed = ((await (await admin('/api/jobs')).json()) as Array<Record<string, unknown>>).find((j) => j.name === 'retention');
    expect(listed).toMatchObject({ last_status: 'succeeded', busy: false });
  });

  test('a job added at run time runs once at a time (409 while busy), records a failure, and can be removed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    server.services.jobs.add({
      name: 'script:nightly', schedule: '0 3 * * *',
      run: async () => {
        await gate;
        throw new Error('the script exited with 1');
      },
    });
    const first = await admin('/api/jobs/script:nightly/run', { method: 'POST' });
    expect(first.status).toBe(202);
    const { run_id } = (await first.json()) as { run_id: string };
    const busy = ((await (await admin('/api/jobs')).json()) as Array<Record<string, unknown>>).find((j) => j.name === 'script:nightly');
    expect(busy).toMatchObject({ busy: true, last_status: 'running', schedule: '0 3 * * *' });
    const second = await admin('/api/jobs/script:nightly/run', { method: 'POST' });
    expect(second.status).toBe(409);
    expect(second.headers.get('content-type')).toContain('application/problem+json');

    const finished = nextEvent('job.finished');
    release();
    expect(await finished).toMatchObject({ runId: run_id, status: 'failed', error: 'the script exited with 1' });
    expect(await server.deps.repos.jobRuns.get(run_id)).toMatchObject({ status: 'failed', error: 'the script exited with 1' });

    expect(server.services.jobs.remove('script:nightly')).toBe(true);
    expect((await admin('/api/jobs/script:nightly/run', { method: 'POST' })).status).toBe(404);
  });

  test('an unknown job is 404 and a malformed name 422', async () => {
    expect((await admin('/api/jobs/nope/run', { method: 'POST' })).status).toBe(404);
    expect((await admin('/api/jobs/Not%20A%20Job/run', { method: 'POST' })).status).toBe(422);
  });
});

describe('domain events', () => {
  test('a sync emits sync.finished with the tables it wrote', async () => {
    await admin('/api/sources/sales/register-all', { method: 'POST' });
    const finished = nextEvent('sync.finished');
    const res = await admin('/api/sync/trigger', { method: 'POST', json: {} });
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as { job_id: string };
    const event = await finished;
    expect(event.jobId).toBe(job_id);
    expect(event.tableIds.length).toBeGreaterThan(0);
    expect(event.tableIds.every((id) => id.startsWith('sales.'))).toBe(true);
    expect(event.failedTableIds).toEqual([]);
    // The audit trail records what the server did on its own, as an action without a user.
    const audit = (await (await admin(`/api/audit?action=sync.finished`)).json()) as { items: Array<Record<string, unknown>> };
    expect(audit.items[0]).toMatchObject({ action: 'sync.finished', resource: `sync/jobs/${job_id}`, result: 'ok', user_id: null });
  });
});
