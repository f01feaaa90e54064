import { afterAll, beforeAll, describe, expect, spyOn, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashSecret } from '../src/auth/secrets.ts';
import { issueOneTimeToken } from '../src/auth/service.ts';
import { launchBrowser, screenshots } from './helpers/browser.ts';
import { createDaSandbox, ensureCliBuilt, type DaSandbox } from './helpers/cli.ts';
import { linkIn, startSignInServer } from './helpers/sign-in.ts';
import type { TestServer } from './helpers/server.ts';
import { formToken } from './helpers/web.ts';
import { startGoogleStandIn, type GoogleStandIn } from './stand-ins/google.ts';
import { startSmtpStandIn, type SmtpStandIn } from './stand-ins/smtp.ts';

/**
 * Sign-in links by mail, end to end: the sign-in page sends the form, the server mails the
 * link over SMTP to a real SMTP server on loopback, the test reads the mail and follows the
 * link in Chromium. Also the refusals (used, expired, a next off the server), the same
 * answer for unknown addresses, the limits, and `da login` through a mailed link.
 */

let smtp: SmtpStandIn;
let google: GoogleStandIn;
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

beforeAll(async () => {
  smtp = await startSmtpStandIn();
  google = startGoogleStandIn();
  [server, browser] = await Promise.all([
    startSignInServer({
      auth: { google: google.config, mail_rate_limit: 100, mail_ip_rate_limit: 1000 },
      email: { smtp_url: smtp.url, from: 'da <da@example.test>' },
    }),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  google?.stop();
  await smtp?.stop();
});

const mailTo = (email: string, n = 1) => smtp.waitFor((m) => m.to.includes(email) && smtp.mails.filter((x) => x.to.includes(email)).length >= n);
const verifyPrefix = () => `${server.url}/auth/magic-link/verify?`;

async function askForLink(email: string, next?: string): Promise<Response> {
  return server.fetch('/auth/magic-link', { method: 'POST', json: { email, ...(next ? { next } : {}) } });
}

/** Asks for a link by the API and returns the link from the mail. */
async function mailedLink(email: string, next?: string): Promise<string> {
  const before = smtp.mails.filter((m) => m.to.includes(email)).length;
  expect((await askForLink(email, next)).status).toBe(202);
  return linkIn((await mailTo(email, before + 1)).text, verifyPrefix());
}

describe('sign-in links by mail', () => {
  test('the sign-in page offers every method; a link by mail signs the browser in and goes to the start page', async () => {
    const user = await server.createUser('analyst');
    const page = await browser.context.newPage();
    try {
      await page.context().clearCookies();
      await page.goto(`${server.url}/login`);
      // Every method has its labelled field or button.
      expect(await page.textContent('label[for=email]')).toBe('Email');
      expect(await page.textContent('label[for=password]')).toBe('Password');
      expect(await page.textContent('label[for=magic-email]')).toBe('Email me a sign-in link');
      expect(await page.textContent('#google')).toContain('Sign in with Google');
      expect(await page.getAttribute('a[href="/forgot"]', 'href')).toBe('/forgot');
      await screenshots(page, 'login-all-providers');

      await page.fill('#magic-email', user.email);
      // What the server hands the token store (it calls through) is all the store can keep.
      const store = spyOn(server.deps.repos.tokens, 'createOneTime');
      await Promise.all([page.waitForURL(`${server.url}/login/magic-link`), page.click('text=Send me a link')]);
      expect(await page.textContent('h1')).toBe('Check your mail');
      expect(await page.textContent('main')).toContain(user.email);
      expect(await page.$('[data-testid=dev-mail]')).toBeNull(); // mail is set up: no note about the log
      await screenshots(page, 'magic-link-sent');

      const mail = await mailTo(user.email);
      const stored = [...store.mock.calls];
      store.mockRestore();
      expect(mail.user).toBe('mailer'); // the server logged in to SMTP with the account of smtp_url
      expect(mail.from).toBe('da@example.test');
      expect(mail.subject).toBe('Sign in to da');
      const link = linkIn(mail.text, verifyPrefix());
      expect(new URL(link).searchParams.get('token')).toStartWith('dam_');
      expect(mail.text).toContain('within 15 minutes');

      await page.goto(link);
      expect(page.url()).toBe(`${server.url}/`);
      expect(await page.textContent('[data-testid=whoami]')).toBe(user.email);
      const cookie = (await page.context().cookies()).find((c) => c.name === 'da_session')!;
      expect(cookie.httpOnly).toBe(true);
      expect(cookie.sameSite).toBe('Lax');
      // The token is stored hashed only.
      const token = new URL(link).searchParams.get('token')!;
      expect(stored).toHaveLength(1);
      expect(stored[0]![0]).toMatchObject({ kind: 'magic_link', userId: user.id, tokenHash: hashSecret(token) });
      expect(JSON.stringify(stored)).not.toContain(token);
    } finally {
      await page.close();
    }
  });

  test('a used link and an expired link are refused with a 410 page, and sign nobody in', async () => {
    const user = await server.createUser('viewer');
    const link = await mailedLink(user.email);
    const first = await fetch(link, { redirect: 'manual' });
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('/');
    expect(first.headers.get('set-cookie')).toContain('da_session=');

    const again = await fetch(link, { redirect: 'manual' });
    expect(again.status).toBe(410);
    expect(again.headers.get('content-type')).toContain('text/html');
    expect(await again.text()).toContain('invalid, has expired or was used already');
    expect(again.headers.get('set-cookie') ?? '').not.toContain('da_session=');

    // Issued by the path a mailed link takes, with a lifetime that ended a second ago.
    const late = `${verifyPrefix()}${new URLSearchParams({ token: await issueOneTimeToken(server.deps, user.id, 'magic_link', -1) })}`;
    const page = await browser.context.newPage();
    try {
      await page.context().clearCookies();
      const res = await page.goto(late);
      expect(res!.status()).toBe(410);
      expect(await page.textContent('h1')).toBe('410 Gone');
      expect(await page.textContent('[role=alert]')).toContain('Ask for a new one on the sign-in page');
      expect((await page.context().cookies()).some((c) => c.name === 'da_session')).toBe(false);
      await screenshots(page, 'magic-link-refused');
    } finally {
      await page.close();
    }
  });

  test('a next off this server is refused with a 400 page, and the link stays usable', async () => {
    const user = await server.createUser('viewer');
    const link = new URL(await mailedLink(user.email, '/api/docs'));
    expect(link.searchParams.get('next')).toBe('/api/docs');
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const tampered = new URL(link);
      tampered.searchParams.set('next', next);
      const res = await fetch(tampered, { redirect: 'manual' });
      expect({ next, status: res.status, session: res.headers.get('set-cookie')?.includes('da_session=') ?? false }).toEqual({ next, status: 400, session: false });
      expect(await res.text()).toContain('another site');
    }
    const ok = await fetch(link, { redirect: 'manual' });
    expect(ok.status).toBe(302);
    expect(ok.headers.get('location')).toBe('/api/docs');
    // Asking for a link with a foreign next is refused before anything is mailed.
    expect((await askForLink(user.email, '//evil.example/')).status).toBe(422);
  });

  test('an unknown address gets the same answer as a known one, and no mail', async () => {
    const user = await server.createUser('viewer');
    const unknown = `nobody-${Date.now()}@example.com`;
    const known = await askForLink(user.email);
    const other = await askForLink(unknown);
    expect(other.status).toBe(known.status);
    expect(await other.json()).toEqual(await known.json());
    expect(known.status).toBe(202);

    // The page says the same too, apart from the address it repeats.
    const pageFor = async (email: string) => {
      const { token, cookie } = await formToken(server);
      const res = await fetch(`${server.url}/login/magic-link`, {
        method: 'POST',
        headers: { origin: server.url, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email, _csrf: token }),
      });
      return { status: res.status, html: (await res.text()).replaceAll(email, 'ADDRESS') };
    };
    expect(await pageFor(unknown)).toEqual(await pageFor(user.email));

    await server.services.mailLinks.settled();
    expect(smtp.mails.some((m) => m.to.includes(unknown))).toBe(false);
    expect(smtp.mails.filter((m) => m.to.includes(user.email)).length).toBe(2);
  });

  test('the link token is redacted in the audit log', async () => {
    const user = await server.createUser('viewer');
    const link = await mailedLink(user.email);
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(302);
    const res = await server.fetch(`/api/audit?${new URLSearchParams({ action: 'GET /auth/magic-link/verify' })}`, { token: server.adminToken });
    const entries = ((await res.json()) as { items: Array<{ params: { query?: { token?: string } } }> }).items;
    expect(entries.length).toBeGreaterThan(0);
    expect(entries[0]!.params.query?.token).toBe('[redacted]');
    expect(JSON.stringify(entries)).not.toContain(new URL(link).searchParams.get('token')!);
  });
});

