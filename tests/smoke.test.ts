import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

test('an admin creates an analyst who signs in and sees their own profile', async () => {
  const analyst = await server.createUser('analyst');
  const res = await server.fetch('/api/me', { token: analyst.token });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ email: analyst.email, role: 'analyst' });
});
