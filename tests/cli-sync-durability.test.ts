import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { settleFlushJournal, SETTLE_AFTER_MS, journalPath } from '../cli/durability.ts';
import { THREAD_MIN_BYTES } from '../cli/download.ts';
import { threadStats } from '../cli/download-thread.ts';
import { workspacePaths } from '../cli/workspace.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { createDaSandbox, ensureCliBuilt, type DaSandbox } from './helpers/cli.ts';
import { putServerTable, setDatasetAccess } from './helpers/cli-data.ts';

/**
 * Large downloads run on download threads, and renamed files are listed in a flush journal
 * instead of each waiting for the disk (cli/durability.ts). These tests hold what that must
 * keep: a restart of the machine (a new boot id) before the kernel wrote the files back is
 * noticed, and what did not survive is removed and downloaded again; a wrong file from the
 * server is refused with the same error as on the main thread.
 */
const rowsSql = (rows: number, salt: number) =>
  `SELECT i AS id, md5((i * ${salt})::VARCHAR) || md5((i + ${salt})::VARCHAR) AS payload FROM range(${rows}) t(i)`;
const sha256 = (path: string) => new Bun.CryptoHasher('sha256').update(readFileSync(path)).digest('hex');

/** Overwrites `n` bytes in the middle of a file, keeping its size (what a lost write-back looks like). */
function scribble(path: string, n = 4096): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(n, 0x5a), 0, n, Math.floor(Bun.file(path).size / 2));
  } finally {
    closeSync(fd);
  }
}

let server: TestServer;
let analystToken: string;

beforeAll(async () => {
  [server] = await Promise.all([startTestServer(), ensureCliBuilt()]);
  await putServerTable(server, 'big', 'events', rowsSql(100_000, 3));
  await putServerTable(server, 'big', 'small', rowsSql(2_000, 5));
  const analyst = await server.createUser('analyst');
  await setDatasetAccess(server, analyst.id, 'big', 'read');
  analystToken = analyst.token;
});

afterAll(async () => {
  await server?.stop();
});

const serverFile = (name: string) => join(server.dataDir, 'parquet', 'big', `${name}.parquet`);