describe('limits', () => {
  test('mails per address and requests per client are limited, with the same answer for unknown addresses', async () => {
    const limited = await startSignInServer({
      auth: { mail_rate_limit: 2, mail_ip_rate_limit: 5 },
      email: { smtp_url: smtp.url, from: 'da@example.test' },
    });
    try {
      const user = await limited.createUser('viewer');
      const ask = (email: string) => limited.fetch('/auth/magic-link', { method: 'POST', json: { email } });
      expect((await ask(user.email)).status).toBe(202);
      expect((await ask(user.email)).status).toBe(202);
      const third = await ask(user.email);
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      // The same for an address without an account: the limit tells nothing about accounts.
      const unknown = `ghost-${Date.now()}@example.com`;
      expect([(await ask(unknown)).status, (await ask(unknown)).status]).toEqual([202, 202]);
      // Five requests from this client: the next one is refused whatever the address.
      const fresh = await ask(`someone-else-${Date.now()}@example.com`);
      expect(fresh.status).toBe(429);
      // Password resets count against the same limits.
      expect((await limited.fetch('/auth/password-reset', { method: 'POST', json: { email: user.email } })).status).toBe(429);
      await limited.services.mailLinks.settled();
      expect(smtp.mails.filter((m) => m.to.includes(user.email)).length).toBe(2);
    } finally {
      await limited.stop();
    }
  });
});

