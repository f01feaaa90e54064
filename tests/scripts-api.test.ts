import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import type { EventOf } from '../src/events.ts';
import { scriptRunsDir } from '../src/scripts/service.ts';
import { scriptRunsRetentionJob } from '../jobs/scripts-retention.ts';
import { deploy, runAndWait, startScriptsWorld, type RunBody, type ScriptsWorld } from './helpers/scripts.ts';

let w: ScriptsWorld;
beforeAll(async () => {
  w = await startScriptsWorld('  keep_runs: 2\n');
});
afterAll(() => w.server.stop());

const TS_OK = `await Bun.write(process.env.DA_OUT + '/report.txt', 'rows: 5'); console.log('done');`;

test('every script route: viewer refused (403), another analyst gets 404, owner and admin allowed', async () => {
  const { server, analyst, other, viewer } = w;
  const id = await deploy(server, analyst.token, { name: 'matrix', language: 'typescript', source: TS_OK });
  const run = await runAndWait(server, analyst.token, id);
  const artifact = run.artifacts[0]!.url;
  const routes: Array<{ method: string; path: string; json?: unknown; ok: number }> = [
    { method: 'GET', path: '/api/scripts', ok: 200 },
    { method: 'GET', path: `/api/scripts/${id}`, ok: 200 },
    { method: 'PATCH', path: `/api/scripts/${id}`, json: { enabled: true }, ok: 200 },
    { method: 'POST', path: `/api/scripts/${id}/run`, ok: 202 },
    { method: 'GET', path: `/api/scripts/${id}/runs`, ok: 200 },
    { method: 'GET', path: `/api/scripts/${id}/runs/${run.run_id}`, ok: 200 },
    { method: 'GET', path: artifact, ok: 200 },
  ];
  for (const r of routes) {
    const call = (token?: string) => server.fetch(r.path, { method: r.method, token, json: r.json });
    expect({ r: r.path, s: (await call()).status }).toEqual({ r: r.path, s: 401 });
    expect({ r: r.path, s: (await call(viewer.token)).status }).toEqual({ r: r.path, s: 403 });
    if (r.path !== '/api/scripts') expect({ r: r.path, s: (await call(other.token)).status }).toEqual({ r: r.path, s: 404 });
    expect({ r: r.path, s: (await call(analyst.token)).status }).toEqual({ r: r.path, s: r.ok });
    expect({ r: r.path, s: (await call(server.adminToken)).status }).toEqual({ r: r.path, s: r.ok });
  }
  // The other analyst's list does not hold it; the admin's does.
  const names = async (token: string) => ((await (await server.fetch('/api/scripts', { token })).json()) as Array<{ id: string }>).map((s) => s.id);
  expect(await names(other.token)).not.toContain(id);
  expect(await names(server.adminToken)).toContain(id);
  expect((await server.fetch('/api/scripts', { method: 'POST', token: viewer.token, json: { name: 'v', language: 'sql', source: 'SELECT 1' } })).status).toBe(403);
  await server.services.scripts.close();
  // Delete: another analyst 404, viewer 403, owner 204, then gone.
  expect((await server.fetch(`/api/scripts/${id}`, { method: 'DELETE', token: other.token })).status).toBe(404);
  expect((await server.fetch(`/api/scripts/${id}`, { method: 'DELETE', token: viewer.token })).status).toBe(403);
  expect((await server.fetch(`/api/scripts/${id}`, { method: 'DELETE', token: analyst.token })).status).toBe(204);
  expect((await server.fetch(`/api/scripts/${id}`, { token: server.adminToken })).status).toBe(404);
  expect(existsSync(`${scriptRunsDir(server.dataDir)}/${run.run_id}`)).toBe(false);
  // An admin may undeploy anyone's script.
  const id2 = await deploy(server, analyst.token, { name: 'matrix-2', language: 'sql', source: 'SELECT 1' });
  expect((await server.fetch(`/api/scripts/${id2}`, { method: 'DELETE', token: server.adminToken })).status).toBe(204);
});

test('the document says who may call each script route: analyst, or owner-or-admin', async () => {
  const doc = (await (await w.server.fetch('/api/openapi.json')).json()) as { paths: Record<string, Record<string, Record<string, unknown>>> };
  const ops = Object.entries(doc.paths).filter(([p]) => p.startsWith('/api/scripts')).flatMap(([, m]) => Object.values(m));
  expect(ops.length).toBe(9);
  for (const op of ops) expect(op['x-required-role']).toBe('analyst');
  expect(ops.filter((op) => op['x-owner-or'] === 'admin').length).toBe(7);
});

