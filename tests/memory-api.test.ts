import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { EventOf } from '../src/events.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { testYaml } from './helpers/data.ts';

/**
 * The corporate memory API against a real server over HTTP: the role matrix of every route,
 * audience filtering (roles, users, datasets through the dataset grants), who sees pending
 * items, votes, governance transitions and their refusals, batch, history and the
 * `memory.status_changed` event, search, filters and cursor paging.
 */
const YAML = testYaml('sources:\n  sales: { type: local, path: /tmp, public: true }\n  hr: { type: local, path: /tmp }\n');

type User = Awaited<ReturnType<TestServer['createUser']>>;
let server: TestServer;
let viewer: User, analyst: User, other: User, admin: User, km: User, hrReader: User;
const events: Array<EventOf<'memory.status_changed'>> = [];

beforeAll(async () => {
  server = await startTestServer({}, { yaml: YAML });
  [viewer, analyst, other, admin, km, hrReader] = [
    await server.createUser('viewer'), await server.createUser('analyst'), await server.createUser('analyst'),
    await server.createUser('admin'), await server.createUser('km_admin'), await server.createUser('analyst'),
  ];
  const grant = await server.fetch(`/api/users/${hrReader.id}/permissions/hr`, { method: 'PUT', token: server.adminToken, json: { access: 'read' } });
  expect(grant.status).toBe(200);
  server.services.events.on('memory.status_changed', (e) => void events.push(e));
});
afterAll(() => server?.stop());

const call = (token: string, method: string, path: string, json?: unknown) => server.fetch(path, { method, token, json });

async function create(token: string, body: Record<string, unknown>) {
  const res = await call(token, 'POST', '/api/memory', { content: 'Some content about the data.', ...body });
  expect(res.status).toBe(201);
  return (await res.json()) as any;
}

async function setStatus(token: string, id: string, body: Record<string, unknown>) {
  return call(token, 'POST', `/api/memory/${id}/status`, body);
}

/** An approved item with `extra` applied by the km_admin. */
async function approved(title: string, extra: Record<string, unknown> = {}, status = 'approved') {
  const item = await create(analyst.token, { title, tags: ['t'] });
  const res = await setStatus(km.token, item.id, { status, ...extra });
  expect(res.status).toBe(200);
  return (await res.json()) as any;
}

