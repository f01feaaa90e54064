import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDaSandbox, type DaSandbox } from './helpers/cli.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { testYaml } from './helpers/data.ts';

/**
 * Delivery of corporate memory through a real `da sync` (in-process CLI against a real
 * server): a mandatory item reaches `.claude/rules/` of the analyst it is meant for, the
 * digest `server/docs/knowledge.md` holds the approved ones, a revoke or an audience change
 * removes the rule on the next sync; `da memory` lists, searches, shows (online and offline
 * from the digest), adds and votes; `da init` points CLAUDE.md at the digest.
 */
const YAML = testYaml('sources:\n  sales: { type: local, path: /tmp, public: true }\n  hr: { type: local, path: /tmp }\n');
type User = Awaited<ReturnType<TestServer['createUser']>>;
let server: TestServer;
let analyst: User, other: User, km: User;
let da: DaSandbox;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer({}, { yaml: YAML });
  [analyst, other, km] = [await server.createUser('analyst'), await server.createUser('analyst'), await server.createUser('km_admin')];
  da = createDaSandbox();
  env = { DA_SERVER: server.url, DA_TOKEN: analyst.token };
});
afterAll(async () => {
  da?.cleanup();
  await server?.stop();
});

async function item(title: string, content: string, status: string, extra: Record<string, unknown> = {}) {
  const made = await server.fetch('/api/memory', { method: 'POST', token: other.token, json: { title, content, category: 'sales', tags: ['revenue'] } });
  expect(made.status).toBe(201);
  const { id } = (await made.json()) as { id: string };
  const res = await server.fetch(`/api/memory/${id}/status`, { method: 'POST', token: km.token, json: { status, ...extra } });
  expect(res.status).toBe(200);
  return id;
}

const rules = (dir = da.workspace) => {
  try {
    return readdirSync(join(dir, '.claude', 'rules')).sort();
  } catch {
    return [];
  }
};

async function sync() {
  const r = await da.runInProcess(['sync', '--json'], { env });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return r.json();
}

