import { afterAll, beforeAll, expect, test } from 'bun:test';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/server.ts';
import { testYaml } from './helpers/data.ts';
import { createDaSandbox, type DaSandbox } from './helpers/cli.ts';

/** `da access request` and `da access list`, in-process against a real server. */
let server: TestServer;
let analyst: DaSandbox;
let admin: DaSandbox;

beforeAll(async () => {
  server = await startTestServer({}, { yaml: testYaml('sources:\n  sales: { type: local, path: /tmp, public: true }\n  hr: { type: local, path: /tmp }\n') });
  const user = await server.createUser('analyst');
  analyst = createDaSandbox();
  admin = createDaSandbox();
  for (const [sandbox, email, password] of [[analyst, user.email, user.password], [admin, ADMIN_EMAIL, ADMIN_PASSWORD]] as const) {
    const r = await sandbox.runInProcess(['login', '--server', server.url, '--email', email, '--password', password]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
});
afterAll(async () => {
  analyst?.cleanup();
  admin?.cleanup();
  await server?.stop();
});

test('da access request asks for a dataset; da access list shows it, then the decision', async () => {
  const asked = await analyst.runInProcess(['access', 'request', 'hr', '--reason', 'pay equity study', '--json']);
  expect(asked.code, asked.stderr).toBe(0);
  const req = asked.json();
  expect(req).toMatchObject({ dataset: 'hr', status: 'pending', reason: 'pay equity study' });

  const human = await analyst.runInProcess(['access', 'list']);
  expect(human.code).toBe(0);
  expect(human.stdout).toContain('hr');
  expect(human.stdout).toContain('pending');

  // A second pending request is refused with the server's reason, and a non-zero exit.
  const dup = await analyst.runInProcess(['access', 'request', 'hr', '--reason', 'again']);
  expect(dup.code).not.toBe(0);
  expect(dup.stderr).toContain('pending');
  const unknown = await analyst.runInProcess(['access', 'request', 'nosuch', '--reason', 'x']);
  expect(unknown.code).not.toBe(0);
  expect(unknown.stderr).toContain('no dataset named nosuch');

  // The analyst may not see everyone's; the admin does, and approves through the API.
  expect((await analyst.runInProcess(['access', 'list', '--all'])).code).not.toBe(0);
  const all = (await admin.runInProcess(['access', 'list', '--all', '--status', 'pending', '--json'])).json();
  expect(all.items.map((r: { id: string }) => r.id)).toContain(req.id);
  expect((await server.fetch(`/api/access-requests/${req.id}/approve`, { method: 'POST', token: server.adminToken })).status).toBe(200);

  const mine = (await analyst.runInProcess(['access', 'list', '--json'])).json();
  expect(mine.items).toEqual([expect.objectContaining({ id: req.id, status: 'approved', decided_by: ADMIN_EMAIL })]);
});
