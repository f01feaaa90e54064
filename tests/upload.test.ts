import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
}

test('an oversize upload sent without a length leaves no partial file behind', async () => {
  const analyst = await server.createUser('analyst');
  const chunk = new Uint8Array(256 * 1024).fill(0x61);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 8) return controller.close();
      sent++;
      controller.enqueue(chunk);
    },
  });
  const res = await fetch(`${server.url}/api/upload/local-md`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${analyst.token}`, 'content-type': 'text/markdown' },
  });
  expect(res.status).toBe(413);
  expect(listFiles(join(server.dataDir, 'uploads', analyst.id))).toEqual([]);
});

test('an artifact name that clashes with an earlier one (file vs folder) is a 409, and the first file stays', async () => {
  const analyst = await server.createUser('analyst');
  const put = (name: string) =>
    fetch(`${server.url}/api/upload/artifacts?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      body: `content of ${name}`,
      headers: { authorization: `Bearer ${analyst.token}`, 'content-type': 'application/octet-stream' },
    });
  expect((await put('report')).status).toBe(201);
  const under = await put('report/part.csv');
  expect(under.status).toBe(409);
  expect(under.headers.get('content-type')).toBe('application/problem+json');
  expect((await put('charts/one.png')).status).toBe(201);
  expect((await put('charts')).status).toBe(409);
  const files = listFiles(join(server.dataDir, 'uploads', analyst.id)).sort();
  expect(files).toEqual(['one.png', 'report']);
});
