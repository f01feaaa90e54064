import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPersonalAccessToken, createUser } from '../src/auth/service.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { launchBrowser, screenshots } from './helpers/browser.ts';
import { linkIn, startBareServer, type BareServer } from './helpers/sign-in.ts';

/**
 * Servers as they start without DA_ADMIN_*: first-run setup (the first admin, with the
 * code from the log; then /setup is gone), and a server with only sign-in links and no
 * mail configured (the mail goes to the log and the page says so; no passwords at all).
 */

let browser: Awaited<ReturnType<typeof launchBrowser>>;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** The setup code the server wrote to its log. */
function setupCode(server: BareServer): string {
  const line = server.logLines.map((l) => JSON.parse(l)).find((l) => String(l.msg).startsWith('no users yet'));
  expect(line.msg).toContain(`/setup?code=${line.setup_code}`);
  return line.setup_code;
}

/** A visitor's CSRF token and cookie from a page of a bare server. */
async function visitorForm(url: string): Promise<{ token: string; cookie: string }> {
  const res = await fetch(url, { redirect: 'manual' });
  const token = /name="_csrf" value="([^"]+)"/.exec(await res.text())![1]!;
  return { token, cookie: res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
}

describe('first run', () => {
  let server: BareServer;
  beforeAll(async () => {
    server = await startBareServer();
  });
  afterAll(() => server?.stop());

  test('/setup creates the first admin with the code from the log, signs them in, and is gone afterwards', async () => {
    const code = setupCode(server);
    const page = await browser.context.newPage();
    try {
      await page.context().clearCookies();
      const res = await page.goto(`${server.url}/setup`);
      expect(res!.status()).toBe(200);
      for (const id of ['code', 'email', 'name', 'password', 'password_confirm']) expect(await page.$(`label[for=${id}]`)).not.toBeNull();
      await screenshots(page, 'setup');

      await page.fill('#code', 'not-the-code');
      await page.fill('#email', 'first@example.com');
      await page.fill('#name', 'First Admin');
      await page.fill('#password', 'first-admin-password');
      await page.fill('#password_confirm', 'first-admin-password');
      const [wrong] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('button[type=submit]')]);
      expect(wrong.status()).toBe(403);
      expect(await page.textContent('[role=alert]')).toContain('not the setup code');
      expect(await server.runtime.deps.repos.users.count()).toBe(0);
      await screenshots(page, 'setup-wrong-code');

      await page.fill('#code', code);
      await page.fill('#password', 'first-admin-password');
      await page.fill('#password_confirm', 'first-admin-password');
      await Promise.all([page.waitForURL(`${server.url}/`), page.click('button[type=submit]')]);
      expect(await page.textContent('[data-testid=whoami]')).toBe('first@example.com');
      expect(await page.textContent('header')).toContain('(km_admin)');

      const again = await page.goto(`${server.url}/setup?code=${code}`);
      expect(again!.status()).toBe(404);
      expect(await page.textContent('[role=alert]')).toContain('set up already');
    } finally {
      await page.close();
    }
    // A form posted now (with a valid CSRF token and the old code) creates nobody.
    const { token, cookie } = await visitorForm(`${server.url}/login`);
    const late = await fetch(`${server.url}/setup`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: server.url, cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: token, code, email: 'second@example.com', password: 'second-password', password_confirm: 'second-password' }),
    });
    expect(late.status).toBe(404);
    expect(await server.runtime.deps.repos.users.count()).toBe(1);

    // Each setup form is on record like every page post: who it created, never the code or the password.
    const { items } = await server.runtime.deps.repos.audit.list({ action: 'POST /setup', limit: 10 });
    expect(items.map((e) => [e.status, e.result])).toEqual([[404, 'refused'], [302, 'allowed'], [403, 'refused']]);
    for (const e of items) {
      expect(e.params).toMatchObject({ via: 'web', body: { code: '[redacted]', password: '[redacted]', password_confirm: '[redacted]' } });
      expect((e.params as { body: Record<string, unknown> }).body._csrf).toBeUndefined();
    }
    expect((items[1]!.params as { body: { email: string } }).body.email).toBe('first@example.com');
    const text = JSON.stringify(items);
    for (const secret of [code, 'first-admin-password', 'second-password']) expect(text).not.toContain(secret);
  });

  test('two setup forms sent at once create one admin', async () => {
    const fresh = await startBareServer();
    try {
      const code = setupCode(fresh);
      const post = async (email: string) => {
        const { token, cookie } = await visitorForm(`${fresh.url}/setup`);
        return fetch(`${fresh.url}/setup`, {
          method: 'POST',
          redirect: 'manual',
          headers: { origin: fresh.url, cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ _csrf: token, code, email, password: 'some-password', password_confirm: 'some-password' }),
        });
      };
      const answers = await Promise.all([post('one@example.com'), post('two@example.com')]);
      expect(answers.map((r) => r.status).sort()).toEqual([302, 404]);
      expect(await fresh.runtime.deps.repos.users.count()).toBe(1);
    } finally {
      await fresh.stop();
    }
  });
});

