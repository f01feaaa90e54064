import { afterAll, beforeAll, expect, test } from 'bun:test';
import { launchBrowser, screenshots } from './helpers/browser.ts';
import { deploy, startScriptsWorld, type ScriptsWorld } from './helpers/scripts.ts';
import { formToken, sessionCookie, signInPage } from './helpers/web.ts';

/** The script pages in a real browser: the list, a script's page, run now (a CSRF form post), undeploy, and who is refused. */
let w: ScriptsWorld;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
beforeAll(async () => {
  [w, browser] = await Promise.all([startScriptsWorld(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await w.server.stop();
});

test('an analyst lists their scripts, runs one from its page and sees its output and artifact, then undeploys it', async () => {
  const id = await deploy(w.server, w.analyst.token, {
    name: 'weekly-report', language: 'typescript', schedule: '0 7 * * 1',
    source: `await Bun.write(process.env.DA_OUT + '/report.csv', 'a,b\\n1,2\\n');\nconsole.log('report ready');`,
  });
  const theirs = await deploy(w.server, w.other.token, { name: 'not-yours', language: 'sql', source: 'SELECT 1' });
  const { page, violations } = await signInPage(browser, w.server, w.analyst);
  await page.click('nav.main a[href="/scripts"]');
  expect(await page.textContent('[data-testid=scripts]')).toContain('weekly-report');
  expect(await page.textContent('[data-testid=scripts]')).not.toContain('not-yours');
  expect(await page.textContent('[data-testid=scripts]')).toContain('0 7 * * 1');

  await page.click(`a[href="/scripts/${id}"]`);
  expect(await page.textContent('[data-testid=source]')).toContain('report ready');
  expect(await page.textContent('[data-testid=no-runs]')).toContain('No runs yet');
  await Promise.all([page.waitForURL(`${w.server.url}/scripts/${id}`), page.click('[data-testid=run-now]')]);
  expect(await page.textContent('[data-testid=flash]')).toContain('started');
  await w.server.services.scripts.close();
  await page.reload();
  expect(await page.getAttribute('section.run', 'data-status')).toBe('succeeded');
  expect(await page.textContent('[data-testid=stdout]')).toBe('report ready\n');
  const download = await page.request.get(w.server.url + (await page.getAttribute('[data-testid=artifacts] a', 'href')));
  expect(await download.text()).toBe('a,b\n1,2\n');
  await screenshots(page, 'script');
  await page.screenshot({ path: '/tmp/da-script-page.png', fullPage: true });

  // Another analyst's script is a 404 page for this analyst.
  const other = await page.goto(`${w.server.url}/scripts/${theirs}`);
  expect(other?.status()).toBe(404);

  await page.goto(`${w.server.url}/scripts/${id}`);
  await Promise.all([page.waitForURL(`${w.server.url}/scripts`), page.click('[data-testid=undeploy]')]);
  expect(await page.textContent('[data-testid=flash]')).toContain('Undeployed weekly-report');
  expect(await page.textContent('main')).not.toContain('weekly-report');
  expect(violations).toEqual([]);
  await page.close();
});

test('an admin sees every script with its owner', async () => {
  await deploy(w.server, w.other.token, { name: 'admin-sees-this', language: 'sql', source: 'SELECT 1' });
  const cookie = await sessionCookie(w.server, { email: 'admin@example.com', password: 'admin-password-1' });
  const res = await fetch(`${w.server.url}/scripts`, { headers: { cookie } });
  expect(res.status).toBe(200);
  const html = await res.text();
  expect(html).toContain('admin-sees-this');
  expect(html).toContain(w.other.email);
});

test('refusals: no session → sign in, viewer → 403 page, a run-now post without CSRF → 403, another analyst → 404', async () => {
  const id = await deploy(w.server, w.analyst.token, { name: 'guarded', language: 'sql', source: 'SELECT 1' });
  const anon = await fetch(`${w.server.url}/scripts`, { redirect: 'manual' });
  expect(anon.status).toBe(302);
  expect(anon.headers.get('location')).toContain('/login?next=');
  const viewer = await sessionCookie(w.server, w.viewer);
  const refused = await fetch(`${w.server.url}/scripts`, { headers: { cookie: viewer } });
  expect(refused.status).toBe(403);
  expect(refused.headers.get('content-type')).toContain('text/html');
  // The viewer's navigation has no Scripts link.
  expect(await (await fetch(`${w.server.url}/`, { headers: { cookie: viewer } })).text()).not.toContain('href="/scripts"');

  const analyst = await sessionCookie(w.server, w.analyst);
  const noCsrf = await fetch(`${w.server.url}/scripts/${id}/run`, { method: 'POST', headers: { cookie: analyst, origin: w.server.url, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
  expect(noCsrf.status).toBe(403);
  expect((await runsOf(id)).length).toBe(0);

  const stranger = await sessionCookie(w.server, w.other);
  const { token, cookie } = await formToken(w.server, { cookie: stranger, path: '/scripts' });
  const post = await fetch(`${w.server.url}/scripts/${id}/run`, {
    method: 'POST', redirect: 'manual', headers: { cookie, origin: w.server.url, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token }),
  });
  expect(post.status).toBe(404);
  expect((await runsOf(id)).length).toBe(0);
  // The owner's run-now post works (303 back to the page).
  const own = await formToken(w.server, { cookie: analyst, path: `/scripts/${id}` });
  const ok = await fetch(`${w.server.url}/scripts/${id}/run`, {
    method: 'POST', redirect: 'manual', headers: { cookie: own.cookie, origin: w.server.url, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: own.token }),
  });
  expect(ok.status).toBe(303);
  await w.server.services.scripts.close();
  expect((await runsOf(id)).map((r) => r.status)).toEqual(['succeeded']);
});

async function runsOf(id: string): Promise<Array<{ status: string }>> {
  return (await (await w.server.fetch(`/api/scripts/${id}/runs`, { token: w.server.adminToken })).json()) as Array<{ status: string }>;
}
