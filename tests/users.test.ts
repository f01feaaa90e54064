import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ProblemSchema } from '../src/api/problem.ts';
import { UserSchema } from '../src/api/schemas.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const admin = () => server.adminToken;

describe('users API', () => {
  test('an admin creates, reads, renames, re-roles and deactivates a user', async () => {
    const res = await server.fetch('/api/users', { method: 'POST', token: admin(), json: { email: 'Eva@Example.com', name: 'Eva', role: 'analyst', password: 'eva-password-1' } });
    expect(res.status).toBe(201);
    const eva = UserSchema.parse(await res.json());
    expect(eva).toMatchObject({ email: 'eva@example.com', name: 'Eva', role: 'analyst', active: true });
    expect(JSON.stringify(eva)).not.toContain('password');

    const got = await server.fetch(`/api/users/${eva.id}`, { token: admin() });
    expect(UserSchema.parse(await got.json()).email).toBe('eva@example.com');

    const patched = await server.fetch(`/api/users/${eva.id}`, { method: 'PATCH', token: admin(), json: { name: 'Eva K.', role: 'viewer' } });
    expect(await patched.json()).toMatchObject({ name: 'Eva K.', role: 'viewer' });

    const list = (await (await server.fetch('/api/users', { token: admin() })).json()) as { items: Array<{ email: string }> };
    expect(list.items.map((u) => u.email)).toContain('eva@example.com');

    expect((await server.fetch(`/api/users/${eva.id}`, { method: 'DELETE', token: admin() })).status).toBe(204);
    const after = (await (await server.fetch('/api/users', { token: admin() })).json()) as { items: Array<{ email: string }> };
    expect(after.items.map((u) => u.email)).not.toContain('eva@example.com');
    const all = (await (await server.fetch('/api/users?include_inactive=true', { token: admin() })).json()) as { items: Array<{ email: string; active: boolean }> };
    expect(all.items.find((u) => u.email === 'eva@example.com')!.active).toBe(false);
  });

  test('an unknown user is 404 for every user route', async () => {
    for (const [method, path, json] of [
      ['GET', '/api/users/nope', undefined],
      ['PATCH', '/api/users/nope', { name: 'x' }],
      ['DELETE', '/api/users/nope', undefined],
      ['GET', '/api/users/nope/permissions', undefined],
      ['PUT', '/api/users/nope/permissions/sales', { access: 'read' }],
      ['GET', '/api/users/nope/settings', undefined],
    ] as const) {
      const res = await server.fetch(path, { method, token: admin(), json });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
    }
  });

  test('an admin cannot hand out a role above their own, nor lock themselves out', async () => {
    const plainAdmin = await server.createUser('admin');
    const up = await server.fetch('/api/users', { method: 'POST', token: plainAdmin.token, json: { email: 'km@example.com', role: 'km_admin', password: 'km-password-1' } });
    expect(up.status).toBe(403);
    const self = await server.fetch(`/api/users/${plainAdmin.id}`, { method: 'PATCH', token: plainAdmin.token, json: { role: 'km_admin' } });
    expect(self.status).toBe(403);
    const off = await server.fetch(`/api/users/${plainAdmin.id}`, { method: 'DELETE', token: plainAdmin.token });
    expect(off.status).toBe(409);
    const demote = await server.fetch(`/api/users/${plainAdmin.id}`, { method: 'PATCH', token: plainAdmin.token, json: { role: 'analyst' } });
    expect(demote.status).toBe(409);
    const top = (await server.deps.repos.users.findByEmail('admin@example.com'))!;
    const touchTop = await server.fetch(`/api/users/${top.id}`, { method: 'DELETE', token: plainAdmin.token });
    expect(touchTop.status).toBe(403);
  });

  test('an admin cannot take over a higher-role account by issuing it a password reset token', async () => {
    const plainAdmin = await server.createUser('admin');
    const top = (await server.deps.repos.users.findByEmail('admin@example.com'))!;
    const res = await server.fetch(`/api/users/${top.id}/reset-token`, { method: 'POST', token: plainAdmin.token });
    expect(res.status).toBe(403);
  });

  test('an admin cannot take over another admin: no reset token, and no demoting or deactivating them first', async () => {
    const plainAdmin = await server.createUser('admin');
    const peer = await server.createUser('admin');
    const refused = [
      await server.fetch(`/api/users/${peer.id}/reset-token`, { method: 'POST', token: plainAdmin.token }),
      // Demote, then reset as a lower role, then promote back: the same takeover in three steps.
      await server.fetch(`/api/users/${peer.id}`, { method: 'PATCH', token: plainAdmin.token, json: { role: 'viewer' } }),
      await server.fetch(`/api/users/${peer.id}`, { method: 'PATCH', token: plainAdmin.token, json: { active: false } }),
      await server.fetch(`/api/users/${peer.id}`, { method: 'DELETE', token: plainAdmin.token }),
    ];
    for (const res of refused) {
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(ProblemSchema.parse(await res.json()).detail).toContain('km_admin');
    }
    const after = UserSchema.parse(await (await server.fetch(`/api/users/${peer.id}`, { token: admin() })).json());
    expect(after).toMatchObject({ role: 'admin', active: true });
    expect((await server.fetch('/api/me', { token: peer.token })).status).toBe(200);
  });

  test('a km_admin resets any admin; an admin resets users below their role and themselves', async () => {
    const plainAdmin = await server.createUser('admin');
    const peer = await server.createUser('admin');
    const analyst = await server.createUser('analyst');
    const issue = (id: string, token: string) => server.fetch(`/api/users/${id}/reset-token`, { method: 'POST', token });
    expect((await issue(peer.id, admin())).status).toBe(201);
    expect((await issue(analyst.id, plainAdmin.token)).status).toBe(201);
    expect((await issue(plainAdmin.id, plainAdmin.token)).status).toBe(201);
    const demoted = await server.fetch(`/api/users/${analyst.id}`, { method: 'PATCH', token: plainAdmin.token, json: { role: 'viewer' } });
    expect(demoted.status).toBe(200);
    const promoted = await server.fetch(`/api/users/${analyst.id}`, { method: 'PATCH', token: plainAdmin.token, json: { role: 'admin' } });
    expect(promoted.status).toBe(200);
    // Now an admin: out of reach of the admin who promoted them.
    expect((await issue(analyst.id, plainAdmin.token)).status).toBe(403);
  });

  test('users see themselves but not others; analysts cannot list or create users', async () => {
    const a = await server.createUser('analyst');
    const b = await server.createUser('analyst');
    expect((await server.fetch(`/api/users/${a.id}`, { token: a.token })).status).toBe(200);
    expect((await server.fetch(`/api/users/${b.id}`, { token: a.token })).status).toBe(403);
    expect((await server.fetch('/api/users', { token: a.token })).status).toBe(403);
    const create = await server.fetch('/api/users', { method: 'POST', token: a.token, json: { email: 'x@example.com', role: 'viewer' } });
    expect(create.status).toBe(403);
  });
});

