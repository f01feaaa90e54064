import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChangeCounter, MethodEffects } from '../../cache/change-counter.ts';
import { openSystemDb, type SystemDb } from '../../db/system.ts';
import { ACCESS_REQUESTS_METHODS, type AccessRequestsRepository } from '../access-requests.ts';
import type { Repositories } from '../index.ts';
import { PERMISSIONS_METHODS, type PermissionsRepository } from '../permissions.ts';
import { PROFILES_METHODS, type ProfilesRepository } from '../profiles.ts';
import { SYNC_STATE_METHODS, type SyncStateRepository } from '../sync-state.ts';
import { TABLE_REGISTRY_METHODS, type TableRegistryRepository } from '../table-registry.ts';
import { TABLE_ANNOTATIONS_METHODS, type TableAnnotationsRepository } from '../table-annotations.ts';
import { createDuckDbRepositories } from './index.ts';

// The caches of the data plane reload only when their change counter moves. Each counted
// repository classifies every method (the *_METHODS records, complete by type); this checks
// the classification against what the methods really do: a method marked `changes` bumps the
// counter, and a method marked `read` or `write` leaves what the cache holds as it was.

/** Arguments for one call of every method: complete by type, like the classification. */
type Calls<R> = { [K in keyof R]: R[K] extends (...args: infer A) => unknown ? A : never };

const TABLE = {
  id: 'ds.t1', name: 't1', dataset: 'ds', source_table: 't1', sync_strategy: 'full', primary_key: null,
  description: null, registered_by: null,
} as const;

let dir: string;
let db: SystemDb;
let repos: Repositories;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'da-counting-'));
  db = await openSystemDb(join(dir, 'system.duckdb'));
  repos = createDuckDbRepositories(db);
  await repos.tableRegistry.insert(TABLE);
  await repos.syncState.recordSuccess({ tableId: TABLE.id, rows: 1, fileSizeBytes: 10, columns: 1, hash: 'h1' });
  await repos.profiles.put(TABLE.id, { columns: [] });
  await repos.syncState.createJob({ id: 'j1', requestedBy: null, tables: null });
  await repos.permissions.set('u1', 'ds', 'read', null);
  await repos.permissions.set('u1', 'other', 'none', null);
});

