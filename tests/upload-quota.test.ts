import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProblemSchema } from '../src/api/problem.ts';
import { testYaml } from './helpers/data.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

// Small quota: 1000 bytes and 3 files per user.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, { yaml: testYaml('uploads:\n  quota_bytes: 1000\n  quota_files: 3\n') });
});
afterAll(() => server.stop());

/** Every entry (files and folders) under a user's upload folder. */
function entries(userId: string): string[] {
  const dir = join(server.dataDir, 'uploads', userId);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

const upload = (token: string, name: string, body: BodyInit) =>
  fetch(`${server.url}/api/upload/artifacts?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
  });

async function expectQuotaProblem(res: Response, usage: { bytes: number; files: number }) {
  expect(res.status).toBe(413);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as Record<string, unknown>;
  const problem = ProblemSchema.parse(body);
  expect(problem.detail).toContain('upload quota exceeded');
  expect(problem.detail).toContain(`${usage.bytes} bytes) in ${usage.files} files`);
  expect(problem.detail).toContain('1000 bytes) in 3 files per user');
  expect(body.usage).toEqual(usage);
  expect(body.limit).toEqual({ bytes: 1000, files: 3 });
}

test('an upload that would go over the byte quota is refused with 413 stating usage and limit, and nothing is stored', async () => {
  const analyst = await server.createUser('analyst');
  expect((await upload(analyst.token, 'a.bin', 'x'.repeat(600))).status).toBe(201);
  const before = entries(analyst.id);

  await expectQuotaProblem(await upload(analyst.token, 'new/folder/b.bin', 'y'.repeat(500)), { bytes: 600, files: 1 });
  expect(entries(analyst.id)).toEqual(before); // no file, no temp file, no new folder

  // Sent without a length: refused while streaming, and still nothing left behind.
  const chunk = new Uint8Array(200).fill(0x62);
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ >= 5) return controller.close();
      controller.enqueue(chunk);
    },
  });
  await expectQuotaProblem(await upload(analyst.token, 'other/c.bin', stream), { bytes: 600, files: 1 });
  expect(entries(analyst.id)).toEqual(before);

  // What still fits is stored, and replacing a file counts only the difference.
  expect((await upload(analyst.token, 'b.bin', 'y'.repeat(400))).status).toBe(201);
  expect((await upload(analyst.token, 'a.bin', 'z'.repeat(550))).status).toBe(201);
  await expectQuotaProblem(await upload(analyst.token, 'c.bin', 'w'.repeat(100)), { bytes: 950, files: 2 });
});

test('an upload that would add a file over the file quota is refused with 413; replacing a file still works', async () => {
  const analyst = await server.createUser('analyst');
  for (const name of ['one', 'two', 'three']) expect((await upload(analyst.token, name, name)).status).toBe(201);
  const before = entries(analyst.id);
  await expectQuotaProblem(await upload(analyst.token, 'four', 'four'), { bytes: 11, files: 3 });
  expect(entries(analyst.id)).toEqual(before);
  expect((await upload(analyst.token, 'one', 'ONE!')).status).toBe(201);
  // CLAUDE.local.md counts too.
  const md = await fetch(`${server.url}/api/upload/local-md`, {
    method: 'POST',
    body: '# notes',
    headers: { authorization: `Bearer ${analyst.token}`, 'content-type': 'text/markdown' },
  });
  await expectQuotaProblem(md, { bytes: 12, files: 3 });
});

test('concurrent uploads cannot overshoot the quota together, and the quota is per user', async () => {
  const analyst = await server.createUser('analyst');
  const results = await Promise.all(['p1', 'p2', 'p3'].map((n) => upload(analyst.token, n, 'q'.repeat(400))));
  expect(results.map((r) => r.status).sort()).toEqual([201, 201, 413]);
  const other = await server.createUser('analyst');
  expect((await upload(other.token, 'mine', 'q'.repeat(900))).status).toBe(201);
});

test('the quota counts what was stored before the server started', async () => {
  const analyst = await server.createUser('analyst');
  // Written behind the server's back, as an earlier run of the server would have left it.
  const dir = join(server.dataDir, 'uploads', analyst.id, 'artifacts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'earlier.bin'), 'e'.repeat(900));
  await expectQuotaProblem(await upload(analyst.token, 'later.bin', 'l'.repeat(200)), { bytes: 900, files: 1 });
});
