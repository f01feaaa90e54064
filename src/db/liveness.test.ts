import { afterEach, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStateDbLiveness, type LivenessCheck, type StateDbLiveness } from './liveness.ts';
import { openSystemDb, type SystemDb } from './system.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function open(): Promise<SystemDb> {
  const dir = mkdtempSync(join(tmpdir(), 'da-liveness-'));
  const db = await openSystemDb(join(dir, 'state', 'system.duckdb'), { readers: 1 });
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }), () => db.close());
  return db;
}

function probe(db: SystemDb, opts: { intervalMs?: number; staleMs?: number }): StateDbLiveness {
  const liveness = createStateDbLiveness(db, opts);
  cleanup.push(() => liveness.stop());
  return liveness;
}

/** Checks until `want` holds (the probe runs on its own timer); fails after 20 s. */
async function until(liveness: StateDbLiveness, want: (c: LivenessCheck) => boolean): Promise<LivenessCheck> {
  const deadline = performance.now() + 20_000;
  for (;;) {
    const c = await liveness.check();
    if (want(c)) return c;
    if (performance.now() > deadline) throw new Error(`still ${JSON.stringify(c)}`);
    await Bun.sleep(10);
  }
}

test('a working state database is reported ok, with its schema version', async () => {
  const db = await open();
  const liveness = probe(db, {});
  expect(await liveness.check()).toEqual({ status: 'ok', detail: `schema version ${db.schemaVersion}` });
});

test('a database that stops answering is reported failed once the ping is overdue, and ok again when it answers', async () => {
  const db = await open();
  const liveness = probe(db, { intervalMs: 20, staleMs: 200 });
  expect((await liveness.check()).status).toBe('ok');
  // The only read connection is held: every ping queues behind it, as behind a hung query.
  let release!: () => void;
  const held = db.read(() => new Promise<void>((r) => (release = r)));
  const failed = await until(liveness, (c) => c.status === 'failed');
  expect(failed.detail).toMatch(/has not answered for [\d.]+ s/);
  release();
  await held;
  expect((await until(liveness, (c) => c.status === 'ok')).detail).toBe(`schema version ${db.schemaVersion}`);
});

test('a closed database is reported failed with the error, and every check asks again', async () => {
  const db = await open();
  const liveness = probe(db, { intervalMs: 20 });
  expect((await liveness.check()).status).toBe('ok');
  await db.close();
  const failed = await until(liveness, (c) => c.status === 'failed');
  expect(failed.detail.length).toBeGreaterThan(0);
  expect((await liveness.check()).status).toBe('failed');
});
