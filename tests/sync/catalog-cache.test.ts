/**
 * The table catalog and the dataset-access cache answer from memory: a write through the
 * repositories (which bumps their change counter) shows on the very next call, while the
 * periodic recheck that catches changes made any other way runs in the background and
 * never makes a caller wait. Here each cache gets its own counter, so writes through the
 * repositories stand for "changes made another way" until the test bumps it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createChangeCounter } from '../../src/cache/change-counter.ts';
import { createAccessCache, createTableCatalog } from '../../src/sync/catalog.ts';
import type { AuthUser } from '../../src/context.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

async function register(id: string) {
  const [dataset, name] = id.split('.') as [string, string];
  const { tableRegistry, syncState } = server.deps.repos;
  await tableRegistry.insert({ id, name, dataset, source_table: name, sync_strategy: 'full', primary_key: null, description: null, registered_by: null });
  await syncState.recordSuccess({ tableId: id, rows: 1, fileSizeBytes: 10, columns: 1, hash: 'a'.repeat(64) });
}

async function eventually(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await Bun.sleep(10);
}

test('the catalog answers from its snapshot while rechecking in the background, and reloads at once after a counted write', async () => {
  const changes = createChangeCounter();
  const catalog = createTableCatalog(server.deps.repos.dataCatalog, changes, { recheckMs: 0 });
  await register('cc.first');
  const before = await catalog.snapshot();
  expect(before.byId.has('cc.first')).toBe(true);

  await register('cc.second');
  // The recheck is due on every call here, but the caller gets the snapshot it has.
  const stale = await catalog.snapshot();
  expect(stale).toBe(before);
  await eventually(async () => (await catalog.snapshot()).byId.has('cc.second'));

  await register('cc.third');
  changes.bump();
  expect((await catalog.snapshot()).byId.has('cc.third')).toBe(true);
});

test('dataset access: a stale entry is used once while read again; a counted grant or revocation applies to the very next call', async () => {
  const changes = createChangeCounter();
  const access = createAccessCache({ permissions: server.deps.repos.permissions, sources: {} }, changes, { maxAgeMs: 0 });
  const analyst = await server.createUser('analyst');
  const user: AuthUser = { id: analyst.id, email: analyst.email, role: 'analyst', name: null, via: 'jwt' };
  expect((await access.forUser(user)).canRead('cc')).toBe(false);

  await server.deps.repos.permissions.set(analyst.id, 'cc', 'read', null);
  expect((await access.forUser(user)).canRead('cc')).toBe(false); // answered from the entry, refreshed behind
  await eventually(async () => (await access.forUser(user)).canRead('cc'));

  // A revocation while a background refresh may still be under way: the next call does not
  // take that refresh's (older) answer. (Whether the refresh is still pending when the write
  // lands depends on timing; the answer must be right either way.)
  void access.forUser(user); // starts a refresh (maxAgeMs 0)
  await server.deps.repos.permissions.set(analyst.id, 'cc', 'none', null);
  changes.bump();
  expect((await access.forUser(user)).canRead('cc')).toBe(false);
});