describe('da sync', () => {
  let mandatory: string;
  let approvedId: string;

  test('a mandatory item reaches .claude/rules/ and the digest; an approved one only the digest', async () => {
    mandatory = await item('Revenue excludes VAT', 'orders.amount is net of VAT; multiply by 1.21 for gross.', 'mandatory');
    approvedId = await item('Orders before 2024 have no channel', 'channel is null before 2024-01-01.', 'approved');
    await item('Pending is not delivered', 'nope', 'rejected');
    // An analyst's own rule file beside da's is never touched.
    mkdirSync(join(da.workspace, '.claude', 'rules'), { recursive: true });
    writeFileSync(join(da.workspace, '.claude', 'rules', 'my-style.md'), 'Use CTEs.\n');
    const report = await sync();
    expect(report.assets.updated).toEqual(expect.arrayContaining([`rules/km_${mandatory}.md`, 'docs/knowledge.md']));
    expect(rules()).toEqual([`km_${mandatory}.md`, 'my-style.md']);
    const rule = readFileSync(join(da.workspace, '.claude', 'rules', `km_${mandatory}.md`), 'utf8');
    expect(rule).toStartWith('# Revenue excludes VAT\n\norders.amount is net of VAT; multiply by 1.21 for gross.\n');
    const digest = readFileSync(join(da.workspace, 'server', 'docs', 'knowledge.md'), 'utf8');
    expect(digest).toContain('## sales');
    expect(digest).toContain('### Revenue excludes VAT (mandatory)');
    expect(digest).toContain('### Orders before 2024 have no channel');
    expect(digest).not.toContain('Pending is not delivered');
  });

  test('another analyst outside the audience does not get the rule, and cannot download it', async () => {
    const res = await server.fetch(`/api/memory/${mandatory}/status`, { method: 'POST', token: km.token, json: { status: 'mandatory', audience: { users: [other.email] } } });
    expect(res.status).toBe(200);
    const report = await sync();
    expect(report.assets.removed).toContain(`rules/km_${mandatory}.md`);
    expect(rules()).toEqual(['my-style.md']);
    expect((await server.fetch(`/api/assets/rules/km_${mandatory}.md`, { token: analyst.token })).status).toBe(404);
    expect((await server.fetch(`/api/assets/rules/km_${mandatory}.md`, { token: other.token })).status).toBe(200);
    const digest = readFileSync(join(da.workspace, 'server', 'docs', 'knowledge.md'), 'utf8');
    expect(digest).not.toContain('Revenue excludes VAT');
  });

  test('back in the audience it returns; revoked, it disappears on the next sync (also when the local state lost track)', async () => {
    expect((await server.fetch(`/api/memory/${mandatory}/status`, { method: 'POST', token: km.token, json: { status: 'mandatory', audience: null } })).status).toBe(200);
    await sync();
    expect(rules()).toEqual([`km_${mandatory}.md`, 'my-style.md']);
    // A stray km_ file da does not know about (an old workspace, a lost state) goes too.
    writeFileSync(join(da.workspace, '.claude', 'rules', 'km_stale0000000000.md'), 'old rule\n');
    expect((await server.fetch(`/api/memory/${mandatory}/status`, { method: 'POST', token: km.token, json: { status: 'revoked', note: 'VAT now included' } })).status).toBe(200);
    const report = await sync();
    expect(report.assets.removed).toEqual(expect.arrayContaining([`rules/km_${mandatory}.md`, 'rules/km_stale0000000000.md']));
    expect(rules()).toEqual(['my-style.md']);
  });

  test('da memory search finds approved items online and, offline, in the synced digest', async () => {
    let r = await da.runInProcess(['memory', 'search', 'channel', '--json'], { env });
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ offline: false, items: [expect.objectContaining({ id: approvedId, title: 'Orders before 2024 have no channel', status: 'approved' })] });
    r = await da.runInProcess(['memory', 'search', 'channel', '--offline', '--json'], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('offline');
    expect(r.json()).toMatchObject({ offline: true, items: [{ id: approvedId, title: 'Orders before 2024 have no channel', content: 'channel is null before 2024-01-01.', category: 'sales', tags: ['revenue'], status: 'approved' }] });
    // Signed out (no token): offline on its own, with the note.
    r = await da.runInProcess(['memory', 'list', '--json'], { env: { DA_SERVER: server.url } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('offline (not logged in');
    expect(r.json().items.map((i: any) => i.id)).toEqual([approvedId]);
    r = await da.runInProcess(['memory', 'show', approvedId, '--offline'], { env });
    expect(r.stdout).toContain('Orders before 2024 have no channel');
    expect((await da.runInProcess(['memory', 'show', 'nope', '--offline'], { env })).code).toBe(1);
    r = await da.runInProcess(['memory', 'search', 'nothing-like-this', '--json'], { env });
    expect(r.json().items).toEqual([]);
  });

  test('da memory add proposes a pending item and da memory vote votes; bad votes are usage errors', async () => {
    let r = await da.runInProcess(['memory', 'add', 'Refunds are negative orders', '--content', 'A refund is an order with a negative amount.', '--category', 'sales', '--tags', 'refunds,orders', '--json'], { env });
    expect(r.code).toBe(0);
    const added = r.json();
    expect(added).toMatchObject({ status: 'pending', title: 'Refunds are negative orders', tags: ['refunds', 'orders'], contributors: [analyst.id] });
    expect((await da.runInProcess(['memory', 'add', 'No text'], { env })).code).toBe(2);
    r = await da.runInProcess(['memory', 'vote', approvedId, 'up', '--json'], { env });
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ id: approvedId, score: 1, my_vote: 1 });
    r = await da.runInProcess(['memory', 'vote', approvedId, 'clear', '--json'], { env });
    expect(r.json()).toMatchObject({ score: 0, my_vote: 0 });
    r = await da.runInProcess(['memory', 'vote', approvedId, '2'], { env });
    expect(r.code).toBe(2);
    r = await da.runInProcess(['memory', 'vote', 'missing-id', 'up', '--json'], { env });
    expect(r.code).toBe(1);
    expect(r.json().error.message).toContain('404');
  });

  test('da init writes a CLAUDE.md that points the agent at the digest and the rules', async () => {
    const dir = join(da.workspace, 'fresh');
    const r = await da.runInProcess(['init', dir, '--json'], { env });
    expect(r.code).toBe(0);
    const md = readFileSync(join(dir, 'CLAUDE.md'), 'utf8');
    expect(md).toContain('./server/docs/knowledge.md');
    expect(md).toContain('.claude/rules/km_*.md');
    expect(md).toContain('da memory search');
    expect(existsSync(join(dir, '.claude', 'settings.json'))).toBe(true);
  });
});
