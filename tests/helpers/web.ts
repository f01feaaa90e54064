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
