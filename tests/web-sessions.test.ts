import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { signAccessToken, verifyAccessToken } from '../src/auth/jwt.ts';
import { newId } from '../src/auth/secrets.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { formToken } from './helpers/web.ts';

/**
 * Web sessions: the HttpOnly cookie ends after `auth.session_idle_seconds` without use and
 * `auth.session_max_seconds` after sign-in whatever happens; a session in use is renewed;
 * sign-out ends the session on the server, every token it was ever renewed with included.
 * Tokens "from the past" are signed with the server's key instead of waiting for the clock.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const IDLE = 2 * 3600; // the defaults
const MAX = 12 * 3600;
const now = () => Math.floor(Date.now() / 1000);

/** Signs in through the sign-in form and returns the session cookie (`da_session=…`) and its Set-Cookie line. */
async function formSignIn(user: { email: string; password: string }) {
  const { token, cookie } = await formToken(server);
  const res = await fetch(`${server.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: server.url, cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: user.email, password: user.password, _csrf: token }),
  });
  expect(res.status).toBe(302);
  const line = res.headers.getSetCookie().find((c) => c.startsWith('da_session='))!;
  return { cookie: line.split(';')[0]!, line };
}

const claimsOf = (cookie: string) => verifyAccessToken(server.deps.key, cookie.slice('da_session='.length))!;

/** A session token of `user` signed `ageSeconds` ago, for a session that began `sessionAge` seconds ago. */
function pastToken(user: { id: string; email: string }, ageSeconds: number, session: { sid: string; sessionAge: number }) {
  const iat = now() - ageSeconds;
  const ttl = Math.max(1, Math.min(IDLE, now() - session.sessionAge + MAX - iat));
  const { token } = signAccessToken(server.deps.key, { id: user.id, email: user.email, role: 'viewer' }, ttl, iat * 1000, { sid: session.sid, sat: now() - session.sessionAge });
  return `da_session=${token}`;
}

const me = (cookie: string) => server.fetch('/api/me', { headers: { cookie } });

describe('web sessions', () => {
  test('the cookie is HttpOnly, SameSite=Lax, and lives as long as the idle time', async () => {
    const { line, cookie } = await formSignIn(await server.createUser('viewer'));
    expect(line).toContain('HttpOnly');
    expect(line).toContain('SameSite=Lax');
    expect(line).toContain(`Max-Age=${IDLE}`);
    const claims = claimsOf(cookie);
    expect(claims.sid).toBeString();
    expect(claims.exp - claims.iat).toBe(IDLE);
  });

  test('a session unused for the idle time has ended; a page sends the browser to sign in', async () => {
    const user = await server.createUser('viewer');
    const idle = pastToken(user, IDLE + 1, { sid: newId(), sessionAge: IDLE + 1 });
    const res = await me(idle);
    expect(res.status).toBe(401);
    expect((await res.json()).detail).toContain('without use');
    const page = await fetch(`${server.url}/`, { redirect: 'manual', headers: { cookie: idle } });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login');
  });

  test('a session in use is renewed (same session), but none outlives the absolute time', async () => {
    const user = await server.createUser('viewer');
    const sid = newId();
    // Used an hour ago, signed in three hours ago: fine, and the answer renews the cookie.
    const res = await me(pastToken(user, 3600, { sid, sessionAge: 3 * 3600 }));
    expect(res.status).toBe(200);
    const renewed = res.headers.getSetCookie().find((c) => c.startsWith('da_session='))!;
    const claims = claimsOf(renewed.split(';')[0]!);
    expect(claims.sid).toBe(sid);
    expect(claims.sat).toBe(now() - 3 * 3600);
    expect(claims.iat).toBeGreaterThanOrEqual(now() - 1);
    // A fresh token needs no renewal yet.
    const fresh = await me(renewed.split(';')[0]!);
    expect(fresh.headers.getSetCookie().some((c) => c.startsWith('da_session='))).toBe(false);

    // Near the end, the renewed token lives only until the absolute end.
    const late = await me(pastToken(user, 120, { sid, sessionAge: MAX - 600 }));
    expect(late.status).toBe(200);
    const lateClaims = claimsOf(late.headers.getSetCookie().find((c) => c.startsWith('da_session='))!.split(';')[0]!);
    expect(lateClaims.exp).toBeLessThanOrEqual(lateClaims.sat! + MAX);

    // Used a minute ago, but signed in more than the absolute time ago: over.
    const over = await me(pastToken(user, 60, { sid, sessionAge: MAX + 1 }));
    expect(over.status).toBe(401);
    expect((await over.json()).detail).toContain('the session is over');
  });

  test('sign-out ends the session on the server: its cookie, and every earlier token of the session, no longer work', async () => {
    const user = await server.createUser('viewer');
    const { cookie } = await formSignIn(user);
    const sid = claimsOf(cookie).sid!;
    const earlier = pastToken(user, 300, { sid, sessionAge: 600 }); // as if renewed before
    expect((await me(earlier)).status).toBe(200);
    // A form made before a renewal still posts: the form token is bound to the session, not to one token of it.
    const { token } = await formToken(server, { cookie: earlier, path: '/' });
    const out = await fetch(`${server.url}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: server.url, cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: token }),
    });
    expect(out.status).toBe(302);
    expect(out.headers.get('set-cookie')).toContain('da_session=;');
    for (const stolen of [cookie, earlier]) {
      const res = await me(stolen);
      expect(res.status).toBe(401);
      expect((await res.json()).detail).toContain('signed out');
    }
    // Other sessions of the user go on.
    expect((await me((await formSignIn(user)).cookie)).status).toBe(200);
  });

  test('signing in again in the same browser ends the session it had', async () => {
    const user = await server.createUser('viewer');
    const { cookie: first } = await formSignIn(user);
    const { token, cookie } = await formToken(server, { cookie: first });
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: server.url, cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: user.email, password: user.password, _csrf: token }),
    });
    expect(res.status).toBe(302);
    const second = res.headers.getSetCookie().find((c) => c.startsWith('da_session='))!.split(';')[0]!;
    expect(claimsOf(second).sid).not.toBe(claimsOf(first).sid);
    expect((await me(second)).status).toBe(200);
    expect((await me(first)).status).toBe(401);
  });

  test('a password change in the browser goes on in a new web session, which expires and signs out like any other', async () => {
    const user = await server.createUser('viewer');
    const { cookie: before } = await formSignIn(user);
    const { token, cookie } = await formToken(server, { cookie: before, path: '/settings' });
    const res = await fetch(`${server.url}/settings/password`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: server.url, cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ current_password: user.password, new_password: 'changed-password-1', confirm_password: 'changed-password-1', _csrf: token }),
    });
    expect(res.status).toBe(303);
    const line = res.headers.getSetCookie().find((c) => c.startsWith('da_session='))!;
    expect(line).toContain(`Max-Age=${IDLE}`);
    const after = line.split(';')[0]!;
    const claims = claimsOf(after);
    expect(claims.sid).toBeString();
    expect(claims.sid).not.toBe(claimsOf(before).sid);
    expect(claims.sat).toBeGreaterThanOrEqual(now() - 5);
    expect((await me(before)).status).toBe(401);
    expect((await me(after)).status).toBe(200);

    // Over the API with the cookie too: the answer's token for scripts, a new web session for the browser.
    const api = await server.fetch('/api/me/password', {
      method: 'POST', headers: { cookie: after, origin: server.url }, json: { current_password: 'changed-password-1', new_password: 'changed-password-2' },
    });
    expect(api.status).toBe(200);
    const next = api.headers.getSetCookie().find((c) => c.startsWith('da_session='))!.split(';')[0]!;
    expect(claimsOf(next).sid).not.toBe(claims.sid);
    expect(claimsOf(next).sid).toBeString();
    expect((await me(after)).status).toBe(401);

    // Sign-out ends it on the server.
    const { token: outToken, cookie: outCookie } = await formToken(server, { cookie: next, path: '/' });
    const out = await fetch(`${server.url}/logout`, {
      method: 'POST', redirect: 'manual', headers: { origin: server.url, cookie: outCookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: outToken }),
    });
    expect(out.status).toBe(302);
    expect((await me(next)).status).toBe(401);
  });

  test('deactivating the user ends their web session', async () => {
    const user = await server.createUser('viewer');
    const { cookie } = await formSignIn(user);
    expect((await fetch(`${server.url}/`, { headers: { cookie } })).status).toBe(200);
    await server.fetch(`/api/users/${user.id}`, { method: 'DELETE', token: server.adminToken });
    const page = await fetch(`${server.url}/`, { redirect: 'manual', headers: { cookie } });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login');
    expect((await me(cookie)).status).toBe(401);
  });
});
