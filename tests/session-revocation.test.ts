import { afterAll, beforeAll, expect, test } from 'bun:test';
import { ProblemSchema } from '../src/api/problem.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

/** Signs in for a web session and returns its cookie (`da_session=…`). */
async function webSession(email: string, password: string): Promise<string> {
  const res = await server.fetch('/auth/token', { method: 'POST', json: { email, password, cookie: true } });
  expect(res.status).toBe(200);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

const me = (init: { token?: string; cookie?: string }) =>
  server.fetch('/api/me', { token: init.token, headers: init.cookie ? { cookie: init.cookie } : {} });

async function expectRevoked(init: { token?: string; cookie?: string }) {
  const res = await me(init);
  expect(res.status).toBe(401);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(ProblemSchema.parse(await res.json()).detail).toContain('revoked');
}

test('a password reset ends every earlier access token and web session of the user at once', async () => {
  const user = await server.createUser('analyst');
  const second = await server.login(user.email, user.password);
  const cookie = await webSession(user.email, user.password);
  // Used before the reset, so each sits in the server's memory of verified tokens.
  for (const init of [{ token: user.token }, { token: second }, { cookie }]) expect((await me(init)).status).toBe(200);

  const issued = await server.fetch(`/api/users/${user.id}/reset-token`, { method: 'POST', token: server.adminToken });
  const { token: resetToken } = (await issued.json()) as { token: string };
  const reset = await server.fetch('/auth/reset', { method: 'POST', json: { token: resetToken, password: 'brand-new-password' } });
  expect(reset.status).toBe(200);
  const { access_token: fresh } = (await reset.json()) as { access_token: string };

  await expectRevoked({ token: user.token });
  await expectRevoked({ token: second });
  await expectRevoked({ cookie });
  // The token the reset itself returned, and a new sign-in, work.
  expect((await me({ token: fresh })).status).toBe(200);
  expect((await me({ token: await server.login(user.email, 'brand-new-password') })).status).toBe(200);
  // Other users keep their sessions.
  expect((await me({ token: server.adminToken })).status).toBe(200);
});

test('deactivation ends the sessions for good: reactivating the account does not bring them back', async () => {
  for (const how of ['DELETE', 'PATCH'] as const) {
    const user = await server.createUser('viewer');
    const cookie = await webSession(user.email, user.password);
    expect((await me({ token: user.token })).status).toBe(200);
    const off = how === 'DELETE'
      ? await server.fetch(`/api/users/${user.id}`, { method: 'DELETE', token: server.adminToken })
      : await server.fetch(`/api/users/${user.id}`, { method: 'PATCH', token: server.adminToken, json: { active: false } });
    expect(off.status).toBe(how === 'DELETE' ? 204 : 200);
    const on = await server.fetch(`/api/users/${user.id}`, { method: 'PATCH', token: server.adminToken, json: { active: true } });
    expect(on.status).toBe(200);

    await expectRevoked({ token: user.token });
    await expectRevoked({ cookie });
    expect((await me({ token: await server.login(user.email, user.password) })).status).toBe(200);
  }
});

test('a rename or role change keeps the sessions (only password and deactivation end them)', async () => {
  const user = await server.createUser('analyst');
  const res = await server.fetch(`/api/users/${user.id}`, { method: 'PATCH', token: server.adminToken, json: { name: 'Renamed', role: 'viewer' } });
  expect(res.status).toBe(200);
  const now = await me({ token: user.token });
  expect(now.status).toBe(200);
  expect(((await now.json()) as { role: string }).role).toBe('viewer');
});
