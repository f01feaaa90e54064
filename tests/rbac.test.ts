import { afterAll, beforeAll, expect, test } from 'bun:test';
import { signAccessToken } from '../src/auth/jwt.ts';
import { hasRole, ROLES, type Role } from '../src/auth/roles.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

/**
 * The policy matrix comes from the OpenAPI document itself: every operation declares
 * `x-required-role`, and every route × caller must get exactly the declared answer.
 */
let server: TestServer;
let users: Record<Role, { id: string; email: string }>;
let operations: Array<{ method: string; path: string; role: string; allowSelf?: string }>;

beforeAll(async () => {
  server = await startTestServer();
  users = {} as typeof users;
  for (const role of ROLES) {
    const u = await server.createUser(role);
    users[role] = { id: u.id, email: u.email };
  }
  const doc = (await (await server.fetch('/api/openapi.json')).json()) as {
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method,
      path,
      role: op['x-required-role'] as string,
      allowSelf: op['x-allow-self'] as string | undefined,
    })),
  );
});
afterAll(() => server.stop());

const SAMPLE_PARAMS: Record<string, string> = {
  id: 'zz-missing',
  dataset: 'zz_missing',
  table_id: 'zz_missing.nope',
  job_id: 'zz-missing',
};

function fillPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => SAMPLE_PARAMS[name] ?? 'zz_missing');
}

/** A fresh token per request, so that e.g. POST /auth/logout cannot spoil later calls. */
function tokenFor(role: Role): string {
  const u = users[role];
  return signAccessToken(server.deps.key, { id: u.id, email: u.email, role }, 600).token;
}

test('every /api and /auth operation declares who may call it', () => {
  expect(operations.length).toBeGreaterThan(10);
  for (const op of operations) {
    expect({ op: `${op.method} ${op.path}`, role: op.role }).toEqual({
      op: `${op.method} ${op.path}`,
      role: expect.stringMatching(/^(public|viewer|analyst|admin|km_admin)$/),
    });
  }
});

test('every route answers each kind of caller exactly as its declared role says', async () => {
  const mismatches: string[] = [];
  for (const op of operations) {
    for (const caller of ['anonymous', ...ROLES] as const) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (caller !== 'anonymous') headers.authorization = `Bearer ${tokenFor(caller)}`;
      const hasBody = ['post', 'put', 'patch'].includes(op.method);
      const res = await fetch(server.url + fillPath(op.path), {
        method: op.method.toUpperCase(),
        headers,
        body: hasBody ? '{}' : undefined,
      });
      await res.arrayBuffer();
      let expected: 'allowed' | 401 | 403;
      if (op.role === 'public') expected = 'allowed';
      else if (caller === 'anonymous') expected = 401;
      else expected = hasRole(caller, op.role as Role) ? 'allowed' : 403;
      const got = res.status === 401 || res.status === 403 ? res.status : 'allowed';
      if (got !== expected) mismatches.push(`${caller} ${op.method.toUpperCase()} ${op.path}: expected ${expected}, got ${res.status}`);
    }
  }
  expect(mismatches).toEqual([]);
});

test('a route open to a user on themselves lets them in, and no one else below its role', async () => {
  const selfOps = operations.filter((o) => o.allowSelf);
  expect(selfOps.length).toBeGreaterThan(0);
  for (const op of selfOps) {
    if (op.method !== 'get') continue;
    const own = op.path.replace(`{${op.allowSelf}}`, users.viewer.id);
    const other = op.path.replace(`{${op.allowSelf}}`, users.analyst.id);
    const mine = await server.fetch(fillPath(own), { token: tokenFor('viewer') });
    expect({ op: op.path, status: mine.status }).toEqual({ op: op.path, status: 200 });
    const theirs = await server.fetch(fillPath(other), { token: tokenFor('viewer') });
    expect({ op: op.path, status: theirs.status }).toEqual({ op: op.path, status: 403 });
  }
});