describe('da login', () => {
  let da: DaSandbox;
  beforeAll(async () => {
    await ensureCliBuilt();
    da = createDaSandbox();
  });
  afterAll(() => da?.cleanup());

  test('signing in by a mailed link goes back to the waiting da login, which gets its token', async () => {
    const user = await server.createUser('analyst');
    const child = da.spawn(['login', '--server', server.url, '--no-browser', '--json', '--timeout', '60']);
    const reader = child.stderr.getReader();
    let err = '';
    while (!/http:\/\/\S+\/login\?\S+/.test(err)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`da login ended early: ${err}`);
      err += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    const url = /(http:\/\/\S+\/login\?\S+)/.exec(err)![1]!;

    const page = await browser.context.newPage();
    try {
      await page.context().clearCookies();
      await page.goto(url);
      await page.fill('#magic-email', user.email);
      // What the server hands the token store (it calls through) is all the store can keep.
      const store = spyOn(server.deps.repos.tokens, 'createOneTime');
      await Promise.all([page.waitForURL(`${server.url}/login/magic-link`), page.click('text=Send me a link')]);
      expect(await page.textContent('main')).toContain('hand the token to');

      const link = linkIn((await mailTo(user.email)).text, verifyPrefix());
      // The link carries the way back to the waiting da login.
      expect(new URL(link).searchParams.get('next')).toStartWith('/login?cli_redirect=');
      await page.goto(link);
      expect(await page.textContent('h1')).toBe('Authorize da');
      await Promise.all([page.waitForURL(/127\.0\.0\.1:\d+\/callback/), page.click('button[type=submit]')]);
      expect(await page.textContent('h1')).toBe('da is signed in');

      const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
      expect(code).toBe(0);
      expect(JSON.parse(out).user.email).toBe(user.email);
      const stored = JSON.parse(readFileSync(join(da.configDir, 'token.json'), 'utf8'));
      expect(stored.token).toStartWith('dapat_');
      expect((await da.run(['whoami', '--json'])).json().email).toBe(user.email);
    } finally {
      child.kill();
      await page.close();
    }
  });
});
