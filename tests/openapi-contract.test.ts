import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { signAccessToken } from '../src/auth/jwt.ts';
import { hasRole, ROLES, type Role } from '../src/auth/roles.ts';
import { issueCliCode, pkceChallenge } from '../src/auth/service.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { copyFixtures } from './helpers/fixtures.ts';
import { seedTable } from './helpers/data.ts';
import { copyFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { partPath } from '../src/sync/delta.ts';
import { parquetPath } from '../src/sync/paths.ts';

/**
 * The OpenAPI document and the server cannot drift: every operation the document lists is
 * called for real (a success and errors), and each answer's status must be declared, its
 * content type must be one the document names for that status, and its body must match
 * the declared schema. A new route without a sample call here fails the test.
 */

type Operation = {
  operationId: string;
  'x-required-role': 'public' | Role;
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};
type Doc = { paths: Record<string, Record<string, Operation>>; components: unknown };

/** One request: who sends it, the path parameters, query, body, and the status it must get. */
interface Call {
  as: 'anonymous' | Role | { token: string };
  params?: Record<string, string>;
  query?: Record<string, string | undefined>;
  json?: unknown;
  /** A raw body (with its content type), e.g. for uploads or malformed JSON. */
  body?: { type: string; data: BodyInit };
  headers?: Record<string, string>;
  expect: number;
}

let server: TestServer;
let fx: ReturnType<typeof copyFixtures>;
let doc: Doc;
let users: Record<Role, { id: string; email: string; password: string; token: string }>;

beforeAll(async () => {
  fx = copyFixtures(
    'auth:\n  magic_link: true\n  login_rate_limit: 1000\n  login_ip_rate_limit: 10000\n' +
      `server:\n  max_body_bytes: ${BODY_LIMIT}\n`,
  );
  server = await startTestServer({ DA_CONFIG: fx.configPath });
  users = {} as typeof users;
  for (const role of ROLES) users[role] = await server.createUser(role);
  await seedTable(server, {
    dataset: 'sales', table: 'orders', select: 'SELECT range AS id FROM range(5)', profile: { table_id: 'sales.orders', rows: 5 },
  });
  mkdirSync(join(server.dataDir, 'docs', 'rules'), { recursive: true });
  writeFileSync(join(server.dataDir, 'docs', 'rules', 'sql.md'), 'Use CTEs.\n');
  doc = (await (await server.fetch('/api/openapi.json')).json()) as Doc;
});
afterAll(async () => {
  await server.stop();
  rmSync(fx.dir, { recursive: true, force: true });
});

/** A fresh access token for a role's user (so that e.g. POST /auth/logout spoils no later call). */
function tokenFor(role: Role): string {
  const u = users[role];
  return signAccessToken(server.deps.key, { id: u.id, email: u.email, role }, 600).token;
}

const admin = (path: string, init: RequestInit & { json?: unknown } = {}) => server.fetch(path, { ...init, token: server.adminToken });

async function newUser(body: Record<string, unknown> = {}) {
  const res = await admin('/api/users', { method: 'POST', json: { email: `u${crypto.randomUUID().slice(0, 8)}@example.com`, role: 'viewer', ...body } });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; email: string; setup_token?: string };
}

