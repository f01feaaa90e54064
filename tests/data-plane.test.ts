import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { seedTable, testYaml } from './helpers/data.ts';
import { ManifestSchema } from '../src/api/manifest.ts';

/**
 * The serve path with real files: manifest → download (bytes hash to the manifest) →
 * 304 → 206 → query, and permission filtering of manifest, downloads, catalog, profiles
 * and documents for a public dataset, a grant, a revoked grant and a never-granted one.
 */
let server: TestServer;
let analyst: { id: string; token: string };
let plain: { id: string; token: string };
let viewer: { id: string; token: string };
let orders: { id: string; hash: string };
const PROFILE = { table_id: 'sales.orders', rows: 2000, columns: [{ name: 'id', type: 'BIGINT', null_pct: 0 }] };

function sha256(bytes: ArrayBuffer | string): string {
  return new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
}

beforeAll(async () => {
  server = await startTestServer({}, {
    yaml: testYaml(`sources:
  pub: { type: local, path: /nonexistent/pub, public: true }
  sales: { type: local, path: /nonexistent/sales }
  hr: { type: local, path: /nonexistent/hr }
  crm: { type: local, path: /nonexistent/crm }
`),
  });
  await seedTable(server, { dataset: 'pub', table: 'events', select: `SELECT range AS id FROM range(10)`, description: 'Public events' });
  orders = await seedTable(server, {
    dataset: 'sales', table: 'orders', profile: PROFILE, description: 'Orders',
    select: `SELECT range AS id, 'customer ' || (range % 97) AS customer, (range * 1.5)::DECIMAL(12,2) AS amount FROM range(2000)`,
  });
  await seedTable(server, { dataset: 'hr', table: 'salaries', select: `SELECT 'ceo' AS who, 1 AS salary`, profile: { secret: true } });
  await seedTable(server, { dataset: 'crm', table: 'contacts', select: `SELECT 1 AS id`, profile: { rows: 1 } });
  // Registered, never synced: in the catalog as pending, not in the manifest.
  await server.deps.repos.tableRegistry.insert({
    id: 'sales.returns', name: 'returns', dataset: 'sales', source_table: 'returns', sync_strategy: 'full',
    primary_key: null, description: null, registered_by: null,
  });
  const docs = join(server.dataDir, 'docs');
  for (const dir of ['rules', 'datasets/sales', 'datasets/hr', 'misc']) mkdirSync(join(docs, dir), { recursive: true });
  writeFileSync(join(docs, 'README.md'), '# About our data\n');
  writeFileSync(join(docs, 'rules', 'sql-style.md'), 'Use CTEs.\n');
  writeFileSync(join(docs, 'datasets', 'sales', 'orders.md'), 'Orders: one row per order.\n');
  writeFileSync(join(docs, 'datasets', 'hr', 'salaries.md'), 'Confidential.\n');
  writeFileSync(join(docs, 'misc', 'stray.md'), 'Not in the layout.\n');
  writeFileSync(join(docs, '.hidden.md'), 'hidden\n');
  symlinkSync('/etc/passwd', join(docs, 'rules', 'passwd.md'));

  analyst = await server.createUser('analyst');
  plain = await server.createUser('analyst');
  viewer = await server.createUser('viewer');
  for (const [user, dataset] of [[analyst, 'sales'], [analyst, 'crm'], [viewer, 'sales']] as const) {
    const res = await server.fetch(`/api/users/${user.id}/permissions/${dataset}`, { method: 'PUT', token: server.adminToken, json: { access: 'read' } });
    expect(res.status).toBe(200);
  }
});
afterAll(() => server.stop());

async function manifestOf(token: string) {
  const res = await server.fetch('/api/sync/manifest', { token });
  expect(res.status).toBe(200);
  return ManifestSchema.parse(await res.json());
}

