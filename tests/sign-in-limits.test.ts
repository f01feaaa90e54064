import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ProblemSchema } from '../src/api/problem.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { formToken } from './helpers/web.ts';

/**
 * Behind a trusted proxy the client address is the last X-Forwarded-For entry (the one the
 * proxy appended), so these tests speak as different clients by sending that header.
 */
const signIn = (server: TestServer, from: string, email: string, password: string) =>
  server.fetch('/auth/token', { method: 'POST', headers: { 'x-forwarded-for': from }, json: { email, password } });

async function statuses(n: number, fn: (i: number) => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await fn(i)).status);
  return out;
}

describe('sign-in limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, {
      yaml: 'server:\n  trust_proxy: true\nauth:\n  login_rate_limit: 3\n  login_ip_rate_limit: 8\n',
    });
  });
  afterAll(() => server.stop());

  test('wrong passwords from one address lock out that address only: the real user signs in from theirs', async () => {
    const victim = await server.createUser('analyst');
    const attacker = '203.0.113.66';
    expect(await statuses(6, () => signIn(server, attacker, victim.email, 'guess'))).toEqual([401, 401, 401, 429, 429, 429]);
    // Even the right password is refused from the attacker's address…
    const blocked = await signIn(server, attacker, victim.email, victim.password);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    ProblemSchema.parse(await blocked.json());
    // …while the real user, from their own address, gets in (also through the web form).
    expect((await signIn(server, '198.51.100.7', victim.email, victim.password)).status).toBe(200);
    const { token, cookie } = await formToken(server, { headers: { 'x-forwarded-for': '198.51.100.8' } });
    const form = await fetch(`${server.url}/login`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url, 'x-forwarded-for': '198.51.100.8', cookie },
      body: new URLSearchParams({ email: victim.email, password: victim.password, _csrf: token }),
    });
    expect(form.status).toBe(302);
  });

  test('a correct sign-in does not use up the attempts of its address', async () => {
    const user = await server.createUser('viewer');
    const from = '198.51.100.20';
    expect(await statuses(5, () => signIn(server, from, user.email, user.password))).toEqual([200, 200, 200, 200, 200]);
    expect(await statuses(3, () => signIn(server, from, user.email, 'wrong'))).toEqual([401, 401, 401]);
  });

  test('a client cannot pose as many addresses: only the entry our proxy appended counts', async () => {
    const from = '203.0.113.77';
    // Each request claims another address in front; the proxy appends the real one.
    const spray = await statuses(10, (i) => signIn(server, `10.0.${i}.1, ${from}`, `nobody-${i}@example.com`, 'guess'));
    expect(spray).toEqual([401, 401, 401, 401, 401, 401, 401, 401, 429, 429]);
  });

  test('the per-address limit counts requests before their bodies are parsed or validated', async () => {
    const from = '203.0.113.88';
    const garbage = () =>
      server.fetch('/auth/token', { method: 'POST', headers: { 'x-forwarded-for': from, 'content-type': 'application/json' }, body: '{not json' });
    const invalid = () =>
      server.fetch('/auth/token', { method: 'POST', headers: { 'x-forwarded-for': from }, json: { email: 'not-an-email', password: '' } });
    const seen = [...(await statuses(4, garbage)), ...(await statuses(4, invalid)), (await garbage()).status];
    expect(seen).toEqual([400, 400, 400, 400, 422, 422, 422, 422, 429]);
    // The other sign-in doors share the same count.
    for (const path of ['/auth/setup', '/auth/reset', '/auth/cli-token']) {
      const res = await server.fetch(path, { method: 'POST', headers: { 'x-forwarded-for': from }, json: {} });
      expect(res.status).toBe(429);
    }
    const form = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url, 'x-forwarded-for': from },
      body: 'email=x',
    });
    expect(form.status).toBe(429);
    expect(form.headers.get('content-type')).toContain('text/html');
    expect(Number(form.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await form.text()).toContain('Too many attempts');
  });
});

describe('account ceiling with backoff', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, {
      yaml:
        'server:\n  trust_proxy: true\n' +
        'auth:\n  login_rate_limit: 2\n  login_ip_rate_limit: 1000\n  login_account_limit: 4\n  login_backoff_ms: 1000\n  login_backoff_max_ms: 2000\n',
    });
  });
  afterAll(() => server.stop());

  /** Retries until the account's delay has passed (bounded by login_backoff_max_ms), returning the answer. */
  async function whenAllowed(fn: () => Promise<Response>): Promise<Response> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const res = await fn();
      if (res.status !== 429 || Date.now() > deadline) return res;
      await Bun.sleep(100);
    }
  }

  test('guesses from many addresses slow the account down with a growing delay, never a lock', async () => {
    const victim = await server.createUser('analyst');
    // Two addresses, two wrong passwords each: the account's ceiling (4) is reached.
    for (const from of ['192.0.2.1', '192.0.2.2']) {
      expect(await statuses(2, () => signIn(server, from, victim.email, 'guess'))).toEqual([401, 401]);
    }
    // Now every attempt on the account, from any address, waits its turn.
    const waiting = await signIn(server, '192.0.2.3', victim.email, 'guess');
    expect(waiting.status).toBe(429);
    expect(Number(waiting.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(ProblemSchema.parse(await waiting.json()).detail).toContain('this account');
    // After the delay, one attempt goes through; the next delay is longer.
    expect((await whenAllowed(() => signIn(server, '192.0.2.4', victim.email, 'guess'))).status).toBe(401);
    const longer = await signIn(server, '192.0.2.5', victim.email, 'guess');
    expect(longer.status).toBe(429);
    expect(Number(longer.headers.get('retry-after'))).toBeGreaterThanOrEqual(2);
    // And the real user gets in once it has passed: a delay, not a lock-out.
    expect((await whenAllowed(() => signIn(server, '198.51.100.9', victim.email, victim.password))).status).toBe(200);
  }, 30_000);
});

describe('body limit of the sign-in routes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(); // auth.max_body_bytes: 8192 (the default)
  });
  afterAll(() => server.stop());

  test('an /auth/* body over auth.max_body_bytes is refused with 413 problem+json, with or without a length', async () => {
    const big = JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(1024), padding: 'p'.repeat(2 * 1024 * 1024) });
    for (let i = 0; i < 5; i++) {
      const res = await server.fetch('/auth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
      expect(res.status).toBe(413);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(ProblemSchema.parse(await res.json()).detail).toContain('8192 bytes');
    }
    const chunk = new TextEncoder().encode('{"email":"a@example.com","password":"' + 'x'.repeat(1000));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 20) return controller.close();
        controller.enqueue(chunk);
      },
    });
    const chunked = await fetch(`${server.url}/auth/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream });
    expect(chunked.status).toBe(413);
    expect(chunked.headers.get('content-type')).toBe('application/problem+json');
    // A normal sign-in still fits.
    expect((await server.fetch('/auth/token', { method: 'POST', json: { email: 'admin@example.com', password: 'admin-password-1' } })).status).toBe(200);
  });

  test('an oversized sign-in form is refused with an HTML 413 page', async () => {
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: new URLSearchParams({ email: 'a@example.com', password: 'x'.repeat(9000) }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('<!DOCTYPE html>');
  });
});
