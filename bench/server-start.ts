/**
 * Server start-up with 1,000 synced tables against an empty start: `bun src/server.ts` as
 * production runs it, timed from spawn until /api/health answers, on a data dir prepared
 * once (tables registered, synced, their views built). Goal: ≤ 1.5× the empty start.
 *
 * @example bun bench/server-start.ts --tables 1000
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { bootstrap, shutdown } from '../src/boot.ts';
import { loadConfig } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { parquetPath } from '../src/sync/paths.ts';
import { spawnServer } from '../tests/helpers/spawn.ts';
import { median, report, sha256OfFile, type BenchResult } from './lib.ts';

/** A data dir with `tables` synced tables (one small Parquet file copied) and their views built. */
export async function prepareDataDir(tables: number): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'da-bench-start-'));
  const source = join(dataDir, 'source.parquet');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`COPY (SELECT range AS id, 'row ' || range AS label FROM range(100)) TO '${source}' (FORMAT parquet)`);
  conn.closeSync();
  const hash = await sha256OfFile(source);
  const size = Bun.file(source).size;
  const runtime = await bootstrap(loadConfig({ DA_DATA_DIR: dataDir, DA_CONFIG: '' }), silentLogger);
  const { tableRegistry, syncState } = runtime.deps.repos;
  for (let i = 0; i < tables; i++) {
    const dataset = `ds${i % 10}`;
    const name = `table_${i}`;
    const path = parquetPath(dataDir, dataset, name);
    mkdirSync(dirname(path), { recursive: true });
    copyFileSync(source, path);
    const id = `${dataset}.${name}`;
    await tableRegistry.insert({ id, name, dataset, source_table: name, sync_strategy: 'full', primary_key: null, description: null, registered_by: null });
    await syncState.recordSuccess({ tableId: id, rows: 100, fileSizeBytes: size, columns: 2, hash });
  }
  if (tables) await runtime.services.sync.rebuildViews();
  await shutdown(runtime);
  return dataDir;
}

/** Milliseconds from spawning the server until /api/health answers. */
async function timeStart(dataDir: string): Promise<number> {
  const started = performance.now();
  const server = await spawnServer({ DA_DATA_DIR: dataDir, DA_CONFIG: '' });
  const ms = performance.now() - started;
  server.child.kill('SIGTERM');
  await server.exited;
  return ms;
}

export async function benchServerStart({ tables = 1000, rounds = 5 } = {}): Promise<BenchResult> {
  const full = await prepareDataDir(tables);
  const empty = await prepareDataDir(0);
  try {
    await timeStart(full); // the first start after preparation may still do one-off work
    await timeStart(empty);
    const ours: number[] = [];
    const baseline: number[] = [];
    // Alternating rounds, so both sides see the same machine load.
    for (let i = 0; i < rounds; i++) {
      ours.push(await timeStart(full));
      baseline.push(await timeStart(empty));
    }
    const o = median(ours);
    const b = median(baseline);
    return {
      name: 'server-start',
      what: `Server start (spawn until /api/health answers) with ${tables} synced tables, against the same server on an empty data dir; median of ${rounds} alternating rounds.`,
      ours: `${o.toFixed(0)} ms`,
      baseline: `${b.toFixed(0)} ms`,
      ratio: o / b,
      goal: '≤ 1.5×',
      met: o / b <= 1.5,
    };
  } finally {
    rmSync(full, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { tables: { type: 'string' }, rounds: { type: 'string' } } });
  report(await benchServerStart({ tables: Number(values.tables ?? 1000), rounds: Number(values.rounds ?? 5) }));
}
