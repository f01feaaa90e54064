import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

type Page = { items: Array<Record<string, any>>; next_cursor: string | null };

async function audit(query: string): Promise<Page> {
  const res = await server.fetch(`/api/audit?${query}`, { token: server.adminToken });
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

test('a new analyst logs in and both logins appear in the audit log, passwords redacted', async () => {
  const analyst = await server.createUser('analyst');
  const page = await audit('action=auth.token');
  const logins = page.items.filter((e) => e.status === 200);
  const emails = logins.map((e) => e.params?.body?.email);
  expect(emails).toContain(analyst.email);
  expect(emails).toContain('admin@example.com');
  const text = JSON.stringify(page);
  expect(text).not.toContain(analyst.password);
  expect(text).toContain('[redacted]');
  // The user creation was audited with who did it, and the password redacted there too.
  const created = (await audit('action=users.create')).items.find((e) => e.params?.body?.email === analyst.email)!;
  expect(created.user_id).not.toBeNull();
  expect(created.result).toBe('allowed');
  expect(created.status).toBe(201);
  expect(created.params.body.password).toBe('[redacted]');
  expect(created.duration_ms).toBeGreaterThanOrEqual(0);
});

test('refused calls are audited: anonymous, wrong role, bad password', async () => {
  const viewer = await server.createUser('viewer');
  await server.fetch('/api/users');
  await server.fetch('/api/users', { token: viewer.token });
  await server.fetch('/auth/token', { method: 'POST', json: { email: viewer.email, password: 'wrong-password-here' } });

  const list = (await audit('action=users.list')).items;
  expect(list.some((e) => e.status === 401 && e.user_id === null && e.result === 'refused')).toBe(true);
  expect(list.some((e) => e.status === 403 && e.user_id === viewer.id && e.result === 'refused')).toBe(true);
  const failed = (await audit('action=auth.token&status=401')).items.find((e) => e.params?.body?.email === viewer.email)!;
  expect(failed.params.body.password).toBe('[redacted]');
  expect(JSON.stringify(failed)).not.toContain('wrong-password-here');
});

test('tokens in bodies and query strings are redacted', async () => {
  await server.fetch('/auth/setup?token=query-secret-123', { method: 'POST', json: { token: 'body-secret-456', password: 'x'.repeat(10) } });
  const page = await audit('action=auth.setup');
  const text = JSON.stringify(page);
  expect(page.items.length).toBeGreaterThan(0);
  expect(text).not.toContain('query-secret-123');
  expect(text).not.toContain('body-secret-456');
});

test('filters by user (id or email) and pages with a cursor', async () => {
  const u = await server.createUser('analyst');
  for (let i = 0; i < 5; i++) await server.fetch('/api/me', { token: u.token });
  const byEmail = await audit(`user=${encodeURIComponent(u.email)}&action=me.get`);
  expect(byEmail.items.length).toBe(5);
  const byId = await audit(`user=${u.id}&action=me.get&limit=2`);
  expect(byId.items.length).toBe(2);
  expect(byId.next_cursor).not.toBeNull();
  const next = await audit(`user=${u.id}&action=me.get&limit=2&cursor=${encodeURIComponent(byId.next_cursor!)}`);
  expect(next.items.length).toBe(2);
  const ids = new Set([...byId.items, ...next.items].map((e) => e.id));
  expect(ids.size).toBe(4);
  const last = await audit(`user=${u.id}&action=me.get&limit=2&cursor=${encodeURIComponent(next.next_cursor!)}`);
  expect(last.items.length).toBe(1);
  expect(last.next_cursor).toBeNull();
});

test('only admins read the audit log', async () => {
  const analyst = await server.createUser('analyst');
  expect((await server.fetch('/api/audit', { token: analyst.token })).status).toBe(403);
  expect((await server.fetch('/api/audit')).status).toBe(401);
});

test('a bad filter is a 422 with the field named', async () => {
  const res = await server.fetch('/api/audit?limit=0&since=yesterday', { token: server.adminToken });
  expect(res.status).toBe(422);
  const body = (await res.json()) as { errors: Array<{ path: string }> };
  expect(body.errors.map((e) => e.path).sort()).toEqual(['limit', 'since']);
});