/** A pending access request to hr from a fresh viewer; returns its id. */
async function requestAccess(): Promise<string> {
  const password = `pw-${crypto.randomUUID()}`;
  const u = await newUser({ password });
  const res = await server.fetch('/api/access-requests', { method: 'POST', token: await server.login(u.email, password), json: { dataset: 'hr', reason: 'contract test' } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** A certified metric over the seeded sales.orders. */
function metric(name: string, extra: Record<string, unknown> = {}) {
  return { name, sql: 'SELECT count(*) AS value FROM sales.orders', datasets: ['sales'], status: 'certified', ...extra };
}

async function createMetric(name: string): Promise<string> {
  const res = await admin('/api/metrics', { method: 'POST', json: metric(name) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** A pending corporate memory item proposed by the analyst; returns its id. */
async function memoryItem(title = 'contract item'): Promise<string> {
  const res = await server.fetch('/api/memory', { method: 'POST', token: tokenFor('analyst'), json: { title, content: 'Some knowledge.' } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const MALFORMED = { type: 'application/json', data: '{"oops": ' };
/** The server's body limit in this test: small, so a 413 costs little to provoke. */
const BODY_LIMIT = 256 * 1024;

/**
 * Per operationId, the calls that exercise it: at least one success, and the errors that
 * are not covered by the generic ones every operation gets (401 anonymous, 403 below its
 * role, 400 for malformed JSON). Functions, so a call can set up what it changes.
 */
const SAMPLES: Record<string, () => Promise<Call[]>> = {
  'health.get': async () => [{ as: 'anonymous', expect: 200 }],
  'auth.token': async () => [
    { as: 'anonymous', json: { email: users.viewer.email, password: users.viewer.password }, expect: 200 },
    { as: 'anonymous', json: { email: users.viewer.email, password: 'wrong-password' }, expect: 401 },
    { as: 'anonymous', json: { email: 'not-an-email' }, expect: 422 },
  ],
  'auth.logout': async () => [{ as: 'viewer', expect: 204 }],
  'auth.setup': async () => {
    const u = await newUser();
    return [
      { as: 'anonymous', json: { token: u.setup_token, password: 'a-new-password-1' }, expect: 200 },
      { as: 'anonymous', json: { token: u.setup_token, password: 'a-new-password-1' }, expect: 401 },
      { as: 'anonymous', json: { token: 'x', password: 'short' }, expect: 422 },
    ];
  },
  'auth.reset': async () => {
    const u = await newUser({ password: 'first-password-1' });
    const { token } = (await (await admin(`/api/users/${u.id}/reset-token`, { method: 'POST' })).json()) as { token: string };
    return [
      { as: 'anonymous', json: { token, password: 'second-password-1' }, expect: 200 },
      { as: 'anonymous', json: { token: 'nope', password: 'second-password-1' }, expect: 401 },
    ];
  },
  'auth.magicLink': async () => [
    { as: 'anonymous', json: { email: users.viewer.email }, expect: 202 },
    { as: 'anonymous', json: { email: users.viewer.email, next: 'https://evil.example/' }, expect: 422 },
  ],
  'auth.passwordReset': async () => [
    { as: 'anonymous', json: { email: users.viewer.email }, expect: 202 },
    { as: 'anonymous', json: {}, expect: 422 },
  ],
  'auth.cliToken': async () => {
    const verifier = 'v'.repeat(50);
    const code = await issueCliCode(server.deps, users.analyst.id, 'contract test', pkceChallenge(verifier));
    return [
      { as: 'anonymous', json: { code, verifier }, expect: 200 },
      { as: 'anonymous', json: { code, verifier }, expect: 401 },
    ];
  },
  'me.get': async () => [{ as: 'viewer', expect: 200 }],
  'me.update': async () => [
    { as: 'viewer', json: { name: 'Vera Viewer' }, expect: 200 },
    { as: 'viewer', json: { name: 5 }, expect: 422 },
  ],
  'me.password': async () => {
    const u = await newUser({ password: 'first-password-1' });
    const token = await server.login(u.email, 'first-password-1');
    return [
      { as: { token }, json: { current_password: 'first-password-1', new_password: 'second-password-1' }, expect: 200 },
      { as: 'viewer', json: { current_password: 'wrong-password', new_password: 'second-password-1' }, expect: 422 },
    ];
  },
  'tokens.list': async () => [{ as: 'viewer', expect: 200 }],
  'tokens.create': async () => [
    { as: 'viewer', json: { name: 'ci' }, expect: 201 },
    { as: 'viewer', json: { name: '' }, expect: 422 },
  ],
  'tokens.revoke': async () => {
    const res = await server.fetch('/api/tokens', { method: 'POST', token: users.viewer.token, json: { name: 'to revoke' } });
    const { id } = (await res.json()) as { id: string };
    return [
      { as: 'viewer', params: { id }, expect: 204 },
      { as: 'viewer', params: { id: 'zz-missing' }, expect: 404 },
    ];
  },
  'users.list': async () => [
    { as: 'admin', query: { include_inactive: 'true' }, expect: 200 },
    { as: 'admin', query: { include_inactive: 'maybe' }, expect: 422 },
  ],
  'users.create': async () => [
    { as: 'admin', json: { email: 'created@example.com', role: 'viewer' }, expect: 201 },
    { as: 'admin', json: { email: 'created@example.com', role: 'viewer' }, expect: 409 },
    { as: 'admin', json: { email: 'nope', role: 'wizard' }, expect: 422 },
  ],
  'users.get': async () => [
    { as: 'admin', params: { id: users.viewer.id }, expect: 200 },
    { as: 'viewer', params: { id: users.viewer.id }, expect: 200 },
    { as: 'admin', params: { id: 'zz-missing' }, expect: 404 },
  ],
  'users.update': async () => [
    { as: 'admin', params: { id: users.viewer.id }, json: { name: 'Renamed' }, expect: 200 },
    { as: 'admin', params: { id: 'zz-missing' }, json: { name: 'x' }, expect: 404 },
    { as: 'admin', params: { id: users.viewer.id }, json: { role: 'wizard' }, expect: 422 },
  ],
  'users.deactivate': async () => {
    const u = await newUser();
    return [
      { as: 'admin', params: { id: u.id }, expect: 204 },
      { as: 'admin', params: { id: users.admin.id }, expect: 409 },
      { as: 'admin', params: { id: 'zz-missing' }, expect: 404 },
    ];
  },
  'users.resetToken': async () => [
    { as: 'admin', params: { id: users.viewer.id }, expect: 201 },
    { as: 'admin', params: { id: 'zz-missing' }, expect: 404 },
  ],
  'users.settings.get': async () => [
    { as: 'viewer', params: { id: users.viewer.id }, expect: 200 },
    { as: 'admin', params: { id: 'zz-missing' }, expect: 404 },
  ],
  'users.settings.put': async () => [
    { as: 'viewer', params: { id: users.viewer.id }, json: { items: [{ dataset: 'sales', enabled: true }] }, expect: 200 },
    { as: 'viewer', params: { id: users.viewer.id }, json: { items: [{ dataset: 'Bad Name!', enabled: 1 }] }, expect: 422 },
  ],
  'users.permissions.list': async () => [
    { as: 'viewer', params: { id: users.viewer.id }, expect: 200 },
    { as: 'admin', params: { id: 'zz-missing' }, expect: 404 },
  ],
  'users.permissions.put': async () => [
    { as: 'admin', params: { id: users.analyst.id, dataset: 'hr' }, json: { access: 'read' }, expect: 200 },
    { as: 'admin', params: { id: users.analyst.id, dataset: 'hr' }, json: { access: 'write' }, expect: 422 },
    { as: 'admin', params: { id: 'zz-missing', dataset: 'hr' }, json: { access: 'read' }, expect: 404 },
  ],
  'users.permissions.delete': async () => [
    { as: 'admin', params: { id: users.viewer.id, dataset: 'hr' }, expect: 204 },
    { as: 'admin', params: { id: 'zz-missing', dataset: 'hr' }, expect: 404 },
  ],
  'upload.sessions': async () => [
    { as: 'analyst', query: { name: 'chat.jsonl' }, body: { type: 'application/octet-stream', data: '{"role":"user"}\n' }, expect: 201 },
    { as: 'analyst', query: { name: '../escape.jsonl' }, body: { type: 'application/octet-stream', data: '{}\n' }, expect: 422 },
  ],
  'upload.artifacts': async () => [
    { as: 'analyst', query: { name: 'report.txt' }, body: { type: 'application/octet-stream', data: 'hello' }, expect: 201 },
    { as: 'analyst', body: { type: 'application/octet-stream', data: 'hello' }, expect: 422 },
  ],
  'upload.localMd': async () => [
    { as: 'analyst', body: { type: 'text/markdown', data: '# mine\n' }, expect: 201 },
    { as: 'analyst', body: { type: 'text/markdown', data: new Uint8Array([0xff, 0xfe, 0x00, 0xc3]) }, expect: 422 },
  ],
  'cli.install': async () => [{ as: 'anonymous', expect: 200 }],
  'cli.installPowershell': async () => [{ as: 'anonymous', expect: 200 }],
  // No `da` is built in a test checkout: the download's success is not callable here.
  'cli.download': async () => [{ as: 'anonymous', params: { file: 'da-nowhere-x64' }, expect: 404 }],
  'audit.list': async () => [
    { as: 'admin', query: { limit: '5' }, expect: 200 },
    { as: 'admin', query: { limit: '0' }, expect: 422 },
  ],
  'tables.list': async () => [{ as: 'admin', expect: 200 }],
  'tables.register': async () => [
    { as: 'admin', json: { dataset: 'sales', source_table: 'customers.csv' }, expect: 201 },
    { as: 'admin', json: { dataset: 'sales', source_table: 'customers.csv' }, expect: 409 },
    { as: 'admin', json: { dataset: 'nowhere', source_table: 'x.csv' }, expect: 404 },
    { as: 'admin', json: { dataset: 'Bad Name!' }, expect: 422 },
  ],
  'tables.update': async () => [
    { as: 'admin', params: { id: 'sales.orders' }, json: { description: 'Orders' }, expect: 200 },
    { as: 'admin', params: { id: 'sales.nope' }, json: { description: 'x' }, expect: 404 },
    { as: 'admin', params: { id: 'not-a-table-id' }, json: {}, expect: 422 },
    { as: 'admin', params: { id: 'sales.orders' }, json: { columns: { no_such_column: { description: 'x' } } }, expect: 422 },
  ],
  'catalog.enrichment': async () => [{ as: 'admin', expect: 200 }],
  'tables.unregister': async () => {
    await admin('/api/tables', { method: 'POST', json: { dataset: 'sales', source_table: 'products.csv' } });
    return [
      { as: 'admin', params: { id: 'sales.products' }, expect: 204 },
      { as: 'admin', params: { id: 'sales.products' }, expect: 404 },
    ];
  },
  'sources.list': async () => [{ as: 'admin', expect: 200 }],
  'sources.discover': async () => [
    { as: 'admin', params: { dataset: 'sales' }, expect: 200 },
    { as: 'admin', params: { dataset: 'nowhere' }, expect: 404 },
  ],
  'sources.registerAll': async () => [
    { as: 'admin', params: { dataset: 'hr' }, expect: 200 },
    { as: 'admin', params: { dataset: 'nowhere' }, expect: 404 },
  ],
  'sync.trigger': async () => [
    { as: 'admin', json: { tables: ['hr.employees'] }, expect: 202 },
    { as: 'admin', json: { tables: ['hr.nope'] }, expect: 404 },
    { as: 'admin', json: { tables: 'all' }, expect: 422 },
  ],
  'sync.job': async () => {
    const res = await admin('/api/sync/trigger', { method: 'POST', json: {} });
    const { job_id } = (await res.json()) as { job_id: string };
    return [
      { as: 'admin', params: { job_id }, expect: 200 },
      { as: 'admin', params: { job_id: 'zz-missing' }, expect: 404 },
    ];
  },
  'sync.history': async () => [
    { as: 'admin', query: { table: 'sales.orders' }, expect: 200 },
    { as: 'admin', query: { limit: 'many' }, expect: 422 },
  ],
  'catalog.list': async () => [{ as: 'viewer', expect: 200 }],
  'catalog.get': async () => [
    { as: 'viewer', params: { id: 'sales.orders' }, expect: 200 },
    { as: 'viewer', params: { id: 'sales.nope' }, expect: 404 },
  ],
  'sync.manifest': async () => [{ as: 'analyst', expect: 200 }],
  'data.download': async () => [
    { as: 'analyst', params: { table_id: 'sales.orders' }, expect: 200 },
    { as: 'analyst', params: { table_id: 'sales.orders' }, headers: { range: 'bytes=0-3' }, expect: 206 },
    { as: 'analyst', params: { table_id: 'sales.nope' }, expect: 404 },
    { as: 'analyst', params: { table_id: 'sales.orders' }, headers: { range: 'bytes=99999999-' }, expect: 416 },
  ],
  // A one-part chain (the served file as its base); real deltas: tests/sync/delta-sync.test.ts.
  'data.downloadPart': async () => {
    const state = (await server.deps.repos.syncState.get('sales.orders'))!;
    const base = partPath(server.dataDir, 'sales', 'orders', 1);
    mkdirSync(dirname(base), { recursive: true });
    if (!existsSync(base)) copyFileSync(parquetPath(server.dataDir, 'sales', 'orders'), base);
    await server.deps.repos.tableParts.replace('sales.orders', [{
      table_id: 'sales.orders', seq: 1, kind: 'base', hash: state.hash!, size_bytes: state.file_size_bytes!,
      rows_inserted: state.rows!, rows_updated: 0, rows_deleted: 0, full_hash: state.hash!,
    }]);
    return [
      { as: 'analyst', params: { table_id: 'sales.orders', seq: '1' }, expect: 200 },
      { as: 'analyst', params: { table_id: 'sales.orders', seq: '1' }, headers: { range: 'bytes=0-3' }, expect: 206 },
      { as: 'analyst', params: { table_id: 'sales.orders', seq: '2' }, expect: 404 },
      { as: 'analyst', params: { table_id: 'sales.orders', seq: 'x' }, expect: 422 },
    ];
  },
  'assets.download': async () => [
    { as: 'analyst', params: { path: 'docs/rules/sql.md' }, expect: 200 },
    { as: 'analyst', params: { path: 'profiles/sales.orders.json' }, expect: 200 },
    { as: 'analyst', params: { path: 'docs/rules/missing.md' }, expect: 404 },
  ],
  'query.run': async () => [
    { as: 'analyst', json: { sql: 'SELECT count(*) AS n FROM sales.orders' }, expect: 200 },
    { as: 'analyst', json: { sql: 'DROP TABLE sales.orders' }, expect: 400 },
    { as: 'analyst', json: { sql: '' }, expect: 422 },
  ],
  'accessRequests.create': async () => [
    { as: 'viewer', json: { dataset: 'hr', reason: 'contract test' }, expect: 201 },
    { as: 'viewer', json: { dataset: 'hr', reason: 'again' }, expect: 409 },
    { as: 'viewer', json: { dataset: 'no_such_dataset', reason: 'x' }, expect: 404 },
    { as: 'viewer', json: { dataset: 'Not A Name', reason: 'x' }, expect: 422 },
  ],
  'accessRequests.mine': async () => [{ as: 'viewer', expect: 200 }],
  'accessRequests.list': async () => [{ as: 'admin', query: { status: 'pending' }, expect: 200 }],
  'accessRequests.approve': async () => {
    const id = await requestAccess();
    return [
      { as: 'admin', params: { id }, expect: 200 },
      { as: 'admin', params: { id }, expect: 409 },
      { as: 'admin', params: { id: 'zz-missing' }, expect: 404 },
    ];
  },
  'accessRequests.deny': async () => {
    const id = await requestAccess();
    return [
      { as: 'admin', params: { id }, json: { note: 'not now' }, expect: 200 },
      { as: 'admin', params: { id }, json: { note: 'again' }, expect: 409 },
      { as: 'admin', params: { id: 'zz-missing' }, json: {}, expect: 404 },
    ];
  },
  'metrics.list': async () => [{ as: 'viewer', expect: 200 }],
  'metrics.create': async () => [
    { as: 'admin', json: metric('contract_created'), expect: 201 },
    { as: 'admin', json: metric('contract_created'), expect: 409 },
    { as: 'admin', json: { ...metric('contract_bad_sql'), sql: 'SELECT nope FROM sales.orders' }, expect: 400 },
    { as: 'analyst', json: metric('contract_hr', { sql: 'SELECT count(*) AS value FROM hr.employees', datasets: ['hr'] }), expect: 403 },
    { as: 'admin', json: { name: 'Bad Name' }, expect: 422 },
  ],
  'metrics.export': async () => [{ as: 'admin', expect: 200 }],
  'metrics.import': async () => {
    const exported = (await (await admin('/api/metrics/export')).json()) as { files: Record<string, string> };
    return [
      { as: 'admin', json: exported, expect: 200 },
      { as: 'admin', json: { files: { 'broken.yaml': 'name: broken\nsql: SELECT nope\ndatasets: [sales]\n' } }, expect: 400 },
    ];
  },
  'metrics.get': async () => {
    const id = await createMetric('contract_get');
    return [{ as: 'viewer', params: { id }, expect: 200 }, { as: 'viewer', params: { id: 'zz-missing' }, expect: 404 }];
  },
  'metrics.update': async () => {
    const id = await createMetric('contract_update');
    return [
      { as: 'admin', params: { id }, json: { description: 'changed' }, expect: 200 },
      { as: 'admin', params: { id }, json: { sql: 'SELECT nope FROM sales.orders' }, expect: 400 },
      { as: 'admin', params: { id: 'zz-missing' }, json: { description: 'x' }, expect: 404 },
    ];
  },
  'metrics.delete': async () => {
    const id = await createMetric('contract_delete');
    return [{ as: 'admin', params: { id }, expect: 204 }, { as: 'admin', params: { id }, expect: 404 }];
  },
  'metrics.value': async () => {
    const id = await createMetric('contract_value');
    return [{ as: 'viewer', params: { id }, expect: 200 }, { as: 'viewer', params: { id: 'zz-missing' }, expect: 404 }];
  },
  'memory.list': async () => [
    { as: 'viewer', query: { q: 'knowledge', limit: '5' }, expect: 200 },
    { as: 'viewer', query: { cursor: 'garbage' }, expect: 422 },
  ],
  'memory.create': async () => [
    { as: 'analyst', json: { title: 'Revenue excludes VAT', content: 'Net amounts.', tags: ['vat'] }, expect: 201 },
    { as: 'analyst', json: { title: '', content: 'x' }, expect: 422 },
  ],
  'memory.get': async () => {
    const id = await memoryItem();
    return [{ as: 'analyst', params: { id }, expect: 200 }, { as: 'viewer', params: { id: 'zz-missing' }, expect: 404 }];
  },
  'memory.update': async () => {
    const id = await memoryItem();
    return [
      { as: 'analyst', params: { id }, json: { title: 'Better title' }, expect: 200 },
      { as: 'admin', params: { id: 'zz-missing' }, json: { title: 'x' }, expect: 404 },
      { as: 'analyst', params: { id }, json: { tags: 'not a list' }, expect: 422 },
    ];
  },
  'memory.vote': async () => {
    const id = await memoryItem();
    await admin(`/api/memory/${id}/status`, { method: 'POST', json: { status: 'rejected' } });
    const open = await memoryItem('open for votes');
    return [
      { as: 'analyst', params: { id: open }, json: { vote: 1 }, expect: 200 },
      { as: 'analyst', params: { id: open }, json: { vote: 2 }, expect: 422 },
      { as: 'analyst', params: { id }, json: { vote: 1 }, expect: 409 },
      { as: 'analyst', params: { id: 'zz-missing' }, json: { vote: 1 }, expect: 404 },
    ];
  },
  'memory.status': async () => {
    const id = await memoryItem();
    return [
      { as: 'admin', params: { id }, json: { status: 'approved', note: 'ok' }, expect: 200 },
      { as: 'admin', params: { id }, json: { status: 'approved' }, expect: 409 },
      { as: 'admin', params: { id }, json: { status: 'mandatory' }, expect: 403 },
      { as: 'km_admin', params: { id }, json: { status: 'mandatory', audience: { roles: ['analyst'] } }, expect: 200 },
      { as: 'admin', params: { id: 'zz-missing' }, json: { status: 'approved' }, expect: 404 },
      { as: 'admin', params: { id }, json: { status: 'pending' }, expect: 422 },
    ];
  },
  'memory.batch': async () => {
    const [a, b] = [await memoryItem('batch a'), await memoryItem('batch b')];
    return [
      { as: 'admin', json: { ids: [a, b], status: 'approved' }, expect: 200 },
      { as: 'admin', json: { ids: [a], status: 'revoked' }, expect: 403 },
      { as: 'admin', json: { ids: [a, b], status: 'approved' }, expect: 409 },
      { as: 'admin', json: { ids: ['zz-missing'], status: 'approved' }, expect: 404 },
      { as: 'admin', json: { ids: [], status: 'approved' }, expect: 422 },
    ];
  },
  'memory.collect': async () => [{ as: 'admin', expect: 202 }],
  'memory.history': async () => {
    const id = await memoryItem();
    return [{ as: 'admin', params: { id }, expect: 200 }, { as: 'admin', params: { id: 'zz-missing' }, expect: 404 }];
  },
  'jobs.list': async () => [{ as: 'admin', expect: 200 }],
  'jobs.run': async () => {
    const jobs = (await (await admin('/api/jobs')).json()) as Array<{ name: string }>;
    return [
      ...(jobs[0] ? [{ as: 'admin' as const, params: { name: jobs[0].name }, expect: 202 }] : []),
      { as: 'admin', params: { name: 'no-such-job' }, expect: 404 },
      { as: 'admin', params: { name: 'Not A Name' }, expect: 422 },
    ];
  },
  'telegram.link.get': async () => [{ as: 'viewer', expect: 200 }],
  'telegram.link.create': async () => [
    { as: 'viewer', json: { code: '123456' }, expect: 404 },
    { as: 'viewer', json: { code: 'abc' }, expect: 422 },
  ],
  'telegram.link.delete': async () => {
    await server.deps.repos.notifications.link(users.viewer.id, 4242);
    return [{ as: 'viewer', expect: 204 }, { as: 'viewer', expect: 404 }];
  },
  'notifications.preferences.get': async () => [{ as: 'viewer', expect: 200 }],
  'notifications.socket': async () => [{ as: 'viewer', expect: 426 }, { as: 'anonymous', query: { token: 'nope' }, expect: 401 }],
  'notifications.preferences.put': async () => [
    { as: 'viewer', json: { items: [{ event: 'sync.finished', telegram: false }] }, expect: 200 },
    { as: 'viewer', json: { items: [{ event: 'nope' }] }, expect: 422 },
  ],
  'scripts.list': async () => [{ as: 'analyst', expect: 200 }],
  'scripts.create': async () => [
    { as: 'analyst', json: { name: 'contract-created', language: 'sql', source: 'SELECT 1' }, expect: 201 },
    { as: 'analyst', json: { name: 'contract-created', language: 'sql', source: 'SELECT 1' }, expect: 409 },
    { as: 'analyst', json: { name: 'contract-bad', language: 'cobol', source: 'x' }, expect: 422 },
  ],
  'scripts.get': async () => {
    const id = await createScript('contract-get');
    return [{ as: { token: users.analyst.token }, params: { id }, expect: 200 }, { as: 'admin', params: { id: 'zz-missing' }, expect: 404 }];
  },
  'scripts.update': async () => {
    const id = await createScript('contract-update');
    return [
      { as: { token: users.analyst.token }, params: { id }, json: { schedule: '0 7 * * *' }, expect: 200 },
      { as: { token: users.analyst.token }, params: { id }, json: { schedule: 'not cron' }, expect: 422 },
      { as: 'admin', params: { id: 'zz-missing' }, json: {}, expect: 404 },
    ];
  },
  'scripts.delete': async () => {
    const id = await createScript('contract-delete');
    return [{ as: { token: users.analyst.token }, params: { id }, expect: 204 }, { as: 'admin', params: { id }, expect: 404 }];
  },
  'scripts.run': async () => {
    const id = await createScript('contract-run');
    return [
      { as: { token: users.analyst.token }, params: { id }, query: { wait: 'true' }, expect: 200 },
      { as: { token: users.analyst.token }, params: { id }, expect: 202 },
      { as: { token: users.analyst.token }, params: { id }, query: { wait: 'maybe' }, expect: 422 },
      { as: 'admin', params: { id: 'zz-missing' }, expect: 404 },
    ];
  },
  'scripts.runs.list': async () => {
    const { id } = await createScriptRun('contract-runs');
    return [{ as: { token: users.analyst.token }, params: { id }, expect: 200 }, { as: 'admin', params: { id: 'zz-missing' }, expect: 404 }];
  },
  'scripts.runs.get': async () => {
    const { id, run_id } = await createScriptRun('contract-run-get');
    return [{ as: { token: users.analyst.token }, params: { id, run_id }, expect: 200 }, { as: 'admin', params: { id, run_id: 'zz-missing' }, expect: 404 }];
  },
  'scripts.artifacts.get': async () => {
    const { id, run_id } = await createScriptRun('contract-artifact');
    return [
      { as: { token: users.analyst.token }, params: { id, run_id, name: 'out.txt' }, expect: 200 },
      { as: { token: users.analyst.token }, params: { id, run_id, name: 'missing.txt' }, expect: 404 },
    ];
  },
  'backup.create': async () => [{ as: 'admin', expect: 200 }],
};

/** A script of the analyst's that writes one artifact, out.txt. */
async function createScript(name: string): Promise<string> {
  const res = await server.fetch('/api/scripts', {
    method: 'POST', token: users.analyst.token,
    json: { name, language: 'javascript', source: "require('fs').writeFileSync(process.env.DA_OUT + '/out.txt', 'x')" },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** A script that has run once (waited for). */
async function createScriptRun(name: string): Promise<{ id: string; run_id: string }> {
  const id = await createScript(name);
  const res = await server.fetch(`/api/scripts/${id}/run?wait=true`, { method: 'POST', token: users.analyst.token });
  expect(res.status).toBe(200);
  return { id, run_id: ((await res.json()) as { run_id: string }).run_id };
}

/** Operations whose success the test server cannot produce, with the reason. */
const NO_SUCCESS: Record<string, string> = {
  'cli.download': 'no `da` executable is built in a test checkout',
  'notifications.socket': 'its success is the WebSocket upgrade (101): tests/notify-websocket.test.ts opens it with a real client',
  'telegram.link.create': 'the contract server has no Telegram bot; tests/notify-telegram.test.ts links against a Bot API stand-in',
};

function operations() {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
}

function urlOf(path: string, call: Call): string {
  const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURI(call.params?.[name] ?? 'zz_missing'));
  const entries = Object.entries(call.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined);
  const query = entries.length ? `?${new URLSearchParams(entries)}` : '';
  return server.url + filled + query;
}

async function send(method: string, path: string, call: Call): Promise<Response> {
  const headers = new Headers(call.headers);
  const token = call.as === 'anonymous' ? undefined : typeof call.as === 'string' ? tokenFor(call.as) : call.as.token;
  if (token) headers.set('authorization', `Bearer ${token}`);
  let body: BodyInit | undefined;
  if (call.body) {
    headers.set('content-type', call.body.type);
    body = call.body.data;
  } else if (call.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(call.json);
  }
  return fetch(urlOf(path, call), { method: method.toUpperCase(), headers, body });
}

let ajv: Ajv2020;
function validatorFor(pointer: string) {
  if (!ajv) {
    ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(ajv);
    ajv.addFormat('binary', true);
    ajv.addSchema(doc as object, 'openapi.json');
  }
  return ajv.getSchema(`openapi.json#${pointer}`) ?? ajv.compile({ $ref: `openapi.json#${pointer}` });
}

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** What is wrong with a response against the document ([] when it matches). */
async function check(path: string, method: string, op: Operation, res: Response): Promise<string[]> {
  const where = `${method.toUpperCase()} ${path} → ${res.status}`;
  const declared = op.responses[String(res.status)] ?? op.responses[`${String(res.status)[0]}XX`];
  const text = await res.text();
  if (!declared) return [`${where}: status not declared (${text.slice(0, 200)})`];
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!declared.content) return text === '' ? [] : [`${where}: declares no body, got ${type} ${text.slice(0, 100)}`];
  if (!text && (res.status === 304 || res.status === 204)) return [];
  const media = declared.content[type];
  if (!media) return [`${where}: content type ${type || '(none)'} not declared (declared: ${Object.keys(declared.content).join(', ')})`];
  const schema = media.schema as { format?: string } | undefined;
  if (!schema || schema.format === 'binary') return [];
  let value: unknown = text;
  if (type.endsWith('json')) {
    try {
      value = JSON.parse(text);
    } catch {
      return [`${where}: ${type} body is not JSON`];
    }
  }
  const validate = validatorFor(`/paths/${escape(path)}/${method}/responses/${res.status}/content/${escape(type)}/schema`);
  return validate(value) ? [] : [`${where}: body does not match the ${type} schema: ${ajv.errorsText(validate.errors)}`];
}

test('Redocly\'s recommended rules find no error in the document', async () => {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
  const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
  expect(errors).toEqual([]);
});

test('the document names this server, a license, and security: [] on every public operation', () => {
  const d = doc as Doc & { servers: Array<{ url: string }>; info: { license?: { name: string } } };
  expect(d.servers[0]!.url).toBe(server.url);
  expect(d.info.license?.name).toBeTruthy();
  for (const { path, method, op } of operations()) {
    const security = (op as Operation & { security?: unknown[] }).security;
    expect({ op: `${method} ${path}`, security }).toEqual({
      op: `${method} ${path}`,
      security: op['x-required-role'] === 'public' ? [] : [{ bearerAuth: [] }],
    });
  }
});

test('the assets route is published as a plain OpenAPI path and still matches a path of several segments', async () => {
  expect(Object.keys(doc.paths)).toContain('/api/assets/{path}');
  expect(Object.keys(doc.paths).filter((p) => /\{\w+\{/.test(p))).toEqual([]);
  const res = await server.fetch('/api/assets/docs/rules/sql.md', { token: tokenFor('analyst') });
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('Use CTEs.\n');
});

test('every operation has sample calls, and a success unless the test server cannot produce one', () => {
  const ids = operations().map((o) => o.op.operationId);
  expect(ids.filter((id) => !SAMPLES[id])).toEqual([]);
  expect(new Set(ids).size).toBe(ids.length);
});

test('every route answers as the document says: declared status, content type and body schema', async () => {
  const failures: string[] = [];
  const successes = new Set<string>();
  for (const { path, method, op } of operations()) {
    const calls: Call[] = [...((await SAMPLES[op.operationId]?.()) ?? [])];
    const role = op['x-required-role'];
    // The errors every operation of its kind can give.
    if (role !== 'public') {
      const params = calls[0]?.params;
      calls.push({ as: 'anonymous', params, expect: 401 });
      const below = ROLES.filter((r) => !hasRole(r, role));
      if (below[0] && !calls.some((c) => c.as === 'viewer' && c.expect < 300)) calls.push({ as: below[0], params, expect: 403 });
    }
    if (op.requestBody?.content['application/json']) {
      const sample = calls.find((c) => c.json !== undefined && typeof c.as === 'string');
      calls.push({ ...sample, as: sample?.as ?? (role === 'public' ? 'anonymous' : role), json: undefined, body: MALFORMED, expect: 400 });
    }
    if (op.responses['413']) {
      const sample = calls.find((c) => typeof c.as === 'string' && c.expect < 300) ?? calls[0];
      const type = Object.keys(op.requestBody?.content ?? { 'application/json': {} })[0]!;
      calls.push({ ...sample, as: sample?.as ?? 'anonymous', json: undefined, body: { type, data: 'x'.repeat(BODY_LIMIT + 1) }, expect: 413 });
    }
    for (const call of calls) {
      const res = await send(method, path, call);
      const label = `${op.operationId} as ${typeof call.as === 'string' ? call.as : 'token'}`;
      if (res.status !== call.expect) {
        failures.push(`${label}: expected ${call.expect}, got ${res.status} ${(await res.text()).slice(0, 200)}`);
        continue;
      }
      if (res.status < 300) successes.add(op.operationId);
      failures.push(...(await check(path, method, op, res)).map((f) => `${label}: ${f}`));
    }
  }
  expect(failures).toEqual([]);
  const missing = operations().map((o) => o.op.operationId).filter((id) => !successes.has(id) && !NO_SUCCESS[id]);
  expect(missing).toEqual([]);
});

test('the check itself catches an undeclared status, content type or body', async () => {
  const me = doc.paths['/api/me']!.get!;
  const json = (body: unknown, status = 200, type = 'application/json') =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
  expect(await check('/api/me', 'get', me, json({ id: 1 }))).toHaveLength(1);
  expect(await check('/api/me', 'get', me, json({ id: 'u', email: 'e', name: null, role: 'viewer', via: 'bearer' }, 200, 'text/plain'))).toHaveLength(1);
  expect(await check('/api/me', 'get', me, json({}, 418))).toHaveLength(1);
  expect(await check('/api/me', 'get', me, json({ type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'x' }, 401, 'application/json'))).toHaveLength(1);
  expect(await check('/api/me', 'get', me, json({ type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'x' }, 401, 'application/problem+json'))).toEqual([]);
  expect(await check('/api/me', 'get', me, json({ id: 'u', email: 'e', name: null, role: 'viewer', via: 'bearer' }))).toEqual([]);
});
