import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from '@hono/zod-openapi';
import type { Page } from 'playwright-core';
import { ProblemSchema } from '../src/api/problem.ts';
import { ConflictError } from '../src/errors.ts';
import { createLogger } from '../src/log.ts';
import { createPageRouter, definePage, safeNext } from '../src/web/router.ts';
import { CsrfField } from '../views/layout.tsx';
import { launchBrowser } from './helpers/browser.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { formToken, sessionCookie as sessionCookieOf, signInPage } from './helpers/web.ts';

/**
 * The page router's contract, on pages registered through it the way every page is: the
 * guard (302 to /login?next=…, 403 page), HTML error pages outside /api, the CSRF check of
 * form posts, `next` kept on this server, and the CSP holding on every page.
 * With DA_SCREENSHOTS=<dir>, the 403, 404 and 500 pages are saved there as PNGs.
 */
const testPages = [
  definePage({
    path: '/test/admin-only',
    access: 'admin',
    get: (c, { user }) =>
      c.render(
        <main>
          <h1>Admin only</h1>
          <p data-testid="who">{user.email}</p>
        </main>,
        { title: 'Admin only' },
      ),
  }),
  definePage({
    path: '/test/conflict',
    access: 'viewer',
    get: () => {
      throw new ConflictError('the table is being synced; try again when it has finished');
    },
  }),
  definePage({
    path: '/test/crash',
    access: 'viewer',
    get: () => {
      throw new Error('database password is hunter2');
    },
  }),
  definePage({
    path: '/test/note',
    access: 'analyst',
    form: z.object({ note: z.string().min(1).max(100) }),
    get: (c, { csrf }) =>
      c.render(
        <main>
          <form method="post" action="/test/note">
            <CsrfField token={csrf} />
            <input name="note" />
            <button type="submit" id="save">Save</button>
          </form>
        </main>,
      ),
    post: (c, { form, user }) => c.render(<p data-testid="saved">{`${user.email}: ${form.note}`}</p>),
  }),
];

