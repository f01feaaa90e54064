import { afterAll, beforeAll, expect, test } from 'bun:test';
import { launchBrowser, screenshots } from './helpers/browser.ts';
import { testYaml } from './helpers/data.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { formToken, sessionCookie, signInPage } from './helpers/web.ts';

/**
 * The memory pages in headless Chromium against a real server: an analyst proposes and
 * votes, an admin approves in the review queue (one by one and ticked together), a km_admin
 * mandates and sets an audience; the pages' access (302 without a session, 403 below the
 * role, 404 for an unknown item) and the CSRF check of their posts.
 */
const YAML = testYaml('sources:\n  sales: { type: local, path: /tmp, public: true }\n  hr: { type: local, path: /tmp }\n');
type User = Awaited<ReturnType<TestServer['createUser']>>;
let server: TestServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let viewer: User, analyst: User, admin: User, km: User;

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer({}, { yaml: YAML }), launchBrowser()]);
  [viewer, analyst, admin, km] = [await server.createUser('viewer'), await server.createUser('analyst'), await server.createUser('admin'), await server.createUser('km_admin')];
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function propose(token: string, title: string) {
  const res = await server.fetch('/api/memory', { method: 'POST', token, json: { title, content: `${title}: what it means.`, category: 'sales' } });
  return ((await res.json()) as { id: string }).id;
}

