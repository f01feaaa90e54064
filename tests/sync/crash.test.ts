import { afterAll, beforeAll, expect, test } from 'bun:test';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFixtures } from '../helpers/fixtures.ts';
import { spawnServer, type SpawnedServer } from '../helpers/spawn.ts';
import { startKeboolaStandIn, type KeboolaStandIn } from '../stand-ins/keboola.ts';
import { sha256File } from '../../src/sync/files.ts';
import { openScratchDb } from '../../src/connectors/duck.ts';

const EMAIL = 'crash-admin@example.com';
const PASSWORD = 'crash-admin-password';

let fx: ReturnType<typeof copyFixtures>;
let kbc: KeboolaStandIn;
let dataDir: string;
let live: SpawnedServer | undefined;
let releaseHold: () => void = () => {};

/** Starts the server as production does (a port of the OS's choosing) and signs in. */
async function startServer(): Promise<string> {
  live = await spawnServer({
    DA_DATA_DIR: dataDir, DA_CONFIG: fx.configPath, DA_ADMIN_EMAIL: EMAIL, DA_ADMIN_PASSWORD: PASSWORD, KBC_TOKEN: kbc.token,
  });
  const res = await fetch(`${live.url}/auth/token`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const api = (token: string, path: string, method = 'GET') =>
  fetch(`${live!.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });

async function waitForJob(token: string, id: string) {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await Bun.sleep(50)) {
    const job = (await (await api(token, `/api/sync/jobs/${id}`)).json()) as { status: string; error: string | null };
    if (job.status === 'succeeded' || job.status === 'failed') return job;
  }
  throw new Error(`sync job ${id} did not finish within 30 s`);
}

function tempEntries(): string[] {
  const root = join(dataDir, 'parquet');
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.tmp')).map((f) => `${d}/${f}`));
}

/** Every registered table's file hashes to the hash sync_state records for it. */
async function expectConsistent(token: string) {
  const { items } = (await (await api(token, '/api/tables')).json()) as { items: Array<{ id: string; dataset: string; name: string; sync: { hash: string | null } | null }> };
  expect(items.length).toBe(6);
  for (const t of items) {
    const file = join(dataDir, 'parquet', t.dataset, `${t.name}.parquet`);
    expect([t.id, existsSync(file)]).toEqual([t.id, true]);
    expect([t.id, await sha256File(file)]).toEqual([t.id, t.sync!.hash!]);
  }
  expect(tempEntries()).toEqual([]);
}

beforeAll(() => {
  kbc = startKeboolaStandIn();
  const cols = [{ name: 'id', basetype: 'INTEGER' as const }, { name: 'label', basetype: 'STRING' as const }];
  kbc.addTable({ id: 'in.c-crm.accounts', bucket: 'in.c-crm', name: 'accounts', primaryKey: ['id'], columns: cols, rows: [{ id: '1', label: 'a' }, { id: '2', label: 'b' }] });
  kbc.addTable({ id: 'in.c-crm.events', bucket: 'in.c-crm', name: 'events', primaryKey: ['id'], columns: cols, rows: [{ id: '1', label: 'x' }] });
  fx = copyFixtures(`  crm:\n    type: keboola\n    url: ${kbc.url}\n    token: \${KBC_TOKEN}\n    poll_interval_ms: 5\n`);
  // Only sales and crm: hr is left out to keep the test short.
  writeFileSync(fx.configPath, readFileSync(fx.configPath, 'utf8').replace(/  hr:\n( {4,}.*\n)*/, ''));
  dataDir = mkdtempSync(join(tmpdir(), 'da-crash-'));
});
afterAll(() => {
  releaseHold();
  live?.child.kill('SIGKILL');
  kbc.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(fx.dir, { recursive: true, force: true });
});

test('a server killed with SIGKILL during a sync leaves no partial file and a consistent state after restart', async () => {
  let token = await startServer();
  for (const dataset of ['sales', 'crm']) expect((await api(token, `/api/sources/${dataset}/register-all`, 'POST')).status).toBe(200);
  const first = (await (await api(token, '/api/sync/trigger', 'POST')).json()) as { job_id: string };
  expect((await waitForJob(token, first.job_id)).status).toBe('succeeded');
  await expectConsistent(token);

  // Change the sources, then hold the download of crm.events so the kill lands mid-sync:
  // crm.accounts is done by then, crm.events is downloading, the sales tables wait.
  kbc.upsert('in.c-crm.accounts', [{ id: '3', label: 'c' }]);
  kbc.upsert('in.c-crm.events', [{ id: '2', label: 'y' }]);
  appendFileSync(join(fx.sales, 'orders.csv'), '9001,1,2030-01-01 10:00:00,processing,web,10.00,EUR,,,2030-01-01 10:00:00\n');
  let reached!: () => void;
  const holding = new Promise<void>((r) => (reached = r));
  kbc.onSlice = (tableId) => {
    if (tableId !== 'in.c-crm.events') return;
    reached();
    return new Promise<void>((r) => (releaseHold = r));
  };
  const second = (await (await api(token, '/api/sync/trigger', 'POST')).json()) as { job_id: string };
  await holding;
  expect(tempEntries().length).toBeGreaterThan(0);
  live!.child.kill('SIGKILL');
  await live!.exited;
  kbc.onSlice = undefined;
  releaseHold();

  // Every file in place is whole (the temporary ones are not in place).
  const db = await openScratchDb();
  try {
    for (const d of ['sales', 'crm']) {
      for (const f of readdirSync(join(dataDir, 'parquet', d)).filter((f) => f.endsWith('.parquet'))) {
        await db.all(`SELECT count(*) FROM read_parquet('${join(dataDir, 'parquet', d, f)}')`);
      }
    }
  } finally {
    db.close();
  }

  token = await startServer();
  await expectConsistent(token);
  const interrupted = (await (await api(token, `/api/sync/jobs/${second.job_id}`)).json()) as { status: string; error: string };
  expect(interrupted).toMatchObject({ status: 'failed', error: expect.stringContaining('stopped') });

  // The next sync picks up where the sources are.
  const third = (await (await api(token, '/api/sync/trigger', 'POST')).json()) as { job_id: string };
  expect((await waitForJob(token, third.job_id)).status).toBe('succeeded');
  await expectConsistent(token);
  const { items } = (await (await api(token, '/api/tables')).json()) as { items: Array<{ id: string; sync: { rows: number } }> };
  expect(items.find((t) => t.id === 'crm.events')!.sync.rows).toBe(2);
  expect(items.find((t) => t.id === 'sales.orders')!.sync.rows).toBe(2001);
  live!.child.kill('SIGTERM');
  await live!.exited;
}, 60_000);
