import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { launchBrowser, screenshots } from './helpers/browser.ts';
import { startSignInServer } from './helpers/sign-in.ts';
import type { TestServer } from './helpers/server.ts';
import { startGoogleStandIn, type GoogleStandIn } from './stand-ins/google.ts';

/**
 * Google sign-in against a local stand-in of Google's endpoints: the browser goes to the
 * stand-in's authorization endpoint and comes back with a code and the state; the server
 * trades the code with its PKCE verifier and asks the userinfo endpoint who signed in.
 * One server links and refuses (allowed domain example.com, no auto-create), another
 * creates unknown users as viewers.
 */

let idp: GoogleStandIn;
let server: TestServer;
let creating: TestServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

beforeAll(async () => {
  idp = startGoogleStandIn();
  [server, creating, browser] = await Promise.all([
    startSignInServer({ auth: { google: { ...idp.config, allowed_domains: ['example.com'] } } }),
    startSignInServer({ auth: { google: { ...idp.config, auto_create_role: 'viewer' } } }),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([server?.stop(), creating?.stop()]);
  idp?.stop();
});

let seq = 0;
const account = (email: string, extra: { email_verified?: boolean; name?: string } = {}) => ({
  sub: `google-${++seq}`, email, email_verified: true, name: 'Gina Google', ...extra,
});

/** Clicks "Sign in with Google" on a fresh sign-in page (`query` added to /login); returns the page and the callback's response. */
async function signInWithGoogle(on: TestServer, query = '') {
  const page = await browser.context.newPage();
  await page.context().clearCookies();
  await page.goto(`${on.url}/login${query}`);
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/auth/google/callback'),
    page.click('#google'),
  ]);
  await page.waitForLoadState();
  return { page, response };
}

const hasSession = async (page: { context(): { cookies(): Promise<Array<{ name: string }>> } }) =>
  (await page.context().cookies()).some((c) => c.name === 'da_session');

describe('Google sign-in', () => {
  test('an existing user is found by the verified address and signed in; the code is traded with the PKCE verifier', async () => {
    const user = await server.createUser('analyst', { email: `gina-${Date.now()}@example.com` });
    idp.account = account(user.email.toUpperCase()); // Google may spell it otherwise
    const { page } = await signInWithGoogle(server);
    try {
      await page.waitForURL(`${server.url}/`);
      expect(await page.textContent('[data-testid=whoami]')).toBe(user.email);
      const asked = idp.authorizations.at(-1)!;
      expect(asked.get('code_challenge_method')).toBe('S256');
      expect(asked.get('redirect_uri')).toBe(`${server.url}/auth/google/callback`);
      expect(asked.get('scope')).toBe('openid email profile');
      expect(idp.tokenRequests.at(-1)).toEqual({ status: 200 }); // the stand-in checked the verifier against the challenge
      expect((await server.deps.repos.users.list()).filter((u) => u.email === user.email)).toHaveLength(1);
    } finally {
      await page.close();
    }
  });

  test('an address of a domain that is not allowed is refused with a 403 page, and nothing is created', async () => {
    const email = `outsider-${Date.now()}@other.org`;
    idp.account = account(email);
    const { page, response } = await signInWithGoogle(server);
    try {
      expect(response.status()).toBe(403);
      expect(await page.textContent('h1')).toBe('403 Forbidden');
      expect(await page.textContent('[role=alert]')).toContain('Google accounts of other.org may not sign in here');
      expect(await hasSession(page)).toBe(false);
      expect(await server.deps.repos.users.findByEmail(email)).toBeUndefined();
      await screenshots(page, 'google-domain-refused');
    } finally {
      await page.close();
    }
  });

  test('an unknown user is refused when auto_create_role is not set; an unverified address always', async () => {
    for (const [who, detail] of [
      [account(`stranger-${Date.now()}@example.com`), 'There is no account for'],
      [account(`unverified-${Date.now()}@example.com`, { email_verified: false }), 'has not verified the address'],
    ] as const) {
      idp.account = who;
      const { page, response } = await signInWithGoogle(server);
      try {
        expect(response.status()).toBe(403);
        expect(await page.textContent('[role=alert]')).toContain(detail);
        expect(await hasSession(page)).toBe(false);
        expect(await server.deps.repos.users.findByEmail(who.email)).toBeUndefined();
      } finally {
        await page.close();
      }
    }
  });

  test('with auto_create_role, an unknown user is created with that role, without a password, and signed in', async () => {
    const email = `newcomer-${Date.now()}@anywhere.example`;
    idp.account = account(email, { name: 'New Comer' });
    const { page } = await signInWithGoogle(creating);
    try {
      await page.waitForURL(`${creating.url}/`);
      expect(await page.textContent('[data-testid=whoami]')).toBe(email);
      const created = await creating.deps.repos.users.findByEmailWithSecret(email);
      expect(created).toMatchObject({ role: 'viewer', name: 'New Comer', active: true, password_hash: null });
      // The second time, the same user signs in: nobody is created twice.
      await page.close();
      const again = await signInWithGoogle(creating);
      await again.page.waitForURL(`${creating.url}/`);
      await again.page.close();
      expect((await creating.deps.repos.users.list()).filter((u) => u.email === email)).toHaveLength(1);
    } finally {
      if (!page.isClosed()) await page.close();
    }
  });

  test('a deactivated user is refused', async () => {
    const user = await server.createUser('viewer', { email: `gone-${Date.now()}@example.com` });
    await server.fetch(`/api/users/${user.id}`, { method: 'DELETE', token: server.adminToken });
    idp.account = account(user.email);
    const { page, response } = await signInWithGoogle(server);
    try {
      expect(response.status()).toBe(403);
      expect(await page.textContent('[role=alert]')).toContain('is deactivated');
      expect(await hasSession(page)).toBe(false);
    } finally {
      await page.close();
    }
  });

  test('saying no at Google is a 403 page', async () => {
    idp.account = undefined;
    const { page, response } = await signInWithGoogle(server);
    try {
      expect(response.status()).toBe(403);
      expect(await page.textContent('[role=alert]')).toContain('access_denied');
    } finally {
      await page.close();
    }
  });
});