async function titles(token: string, query = ''): Promise<string[]> {
  const res = await call(token, 'GET', `/api/memory${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as any).items.map((i: any) => i.title);
}

describe('role matrix', () => {
  test('every memory route refuses anonymous callers with 401 and roles below it with 403', async () => {
    const item = await approved('Matrix item');
    const routes: Array<[string, string, string, unknown]> = [
      // method, path, lowest role, body
      ['GET', '/api/memory', 'viewer', undefined],
      ['GET', `/api/memory/${item.id}`, 'viewer', undefined],
      ['POST', '/api/memory', 'analyst', { title: 'x', content: 'y' }],
      ['PATCH', `/api/memory/${item.id}`, 'analyst', { title: 'x' }],
      ['POST', `/api/memory/${item.id}/vote`, 'analyst', { vote: 1 }],
      ['POST', `/api/memory/${item.id}/status`, 'admin', { status: 'approved' }],
      ['POST', '/api/memory/batch', 'admin', { ids: [item.id], status: 'approved' }],
      ['POST', '/api/memory/collect', 'admin', undefined],
      ['GET', `/api/memory/${item.id}/history`, 'admin', undefined],
    ];
    const tokens: Record<string, string> = { viewer: viewer.token, analyst: other.token, admin: admin.token };
    const below: Record<string, string[]> = { viewer: [], analyst: ['viewer'], admin: ['viewer', 'analyst'] };
    for (const [method, path, role, body] of routes) {
      const anon = await server.fetch(path, { method, json: body });
      expect({ method, path, status: anon.status }).toEqual({ method, path, status: 401 });
      expect(anon.headers.get('content-type')).toContain('application/problem+json');
      for (const r of below[role]!) {
        const res = await call(tokens[r]!, method, path, body);
        expect({ method, path, as: r, status: res.status }).toEqual({ method, path, as: r, status: 403 });
      }
    }
    // The lowest allowed role gets through (the refusals above are not the only answer).
    expect((await call(viewer.token, 'GET', `/api/memory/${item.id}`)).status).toBe(200);
    expect((await call(other.token, 'POST', `/api/memory/${item.id}/vote`, { vote: 1 })).status).toBe(200);
    expect((await call(admin.token, 'GET', `/api/memory/${item.id}/history`)).status).toBe(200);
  });

  test('an unknown id is a 404 problem on every item route', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/memory/zz-missing', undefined],
      ['PATCH', '/api/memory/zz-missing', { title: 'x' }],
      ['POST', '/api/memory/zz-missing/vote', { vote: 1 }],
      ['POST', '/api/memory/zz-missing/status', { status: 'approved' }],
      ['GET', '/api/memory/zz-missing/history', undefined],
      ['POST', '/api/memory/batch', { ids: ['zz-missing'], status: 'approved' }],
    ] as const) {
      const res = await call(km.token, method, path, body);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(((await res.json()) as any).detail).toContain('zz-missing');
    }
  });

  test('the OpenAPI document says who may call each route, and that PATCH is for the owner or an admin', async () => {
    const doc = (await (await server.fetch('/api/openapi.json')).json()) as any;
    expect(doc.paths['/api/memory'].get['x-required-role']).toBe('viewer');
    expect(doc.paths['/api/memory'].post['x-required-role']).toBe('analyst');
    expect(doc.paths['/api/memory/{id}'].patch['x-owner-or']).toBe('admin');
    expect(doc.paths['/api/memory/{id}/status'].post['x-required-role']).toBe('admin');
    expect(doc.paths['/api/memory/collect'].post['x-required-role']).toBe('admin');
  });
});

describe('visibility', () => {
  test('a pending item is seen by its author and admins, not by other analysts or viewers', async () => {
    const item = await create(analyst.token, { title: 'Pending secret sauce' });
    expect(item).toMatchObject({ status: 'pending', contributors: [analyst.id], created_by: analyst.id, score: 0, my_vote: 0, audience: null, source: 'api' });
    expect(await titles(analyst.token)).toContain('Pending secret sauce');
    expect(await titles(admin.token)).toContain('Pending secret sauce');
    expect(await titles(other.token)).not.toContain('Pending secret sauce');
    expect(await titles(viewer.token)).not.toContain('Pending secret sauce');
    expect((await call(other.token, 'GET', `/api/memory/${item.id}`)).status).toBe(404);
    expect((await call(viewer.token, 'GET', `/api/memory/${item.id}`)).status).toBe(404);
  });

  test('audience by role: an item for analysts reaches analysts and above, not viewers', async () => {
    const item = await approved('For analysts only', { audience: { roles: ['analyst'] } });
    expect(item.audience).toEqual({ roles: ['analyst'] });
    expect(await titles(other.token)).toContain('For analysts only');
    expect(await titles(viewer.token)).not.toContain('For analysts only');
    expect((await call(viewer.token, 'GET', `/api/memory/${item.id}`)).status).toBe(404);
  });

  test('audience by user: named users (by email, stored as ids) see it, nobody else below admin', async () => {
    const item = await approved('Just for one analyst', { audience: { users: [other.email] } });
    expect(item.audience).toEqual({ users: [other.id] });
    expect(await titles(other.token)).toContain('Just for one analyst');
    expect(await titles(hrReader.token)).not.toContain('Just for one analyst');
    expect(await titles(viewer.token)).not.toContain('Just for one analyst');
    expect(await titles(admin.token)).toContain('Just for one analyst');
  });

  test('audience by dataset: only those who may read hr see an item about hr; a grant revoked hides it again', async () => {
    await approved('Salaries are monthly gross', { audience: { datasets: ['hr'] } });
    expect(await titles(hrReader.token)).toContain('Salaries are monthly gross');
    expect(await titles(other.token)).not.toContain('Salaries are monthly gross');
    const revoke = await server.fetch(`/api/users/${hrReader.id}/permissions/hr`, { method: 'PUT', token: server.adminToken, json: { access: 'none' } });
    expect(revoke.status).toBe(200);
    expect(await titles(hrReader.token)).not.toContain('Salaries are monthly gross');
    await server.fetch(`/api/users/${hrReader.id}/permissions/hr`, { method: 'PUT', token: server.adminToken, json: { access: 'read' } });
    expect(await titles(hrReader.token)).toContain('Salaries are monthly gross');
  });

  test('an audience naming a dataset or user that does not exist is a 422 and changes nothing', async () => {
    const item = await approved('Audience validation');
    for (const audience of [{ datasets: ['nope'] }, { users: ['ghost@example.com'] }, { roles: ['boss'] }]) {
      const res = await setStatus(km.token, item.id, { status: 'approved', audience });
      expect(res.status).toBe(422);
    }
    expect(((await (await call(km.token, 'GET', `/api/memory/${item.id}`)).json()) as any).audience).toBeNull();
  });
});

describe('votes', () => {
  test('a vote replaces the previous one, 0 removes it, and 2 is refused with 422', async () => {
    const item = await approved('Votable');
    const vote = async (token: string, v: unknown) => call(token, 'POST', `/api/memory/${item.id}/vote`, { vote: v });
    let res = await vote(analyst.token, 1);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ score: 1, my_vote: 1 });
    res = await vote(other.token, 1);
    expect(await res.json()).toMatchObject({ score: 2, my_vote: 1 });
    res = await vote(analyst.token, -1);
    expect(await res.json()).toMatchObject({ score: 0, my_vote: -1 });
    res = await vote(analyst.token, 0);
    expect(await res.json()).toMatchObject({ score: 1, my_vote: 0 });
    res = await vote(analyst.token, 2);
    expect(res.status).toBe(422);
    expect(((await res.json()) as any).errors[0].path).toBe('vote');
    expect((await vote(viewer.token, 1)).status).toBe(403);
    expect(((await (await call(other.token, 'GET', `/api/memory/${item.id}`)).json()) as any)).toMatchObject({ score: 1, my_vote: 1 });
  });
});

describe('editing', () => {
  test('the author edits while pending; another analyst may not; after approval only admins', async () => {
    const item = await create(analyst.token, { title: 'Draft title' });
    const patch = (token: string, body: unknown) => call(token, 'PATCH', `/api/memory/${item.id}`, body);
    const res = await patch(analyst.token, { title: 'Better title', tags: ['a', 'a', 'b'] });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ title: 'Better title', tags: ['a', 'b'], status: 'pending' });
    expect((await patch(other.token, { title: 'Mine now' })).status).toBe(404); // cannot even see it
    expect((await setStatus(admin.token, item.id, { status: 'approved' })).status).toBe(200);
    expect((await patch(analyst.token, { title: 'After approval' })).status).toBe(403);
    expect((await patch(admin.token, { content: 'Admin fixed the wording.' })).status).toBe(200);
    expect((await patch(admin.token, { title: '' })).status).toBe(422);
  });

  test('secrets and personal data typed into an item are removed before it is stored, as from extracted ones', async () => {
    const item = await create(analyst.token, {
      title: 'Old exports: ask bob@example.com',
      content: 'Read them with postgres://analyst:hunter2@db.internal:5432/shop using key sk-proj-abcdefghijklmnopqrstuvwx123456.',
    });
    const stored = JSON.stringify(item);
    for (const secret of ['hunter2', 'bob@example.com', 'sk-proj-abcdefghijklmnopqrstuvwx123456']) expect(stored).not.toContain(secret);
    expect(item.content).toContain('Read them with');
    const patched = await call(analyst.token, 'PATCH', `/api/memory/${item.id}`, { content: 'token: ghp_abcdefghijklmnopqrstuvwxyz0123456789' });
    expect(JSON.stringify(await patched.json())).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
  });
});

describe('governance', () => {
  test('admins approve and reject; mandate, revoke and audience need km_admin; each change is in the history and emitted', async () => {
    const item = await create(analyst.token, { title: 'Orders before 2024 have no channel' });
    const before = events.length;
    let res = await setStatus(admin.token, item.id, { status: 'approved', note: 'checked against the warehouse' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).status).toBe('approved');
    expect((await setStatus(admin.token, item.id, { status: 'mandatory' })).status).toBe(403);
    expect((await setStatus(admin.token, item.id, { status: 'revoked' })).status).toBe(403);
    expect((await setStatus(admin.token, item.id, { status: 'approved', audience: { roles: ['analyst'] } })).status).toBe(403);
    expect((await setStatus(admin.token, item.id, { status: 'approved', category: 'sales' })).status).toBe(403);
    expect((await setStatus(admin.token, item.id, { status: 'approved' })).status).toBe(409);
    expect((await setStatus(analyst.token, item.id, { status: 'approved' })).status).toBe(403);
    expect((await setStatus(km.token, item.id, { status: 'pending' })).status).toBe(422);

    res = await setStatus(km.token, item.id, { status: 'mandatory', note: 'everyone must know', category: 'sales', audience: { roles: ['analyst'] } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'mandatory', category: 'sales', audience: { roles: ['analyst'] } });
    // An admin cannot undo a km_admin's mandate.
    expect((await setStatus(admin.token, item.id, { status: 'rejected' })).status).toBe(403);
    res = await setStatus(km.token, item.id, { status: 'revoked', note: 'channel backfilled' });
    expect(res.status).toBe(200);

    const history = (await (await call(admin.token, 'GET', `/api/memory/${item.id}/history`)).json()) as any[];
    expect(history.map((h) => [h.action, h.actor, h.from_status, h.to_status, h.note])).toEqual([
      ['created', analyst.id, null, 'pending', null],
      ['status', admin.id, 'pending', 'approved', 'checked against the warehouse'],
      ['status', km.id, 'approved', 'mandatory', 'everyone must know'],
      ['status', km.id, 'mandatory', 'revoked', 'channel backfilled'],
    ]);
    expect(history[2].changes).toMatchObject({ status: 'mandatory', category: 'sales', audience: { roles: ['analyst'] } });

    const mine = events.slice(before).filter((e) => e.itemId === item.id);
    expect(mine.map((e) => [e.from, e.to, e.by, e.note])).toEqual([
      ['pending', 'approved', admin.id, 'checked against the warehouse'],
      ['approved', 'mandatory', km.id, 'everyone must know'],
      ['mandatory', 'revoked', km.id, 'channel backfilled'],
    ]);
    expect(mine[0]!.contributors).toEqual([analyst.id]);

    // The event reached the audit trail too.
    const audit = (await (await call(server.adminToken, 'GET', `/api/audit?action=memory.status_changed`)).json()) as any;
    const rows = (audit.items ?? audit) as any[];
    expect(rows.some((r) => r.resource === `memory/${item.id}`)).toBe(true);
    // And the API call itself, with who made it.
    const calls = (await (await call(server.adminToken, 'GET', `/api/audit?action=memory.status`)).json()) as any;
    expect(((calls.items ?? calls) as any[]).some((r) => r.user_id === km.id)).toBe(true);
  });

  test('a pending item cannot be revoked; a rejected one can be approved again', async () => {
    const item = await create(analyst.token, { title: 'Revocation rules' });
    expect((await setStatus(km.token, item.id, { status: 'revoked' })).status).toBe(409);
    expect((await setStatus(admin.token, item.id, { status: 'rejected' })).status).toBe(200);
    expect((await setStatus(admin.token, item.id, { status: 'approved' })).status).toBe(200);
  });

  test('batch: all items change, or none when one of them may not', async () => {
    const a = await create(analyst.token, { title: 'Batch one' });
    const b = await create(analyst.token, { title: 'Batch two' });
    const c = await approved('Batch mandated', {}, 'mandatory');
    let res = await call(admin.token, 'POST', '/api/memory/batch', { ids: [a.id, b.id, c.id], status: 'rejected', note: 'cleanup' });
    expect(res.status).toBe(403); // c is mandatory: a km_admin's
    for (const id of [a.id, b.id]) expect(((await (await call(admin.token, 'GET', `/api/memory/${id}`)).json()) as any).status).toBe('pending');
    res = await call(admin.token, 'POST', '/api/memory/batch', { ids: [a.id, b.id], status: 'approved', note: 'reviewed' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).items.map((i: any) => i.status)).toEqual(['approved', 'approved']);
    expect((await call(admin.token, 'POST', '/api/memory/batch', { ids: [a.id], status: 'mandatory' })).status).toBe(403);
    expect((await call(km.token, 'POST', '/api/memory/batch', { ids: [a.id, b.id], status: 'mandatory' })).status).toBe(200);
    expect((await call(km.token, 'POST', '/api/memory/batch', { ids: [], status: 'approved' })).status).toBe(422);
    const history = (await (await call(admin.token, 'GET', `/api/memory/${a.id}/history`)).json()) as any[];
    expect(history.at(-2)).toMatchObject({ actor: admin.id, to_status: 'approved', note: 'reviewed' });
  });
});

describe('listing', () => {
  test('q searches title, content and tags; filters by status, category and tag', async () => {
    await approved('Churn definition', { category: 'customers' });
    const item = await create(analyst.token, { title: 'Discount column', content: 'order_items.discount is a fraction, not percent', tags: ['pricing'], category: 'sales' });
    await setStatus(admin.token, item.id, { status: 'approved' });
    expect(await titles(viewer.token, '?q=FRACTION')).toEqual(['Discount column']);
    expect(await titles(viewer.token, '?q=pricing')).toEqual(['Discount column']);
    expect(await titles(viewer.token, '?q=churn%20definition')).toEqual(['Churn definition']);
    expect(await titles(viewer.token, '?q=churn%20fraction')).toEqual([]);
    expect(await titles(viewer.token, '?category=customers')).toEqual(['Churn definition']);
    expect(await titles(viewer.token, '?tag=pricing')).toEqual(['Discount column']);
    const pending = await titles(admin.token, '?status=pending');
    expect(pending.length).toBeGreaterThan(0);
    expect(await titles(viewer.token, '?status=pending')).toEqual([]);
    expect((await call(viewer.token, 'GET', '/api/memory?status=bogus')).status).toBe(422);
    expect((await call(viewer.token, 'GET', '/api/memory?cursor=garbage')).status).toBe(422);
  });

  test('cursor paging walks every item once, newest first', async () => {
    for (let i = 0; i < 5; i++) await approved(`Paging item ${i}`, { category: 'paging' });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await call(viewer.token, 'GET', `/api/memory?category=paging&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const body = (await res.json()) as any;
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((i: any) => i.title));
      cursor = body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(['Paging item 4', 'Paging item 3', 'Paging item 2', 'Paging item 1', 'Paging item 0']);
  });
});
