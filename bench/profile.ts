/**
 * The profiler (`profileParquet` from src/sync/profiler.ts) against DuckDB's own
 * `SUMMARIZE` over the same 10M-row Parquet file, each in a fresh in-memory DuckDB.
 * Goal: profiler ≤ 1.5× SUMMARIZE.
 *
 * @example bun bench/profile.ts --rows 10000000
 */
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { profileParquet } from '../src/sync/profiler.ts';
import { quoteLiteral } from '../src/db/connection.ts';
import { eventsFile } from './query.ts';
import { median, report, type BenchResult } from './lib.ts';

async function summarize(path: string): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const t = performance.now();
    (await conn.runAndReadAll(`SUMMARIZE SELECT * FROM read_parquet(${quoteLiteral(path)})`)).getRowsJson();
    return performance.now() - t;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export async function benchProfile({ rows = 10_000_000, runs = 3 } = {}): Promise<BenchResult> {
  const path = await eventsFile(rows);
  await summarize(path); // page cache warm for both
  const ours: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await profileParquet(path, { tableId: 'bench.events' });
    ours.push(performance.now() - t);
    base.push(await summarize(path));
  }
  const o = median(ours);
  const b = median(base);
  return {
    name: 'profile',
    what: `\`profileParquet\` (types, null %, distinct counts, min/max/mean/stddev/quantiles, histograms, top values, alerts, sample rows; sampled above its threshold) vs DuckDB \`SUMMARIZE\` on the same ${rows.toLocaleString('en')}-row file; fresh in-memory DuckDB each, default threads, median of ${runs} alternating runs.`,
    ours: `${(o / 1000).toFixed(2)} s`,
    baseline: `${(b / 1000).toFixed(2)} s`,
    ratio: o / b,
    goal: '≤ 1.5×',
    met: o / b <= 1.5,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '10000000' }, runs: { type: 'string', default: '3' } } });
  report(await benchProfile({ rows: Number(values.rows), runs: Number(values.runs) }));
}