describe('the serve path', () => {
  test('manifest → download → 304 → 206 → query, with bytes that hash to the manifest', async () => {
    const manifest = await manifestOf(analyst.token);
    expect(manifest.manifest_version).toBe(1);
    const entry = manifest.tables['sales.orders']!;
    expect(entry).toMatchObject({ dataset: 'sales', name: 'orders', hash: orders.hash, rows: 2000, columns: 3, url: '/api/data/sales.orders/download' });

    const full = await server.fetch(entry.url, { token: analyst.token });
    expect(full.status).toBe(200);
    const bytes = await full.arrayBuffer();
    expect(sha256(bytes)).toBe(entry.hash);
    expect(bytes.byteLength).toBe(entry.size_bytes!);
    expect(full.headers.get('etag')).toBe(`"${entry.hash}"`);
    expect(full.headers.get('x-content-sha256')).toBe(entry.hash);
    expect(full.headers.get('content-length')).toBe(String(entry.size_bytes));
    expect(full.headers.get('content-type')).toBe('application/vnd.apache.parquet');

    const cached = await server.fetch(entry.url, { token: analyst.token, headers: { 'if-none-match': `"${entry.hash}"` } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(`"${entry.hash}"`);
    expect((await cached.arrayBuffer()).byteLength).toBe(0);

    const stale = await server.fetch(entry.url, { token: analyst.token, headers: { 'if-none-match': '"0000"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();

    const part = await server.fetch(entry.url, { token: analyst.token, headers: { range: 'bytes=4-103' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 4-103/${entry.size_bytes}`);
    expect(part.headers.get('content-length')).toBe('100');
    expect(part.headers.get('etag')).toBe(`"${entry.hash}"`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(new Uint8Array(bytes.slice(4, 104)));

    const tail = await server.fetch(entry.url, { token: analyst.token, headers: { range: `bytes=${entry.size_bytes! - 4}-` } });
    expect(tail.status).toBe(206);
    expect(new TextDecoder().decode(await tail.arrayBuffer())).toBe('PAR1');

    const q = await server.fetch('/api/query', { method: 'POST', token: analyst.token, json: { sql: 'SELECT count(*), sum(amount) FROM sales.orders' } });
    expect(q.status).toBe(200);
    expect(((await q.json()) as { rows: unknown[][] }).rows).toEqual([['2000', '2998500.00']]);
  });

  test('the manifest has a strong ETag and answers If-None-Match with 304', async () => {
    const first = await server.fetch('/api/sync/manifest', { token: analyst.token });
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    await first.arrayBuffer();
    const again = await server.fetch('/api/sync/manifest', { token: analyst.token, headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  test('a new sync shows up in the next manifest and the download follows it', async () => {
    const before = (await manifestOf(analyst.token)).tables['pub.events']!;
    const after = await seedTable(server, { dataset: 'pub', table: 'events', select: `SELECT range AS id FROM range(20)` });
    expect(after.hash).not.toBe(before.hash);
    const entry = (await manifestOf(analyst.token)).tables['pub.events']!;
    expect(entry).toMatchObject({ hash: after.hash, rows: 20 });
    const res = await server.fetch(entry.url, { token: analyst.token });
    expect(sha256(await res.arrayBuffer())).toBe(after.hash);
    const q = await server.fetch('/api/query', { method: 'POST', token: analyst.token, json: { sql: 'SELECT count(*) FROM pub.events' } });
    expect(((await q.json()) as { rows: unknown[][] }).rows).toEqual([['20']]);
  });

  test('a failed sync keeps serving the last good file', async () => {
    await server.deps.repos.syncState.recordFailure('crm.contacts', 'source unreachable');
    const manifest = await manifestOf(analyst.token);
    expect(manifest.tables['crm.contacts']).toBeDefined();
    const res = await server.fetch('/api/catalog/tables/crm.contacts', { token: analyst.token });
    expect(await res.json()).toMatchObject({ status: 'error', error: null });
    const admin = await server.fetch('/api/catalog/tables/crm.contacts', { token: server.adminToken });
    expect(await admin.json()).toMatchObject({ status: 'error', error: 'source unreachable' });
  });
});

describe('documents and profiles as assets', () => {
  test('the manifest lists organisation documents, permitted dataset documents and profiles, and nothing else', async () => {
    const manifest = await manifestOf(analyst.token);
    expect(Object.keys(manifest.assets).sort()).toEqual([
      'docs/README.md', 'docs/datasets/sales/orders.md', 'docs/rules/sql-style.md',
      'profiles/crm.contacts.json', 'profiles/sales.orders.json',
    ]);
    const plainAssets = Object.keys((await manifestOf(plain.token)).assets).sort();
    expect(plainAssets).toEqual(['docs/README.md', 'docs/rules/sql-style.md']);
    const adminAssets = Object.keys((await manifestOf(server.adminToken)).assets);
    expect(adminAssets).toContain('docs/datasets/hr/salaries.md');
    expect(adminAssets).toContain('profiles/hr.salaries.json');
    expect(adminAssets).not.toContain('docs/misc/stray.md');
    expect(adminAssets).not.toContain('docs/rules/passwd.md');
  });

  test('each asset downloads with bytes that hash to the manifest, and 304 when current', async () => {
    const manifest = await manifestOf(analyst.token);
    for (const [path, asset] of Object.entries(manifest.assets)) {
      const res = await server.fetch(asset.url, { token: analyst.token });
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      const bytes = await res.arrayBuffer();
      expect({ path, hash: sha256(bytes), size: bytes.byteLength }).toEqual({ path, hash: asset.hash, size: asset.size_bytes! });
      expect(res.headers.get('etag')).toBe(`"${asset.hash}"`);
      const again = await server.fetch(asset.url, { token: analyst.token, headers: { 'if-none-match': `"${asset.hash}"` } });
      expect({ path, status: again.status }).toEqual({ path, status: 304 });
    }
    const profile = await server.fetch('/api/assets/profiles/sales.orders.json', { token: analyst.token });
    // The stored profile, with the catalog's description and tags of the table and its columns added.
    expect(await profile.json()).toEqual({ ...PROFILE, description: 'Orders', tags: [], columns: PROFILE.columns.map((c) => ({ ...c, description: null })) });
  });

  test('forbidden, unknown, hidden, symlinked and climbing asset paths are all 404', async () => {
    for (const path of [
      'docs/datasets/hr/salaries.md', 'profiles/hr.salaries.json', 'profiles/nope.nope.json', 'docs/misc/stray.md',
      'docs/.hidden.md', 'docs/rules/passwd.md', 'docs/%2e%2e/state/secret', 'docs/..%2fstate%2fsecret',
      'docs/rules/..%2f..%2fstate%2fsecret', '..%2fstate%2fsecret', 'state/secret', 'profiles/..%2f..%2fetc%2fpasswd.json',
    ]) {
      const res = await server.fetch(`/api/assets/${path}`, { token: analyst.token });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });
});

describe('permission filtering', () => {
  test('manifest: public and granted datasets only; never-granted ones are absent', async () => {
    expect(Object.keys((await manifestOf(analyst.token)).tables).sort()).toEqual(['crm.contacts', 'pub.events', 'sales.orders']);
    expect(Object.keys((await manifestOf(plain.token)).tables)).toEqual(['pub.events']);
    expect(Object.keys((await manifestOf(server.adminToken)).tables).sort()).toEqual(['crm.contacts', 'hr.salaries', 'pub.events', 'sales.orders']);
  });

  test('download: a forbidden table, an unknown table and a malformed id answer the same 404', async () => {
    const bodies: string[] = [];
    for (const id of ['hr.salaries', 'nope.nothing', 'sales.returns', '..%2F..%2Fstate%2Fsecret', 'Sales.Orders', 'a.b.c']) {
      const res = await server.fetch(`/api/data/${id}/download`, { token: analyst.token });
      expect({ id, status: res.status }).toEqual({ id, status: 404 });
      const body = (await res.json()) as { detail: string };
      bodies.push(body.detail.replace(/table \S+ not found/, 'table X not found'));
    }
    expect(new Set(bodies).size).toBe(1);
    expect((await server.fetch('/api/data/hr.salaries/download', { token: server.adminToken })).status).toBe(200);
  });

  test('catalog: the same tables, pending ones included, with profiles only where permitted', async () => {
    const list = async (token: string) => {
      const res = await server.fetch('/api/catalog/tables', { token });
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: Array<{ id: string; status: string }> }).items;
    };
    const mine = await list(analyst.token);
    expect(mine.map((t) => t.id)).toEqual(['crm.contacts', 'pub.events', 'sales.orders', 'sales.returns']);
    expect(mine.find((t) => t.id === 'sales.returns')).toMatchObject({ status: 'pending', last_sync: null, rows: null });
    expect(mine.find((t) => t.id === 'sales.orders')).toMatchObject({
      dataset: 'sales', name: 'orders', description: 'Orders', rows: 2000, columns: 3, status: 'ok', has_profile: true,
    });
    expect((await list(plain.token)).map((t) => t.id)).toEqual(['pub.events']);
    expect((await list(viewer.token)).map((t) => t.id)).toEqual(['pub.events', 'sales.orders', 'sales.returns']);

    const detail = await server.fetch('/api/catalog/tables/sales.orders', { token: viewer.token });
    expect(detail.status).toBe(200);
    expect(await detail.json()).toMatchObject({ id: 'sales.orders', profile: PROFILE });
    const noProfile = await server.fetch('/api/catalog/tables/pub.events', { token: viewer.token });
    expect(await noProfile.json()).toMatchObject({ profile: null, profiled_at: null });
    for (const id of ['hr.salaries', 'nope.nothing', 'bad id']) {
      const res = await server.fetch(`/api/catalog/tables/${encodeURIComponent(id)}`, { token: viewer.token });
      expect({ id, status: res.status }).toEqual({ id, status: 404 });
    }
  });

  test('a revoked grant hides the dataset from manifest, download, catalog, profile and query at once', async () => {
    const user = await server.createUser('analyst');
    await server.fetch(`/api/users/${user.id}/permissions/crm`, { method: 'PUT', token: server.adminToken, json: { access: 'read' } });
    expect((await manifestOf(user.token)).tables['crm.contacts']).toBeDefined();
    expect((await server.fetch('/api/data/crm.contacts/download', { token: user.token })).status).toBe(200);

    const put = await server.fetch(`/api/users/${user.id}/permissions/crm`, { method: 'PUT', token: server.adminToken, json: { access: 'none' } });
    expect(put.status).toBe(200);
    const manifest = await manifestOf(user.token);
    expect(manifest.tables['crm.contacts']).toBeUndefined();
    expect(manifest.assets['profiles/crm.contacts.json']).toBeUndefined();
    expect((await server.fetch('/api/data/crm.contacts/download', { token: user.token })).status).toBe(404);
    expect((await server.fetch('/api/catalog/tables/crm.contacts', { token: user.token })).status).toBe(404);
    expect((await server.fetch('/api/assets/profiles/crm.contacts.json', { token: user.token })).status).toBe(404);
    const q = await server.fetch('/api/query', { method: 'POST', token: user.token, json: { sql: 'SELECT * FROM crm.contacts' } });
    expect(q.status).toBe(400);
  });

  test('a public dataset set to none disappears for that user only', async () => {
    const user = await server.createUser('analyst');
    await server.fetch(`/api/users/${user.id}/permissions/pub`, { method: 'PUT', token: server.adminToken, json: { access: 'none' } });
    expect((await manifestOf(user.token)).tables['pub.events']).toBeUndefined();
    expect((await server.fetch('/api/data/pub.events/download', { token: user.token })).status).toBe(404);
    expect((await manifestOf(plain.token)).tables['pub.events']).toBeDefined();
  });
});

describe('role refusals', () => {
  test('anonymous callers get 401 and viewers 403 where analyst is needed', async () => {
    for (const path of ['/api/sync/manifest', '/api/data/pub.events/download', '/api/assets/docs/README.md']) {
      expect({ path, status: (await server.fetch(path)).status }).toEqual({ path, status: 401 });
      expect({ path, status: (await server.fetch(path, { token: viewer.token })).status }).toEqual({ path, status: 403 });
    }
    for (const path of ['/api/catalog/tables', '/api/catalog/tables/pub.events']) {
      expect({ path, status: (await server.fetch(path)).status }).toEqual({ path, status: 401 });
      expect({ path, status: (await server.fetch(path, { token: viewer.token })).status }).toEqual({ path, status: 200 });
    }
  });
});