test('page access: sign-in redirect, 403 below the role, 404 for an unknown item, CSRF on posts', async () => {
  for (const path of ['/memory', '/memory/review', '/memory/x']) {
    const res = await fetch(server.url + path, { redirect: 'manual' });
    expect({ path, status: res.status, to: res.headers.get('location') }).toEqual({ path, status: 302, to: `/login?next=${encodeURIComponent(path)}` });
  }
  const viewerCookie = await sessionCookie(server, viewer);
  const analystCookie = await sessionCookie(server, analyst);
  const get = (path: string, cookie: string) => fetch(server.url + path, { headers: { cookie }, redirect: 'manual' });
  expect((await get('/memory', viewerCookie)).status).toBe(200);
  expect((await get('/memory/review', analystCookie)).status).toBe(403);
  const missing = await get('/memory/zz-missing', viewerCookie);
  expect(missing.status).toBe(404);
  expect(missing.headers.get('content-type')).toContain('text/html');
  // Another analyst's pending item is not there for this one.
  const hidden = await propose(km.token, 'Hidden pending');
  expect((await get(`/memory/${hidden}`, analystCookie)).status).toBe(404);

  const post = async (path: string, cookie: string, fields: Record<string, string>, csrf = true) => {
    const { token, cookie: jar } = await formToken(server, { cookie, path: '/memory' });
    return fetch(server.url + path, {
      method: 'POST', redirect: 'manual', headers: { cookie: jar, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(csrf ? { _csrf: token, ...fields } : fields),
    });
  };
  expect((await post('/memory', analystCookie, { title: 'x', content: 'y' }, false)).status).toBe(403);
  expect((await post('/memory', viewerCookie, { title: 'x', content: 'y' })).status).toBe(403);
  const empty = await post('/memory', analystCookie, { title: '', content: '' });
  expect(empty.status).toBe(422);
  expect(await empty.text()).toContain('a title is needed');
  const approved = await propose(analyst.token, 'Approvable');
  expect((await post(`/memory/${approved}/status`, analystCookie, { status: 'approved' })).status).toBe(403);
  const adminCookie = await sessionCookie(server, admin);
  expect((await post(`/memory/${approved}/audience`, adminCookie, { category: 'sales', users: analyst.email })).status).toBe(403);
  expect((await post(`/memory/${approved}/status`, adminCookie, { status: 'approved' })).status).toBe(303);
});

test('an analyst proposes and votes; an admin approves in the queue; a km_admin mandates and sets an audience', async () => {
  const queued = [await propose(analyst.token, 'Batch first'), await propose(analyst.token, 'Batch second')];

  // The analyst proposes through the form.
  let { page, violations } = await signInPage(browser, server, analyst);
  try {
    await page.goto(`${server.url}/memory`);
    expect(await page.getAttribute('nav.main a[href="/memory"]', 'aria-current')).toBe('page');
    await page.fill('#m-title', 'Revenue excludes VAT');
    await page.fill('#m-content', 'orders.amount is net of VAT; multiply by 1.21 for gross.');
    await page.fill('#m-category', 'sales');
    await page.fill('#m-tags', 'revenue, vat');
    await Promise.all([page.waitForURL(/\/memory\/[a-z0-9]+$/), page.click('[data-testid=propose] button[type=submit]')]);
    expect(await page.textContent('[data-testid=flash]')).toContain('Proposed');
    expect(await page.textContent('h1')).toContain('pending');
    expect(violations).toEqual([]);
  } finally {
    await page.close();
  }
  const mine = ((await (await server.fetch('/api/memory?q=vat', { token: analyst.token })).json()) as any).items[0];
  expect(mine).toMatchObject({ title: 'Revenue excludes VAT', status: 'pending', tags: ['revenue', 'vat'], source: 'web' });

  // The admin approves it from the queue, and the two others ticked together.
  ({ page, violations } = await signInPage(browser, server, admin));
  try {
    await page.goto(`${server.url}/memory/review`);
    expect(await page.isVisible('[data-action=mandatory]')).toBe(false); // an admin does not mandate
    await Promise.all([page.waitForURL(`${server.url}/memory/review`), page.click(`tr[data-item="${mine.id}"] [data-action=approved]`)]);
    expect(await page.textContent('[data-testid=flash]')).toContain('now approved');
    for (const id of queued) await page.check(`tr[data-item="${id}"] input[type=checkbox]`);
    await page.fill('input[name=note]', 'reviewed together');
    await Promise.all([page.waitForURL(`${server.url}/memory/review`), page.click('[data-action=batch-approved]')]);
    expect(await page.textContent('[data-testid=flash]')).toContain('2 items now approved');
    expect(violations).toEqual([]);
  } finally {
    await page.close();
  }
  for (const id of queued) {
    const h = (await (await server.fetch(`/api/memory/${id}/history`, { token: admin.token })).json()) as any[];
    expect(h.at(-1)).toMatchObject({ actor: admin.id, to_status: 'approved', note: 'reviewed together' });
  }

  // The km_admin mandates it for analysts who read sales, from the item page.
  ({ page, violations } = await signInPage(browser, server, km));
  try {
    await page.goto(`${server.url}/memory/${mine.id}`);
    await page.check('[data-testid=audience-editor] input[value=analyst]');
    await page.check('[data-testid=audience-editor] input[value=sales]');
    await Promise.all([page.waitForURL(`${server.url}/memory/${mine.id}`), page.click('[data-action=audience]')]);
    expect(await page.textContent('[data-testid=flash]')).toContain('audience and category saved');
    await page.fill('#g-note', 'every agent must know');
    await Promise.all([page.waitForURL(`${server.url}/memory/${mine.id}`), page.click('[data-testid=govern] [data-action=mandatory]')]);
    expect(await page.textContent('h1')).toContain('mandatory');
    expect(await page.textContent('[data-testid=history]')).toContain('every agent must know');
    await screenshots(page, 'memory-item');
    await page.goto(`${server.url}/memory/review`);
    await screenshots(page, 'memory-review');
    expect(violations).toEqual([]);
  } finally {
    await page.close();
  }
  const item = (await (await server.fetch(`/api/memory/${mine.id}`, { token: km.token })).json()) as any;
  expect(item).toMatchObject({ status: 'mandatory', audience: { roles: ['analyst'], datasets: ['sales'] } });

  // The analyst searches, finds it, and votes it up.
  ({ page, violations } = await signInPage(browser, server, analyst));
  try {
    await page.goto(`${server.url}/memory?q=vat`);
    expect(await page.$$eval('[data-testid=items] li h3 a', (as) => as.map((a) => a.textContent))).toEqual(['Revenue excludes VAT']);
    await Promise.all([page.waitForURL(/\/memory\?q=vat/), page.click(`[data-item="${mine.id}"] button[value="1"]`)]);
    expect(await page.textContent(`[data-item="${mine.id}"] [data-testid=score]`)).toBe('1');
    expect(await page.getAttribute(`[data-item="${mine.id}"] button[value="1"]`, 'aria-pressed')).toBe('true');
    await screenshots(page, 'memory-list');
    expect(violations).toEqual([]);
  } finally {
    await page.close();
  }
  // A viewer sees neither it (audience: analysts) nor any vote or propose form.
  ({ page } = await signInPage(browser, server, viewer));
  try {
    await page.goto(`${server.url}/memory`);
    expect(await page.isVisible('[data-testid=propose]')).toBe(false);
    expect(await page.textContent('main')).not.toContain('Revenue excludes VAT');
  } finally {
    await page.close();
  }
});
