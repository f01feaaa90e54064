import type { BrowserContext, Page } from 'playwright-core';
import { cspViolations } from './browser.ts';
import type { TestServer } from './server.ts';

/**
 * What a browser holds before it posts a form: the CSRF token a page of the server put in
 * its forms (`_csrf`), and the cookies to send with it (the given ones, plus the visitor
 * cookie the page set for someone not signed in yet).
 *
 * @example
 * const { token, cookie } = await formToken(server, { cookie: session });
 * await fetch(`${server.url}/logout`, { method: 'POST', headers: { cookie, origin: server.url, … }, body: new URLSearchParams({ _csrf: token }) });
 */
export async function formToken(
  server: TestServer,
  { cookie, headers = {}, path = '/login' }: { cookie?: string; headers?: Record<string, string>; path?: string } = {},
): Promise<{ token: string; cookie: string }> {
  const res = await fetch(server.url + path, { redirect: 'manual', headers: { ...headers, ...(cookie ? { cookie } : {}) } });
  const html = await res.text();
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error(`no CSRF token on ${path} (${res.status})`);
  const set = res.headers.getSetCookie().map((c) => c.split(';')[0]!);
  return { token, cookie: [cookie, ...set].filter(Boolean).join('; ') };
}

/**
 * A page of `browser` signed in as `user` through the sign-in form (cookies of earlier
 * sign-ins cleared), with the Content-Security-Policy violations it reports.
 */
export async function signInPage(
  browser: { context: BrowserContext },
  server: TestServer,
  user: { email: string; password: string },
  { viewport }: { viewport?: { width: number; height: number } } = {},
): Promise<{ page: Page; violations: string[] }> {
  const page = await browser.context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const violations = cspViolations(page);
  await page.context().clearCookies();
  await page.goto(`${server.url}/login`);
  await page.fill('#email', user.email);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForURL(`${server.url}/`), page.click('button[type=submit]')]);
  return { page, violations };
}

/** A web session cookie (`da_session=…`) of `user`, signed in over the API. */
export async function sessionCookie(server: TestServer, user: { email: string; password: string }): Promise<string> {
  const res = await server.fetch('/auth/token', { method: 'POST', json: { email: user.email, password: user.password, cookie: true } });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status}`);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}
