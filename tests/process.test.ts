import { afterEach, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer } from './helpers/spawn.ts';

const ADMIN = { DA_ADMIN_EMAIL: 'admin@example.com', DA_ADMIN_PASSWORD: 'admin-password-1' };
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'da-proc-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function login(url: string): Promise<string> {
  const res = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: ADMIN.DA_ADMIN_EMAIL, password: ADMIN.DA_ADMIN_PASSWORD }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

test('a server killed with SIGKILL during a burst of writes reopens with every acknowledged write intact', async () => {
  const dataDir = tempDir();
  const first = await spawnServer({ ...ADMIN, DA_DATA_DIR: dataDir });
  const token = await login(first.url);
  const acknowledged: string[] = [];
  let stop = false;
  // Four writers create users as fast as the server acknowledges them.
  const writers = Array.from({ length: 4 }, (_, w) =>
    (async () => {
      for (let i = 0; !stop; i++) {
        const email = `burst-${w}-${i}@example.com`;
        try {
          const res = await fetch(`${first.url}/api/users`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ email, role: 'viewer' }),
          });
          if (res.status === 201) acknowledged.push(email);
        } catch {
          return; // the server is gone
        }
      }
    })(),
  );
  while (acknowledged.length < 40) await Bun.sleep(20);
  first.child.kill('SIGKILL');
  stop = true;
  await first.exited;
  await Promise.all(writers);

  const second = await spawnServer({ ...ADMIN, DA_DATA_DIR: dataDir });
  try {
    const token2 = await login(second.url);
    const res = await fetch(`${second.url}/api/users`, { headers: { authorization: `Bearer ${token2}` } });
    const emails = new Set(((await res.json()) as { items: Array<{ email: string }> }).items.map((u) => u.email));
    const lost = acknowledged.filter((e) => !emails.has(e));
    expect(lost).toEqual([]);
    // Each acknowledged change was audited before it was acknowledged.
    const audit = await fetch(`${second.url}/api/audit?action=users.create&limit=1000`, { headers: { authorization: `Bearer ${token2}` } });
    const audited = new Set(((await audit.json()) as { items: Array<{ params: { body?: { email?: string } } }> }).items.map((e) => e.params.body?.email));
    expect(acknowledged.filter((e) => !audited.has(e))).toEqual([]);
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }
});

test('SIGTERM checkpoints and exits cleanly, and the data is there on the next start', async () => {
  const dataDir = tempDir();
  const first = await spawnServer({ ...ADMIN, DA_DATA_DIR: dataDir });
  const token = await login(first.url);
  const created = await fetch(`${first.url}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ email: 'kept@example.com', role: 'analyst', password: 'kept-password' }),
  });
  expect(created.status).toBe(201);
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  expect(first.output()).toContain('"stopping"');

  const second = await spawnServer({ DA_DATA_DIR: dataDir });
  try {
    const res = await fetch(`${second.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'kept@example.com', password: 'kept-password' }),
    });
    expect(res.status).toBe(200);
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }
});

test('a bad config stops start-up with one line naming the key and a non-zero exit', async () => {
  const dir = tempDir();
  const cases: Array<[string, string]> = [
    ['query:\n  default_limit: "many"\n', 'query.default_limit'],
    ['sources:\n  Sales: { type: local, path: /tmp }\n', 'sources.Sales'],
    ['sources:\n  crm: { type: keboola, url: "https://x.example", token: "${KBC_TOKEN_UNSET_HERE}" }\n', 'KBC_TOKEN_UNSET_HERE'],
    ['colour: blue\n', 'colour'],
    ['server: [1, 2\n', 'not valid YAML'],
  ];
  for (const [yaml, mention] of cases) {
    const file = join(dir, 'instance.yaml');
    writeFileSync(file, yaml);
    const srv = await spawnServer({ DA_DATA_DIR: dir, DA_CONFIG: file }, { waitHealthy: false });
    const code = await srv.exited;
    const lines = srv.output().trim().split('\n');
    expect({ yaml, code: code !== 0 }).toEqual({ yaml, code: true });
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(mention);
  }
});

test('a missing config file named by DA_CONFIG is an error, but no DA_CONFIG starts on defaults', async () => {
  const dir = tempDir();
  const bad = await spawnServer({ DA_DATA_DIR: dir, DA_CONFIG: join(dir, 'nope.yaml') }, { waitHealthy: false });
  expect(await bad.exited).not.toBe(0);
  expect(bad.output()).toContain('nope.yaml');
  const ok = await spawnServer({ DA_DATA_DIR: dir });
  try {
    const health = (await (await fetch(`${ok.url}/api/health`)).json()) as { status: string };
    expect(['ok', 'degraded']).toContain(health.status);
  } finally {
    ok.child.kill('SIGTERM');
    await ok.exited;
  }
});