describe('the flush journal', () => {
  let da: DaSandbox;
  const local = (name: string) => join(da.workspace, 'server', 'parquet', 'big', `${name}.parquet`);

  beforeAll(() => {
    da = createDaSandbox({ DA_SERVER: server.url, DA_TOKEN: analystToken, DA_BOOT_ID: 'boot-a' });
  });
  afterAll(() => da?.cleanup());

  test('a sync lists what it renamed, with hashes; the large table went through a download thread', async () => {
    expect(Bun.file(serverFile('events')).size).toBeGreaterThan(THREAD_MIN_BYTES);
    expect(Bun.file(serverFile('small')).size).toBeLessThan(THREAD_MIN_BYTES);
    const before = threadStats.transfers;
    const r = await da.runInProcess(['sync', '--json']);
    expect(r.code).toBe(0);
    expect(threadStats.transfers - before).toBe(1);
    const journal = JSON.parse(readFileSync(journalPath(workspacePaths(da.workspace)), 'utf8'));
    expect(journal.boot_id).toBe('boot-a');
    expect(journal.files['server/parquet/big/events.parquet']).toBe(sha256(serverFile('events')));
    expect(journal.files['server/parquet/big/small.parquet']).toBe(sha256(serverFile('small')));
    expect(sha256(local('events'))).toBe(sha256(serverFile('events')));
  });

  test('in the same boot, a command soon after leaves the journal; once the files are old enough it is flushed and dropped', async () => {
    const ws = workspacePaths(da.workspace);
    const q = await da.runInProcess(['query', '--json', 'SELECT count(*)::INTEGER AS n FROM big.events']);
    expect(q.json().rows).toEqual([[100_000]]);
    expect(existsSync(journalPath(ws))).toBe(true);
    const settled = await settleFlushJournal(ws, { DA_BOOT_ID: 'boot-a' }, Date.now() + SETTLE_AFTER_MS + 1000);
    expect(settled.lost).toEqual([]);
    expect(existsSync(journalPath(ws))).toBe(false);
    expect(sha256(local('events'))).toBe(sha256(serverFile('events')));
  });

  test('after a restart, a file whose bytes did not reach the disk is removed by the next command, with one line, and the next sync fetches it', async () => {
    await putServerTable(server, 'big', 'small', rowsSql(3_000, 7));
    expect((await da.runInProcess(['sync'])).code).toBe(0);
    scribble(local('small'), 512);
    const goodEvents = sha256(local('events'));

    const q = await da.runInProcess(['status', '--local', '--json'], { env: { DA_BOOT_ID: 'boot-b' } });
    expect(q.stderr).toBe('da: 1 file synced before the machine restarted had not reached the disk and was removed (server/parquet/big/small.parquet); run da sync to download it again\n');
    expect(existsSync(local('small'))).toBe(false);
    expect(sha256(local('events'))).toBe(goodEvents);

    const s = await da.runInProcess(['sync', '--json'], { env: { DA_BOOT_ID: 'boot-b' } });
    expect(s.code).toBe(0);
    expect(sha256(local('small'))).toBe(sha256(serverFile('small')));
    const n = await da.runInProcess(['query', '--json', 'SELECT count(*)::INTEGER AS n FROM big.small'], { env: { DA_BOOT_ID: 'boot-b' } });
    expect(n.json().rows).toEqual([[3_000]]);
  });

  test('a sync right after a restart checks first, reports what was lost and downloads it again in the same run', async () => {
    await putServerTable(server, 'big', 'events', rowsSql(100_000, 11));
    expect((await da.run(['sync'], { env: { DA_BOOT_ID: 'boot-b' } })).code).toBe(0);
    scribble(local('events'));
    const r = await da.run(['sync', '--json'], { env: { DA_BOOT_ID: 'boot-c' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('had not reached the disk and was removed (server/parquet/big/events.parquet); downloaded again');
    const report = r.json();
    expect(report.lost).toEqual(['server/parquet/big/events.parquet']);
    expect(sha256(local('events'))).toBe(sha256(serverFile('events')));
  });

  test('DA_SYNC_FLUSH=each flushes every file and keeps no journal; another value is a usage error', async () => {
    const ws = workspacePaths(da.workspace);
    await settleFlushJournal(ws, { DA_BOOT_ID: 'boot-c' }, Date.now() + SETTLE_AFTER_MS + 1000);
    await putServerTable(server, 'big', 'small', rowsSql(4_000, 13));
    const r = await da.runInProcess(['sync'], { env: { DA_SYNC_FLUSH: 'each' } });
    expect(r.code).toBe(0);
    expect(existsSync(journalPath(ws))).toBe(false);
    expect(sha256(local('small'))).toBe(sha256(serverFile('small')));
    const bad = await da.runInProcess(['sync'], { env: { DA_SYNC_FLUSH: 'sometimes' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('DA_SYNC_FLUSH must be each or deferred (got sometimes)');
  });
});

describe('a download thread', () => {
  test('a file that does not match the manifest is refused with the same one line (and JSON reason), and the old file stays', async () => {
    const da = createDaSandbox({ DA_SERVER: server.url, DA_TOKEN: analystToken });
    try {
      expect((await da.run(['sync', '--table', 'big.events'])).code).toBe(0);
      const local = join(da.workspace, 'server', 'parquet', 'big', 'events.parquet');
      const before = sha256(local);
      await putServerTable(server, 'big', 'events', rowsSql(100_000, 17));
      // The server's file changes under its recorded hash: what it sends no longer matches the manifest.
      scribble(serverFile('events'));
      const r = await da.run(['sync', '--table', 'big.events', '--json']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^da: big\.events: downloaded file has sha256 [0-9a-f]{12}… \(\d+ bytes\), the manifest says [0-9a-f]{12}…/);
      expect(r.json().errors[0].reason).toBe('hash_mismatch');
      expect(sha256(local)).toBe(before);
      expect(existsSync(`${local}.part`)).toBe(false);
    } finally {
      da.cleanup();
    }
  });
});
