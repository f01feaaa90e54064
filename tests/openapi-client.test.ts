import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { startTestServer, type TestServer } from './helpers/server.ts';

/**
 * What a client team does with the document: generate types with openapi-typescript,
 * type-check them together with a typed openapi-fetch client, and run that client against
 * the server, success and error answers alike.
 */
let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'da-openapi-client-'));
  // The generated code imports openapi-fetch: resolve it from the project's packages.
  symlinkSync(realpathSync(resolve(import.meta.dir, '..', 'node_modules')), join(dir, 'node_modules'));
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const CLIENT = `import createClient from 'openapi-fetch';
import type { components, paths } from './api.ts';

type Problem = components['schemas']['Problem'];
const client = createClient<paths>({ baseUrl: process.env.DA_URL!, headers: { authorization: \`Bearer \${process.env.DA_TOKEN}\` } });

const health = await client.GET('/api/health');
const version: string | undefined = health.data?.version;

const me = await client.GET('/api/me');
const role: components['schemas']['Role'] | undefined = me.data?.role;

const query = await client.POST('/api/query', { body: { sql: 'SELECT 42 AS answer' } });
const rows: unknown[][] | undefined = query.data?.rows;

const missing = await client.GET('/api/users/{id}', { params: { path: { id: 'zz-missing' } } });
const problem: Problem | undefined = missing.error;

const invalid = await client.POST('/api/users', { body: { email: 'not-an-email', role: 'viewer' } });
const fields: string[] = (invalid.error?.errors ?? []).map((e) => e.path);

// @ts-expect-error the document has no such path
void client.GET('/api/no-such-route');
// @ts-expect-error a role the document does not list
void client.POST('/api/users', { body: { email: 'x@example.com', role: 'wizard' } });

console.log(JSON.stringify({
  version, role, rows,
  missing: { status: missing.response.status, type: missing.response.headers.get('content-type'), detail: problem?.detail },
  invalid: { status: invalid.response.status, fields },
}));
`;

async function run(cmd: string[], opts: { cwd?: string; env?: Record<string, string | undefined> }) {
  const proc = Bun.spawn(cmd, { ...opts, stdout: 'pipe', stderr: 'pipe' });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: ['bun'],
    strict: true, noEmit: true, skipLibCheck: true, allowImportingTsExtensions: true, noUncheckedIndexedAccess: true,
  },
  files: ['api.ts', 'client.ts'],
};

test('openapi-typescript generates types that type-check, and a typed openapi-fetch client works, errors included', async () => {
  const doc = await (await server.fetch('/api/openapi.json')).json();
  const types = astToString(await openapiTS(doc));
  writeFileSync(join(dir, 'api.ts'), types);
  writeFileSync(join(dir, 'client.ts'), CLIENT);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG));

  const tsc = await run(['bun', 'x', 'tsc', '-p', join(dir, 'tsconfig.json')], { cwd: resolve(import.meta.dir, '..') });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.code).toBe(0);

  // Asynchronously: the server answering the client runs in this process.
  const client = await run(['bun', join(dir, 'client.ts')], { env: { ...process.env, DA_URL: server.url, DA_TOKEN: server.adminToken } });
  expect(client.stderr).toBe('');
  const out = JSON.parse(client.stdout);
  expect(out).toMatchObject({
    role: 'km_admin',
    rows: [[42]],
    missing: { status: 404, type: 'application/problem+json', detail: expect.stringContaining('zz-missing') },
    invalid: { status: 422, fields: ['email'] },
  });
  expect(typeof out.version).toBe('string');
});