let server: TestServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const logLines: string[] = [];
const shots = process.env.DA_SCREENSHOTS;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startTestServer({}, {
      logger: createLogger({ format: 'json', write: (l) => logLines.push(l) }),
      extend: (app, runtime) => app.route('/', createPageRouter(runtime, testPages).routes),
    }),
    launchBrowser(),
  ]);
  if (shots) mkdirSync(shots, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Signs in through the sign-in form of a fresh page; returns the page and the CSP violations it reports. */
function signedInPage(user: { email: string; password: string }): Promise<{ page: Page; violations: string[] }> {
  return signInPage(browser, server, user);
}

const sessionCookie = (user: { email: string; password: string }) => sessionCookieOf(server, user);

const formHeaders = (cookie: string) => ({ cookie, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' });

describe('the guard', () => {
  test('without a session a page redirects to /login?next=<the page>, and signing in comes back to it', async () => {
    const res = await fetch(`${server.url}/test/admin-only?tab=users`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent('/test/admin-only?tab=users')}`);

    const admin = await server.createUser('admin');
    const page = await browser.context.newPage();
    try {
      await page.context().clearCookies();
      await page.goto(`${server.url}/test/admin-only?tab=users`);
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.fill('#email', admin.email);
      await page.fill('#password', admin.password);
      await Promise.all([page.waitForURL(`${server.url}/test/admin-only?tab=users`), page.click('button[type=submit]')]);
      expect(await page.textContent('[data-testid=who]')).toBe(admin.email);
      expect(await page.title()).toBe('Admin only · da');
    } finally {
      await page.close();
    }
  });

  test('a role below the page\'s gets a 403 page; the roles above it get the page', async () => {
    const statuses: Record<string, number> = {};
    for (const role of ['viewer', 'analyst', 'admin', 'km_admin'] as const) {
      const user = await server.createUser(role);
      const res = await fetch(`${server.url}/test/admin-only`, { redirect: 'manual', headers: { cookie: await sessionCookie(user) } });
      statuses[role] = res.status;
      expect(res.headers.get('content-type')).toContain('text/html');
      await res.arrayBuffer();
    }
    expect(statuses).toEqual({ viewer: 403, analyst: 403, admin: 200, km_admin: 200 });

    const analyst = await server.createUser('analyst');
    const { page, violations } = await signedInPage(analyst);
    try {
      const res = await page.goto(`${server.url}/test/admin-only`);
      expect(res!.status()).toBe(403);
      expect(await page.textContent('h1')).toBe('403 Forbidden');
      expect(await page.textContent('[role=alert]')).toContain('needs the admin role');
      expect(await page.textContent('[data-testid=whoami]')).toBe(analyst.email); // the one layout, with its header
      expect(await page.$eval('body', (b) => getComputedStyle(b).maxWidth)).toBe('960px'); // its stylesheet applies
      if (shots) await page.screenshot({ path: join(shots, 'forbidden-403.png'), fullPage: true });
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('error pages', () => {
  test('an unknown path outside the API is a 404 HTML page; under /api, /auth and /cli it stays problem+json', async () => {
    const res = await fetch(`${server.url}/no/such/page`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toStartWith('<!DOCTYPE html>');
    expect(html).toContain('404 Not Found');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");

    for (const path of ['/api/no-such-thing', '/api', '/auth/no-such-thing']) {
      const api = await fetch(server.url + path);
      expect({ path, status: api.status, type: api.headers.get('content-type') }).toEqual({ path, status: 404, type: 'application/problem+json' });
      expect(ProblemSchema.parse(await api.json()).status).toBe(404);
    }
    const cli = await fetch(`${server.url}/cli/no-such-file`);
    expect(cli.status).toBe(404);
    expect(cli.headers.get('content-type')).toBe('application/problem+json');

    const viewer = await server.createUser('viewer');
    const { page, violations } = await signedInPage(viewer);
    try {
      const shown = await page.goto(`${server.url}/no/such/page`);
      expect(shown!.status()).toBe(404);
      expect(await page.textContent('h1')).toBe('404 Not Found');
      expect(await page.getAttribute('a[href="/"]', 'href')).toBe('/');
      if (shots) await page.screenshot({ path: join(shots, 'not-found-404.png'), fullPage: true });
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test('a domain error thrown by a page is an HTML page with the status the API gives it', async () => {
    const cookie = await sessionCookie(await server.createUser('viewer'));
    const res = await fetch(`${server.url}/test/conflict`, { headers: { cookie } });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('409 Conflict');
    expect(html).toContain('the table is being synced');
  });

  test('an unexpected error is a 500 page with the request id, logged, without the error or a stack', async () => {
    const viewer = await server.createUser('viewer');
    const res = await fetch(`${server.url}/test/crash`, { headers: { cookie: await sessionCookie(viewer), 'x-request-id': 'req-page-crash-1' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('500 Internal Server Error');
    expect(html).toContain('req-page-crash-1');
    expect(html).not.toContain('hunter2');
    expect(html).not.toContain('router.ts'); // no stack frame
    const logged = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'unhandled error' && l.request_id === 'req-page-crash-1');
    expect(logged.error).toContain('hunter2');

    const { page, violations } = await signedInPage(viewer);
    try {
      expect((await page.goto(`${server.url}/test/crash`))!.status()).toBe(500);
      expect(await page.textContent('[data-testid=request-id]')).toMatch(/^[0-9a-f-]{36}$/);
      if (shots) await page.screenshot({ path: join(shots, 'error-500.png'), fullPage: true });
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('CSRF', () => {
  test('a form post without the token, or with another session\'s, is a 403 page and changes nothing', async () => {
    const analyst = await server.createUser('analyst');
    const cookie = await sessionCookie(analyst);
    const { token } = await formToken(server, { cookie, path: '/test/note' });

    const without = await fetch(`${server.url}/test/note`, { method: 'POST', headers: formHeaders(cookie), body: new URLSearchParams({ note: 'hi' }) });
    expect(without.status).toBe(403);
    expect(without.headers.get('content-type')).toContain('text/html');
    expect(await without.text()).toContain('403 Forbidden');

    // A token is bound to its session: one from another sign-in of the same user does not pass.
    const other = await formToken(server, { cookie: await sessionCookie(analyst), path: '/test/note' });
    expect(other.token).not.toBe(token);
    const foreign = await fetch(`${server.url}/test/note`, { method: 'POST', headers: formHeaders(cookie), body: new URLSearchParams({ note: 'hi', _csrf: other.token }) });
    expect(foreign.status).toBe(403);

    const ok = await fetch(`${server.url}/test/note`, { method: 'POST', headers: formHeaders(cookie), body: new URLSearchParams({ note: 'hi', _csrf: token }) });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain(`${analyst.email}: hi`);
    // …also in the X-CSRF-Token header, for a script's fetch.
    const viaHeader = await fetch(`${server.url}/test/note`, {
      method: 'POST', headers: { ...formHeaders(cookie), 'x-csrf-token': token }, body: new URLSearchParams({ note: 'hi' }),
    });
    expect(viaHeader.status).toBe(200);
  });

  test('sign-out without the token keeps the session; the sign-in form without it signs nobody in', async () => {
    const viewer = await server.createUser('viewer');
    const cookie = await sessionCookie(viewer);
    const token = cookie.split('=')[1]!;
    const out = await fetch(`${server.url}/logout`, { method: 'POST', redirect: 'manual', headers: formHeaders(cookie) });
    expect(out.status).toBe(403);
    expect(out.headers.get('content-type')).toContain('text/html');
    expect((await server.fetch('/api/me', { token })).status).toBe(200);

    const signIn = await fetch(`${server.url}/login`, {
      method: 'POST', redirect: 'manual',
      headers: { origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: viewer.email, password: viewer.password }),
    });
    expect(signIn.status).toBe(403);
    expect(signIn.headers.get('set-cookie') ?? '').not.toContain('da_session=');
    // A visitor's token only goes with its own visitor cookie.
    const visitor = await formToken(server);
    const otherVisitor = await formToken(server);
    const mixed = await fetch(`${server.url}/login`, {
      method: 'POST', redirect: 'manual',
      headers: { origin: server.url, 'content-type': 'application/x-www-form-urlencoded', cookie: otherVisitor.cookie },
      body: new URLSearchParams({ email: viewer.email, password: viewer.password, _csrf: visitor.token }),
    });
    expect(mixed.status).toBe(403);
  });

  test('a form the page cannot use is a 422 page naming the field', async () => {
    const cookie = await sessionCookie(await server.createUser('analyst'));
    const { token } = await formToken(server, { cookie, path: '/test/note' });
    const res = await fetch(`${server.url}/test/note`, { method: 'POST', headers: formHeaders(cookie), body: new URLSearchParams({ note: '', _csrf: token }) });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('422 Unprocessable Content');
    expect(html).toContain('<code>note</code>');
  });

  test('a form posted from the browser carries its token', async () => {
    const analyst = await server.createUser('analyst');
    const { page, violations } = await signedInPage(analyst);
    try {
      await page.goto(`${server.url}/test/note`);
      await page.fill('input[name=note]', 'from the browser');
      await Promise.all([page.waitForSelector('[data-testid=saved]'), page.click('#save')]);
      expect(await page.textContent('[data-testid=saved]')).toBe(`${analyst.email}: from the browser`);
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('next', () => {
  const attempts = [
    '//evil.example/', '/\\evil.example', '\\\\evil.example', 'https://evil.example/', 'http:evil.example', 'javascript:alert(1)',
    '/..//evil.example', '/./\t/evil.example', '\t//evil.example', ' //evil.example', '/\n/evil.example', 'evil.example',
  ];

  test('safeNext keeps paths on this server and nothing else', () => {
    for (const next of attempts) expect({ next, safe: safeNext(next) }).toEqual({ next, safe: undefined });
    expect(safeNext('/test/admin-only?tab=users')).toBe('/test/admin-only?tab=users');
    expect(safeNext('/a/../b')).toBe('/b');
    expect(safeNext('/%2F%2Fevil.example')).toBe('/%2F%2Fevil.example'); // a path here, not a host
  });

  test('signing in with a next that leaves the server goes to the start page instead', async () => {
    const viewer = await server.createUser('viewer');
    for (const next of attempts) {
      const { token, cookie } = await formToken(server);
      const res = await fetch(`${server.url}/login`, {
        method: 'POST', redirect: 'manual',
        headers: { origin: server.url, 'content-type': 'application/x-www-form-urlencoded', cookie },
        body: new URLSearchParams({ email: viewer.email, password: viewer.password, next, _csrf: token }),
      });
      expect({ next, status: res.status, location: res.headers.get('location') }).toEqual({ next, status: 302, location: '/' });
    }
    const { token, cookie } = await formToken(server);
    const res = await fetch(`${server.url}/login`, {
      method: 'POST', redirect: 'manual',
      headers: { origin: server.url, 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ email: viewer.email, password: viewer.password, next: '/test/note?x=1', _csrf: token }),
    });
    expect(res.headers.get('location')).toBe('/test/note?x=1');
  });

  test('the sign-in page does not carry a foreign next into its form', async () => {
    const html = await (await fetch(`${server.url}/login?next=${encodeURIComponent('//evil.example/')}`)).text();
    expect(html).not.toContain('evil.example');
    const kept = await (await fetch(`${server.url}/login?next=${encodeURIComponent('/test/note')}`)).text();
    expect(kept).toContain('name="next" value="/test/note"');
  });
});