test('bad input is a 422: malformed cron, unknown language, source over the limit, bad name; a duplicate name is a 409', async () => {
  const { server, analyst } = w;
  const post = (json: unknown) => server.fetch('/api/scripts', { method: 'POST', token: analyst.token, json });
  const cron = await post({ name: 'bad-cron', language: 'sql', source: 'SELECT 1', schedule: '61 * * * *' });
  expect(cron.status).toBe(422);
  expect(((await cron.json()) as { errors: Array<{ path: string }> }).errors[0]!.path).toBe('schedule');
  expect((await post({ name: 'bad-lang', language: 'cobol', source: 'DISPLAY 1' })).status).toBe(422);
  const big = await post({ name: 'big', language: 'sql', source: `SELECT 1 -- ${'x'.repeat(20_001)}` });
  expect(big.status).toBe(422);
  expect(((await big.json()) as { errors: Array<{ path: string }> }).errors[0]!.path).toBe('source');
  expect((await post({ name: '../etc', language: 'sql', source: 'SELECT 1' })).status).toBe(422);
  const id = await deploy(server, analyst.token, { name: 'dupe', language: 'sql', source: 'SELECT 1' });
  expect((await post({ name: 'dupe', language: 'sql', source: 'SELECT 2' })).status).toBe(409);
  expect((await server.fetch(`/api/scripts/${id}`, { method: 'PATCH', token: analyst.token, json: { schedule: 'every day' } })).status).toBe(422);
});

test('a revoked grant applies to the next run', async () => {
  const { server, analyst } = w;
  const id = await deploy(server, analyst.token, { name: 'revoked', language: 'sql', source: 'SELECT count(*) AS n FROM sales.orders' });
  expect((await runAndWait(server, analyst.token, id)).stdout).toBe('n\n5\n');
  const revoke = await server.fetch(`/api/users/${analyst.id}/permissions/sales`, { method: 'PUT', token: server.adminToken, json: { access: 'none' } });
  expect(revoke.status).toBe(200);
  try {
    const run = await runAndWait(server, analyst.token, id);
    expect(run.status).toBe('failed');
    expect(run.stderr).toContain('sales');
  } finally {
    await server.fetch(`/api/users/${analyst.id}/permissions/sales`, { method: 'PUT', token: server.adminToken, json: { access: 'read' } });
  }
});

test('a run emits script.finished, a failed one script.failed, with the reason', async () => {
  const { server, analyst } = w;
  const seen: Array<EventOf<'script.finished'> | EventOf<'script.failed'>> = [];
  const offs = [server.services.events.on('script.finished', (e) => seen.push(e)), server.services.events.on('script.failed', (e) => seen.push(e))];
  try {
    const ok = await deploy(server, analyst.token, { name: 'events-ok', language: 'javascript', source: 'console.log(1)' });
    const bad = await deploy(server, analyst.token, { name: 'events-bad', language: 'javascript', source: 'process.exit(3)' });
    const r1 = await runAndWait(server, analyst.token, ok);
    const r2 = await runAndWait(server, analyst.token, bad);
    expect(seen.map((e) => [e.type, e.runId, e.status, e.owner])).toEqual([
      ['script.finished', r1.run_id, 'succeeded', analyst.id],
      ['script.failed', r2.run_id, 'failed', analyst.id],
    ]);
    expect(seen[1]!.exitCode).toBe(3);
    expect(seen[1]!.reason).toBe('exited with code 3');
  } finally {
    for (const off of offs) off();
  }
});

test('a scheduled script runs on its schedule, as a job GET /api/jobs lists; undeploying removes the job', async () => {
  const { server, analyst } = w;
  server.services.jobs.start();
  try {
    // Six fields: seconds first. Every second: the next run is at most a second away.
    const id = await deploy(server, analyst.token, { name: 'every-second', language: 'javascript', source: 'console.log("tick")', schedule: '* * * * * *' });
    const jobs = (await (await server.fetch('/api/jobs', { token: server.adminToken })).json()) as Array<{ name: string; schedule: string; next_run: string }>;
    const job = jobs.find((j) => j.name === `script:${id}`);
    expect(job?.schedule).toBe('* * * * * *');
    expect(job?.next_run).toBeTruthy();
    const event = await new Promise<EventOf<'script.finished'>>((resolve) => {
      const off = server.services.events.on('script.finished', (e) => {
        if (e.scriptId === id) {
          off();
          resolve(e);
        }
      });
    });
    const run = (await (await server.fetch(`/api/scripts/${id}/runs/${event.runId}`, { token: analyst.token })).json()) as RunBody & { trigger: string };
    expect(run.trigger).toBe('schedule');
    expect(run.stdout).toBe('tick\n');
    // Switching the schedule off removes the job; a schedule back adds it again.
    await server.fetch(`/api/scripts/${id}`, { method: 'PATCH', token: analyst.token, json: { schedule: null } });
    let names = ((await (await server.fetch('/api/jobs', { token: server.adminToken })).json()) as Array<{ name: string }>).map((j) => j.name);
    expect(names).not.toContain(`script:${id}`);
    await server.fetch(`/api/scripts/${id}`, { method: 'PATCH', token: analyst.token, json: { schedule: '0 0 1 1 *' } });
    names = ((await (await server.fetch('/api/jobs', { token: server.adminToken })).json()) as Array<{ name: string }>).map((j) => j.name);
    expect(names).toContain(`script:${id}`);
    await server.services.scripts.close();
    expect((await server.fetch(`/api/scripts/${id}`, { method: 'DELETE', token: analyst.token })).status).toBe(204);
    names = ((await (await server.fetch('/api/jobs', { token: server.adminToken })).json()) as Array<{ name: string }>).map((j) => j.name);
    expect(names).not.toContain(`script:${id}`);
  } finally {
    server.services.jobs.stop();
  }
});