afterAll(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function checkClassification<R extends object>(
  repo: R,
  effects: MethodEffects<R>,
  calls: Calls<R>,
  counter: ChangeCounter,
  cached: () => Promise<unknown>,
): Promise<void> {
  const names = Object.keys(effects) as Array<keyof R & string>;
  const call = (name: keyof R & string) => (repo[name] as (...args: unknown[]) => Promise<unknown>).apply(repo, calls[name] as unknown[]);
  // Reads and other writes first, so the `changes` calls cannot hide what they did.
  for (const name of names.filter((n) => effects[n] !== 'changes')) {
    const [before, held] = [counter.value, JSON.stringify(await cached())];
    await call(name);
    const after = { bumps: counter.value - before, cacheChanged: JSON.stringify(await cached()) !== held };
    expect({ method: name, ...after }).toEqual({ method: name, bumps: 0, cacheChanged: false });
  }
  for (const name of names.filter((n) => effects[n] === 'changes')) {
    const before = counter.value;
    await call(name);
    expect({ method: name, bumps: counter.value - before }).toEqual({ method: name, bumps: 1 });
  }
}

test('table registry: writes that change the catalog bump the data counter, the rest leave it alone', async () => {
  const calls: Calls<TableRegistryRepository> = {
    list: [],
    get: [TABLE.id],
    insert: [{ ...TABLE, id: 'ds.t2', name: 't2' }],
    update: [TABLE.id, { description: 'changed' }],
    remove: ['ds.t2'],
    setMissing: [{ missing: [TABLE.id], present: [] }],
  };
  await checkClassification(repos.tableRegistry, TABLE_REGISTRY_METHODS, calls, repos.changes.data, () => repos.dataCatalog.listTables());
});

test('sync state: per-table state bumps the data counter; history and jobs do not change the catalog', async () => {
  const calls: Calls<SyncStateRepository> = {
    get: [TABLE.id],
    list: [],
    history: [undefined, 10],
    recentHistory: [[TABLE.id], 10],
    historyOfJob: ['j1'],
    listJobs: [10],
    getJob: ['j1'],
    addHistory: [{ id: 'h1', table_id: TABLE.id, job_id: 'j1', rows: 1, bytes: 10, columns: 1, duration_ms: 5, status: 'ok', error: null }],
    purgeHistoryOlderThan: [0],
    createJob: [{ id: 'j2', requestedBy: null, tables: [TABLE.id] }],
    updateJob: ['j1', { status: 'running' }],
    failUnfinishedJobs: ['test'],
    recordSuccess: [{ tableId: TABLE.id, rows: 2, fileSizeBytes: 20, columns: 1, hash: 'h2' }],
    recordFailure: [TABLE.id, 'boom'],
    remove: ['ds.none'],
  };
  await checkClassification(repos.syncState, SYNC_STATE_METHODS, calls, repos.changes.data, () => repos.dataCatalog.listTables());
});

test('profiles: writes bump the data counter', async () => {
  const calls: Calls<ProfilesRepository> = {
    get: [TABLE.id],
    list: [],
    put: [TABLE.id, { columns: [{ name: 'x' }] }],
    remove: ['ds.none'],
  };
  await checkClassification(repos.profiles, PROFILES_METHODS, calls, repos.changes.data, () => repos.dataCatalog.listTables());
});

test('table annotations: admin and OpenMetadata descriptions bump the data counter', async () => {
  const calls: Calls<TableAnnotationsRepository> = {
    get: [TABLE.id, 'admin'],
    list: [],
    put: [{ table_id: TABLE.id, origin: 'admin', description: 'Said by an admin', tags: ['pii'], columns: {}, detail: null, updated_by: null }],
    remove: ['ds.none'],
    recordRun: [{
      id: 'r1', origin: 'openmetadata', started_at: '2026-01-01T00:00:00.000Z', finished_at: '2026-01-01T00:00:01.000Z', status: 'succeeded', error: null,
      result: { enriched: [], not_found: [], skipped: [], errors: [] },
    }],
    lastRun: [],
  };
  await checkClassification(repos.tableAnnotations, TABLE_ANNOTATIONS_METHODS, calls, repos.changes.data, () => repos.dataCatalog.listTables());
});

test('permissions: grants and sync settings bump the permissions counter (the access cache and the sync selections reload)', async () => {
  const calls: Calls<PermissionsRepository> = {
    listForUser: ['u1'],
    readableDatasets: ['u1'],
    deniedDatasets: ['u1'],
    listSyncSettings: ['u1'],
    putSyncSettings: ['u1', [{ dataset: 'ds', enabled: true, table_mode: 'all' }]],
    set: ['u1', 'more', 'read', null],
    remove: ['u1', 'more'],
  };
  const held = async () => ({
    readable: [...(await repos.permissions.readableDatasets('u1'))].sort(),
    denied: [...(await repos.permissions.deniedDatasets('u1'))].sort(),
    syncSettings: (await repos.permissions.listSyncSettings('u1')).map((s) => [s.dataset, s.enabled, s.table_mode, s.tables]),
  });
  await checkClassification(repos.permissions, PERMISSIONS_METHODS, calls, repos.changes.permissions, held);
});

test('access requests: approving grants read and bumps the permissions counter; asking and denying do not', async () => {
  await repos.accessRequests.createPending({ id: 'ar-deny', userId: 'u2', dataset: 'ds', reason: 'r' });
  await repos.accessRequests.createPending({ id: 'ar-approve', userId: 'u2', dataset: 'other', reason: 'r' });
  const calls: Calls<AccessRequestsRepository> = {
    createPending: [{ id: 'ar-new', userId: 'u2', dataset: 'third', reason: 'r' }],
    get: ['ar-deny'],
    list: [{ userId: 'u2' }],
    deny: ['ar-deny', 'admin', 'no'],
    approve: ['ar-approve', 'admin'],
  };
  const held = async () => [...(await repos.permissions.readableDatasets('u2'))].sort();
  await checkClassification(repos.accessRequests, ACCESS_REQUESTS_METHODS, calls, repos.changes.permissions, held);
  expect(await held()).toEqual(['other']);
});

test('access requests: of two approvals at once one decides, the other finds it decided; the grant lands once', async () => {
  await repos.accessRequests.createPending({ id: 'ar-race', userId: 'u3', dataset: 'ds', reason: 'r' });
  const dup = await repos.accessRequests.createPending({ id: 'ar-race2', userId: 'u3', dataset: 'ds', reason: 'again' });
  expect(dup.created).toBeUndefined();
  expect(dup.existing?.id).toBe('ar-race');
  const [a, b] = await Promise.all([repos.accessRequests.approve('ar-race', 'admin'), repos.accessRequests.deny('ar-race', 'admin', 'late')]);
  expect([a.ok, b.ok]).toEqual([true, false]);
  expect(b).toMatchObject({ ok: false, reason: 'not_pending' });
  expect((await repos.accessRequests.get('ar-race'))).toMatchObject({ status: 'approved', note: null });
  expect(await repos.permissions.listForUser('u3')).toEqual([expect.objectContaining({ dataset: 'ds', access: 'read', granted_by: 'admin' })]);
  expect(await repos.accessRequests.approve('nope', 'admin')).toEqual({ ok: false, reason: 'not_found' });
});
