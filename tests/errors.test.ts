import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.ts';
import { bootstrap, shutdown, type Runtime } from '../src/boot.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { ProblemSchema } from '../src/api/problem.ts';
import { HealthSchema } from '../src/api/health.ts';

let dir: string;
let runtime: Runtime;
let app: ReturnType<typeof createApp>;
let token: string;
const logLines: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'da-err-'));
  writeFileSync(join(dir, 'instance.yaml'), 'server:\n  max_body_bytes: 2048\n');
  const config = loadConfig({
    DA_DATA_DIR: dir, DA_CONFIG: join(dir, 'instance.yaml'),
    DA_ADMIN_EMAIL: 'admin@example.com', DA_ADMIN_PASSWORD: 'admin-password-1',
  });
  runtime = await bootstrap(config, createLogger({ format: 'json', write: (l) => logLines.push(l) }));
  app = createApp(runtime);
  // A route that fails unexpectedly, to see what a 500 looks like from outside.
  app.get('/api/test-boom', () => {
    throw new Error('database password is hunter2');
  });
  const res = await app.request('/auth/token', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@example.com', password: 'admin-password-1' }),
  });
  token = ((await res.json()) as { access_token: string }).access_token;
});
afterAll(async () => {
  await shutdown(runtime);
  rmSync(dir, { recursive: true, force: true });
});

const auth = () => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

async function problemOf(res: Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = ProblemSchema.parse(await res.json());
  expect(body.status).toBe(status);
  return body;
}

test('validation errors are 422 problems that list each field', async () => {
  const res = await app.request('/api/users', { method: 'POST', headers: auth(), body: JSON.stringify({ email: 'not-an-email', role: 'wizard' }) });
  const body = await problemOf(res, 422);
  expect(body.errors!.map((e) => e.path).sort()).toEqual(['email', 'role']);
});

test('malformed JSON is a 400 problem', async () => {
  const res = await app.request('/api/users', { method: 'POST', headers: auth(), body: '{"email": ' });
  const body = await problemOf(res, 400);
  expect(body.detail).toContain('JSON');
});

test('an unknown route is a 404 problem', async () => {
  await problemOf(await app.request('/api/nothing-here', { headers: auth() }), 404);
});

test('a duplicate email is a 409 problem', async () => {
  const payload = JSON.stringify({ email: 'twice@example.com', role: 'viewer', password: 'twice-password' });
  expect((await app.request('/api/users', { method: 'POST', headers: auth(), body: payload })).status).toBe(201);
  await problemOf(await app.request('/api/users', { method: 'POST', headers: auth(), body: payload }), 409);
});

test('a body over the limit is a 413 problem', async () => {
  const res = await app.request('/api/users', {
    method: 'POST', headers: auth(), body: JSON.stringify({ email: 'big@example.com', role: 'viewer', name: 'x'.repeat(5000) }),
  });
  await problemOf(res, 413);
});

test('an unexpected error is a generic 500 with the request id; the real error only in the log', async () => {
  const res = await app.request('/api/test-boom', { headers: { ...auth(), 'x-request-id': 'req-boom-1' } });
  const body = await problemOf(res, 500);
  expect(body.detail).toContain('req-boom-1');
  expect(JSON.stringify(body)).not.toContain('hunter2');
  expect(res.headers.get('x-request-id')).toBe('req-boom-1');
  const logged = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'unhandled error' && l.request_id === 'req-boom-1');
  expect(logged.error).toContain('hunter2');
});

test('every response carries a request id and every request leaves one structured log line', async () => {
  const before = logLines.length;
  const res = await app.request('/api/health');
  const id = res.headers.get('x-request-id');
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const lines = logLines.slice(before).map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ request_id: id, method: 'GET', path: '/api/health', status: 200 });
  expect(typeof lines[0].duration_ms).toBe('number');
  // A forged request id that is not a plain token is replaced, not echoed.
  const forged = await app.request('/api/health', { headers: { 'x-request-id': 'bad id; with <spaces>' } });
  expect(forged.headers.get('x-request-id')).not.toContain('bad');
});

test('GET /api/health needs no sign-in and reports version, schema and checks', async () => {
  const res = await app.request('/api/health');
  expect(res.status).toBe(200);
  const health = HealthSchema.parse(await res.json());
  expect(health.schema_version).toBe(runtime.deps.db.schemaVersion);
  expect(Object.keys(health.checks).sort()).toEqual(['data_dir', 'disk', 'state_db']);
  expect(health.checks.state_db!.status).toBe('ok');
});

test('the OpenAPI document is 3.1, lists the bearer scheme and error responses, and the docs page needs no CDN', async () => {
  const doc = (await (await app.request('/api/openapi.json')).json()) as any;
  expect(doc.openapi).toBe('3.1.0');
  expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  const create = doc.paths['/api/users'].post;
  expect(create.requestBody.content['application/json'].schema).toBeDefined();
  expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '401', '403', '422']));
  expect(create.responses['401'].content['application/problem+json']).toBeDefined();
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/auth/token', '/auth/logout', '/api/health', '/api/audit']));

  const page = await (await app.request('/api/docs')).text();
  expect(page).not.toMatch(/unpkg|jsdelivr|cdnjs|https?:\/\//);
  const scripts = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  expect(scripts.length).toBeGreaterThan(0);
  for (const s of scripts) {
    expect(s.startsWith('/')).toBe(true);
    expect((await app.request(s)).status).toBe(200);
  }
});
