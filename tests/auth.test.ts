import { afterAll, beforeAll, describe, expect, spyOn, test } from 'bun:test';
import { encodeBase64urlNoPadding } from '@oslojs/encoding';
import { signAccessToken, signingKey } from '../src/auth/jwt.ts';
import { generateSecret, hashSecret } from '../src/auth/secrets.ts';
import { issueOneTimeToken } from '../src/auth/service.ts';
import { ProblemSchema } from '../src/api/problem.ts';
import { TokenResponseSchema } from '../src/api/auth.ts';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/server.ts';
import { formToken } from './helpers/web.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const b64 = (s: string) => encodeBase64urlNoPadding(new TextEncoder().encode(s));

async function expect401(token: string) {
  const res = await server.fetch('/api/me', { token });
  expect(res.status).toBe(401);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
  ProblemSchema.parse(await res.json());
}

describe('POST /auth/token', () => {
  test('signs in with the right password and returns a bearer token', async () => {
    const res = await server.fetch('/auth/token', { method: 'POST', json: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
    expect(res.status).toBe(200);
    const body = TokenResponseSchema.parse(await res.json());
    expect(body.token_type).toBe('bearer');
    expect(body.user.email).toBe(ADMIN_EMAIL);
    const me = await server.fetch('/api/me', { token: body.access_token });
    expect(me.status).toBe(200);
  });

  test('refuses a wrong password and an unknown email with the same answer', async () => {
    const wrong = await server.fetch('/auth/token', { method: 'POST', json: { email: ADMIN_EMAIL, password: 'nope-nope' } });
    const unknown = await server.fetch('/auth/token', { method: 'POST', json: { email: 'ghost@example.com', password: 'nope-nope' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect((await wrong.json()).detail).toBe((await unknown.json()).detail);
  });

  test('matches emails case-insensitively', async () => {
    const res = await server.fetch('/auth/token', { method: 'POST', json: { email: ADMIN_EMAIL.toUpperCase(), password: ADMIN_PASSWORD } });
    expect(res.status).toBe(200);
  });
});

describe('token verification', () => {
  test('an expired token is refused', async () => {
    const admin = (await server.deps.repos.users.findByEmail(ADMIN_EMAIL))!;
    const { token } = signAccessToken(server.deps.key, admin, 60, Date.now() - 3600_000);
    await expect401(token);
  });

  test('a token whose payload was changed is refused', async () => {
    const analyst = await server.createUser('analyst');
    const [h, p, s] = analyst.token.split('.');
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(p!, { alphabet: 'base64url' })));
    claims.role = 'km_admin';
    claims.sub = (await server.deps.repos.users.findByEmail(ADMIN_EMAIL))!.id;
    await expect401(`${h}.${b64(JSON.stringify(claims))}.${s}`);
  });

  test('alg none is refused', async () => {
    const admin = (await server.deps.repos.users.findByEmail(ADMIN_EMAIL))!;
    const now = Math.floor(Date.now() / 1000);
    const payload = { sub: admin.id, email: admin.email, role: admin.role, jti: 'x', iat: now, nbf: now, exp: now + 600 };
    await expect401(`${b64('{"alg":"none","typ":"JWT"}')}.${b64(JSON.stringify(payload))}.`);
    await expect401(`${b64('{"alg":"HS512","typ":"JWT"}')}.${b64(JSON.stringify(payload))}.abc`);
  });

  test('a token signed with another key is refused', async () => {
    const admin = (await server.deps.repos.users.findByEmail(ADMIN_EMAIL))!;
    const { token } = signAccessToken(signingKey('some-other-secret-that-is-long-enough-000'), admin, 600);
    await expect401(token);
  });

  test('a token that is not yet valid (nbf in the future) is refused', async () => {
    const admin = (await server.deps.repos.users.findByEmail(ADMIN_EMAIL))!;
    const { token } = signAccessToken(server.deps.key, admin, 600, Date.now() + 3600_000);
    await expect401(token);
  });

  test('garbage and a malformed Authorization header are refused', async () => {
    await expect401('not-a-jwt');
    const res = await server.fetch('/api/me', { headers: { authorization: 'Basic abc' } });
    expect(res.status).toBe(401);
  });

  test('a token is revoked by POST /auth/logout', async () => {
    const user = await server.createUser('viewer');
    expect((await server.fetch('/api/me', { token: user.token })).status).toBe(200);
    const out = await server.fetch('/auth/logout', { method: 'POST', token: user.token });
    expect(out.status).toBe(204);
    await expect401(user.token);
  });

  test('a deactivated user is refused with a token that was valid before', async () => {
    const user = await server.createUser('analyst');
    const off = await server.fetch(`/api/users/${user.id}`, { method: 'DELETE', token: server.adminToken });
    expect(off.status).toBe(204);
    await expect401(user.token);
    const login = await server.fetch('/auth/token', { method: 'POST', json: { email: user.email, password: user.password } });
    expect(login.status).toBe(401);
  });

  test('a role change applies to existing tokens at once', async () => {
    const user = await server.createUser('admin');
    expect((await server.fetch('/api/users', { token: user.token })).status).toBe(200);
    const res = await server.fetch(`/api/users/${user.id}`, { method: 'PATCH', token: server.adminToken, json: { role: 'viewer' } });
    expect(res.status).toBe(200);
    expect((await server.fetch('/api/users', { token: user.token })).status).toBe(403);
  });
});

describe('personal access tokens', () => {
  test('are shown once, stored hashed, work as bearer tokens, record their last use and can be revoked', async () => {
    const user = await server.createUser('analyst');
    // What the server hands the token store (it calls through) is all the store can keep.
    const store = spyOn(server.deps.repos.tokens, 'createPat');
    const created = await server.fetch('/api/tokens', { method: 'POST', token: user.token, json: { name: 'laptop' } });
    const stored = [...store.mock.calls];
    store.mockRestore();
    expect(created.status).toBe(201);
    const pat = (await created.json()) as { id: string; token: string; prefix: string };
    expect(pat.token.startsWith('dapat_')).toBe(true);

    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(pat.token);

    const me = await server.fetch('/api/me', { token: pat.token });
    expect(me.status).toBe(200);
    expect((await me.json()).via).toBe('pat');

    // The last use is recorded in the background: poll for it, with a deadline.
    let list: { items: Array<Record<string, unknown>> } = { items: [] };
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await Bun.sleep(10)) {
      list = (await (await server.fetch('/api/tokens', { token: user.token })).json()) as typeof list;
      if (list.items.find((t) => t.id === pat.id)?.last_used_at) break;
    }
    const listed = list.items.find((t) => t.id === pat.id)!;
    expect(listed.last_used_at).not.toBeNull();
    expect(JSON.stringify(list)).not.toContain(pat.token);

    const revoke = await server.fetch(`/api/tokens/${pat.id}`, { method: 'DELETE', token: user.token });
    expect(revoke.status).toBe(204);
    await expect401(pat.token);
  });

  test("cannot revoke someone else's token", async () => {
    const a = await server.createUser('analyst');
    const b = await server.createUser('analyst');
    const created = await (await server.fetch('/api/tokens', { method: 'POST', token: a.token, json: { name: 'x' } })).json();
    const res = await server.fetch(`/api/tokens/${created.id}`, { method: 'DELETE', token: b.token });
    expect(res.status).toBe(404);
    expect((await server.fetch('/api/me', { token: created.token })).status).toBe(200);
  });

  test('logging out with a personal access token revokes it', async () => {
    const a = await server.createUser('analyst');
    const pat = await (await server.fetch('/api/tokens', { method: 'POST', token: a.token, json: { name: 'cli' } })).json();
    expect((await server.fetch('/auth/logout', { method: 'POST', token: pat.token })).status).toBe(204);
    await expect401(pat.token);
  });
});

describe('setup and reset tokens', () => {
  test('a user created without a password sets one with the setup token, once', async () => {
    const res = await server.fetch('/api/users', { method: 'POST', token: server.adminToken, json: { email: 'new@example.com', role: 'viewer' } });
    expect(res.status).toBe(201);
    const { setup_token } = (await res.json()) as { setup_token: string };
    expect(setup_token).toBeString();
    const first = await server.fetch('/auth/setup', { method: 'POST', json: { token: setup_token, password: 'first-password' } });
    expect(first.status).toBe(200);
    const again = await server.fetch('/auth/setup', { method: 'POST', json: { token: setup_token, password: 'second-password' } });
    expect(again.status).toBe(401);
    expect((await server.fetch('/auth/token', { method: 'POST', json: { email: 'new@example.com', password: 'first-password' } })).status).toBe(200);
  });

  test('a reset token changes the password once and revokes personal access tokens', async () => {
    const user = await server.createUser('analyst');
    const pat = await (await server.fetch('/api/tokens', { method: 'POST', token: user.token, json: { name: 'x' } })).json();
    const issued = await server.fetch(`/api/users/${user.id}/reset-token`, { method: 'POST', token: server.adminToken });
    expect(issued.status).toBe(201);
    const { token } = (await issued.json()) as { token: string };
    // A reset token is not a setup token.
    expect((await server.fetch('/auth/setup', { method: 'POST', json: { token, password: 'new-password-1' } })).status).toBe(401);
    expect((await server.fetch('/auth/reset', { method: 'POST', json: { token, password: 'new-password-1' } })).status).toBe(200);
    expect((await server.fetch('/auth/reset', { method: 'POST', json: { token, password: 'new-password-2' } })).status).toBe(401);
    expect((await server.fetch('/auth/token', { method: 'POST', json: { email: user.email, password: user.password } })).status).toBe(401);
    expect((await server.fetch('/auth/token', { method: 'POST', json: { email: user.email, password: 'new-password-1' } })).status).toBe(200);
    await expect401(pat.token);
  });

  test('an expired setup token is refused', async () => {
    const res = await server.fetch('/api/users', { method: 'POST', token: server.adminToken, json: { email: 'late@example.com', role: 'viewer' } });
    const { id } = (await res.json()) as { setup_token: string; id: string };
    // The same path issued it, with a lifetime that ended a minute ago.
    const expired = await issueOneTimeToken(server.deps, id, 'setup', -60);
    const used = await server.fetch('/auth/setup', { method: 'POST', json: { token: expired, password: 'whatever-123' } });
    expect(used.status).toBe(401);
  });
});

describe('rate limits', () => {
  test('the API and the web form share one count per account', async () => {
    const limited = await startTestServer({}, { yaml: 'auth:\n  login_rate_limit: 3\n' });
    try {
      const viaApi = () => limited.fetch('/auth/token', { method: 'POST', json: { email: 'victim@example.com', password: 'guess' } });
      const { token, cookie } = await formToken(limited);
      const viaForm = () =>
        fetch(`${limited.url}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: limited.url, cookie },
          body: new URLSearchParams({ email: 'victim@example.com', password: 'guess', _csrf: token }),
        });
      const statuses = [(await viaApi()).status, (await viaForm()).status, (await viaApi()).status, (await viaForm()).status];
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await limited.stop();
    }
  });

  test('login attempts over the limit get 429 with Retry-After', async () => {
    const limited = await startTestServer({}, { yaml: 'auth:\n  login_rate_limit: 3\n' });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < limited.config.auth.login_rate_limit + 2; i++) {
        const res = await limited.fetch('/auth/token', { method: 'POST', json: { email: 'victim@example.com', password: 'guess-' + i } });
        statuses.push(res.status);
        if (res.status === 429) retryAfter = res.headers.get('retry-after');
      }
      expect(statuses).toContain(429);
      expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(limited.config.auth.login_rate_limit);
      expect(Number(retryAfter)).toBeGreaterThan(0);
    } finally {
      await limited.stop();
    }
  });
});

describe('web session cookie', () => {
  test('sign-in can set an HttpOnly SameSite cookie that authenticates same-origin requests only', async () => {
    const res = await server.fetch('/auth/token', { method: 'POST', json: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, cookie: true } });
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toContain('da_session=');
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    const cookie = setCookie.split(';')[0]!;

    expect((await server.fetch('/api/me', { headers: { cookie } })).status).toBe(200);
    const body = { name: 'from the page' };
    const same = await server.fetch('/api/tokens', { method: 'POST', headers: { cookie, origin: server.url }, json: body });
    expect(same.status).toBe(201);
    const cross = await server.fetch('/api/tokens', { method: 'POST', headers: { cookie, origin: 'https://evil.example' }, json: body });
    expect(cross.status).toBe(401);
    const fetchSite = await server.fetch('/api/tokens', { method: 'POST', headers: { cookie, 'sec-fetch-site': 'cross-site' }, json: body });
    expect(fetchSite.status).toBe(401);
    const noOrigin = await server.fetch('/api/tokens', { method: 'POST', headers: { cookie }, json: body });
    expect(noOrigin.status).toBe(401);
  });
});

describe('browser sign-in codes for da login', () => {
  test('a code is traded once, only with its PKCE verifier, and only before it expires', async () => {
    const { issueCliCode, pkceChallenge } = await import('../src/auth/service.ts');
    const user = await server.createUser('analyst');
    const verifier = 'v'.repeat(20) + crypto.randomUUID().replaceAll('-', '');
    const code = await issueCliCode(server.deps, user.id, 'da cli test-host', pkceChallenge(verifier));

    const wrong = await server.fetch('/auth/cli-token', { method: 'POST', json: { code, verifier: 'w'.repeat(52) } });
    expect(wrong.status).toBe(401);
    const ok = await server.fetch('/auth/cli-token', { method: 'POST', json: { code, verifier } });
    expect(ok.status).toBe(200);
    const pat = (await ok.json()) as { token: string; name: string };
    expect(pat.name).toBe('da cli test-host');
    expect((await server.fetch('/api/me', { token: pat.token })).status).toBe(200);
    const again = await server.fetch('/auth/cli-token', { method: 'POST', json: { code, verifier } });
    expect(again.status).toBe(401);

    // Stored as issueCliCode stores one, with an expiry a second ago.
    const late = generateSecret('dac_');
    await server.deps.repos.tokens.createCliCode({
      codeHash: hashSecret(late), userId: user.id, tokenName: 'da cli late', challenge: pkceChallenge(verifier), expiresAt: new Date(Date.now() - 1000),
    });
    expect((await server.fetch('/auth/cli-token', { method: 'POST', json: { code: late, verifier } })).status).toBe(401);
  });
});

describe('verified-token memory', () => {
  test("a token one server verified is still refused by a server with another key", async () => {
    const other = await startTestServer();
    try {
      const analyst = await server.createUser('analyst');
      // The same user (same id) exists on the other server, so only the key tells them apart.
      await other.deps.repos.users.create({ id: analyst.id, email: analyst.email, role: 'analyst' });
      expect((await server.fetch('/api/me', { token: analyst.token })).status).toBe(200);
      expect((await other.fetch('/api/me', { token: analyst.token })).status).toBe(401);
      const own = signAccessToken(other.deps.key, { id: analyst.id, email: analyst.email, role: 'analyst' }, 600).token;
      expect((await other.fetch('/api/me', { token: own })).status).toBe(200);
    } finally {
      await other.stop();
    }
  });
});
