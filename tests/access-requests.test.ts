import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { AccessRequestSchema } from '../src/api/access-requests.ts';
import { ManifestSchema } from '../src/api/manifest.ts';
import type { DomainEvent } from '../src/events.ts';
import { seedTable, testYaml } from './helpers/data.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

/**
 * Access requests over real HTTP: a user asks for a dataset, an admin approves (the grant
 * lands with the status change) or denies with a note; the refusals, the roles, the domain
 * events and the audit trail.
 */
let server: TestServer;
let analyst: Awaited<ReturnType<TestServer['createUser']>>;
let viewer: Awaited<ReturnType<TestServer['createUser']>>;
const events: DomainEvent[] = [];

beforeAll(async () => {
  server = await startTestServer({}, {
    yaml: testYaml('sources:\n  sales: { type: local, path: /tmp, public: true }\n  hr: { type: local, path: /tmp, description: People and pay }\n  finance: { type: local, path: /tmp }\n'),
  });
  server.services.events.on('*', (e) => void events.push(e));
  await seedTable(server, { dataset: 'hr', table: 'salaries', select: `SELECT 'ceo' AS who, 1 AS salary` });
  await seedTable(server, { dataset: 'sales', table: 'orders', select: `SELECT 1 AS id` });
  analyst = await server.createUser('analyst');
  viewer = await server.createUser('viewer');
});
afterAll(() => server.stop());

const post = (path: string, token: string | undefined, json?: unknown) => server.fetch(path, { method: 'POST', token, json: json ?? {} });

async function manifestTables(token: string): Promise<string[]> {
  const res = await server.fetch('/api/sync/manifest', { token });
  expect(res.status).toBe(200);
  return Object.keys(ManifestSchema.parse(await res.json()).tables).sort();
}