test('a scheduled script job is overlap-protected: run now while it runs is a 409', async () => {
  const { server, analyst } = w;
  const id = await deploy(server, analyst.token, { name: 'slow-scheduled', language: 'javascript', source: 'await Bun.sleep(1500)', schedule: '0 0 1 1 *' });
  const first = await server.fetch(`/api/jobs/script:${id}/run`, { method: 'POST', token: server.adminToken });
  expect(first.status).toBe(202);
  const second = await server.fetch(`/api/jobs/script:${id}/run`, { method: 'POST', token: server.adminToken });
  expect(second.status).toBe(409);
  await server.services.scripts.close();
});

test('retention keeps the newest runs of each script and deletes the rest with their artifacts', async () => {
  const { server, analyst } = w;
  const id = await deploy(server, analyst.token, { name: 'retained', language: 'typescript', source: TS_OK });
  const runs: RunBody[] = [];
  for (let i = 0; i < 4; i++) runs.push(await runAndWait(server, analyst.token, id));
  const dir = scriptRunsDir(server.dataDir);
  expect(runs.every((r) => existsSync(`${dir}/${r.run_id}/out/report.txt`))).toBe(true);
  const result = await scriptRunsRetentionJob.run(server.runtime);
  expect(result.runs_deleted).toBeGreaterThanOrEqual(2);
  const kept = (await (await server.fetch(`/api/scripts/${id}/runs`, { token: analyst.token })).json()) as RunBody[];
  expect(kept.map((r) => r.run_id)).toEqual([runs[3]!.run_id, runs[2]!.run_id]);
  expect(existsSync(`${dir}/${runs[0]!.run_id}`)).toBe(false);
  expect(existsSync(`${dir}/${runs[3]!.run_id}/out/report.txt`)).toBe(true);
});

test('end to end: deploy TypeScript and SQL, run with wait, download the artifacts', async () => {
  const { server, analyst } = w;
  const tsId = await deploy(server, analyst.token, {
    name: 'e2e-ts', language: 'typescript',
    source: `import { readdirSync } from 'node:fs';\nconst files = readdirSync(process.env.DA_DATA + '/sales');\nawait Bun.write(process.env.DA_OUT + '/files.json', JSON.stringify(files));\nconsole.log('ok');`,
  });
  const tsRun = await runAndWait(server, analyst.token, tsId);
  expect(tsRun).toMatchObject({ status: 'succeeded', exit_code: 0, stdout: 'ok\n', truncated: false, reason: null });
  expect(tsRun.duration_ms).toBeGreaterThan(0);
  const file = await server.fetch(tsRun.artifacts[0]!.url, { token: analyst.token });
  expect(file.status).toBe(200);
  expect(await file.json()).toEqual(['orders.parquet']);

  const sqlId = await deploy(server, analyst.token, { name: 'e2e-sql', language: 'sql', source: 'SELECT id, amount FROM orders ORDER BY id LIMIT 2;' });
  const sqlRun = await runAndWait(server, analyst.token, sqlId);
  expect(sqlRun.status).toBe('succeeded');
  const csv = await server.fetch(sqlRun.artifacts.find((a) => a.name === 'result.csv')!.url, { token: analyst.token });
  expect(await csv.text()).toBe('id,amount\n0,0\n1,10\n');
  expect((await server.fetch(sqlRun.artifacts[0]!.url.replace('result.csv', 'nope.csv'), { token: analyst.token })).status).toBe(404);
});

test('output past the cap is cut and the run marked truncated', async () => {
  const { server, analyst } = w;
  const id = await deploy(server, analyst.token, { name: 'chatty', language: 'javascript', source: `for (let i = 0; i < 2000; i++) console.log('line ' + i)` });
  const run = await runAndWait(server, analyst.token, id);
  expect(run.status).toBe('succeeded');
  expect(run.truncated).toBe(true);
  expect(run.stdout.length).toBeLessThanOrEqual(4096);
});

test('undeploying a script while it runs leaves no run and no files behind', async () => {
  const { server, analyst } = w;
  const id = await deploy(server, analyst.token, { name: 'undeployed-mid-run', language: 'javascript', source: `await Bun.sleep(500); require('fs').writeFileSync(process.env.DA_OUT + '/late.txt', 'x')` });
  const started = await server.fetch(`/api/scripts/${id}/run`, { method: 'POST', token: analyst.token });
  const { run_id } = (await started.json()) as { run_id: string };
  expect((await server.fetch(`/api/scripts/${id}`, { method: 'DELETE', token: analyst.token })).status).toBe(204);
  await server.services.scripts.close();
  expect(existsSync(`${scriptRunsDir(server.dataDir)}/${run_id}`)).toBe(false);
  expect(await server.deps.repos.scripts.getRun(run_id)).toBeUndefined();
});