describe('sign-in links without mail, and no passwords', () => {
  let server: BareServer;
  beforeAll(async () => {
    server = await startBareServer({ auth: { password: false, magic_link: true } });
    await createUser(server.runtime.deps, { email: 'linked@example.com', role: 'analyst', setupToken: false });
  });
  afterAll(() => server?.stop());

  test('the sign-in page offers only the link; the link goes to the log and the page says so', async () => {
    const page = await browser.context.newPage();
    try {
      await page.context().clearCookies();
      await page.goto(`${server.url}/login`);
      expect(await page.$('#password')).toBeNull();
      expect(await page.$('#google')).toBeNull();
      expect(await page.$('a[href="/forgot"]')).toBeNull();
      expect(await page.$('.divider')).toBeNull();
      await screenshots(page, 'login-link-only');

      await page.fill('#magic-email', 'linked@example.com');
      await Promise.all([page.waitForURL(`${server.url}/login/magic-link`), page.click('button[type=submit]')]);
      expect(await page.textContent('[data-testid=dev-mail]')).toContain('written to the server log');
      await screenshots(page, 'magic-link-sent-dev-mail');

      await server.runtime.services.mailLinks.settled();
      const logged = server.logLines.map((l) => JSON.parse(l)).find((l) => l.to === 'linked@example.com');
      expect(logged.msg).toContain('no email configured');
      await page.goto(linkIn(logged.text, `${server.url}/auth/magic-link/verify?`));
      expect(page.url()).toBe(`${server.url}/`);
      expect(await page.textContent('[data-testid=whoami]')).toBe('linked@example.com');
    } finally {
      await page.close();
    }
  });

  test('every password door is closed', async () => {
    expect((await fetch(`${server.url}/forgot`)).status).toBe(404);
    expect((await fetch(`${server.url}/reset?token=x`)).status).toBe(404);
    const api = await fetch(`${server.url}/auth/token`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'linked@example.com', password: 'whatever-123' }),
    });
    expect(api.status).toBe(403);
    const reset = await fetch(`${server.url}/auth/password-reset`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'linked@example.com' }),
    });
    expect(reset.status).toBe(404);
    const { token, cookie } = await visitorForm(`${server.url}/login`);
    const form = await fetch(`${server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: server.url, cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: token, email: 'linked@example.com', password: 'whatever-123' }),
    });
    expect(form.status).toBe(404);

    // Signed in another way, nobody sets a password either: the API refuses, the settings page has no password form.
    const linked = (await server.runtime.deps.repos.users.findByEmail('linked@example.com'))!;
    const bearer = { authorization: `Bearer ${(await createPersonalAccessToken(server.runtime.deps, linked.id, 'test')).token}` };
    const change = await fetch(`${server.url}/api/me/password`, {
      method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ current_password: 'whatever-123', new_password: 'whatever-456' }),
    });
    expect(change.status).toBe(403);
    const settings = await fetch(`${server.url}/settings`, { headers: bearer });
    expect(settings.status).toBe(200);
    const html = await settings.text();
    expect(html).toContain('Personal access tokens');
    expect(html).not.toContain('password-form');
  });
});

describe('configuration', () => {
  const load = (yaml: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'da-cfg-'));
    writeFileSync(join(dir, 'instance.yaml'), yaml);
    return () => loadConfig({ DA_CONFIG: join(dir, 'instance.yaml') }, dir);
  };

  test('sign-in settings have defaults: passwords on, links on with mail, Google off', () => {
    const { auth, email } = load('')();
    expect(auth.password).toBe(true);
    expect(auth.magic_link).toBeUndefined(); // follows `email`
    expect(email).toBeUndefined();
    expect(auth.google).toBeUndefined();
    expect([auth.session_idle_seconds, auth.session_max_seconds, auth.magic_link_ttl_seconds]).toEqual([7200, 43200, 900]);
  });

  test('mail needs instance.base_url, and the idle time may not pass the absolute time', () => {
    expect(load('email: { smtp_url: "smtp://u:p@mail.example:587", from: da@example.com }\n')).toThrow(ConfigError);
    expect(load('email: { smtp_url: "smtp://u:p@mail.example:587", from: da@example.com }\n')).toThrow('instance.base_url');
    expect(load('instance: { base_url: "https://da.example.com" }\nemail: { smtp_url: "smtp://u:p@mail.example:587", from: da@example.com }\n')).not.toThrow();
    expect(load('auth: { session_idle_seconds: 100, session_max_seconds: 50 }\n')).toThrow('auth.session_idle_seconds');
    expect(load('auth: { google: { client_id: x, client_secret: y, auto_create_role: owner } }\n')).toThrow('auth.google.auto_create_role');
    expect(load('email: { smtp_url: "http://mail.example", from: da@example.com }\ninstance: { base_url: "https://da.example.com" }\n')).toThrow('email.smtp_url');
  });
});