describe('access requests', () => {
  test('analyst requests hr, the admin sees it pending and approves; the next manifest has hr', async () => {
    expect(await manifestTables(analyst.token)).toEqual(['sales.orders']);
    const res = await post('/api/access-requests', analyst.token, { dataset: 'hr', reason: 'pay equity study' });
    expect(res.status).toBe(201);
    const req = AccessRequestSchema.parse(await res.json());
    expect(req).toMatchObject({ user: analyst.email, dataset: 'hr', reason: 'pay equity study', status: 'pending', note: null, decided_by: null, decided_at: null });

    const pending = (await (await server.fetch('/api/access-requests?status=pending', { token: server.adminToken })).json()) as { items: unknown[] };
    expect(pending.items.map((i) => AccessRequestSchema.parse(i).id)).toContain(req.id);

    const approved = await post(`/api/access-requests/${req.id}/approve`, server.adminToken);
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({ id: req.id, status: 'approved', decided_by: 'admin@example.com' });

    expect(await manifestTables(analyst.token)).toEqual(['hr.salaries', 'sales.orders']);
    const mine = (await (await server.fetch('/api/access-requests/mine', { token: analyst.token })).json()) as { items: Array<{ id: string; status: string }> };
    expect(mine.items.find((i) => i.id === req.id)!.status).toBe('approved');
    // Approved once: approving or denying again is a conflict.
    expect((await post(`/api/access-requests/${req.id}/approve`, server.adminToken)).status).toBe(409);
    expect((await post(`/api/access-requests/${req.id}/deny`, server.adminToken, { note: 'x' })).status).toBe(409);
    // And the dataset is now readable: asking again is refused with a clear reason.
    const again = await post('/api/access-requests', analyst.token, { dataset: 'hr', reason: 'more' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { detail: string }).detail).toContain('already read');

    const kinds = events.filter((e) => e.type.startsWith('access.') && 'requestId' in e && e.requestId === req.id).map((e) => e.type);
    expect(kinds).toEqual(['access.requested', 'access.granted']);
    await server.deps.repos.audit.flush();
    const audit = (await (await server.fetch('/api/audit?action=access.granted', { token: server.adminToken })).json()) as { items: Array<{ resource: string; params: { dataset: string } }> };
    expect(audit.items.some((e) => e.resource === `access-requests/${req.id}` && e.params.dataset === 'hr')).toBe(true);
    const apiAudit = (await (await server.fetch('/api/audit?action=accessRequests.approve', { token: server.adminToken })).json()) as { items: unknown[] };
    expect(apiAudit.items.length).toBeGreaterThan(0);
  });

  test('deny with a note; a duplicate pending request is 409; the viewer may request', async () => {
    const res = await post('/api/access-requests', viewer.token, { dataset: 'finance', reason: 'budget' });
    expect(res.status).toBe(201);
    const { id } = AccessRequestSchema.parse(await res.json());
    const dup = await post('/api/access-requests', viewer.token, { dataset: 'finance', reason: 'again' });
    expect(dup.status).toBe(409);
    expect(((await dup.json()) as { detail: string }).detail).toContain('pending');

    const denied = await post(`/api/access-requests/${id}/deny`, server.adminToken, { note: 'ask your manager' });
    expect(denied.status).toBe(200);
    expect(await denied.json()).toMatchObject({ status: 'denied', note: 'ask your manager', decided_by: 'admin@example.com' });
    const mine = (await (await server.fetch('/api/access-requests/mine', { token: viewer.token })).json()) as { items: Array<{ id: string; status: string; note: string }> };
    expect(mine.items.find((i) => i.id === id)).toMatchObject({ status: 'denied', note: 'ask your manager' });
    expect(events.some((e) => e.type === 'access.denied' && e.requestId === id && e.note === 'ask your manager')).toBe(true);
    // Denied is not pending: the user may ask again.
    expect((await post('/api/access-requests', viewer.token, { dataset: 'finance', reason: 'new budget year' })).status).toBe(201);
    const only = (await (await server.fetch('/api/access-requests?status=denied', { token: server.adminToken })).json()) as { items: Array<{ status: string }> };
    expect(only.items.length).toBeGreaterThan(0);
    expect(only.items.every((i) => i.status === 'denied')).toBe(true);
  });

  test('unknown request id is 404, unknown dataset is 404, a public dataset is 409', async () => {
    expect((await post('/api/access-requests/nope/approve', server.adminToken)).status).toBe(404);
    expect((await post('/api/access-requests/nope/deny', server.adminToken, { note: 'n' })).status).toBe(404);
    expect((await post('/api/access-requests', analyst.token, { dataset: 'nosuch', reason: 'r' })).status).toBe(404);
    expect((await post('/api/access-requests', analyst.token, { dataset: 'Bad Name!', reason: 'r' })).status).toBe(422);
    expect((await post('/api/access-requests', analyst.token, { dataset: 'sales', reason: 'r' })).status).toBe(409);
    expect((await post('/api/access-requests', analyst.token, { dataset: 'finance', reason: '' })).status).toBe(422);
  });

  test('roles: analyst may not approve, deny or list (403); anonymous is 401', async () => {
    const res = await post('/api/access-requests', analyst.token, { dataset: 'finance', reason: 'r' });
    const { id } = AccessRequestSchema.parse(await res.json());
    expect((await post(`/api/access-requests/${id}/approve`, analyst.token)).status).toBe(403);
    expect((await post(`/api/access-requests/${id}/deny`, analyst.token, { note: 'n' })).status).toBe(403);
    expect((await server.fetch('/api/access-requests', { token: analyst.token })).status).toBe(403);
    expect((await post('/api/access-requests', undefined, { dataset: 'finance', reason: 'r' })).status).toBe(401);
    expect((await server.fetch('/api/access-requests/mine')).status).toBe(401);
    expect((await post(`/api/access-requests/${id}/approve`, undefined)).status).toBe(401);
    expect((await server.deps.repos.accessRequests.get(id))!.status).toBe('pending');
  });
});
