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