describe('the callback refuses what did not start here', () => {
  /** The steps of one sign-in by hand: our login, the stand-in, back; returns the callback URL and the flow cookie. */
  async function flow(next?: string) {
    const start = await fetch(`${server.url}/auth/google/login${next ? `?${new URLSearchParams({ next })}` : ''}`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const cookie = start.headers.getSetCookie().find((c) => c.startsWith('da_google='))!.split(';')[0]!;
    const atIdp = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    return { callback: atIdp.headers.get('location')!, cookie };
  }

  test('a wrong state, no flow cookie, another verifier and a replayed code are 400 pages that sign nobody in', async () => {
    const user = await server.createUser('viewer', { email: `replay-${Date.now()}@example.com` });
    idp.account = account(user.email);

    const wrongState = await flow();
    const tampered = new URL(wrongState.callback);
    tampered.searchParams.set('state', 'x'.repeat(43));
    const refusedState = await fetch(tampered, { redirect: 'manual', headers: { cookie: wrongState.cookie } });
    expect(refusedState.status).toBe(400);
    expect(await refusedState.text()).toContain('was not started in this browser');

    const noCookie = await flow();
    expect((await fetch(noCookie.callback, { redirect: 'manual' })).status).toBe(400);

    // Someone else's verifier (the cookie of another flow, with this flow's state): the stand-in refuses the code.
    const mine = await flow();
    const theirs = await flow();
    const theirFlow = JSON.parse(Buffer.from(theirs.cookie.split('=')[1]!, 'base64url').toString());
    const myState = new URL(mine.callback).searchParams.get('state');
    const forged = Buffer.from(JSON.stringify({ ...theirFlow, state: myState })).toString('base64url');
    const refusedVerifier = await fetch(mine.callback, { redirect: 'manual', headers: { cookie: `da_google=${forged}` } });
    expect(refusedVerifier.status).toBe(400);
    expect(await refusedVerifier.text()).toContain('Google did not accept this sign-in (invalid_grant)');
    expect(idp.tokenRequests.at(-1)).toEqual({ status: 400, error: 'invalid_grant' });

    const ok = await flow('/api/docs');
    const signedIn = await fetch(ok.callback, { redirect: 'manual', headers: { cookie: ok.cookie } });
    expect(signedIn.status).toBe(302);
    expect(signedIn.headers.get('location')).toBe('/api/docs');
    expect(signedIn.headers.get('set-cookie')).toContain('da_session=');
    const replay = await fetch(ok.callback, { redirect: 'manual', headers: { cookie: ok.cookie } });
    expect(replay.status).toBe(400);
    expect(replay.headers.get('set-cookie') ?? '').not.toContain('da_session=');

    for (const res of [refusedState, refusedVerifier]) expect(res.headers.get('set-cookie') ?? '').not.toContain('da_session=');
  });

  test('a next off this server is refused before going to Google', async () => {
    const before = idp.authorizations.length;
    const res = await fetch(`${server.url}/auth/google/login?next=${encodeURIComponent('//evil.example/')}`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('location')).toBeNull();
    expect(idp.authorizations.length).toBe(before);
  });

  test('the code in the callback is redacted in the audit log', async () => {
    const user = await server.createUser('viewer', { email: `audited-${Date.now()}@example.com` });
    idp.account = account(user.email);
    const { callback, cookie } = await flow();
    expect((await fetch(callback, { redirect: 'manual', headers: { cookie } })).status).toBe(302);
    const res = await server.fetch(`/api/audit?${new URLSearchParams({ action: 'GET /auth/google/callback' })}`, { token: server.adminToken });
    const entries = ((await res.json()) as { items: Array<{ params: { query?: Record<string, string> } }> }).items;
    expect(entries[0]!.params.query?.code).toBe('[redacted]');
    expect(JSON.stringify(entries)).not.toContain(new URL(callback).searchParams.get('code')!);
  });
});

describe('da login', () => {
  test('signing in with Google while da login waits comes back to its confirm page', async () => {
    const user = await server.createUser('analyst', { email: `cli-${Date.now()}@example.com` });
    idp.account = account(user.email);
    const cli = new URLSearchParams({ cli_redirect: 'http://127.0.0.1:9/callback', state: 's'.repeat(24), challenge: 'c'.repeat(43), host: 'laptop' });
    const { page } = await signInWithGoogle(server, `?${cli}`);
    try {
      await page.waitForURL((u) => u.pathname === '/login');
      expect(new URL(page.url()).searchParams.get('cli_redirect')).toBe('http://127.0.0.1:9/callback');
      expect(await page.textContent('h1')).toBe('Authorize da');
      expect(await page.textContent('main')).toContain(user.email);
    } finally {
      await page.close();
    }
  });
});
