import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { issueOneTimeToken } from '../src/auth/service.ts';
import type { AuditEntry } from '../src/repositories/audit.ts';
import { launchBrowser, screenshots } from './helpers/browser.ts';
import { linkIn, startSignInServer } from './helpers/sign-in.ts';
import type { TestServer } from './helpers/server.ts';
import { formToken } from './helpers/web.ts';
import { startSmtpStandIn, type SmtpStandIn } from './stand-ins/smtp.ts';

/**
 * Passwords in the browser: signing in, a password reset by mail end to end (a real SMTP
 * server on loopback receives the mail), and the first password from a setup link.
 */

let smtp: SmtpStandIn;
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

beforeAll(async () => {
  smtp = await startSmtpStandIn();
  [server, browser] = await Promise.all([
    startSignInServer({ auth: { mail_rate_limit: 100, mail_ip_rate_limit: 1000 }, email: { smtp_url: smtp.url, from: 'da@example.test' } }),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await smtp?.stop();
});

const formHeaders = (cookie: string) => ({ origin: server.url, cookie, 'content-type': 'application/x-www-form-urlencoded' });

describe('passwords', () => {
  test('signing in with email and password on the sign-in page', async () => {
    const user = await server.createUser('viewer');
    const page = await browser.context.newPage();
    try {
      await page.context().clearCookies();
      await page.goto(`${server.url}/login`);
      await page.fill('#email', user.email);
      await page.fill('#password', user.password);
      await Promise.all([page.waitForURL(`${server.url}/`), page.click('form[action="/login"] button')]);
      expect(await page.textContent('[data-testid=whoami]')).toBe(user.email);
    } finally {
      await page.close();
    }
  });

  test('a password reset by mail, end to end: forgot, mail, new password, signed in, old password and link dead', async () => {
    const user = await server.createUser('analyst');
    const page = await browser.context.newPage();
    try {
      await page.context().clearCookies();
      await page.goto(`${server.url}/login`);
      await Promise.all([page.waitForURL(`${server.url}/forgot`), page.click('text=Forgot your password?')]);
      expect(await page.textContent('label[for=email]')).toBe('Email');
      await screenshots(page, 'forgot-password');
      await page.fill('#email', user.email);
      await Promise.all([page.waitForURL(`${server.url}/forgot`), page.click('button[type=submit]')]);
      expect(await page.textContent('h1')).toBe('Check your mail');
      expect(await page.textContent('main')).toContain('a link to choose a new password');
      await screenshots(page, 'password-reset-sent');

      const mail = await smtp.waitFor((m) => m.to.includes(user.email));
      expect(mail.subject).toBe('Reset your da password');
      const link = linkIn(mail.text, `${server.url}/reset?token=`);
      expect(mail.text).toContain('within 60 minutes');

      await page.goto(link);
      expect(await page.textContent('h1')).toBe('Choose a new password');
      expect(await page.textContent('label[for=password]')).toContain('New password');
      expect(await page.textContent('label[for=password_confirm]')).toBe('The same password again');
      await screenshots(page, 'reset-password');
      // Two different passwords: the form again, with the error, and the link still usable.
      await page.fill('#password', 'brand-new-password-1');
      await page.fill('#password_confirm', 'brand-new-password-2');
      await Promise.all([page.waitForURL(`${server.url}/reset`), page.click('button[type=submit]')]);
      expect(await page.textContent('[role=alert]')).toContain('The two passwords differ');
      await screenshots(page, 'reset-password-mismatch');
      await page.fill('#password', 'brand-new-password-1');
      await page.fill('#password_confirm', 'brand-new-password-1');
      await Promise.all([page.waitForURL(`${server.url}/`), page.click('button[type=submit]')]);
      expect(await page.textContent('[data-testid=whoami]')).toBe(user.email);

      expect((await server.fetch('/auth/token', { method: 'POST', json: { email: user.email, password: user.password } })).status).toBe(401);
      expect((await server.fetch('/auth/token', { method: 'POST', json: { email: user.email, password: 'brand-new-password-1' } })).status).toBe(200);
      expect((await server.fetch('/api/me', { token: user.token })).status).toBe(401); // sessions before the reset are over

      const reused = await page.goto(link);
      expect(reused!.status()).toBe(410);
      expect(await page.textContent('[role=alert]')).toContain('This password reset link is invalid, has expired or was used already');
      await screenshots(page, 'reset-link-refused');
    } finally {
      await page.close();
    }
  });

  test('POST /auth/password-reset answers 202 for every address; only accounts get mail', async () => {
    const user = await server.createUser('viewer');
    const unknown = `nobody-${Date.now()}@example.com`;
    const known = await server.fetch('/auth/password-reset', { method: 'POST', json: { email: user.email } });
    const other = await server.fetch('/auth/password-reset', { method: 'POST', json: { email: unknown } });
    expect([known.status, other.status]).toEqual([202, 202]);
    expect(await other.json()).toEqual(await known.json());
    await server.services.mailLinks.settled();
    expect(smtp.mails.some((m) => m.to.includes(unknown))).toBe(false);
    expect(smtp.mails.some((m) => m.to.includes(user.email))).toBe(true);
  });

  test('a reset form without its CSRF token is a 403 page, and the link stays usable', async () => {
    const user = await server.createUser('viewer');
    expect((await server.fetch('/auth/password-reset', { method: 'POST', json: { email: user.email } })).status).toBe(202);
    const link = linkIn((await smtp.waitFor((m) => m.to.includes(user.email))).text, `${server.url}/reset?token=`);
    const resetToken = new URL(link).searchParams.get('token')!;
    const { token, cookie } = await formToken(server, { path: `/reset?token=${resetToken}` });
    const body = { token: resetToken, password: 'another-password-1', password_confirm: 'another-password-1' };

    const forged = await fetch(`${server.url}/reset`, { method: 'POST', redirect: 'manual', headers: formHeaders(cookie), body: new URLSearchParams(body) });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('403 Forbidden');
    expect((await server.fetch('/auth/token', { method: 'POST', json: { email: user.email, password: user.password } })).status).toBe(200);

    const ok = await fetch(`${server.url}/reset`, { method: 'POST', redirect: 'manual', headers: formHeaders(cookie), body: new URLSearchParams({ ...body, _csrf: token }) });
    expect(ok.status).toBe(302);
    expect(ok.headers.get('set-cookie')).toContain('da_session=');
  });

  test('a setup link from an administrator sets the first password and signs in, once', async () => {
    const email = `invited-${Date.now()}@example.com`;
    const created = await server.fetch('/api/users', { method: 'POST', token: server.adminToken, json: { email, role: 'analyst' } });
    const { setup_token } = (await created.json()) as { setup_token: string };
    const page = await browser.context.newPage();
    try {
      await page.context().clearCookies();
      const link = `${server.url}/set-password?token=${setup_token}`;
      await page.goto(link);
      expect(await page.textContent('h1')).toBe('Choose your password');
      await screenshots(page, 'set-password');
      await page.fill('#password', 'my-first-password');
      await page.fill('#password_confirm', 'my-first-password');
      await Promise.all([page.waitForURL(`${server.url}/`), page.click('button[type=submit]')]);
      expect(await page.textContent('[data-testid=whoami]')).toBe(email);
      expect((await page.goto(link))!.status()).toBe(410);
      expect(await page.textContent('[role=alert]')).toContain('Ask your administrator for a new one');
    } finally {
      await page.close();
    }
  });
  test('the sign-in forms are audited like every page post, under their API actions, with tokens and passwords redacted', async () => {
    const user = await server.createUser('viewer');
    const post = async (path: string, fields: Record<string, string>, formPath = '/login') => {
      const { token, cookie } = await formToken(server, { path: formPath });
      return fetch(`${server.url}${path}`, { method: 'POST', redirect: 'manual', headers: formHeaders(cookie), body: new URLSearchParams({ ...fields, _csrf: token }) });
    };
    const reset = await issueOneTimeToken(server.deps, user.id, 'reset', 600);
    const setup = await issueOneTimeToken(server.deps, user.id, 'setup', 600);
    const answers = [
      await post('/forgot', { email: user.email }, '/forgot'),
      await post('/login/magic-link', { email: user.email, next: '/catalog' }),
      await post('/reset', { token: reset, password: 'reset-password-1', password_confirm: 'reset-password-1' }, `/reset?token=${reset}`),
      await post('/set-password', { token: setup, password: 'setup-password-1', password_confirm: 'setup-password-1' }, `/set-password?token=${setup}`),
      await post('/login', { email: user.email, password: 'wrong-password-1' }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 302, 302, 401]);
    await server.services.mailLinks.settled();

    const entry = async (action: string): Promise<AuditEntry> => {
      const res = await server.fetch(`/api/audit?${new URLSearchParams({ action })}`, { token: server.adminToken });
      const { items } = (await res.json()) as { items: AuditEntry[] };
      const found = items.find((e) => e.user_id === null && (e.params as { via?: string }).via === 'web');
      if (!found) throw new Error(`no page post audited as ${action}`);
      return found;
    };
    const redacted = { token: '[redacted]', password: '[redacted]', password_confirm: '[redacted]' };
    expect((await entry('auth.passwordReset')).params).toEqual({ body: { email: user.email }, via: 'web' });
    expect((await entry('auth.magicLink')).params).toEqual({ body: { email: user.email, next: '/catalog' }, via: 'web' });
    expect(await entry('auth.reset')).toMatchObject({ resource: '/reset', status: 302, result: 'allowed', params: { body: redacted, via: 'web' } });
    expect(await entry('auth.setup')).toMatchObject({ resource: '/set-password', status: 302, result: 'allowed', params: { body: redacted, via: 'web' } });
    expect(await entry('POST /login')).toMatchObject({ status: 401, result: 'refused', params: { body: { email: user.email, password: '[redacted]' } } });

    const all = await server.fetch('/api/audit?limit=200', { token: server.adminToken });
    const text = await all.text();
    for (const secret of [reset, setup, 'reset-password-1', 'setup-password-1', 'wrong-password-1']) expect(text).not.toContain(secret);
  });
});