describe('dataset permissions', () => {
  test('an admin grants, denies and removes dataset access', async () => {
    const u = await server.createUser('analyst');
    const grant = await server.fetch(`/api/users/${u.id}/permissions/sales`, { method: 'PUT', token: admin(), json: { access: 'read' } });
    expect(grant.status).toBe(200);
    expect(await grant.json()).toMatchObject({ user_id: u.id, dataset: 'sales', access: 'read' });
    await server.fetch(`/api/users/${u.id}/permissions/hr`, { method: 'PUT', token: admin(), json: { access: 'none' } });

    const own = (await (await server.fetch(`/api/users/${u.id}/permissions`, { token: u.token })).json()) as { items: Array<{ dataset: string; access: string }> };
    expect(own.items.map((p) => [p.dataset, p.access])).toEqual([['hr', 'none'], ['sales', 'read']]);

    expect((await server.fetch(`/api/users/${u.id}/permissions/sales`, { method: 'DELETE', token: admin() })).status).toBe(204);
    const after = (await (await server.fetch(`/api/users/${u.id}/permissions`, { token: admin() })).json()) as { items: unknown[] };
    expect(after.items).toHaveLength(1);
  });

  test('users cannot grant themselves access, and dataset names are validated', async () => {
    const u = await server.createUser('analyst');
    expect((await server.fetch(`/api/users/${u.id}/permissions/sales`, { method: 'PUT', token: u.token, json: { access: 'read' } })).status).toBe(403);
    const bad = await server.fetch(`/api/users/${u.id}/permissions/..%2Fetc`, { method: 'PUT', token: admin(), json: { access: 'read' } });
    expect(bad.status).toBe(422);
    const badAccess = await server.fetch(`/api/users/${u.id}/permissions/sales`, { method: 'PUT', token: admin(), json: { access: 'write' } });
    expect(badAccess.status).toBe(422);
  });
});

describe('sync settings', () => {
  test('a user reads and writes their own per-dataset sync settings; others cannot', async () => {
    const u = await server.createUser('analyst');
    const other = await server.createUser('analyst');
    const put = await server.fetch(`/api/users/${u.id}/settings`, {
      method: 'PUT', token: u.token,
      json: { items: [{ dataset: 'sales', enabled: true, table_mode: 'explicit', tables: ['orders'] }, { dataset: 'hr', enabled: false }] },
    });
    expect(put.status).toBe(200);
    const got = (await (await server.fetch(`/api/users/${u.id}/settings`, { token: u.token })).json()) as { items: Array<Record<string, unknown>> };
    expect(got.items.map(({ updated_at: _, ...s }) => s)).toEqual([
      { dataset: 'hr', enabled: false, table_mode: 'all', tables: null },
      { dataset: 'sales', enabled: true, table_mode: 'explicit', tables: ['orders'] },
    ]);
    expect((await server.fetch(`/api/users/${u.id}/settings`, { token: other.token })).status).toBe(403);
    // One invalid item refuses the whole request and saves nothing.
    const bad = await server.fetch(`/api/users/${u.id}/settings`, {
      method: 'PUT', token: u.token,
      json: { items: [{ dataset: 'new_one', enabled: true }, { dataset: 'Bad Name', enabled: true }] },
    });
    expect(bad.status).toBe(422);
    const after = (await (await server.fetch(`/api/users/${u.id}/settings`, { token: u.token })).json()) as { items: Array<{ dataset: string }> };
    expect(after.items.map((s) => s.dataset)).toEqual(['hr', 'sales']);
    expect((await server.fetch(`/api/users/${u.id}/settings`, { token: admin() })).status).toBe(200);
  });
});
