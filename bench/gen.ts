/**
 * Generates a large synthetic table as Parquet with DuckDB (no rows pass through JS):
 * `events.parquet` with ids, timestamps, keys, categories, decimals, nulls and text.
 * Deterministic for a given --rows (values derive from the row number, not a clock).
 *
 * @example bun run bench/gen.ts --rows 10000000 --out /tmp/bench-data
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';

/** Writes `<out>/events.parquet` with `rows` rows; returns its path. */
export async function generateEvents(rows: number, outDir: string, options: { threads?: number } = {}): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const target = join(resolve(outDir), 'events.parquet');
  const instance = await DuckDBInstance.create(':memory:', options.threads ? { threads: String(options.threads) } : {});
  const conn = await instance.connect();
  try {
    // hash(i) gives well-spread pseudo-random values that are the same on every run.
    await conn.run(`
      COPY (
        SELECT
          i AS event_id,
          TIMESTAMP '2024-01-01' + to_seconds((hash(i, 1) % 63072000)::BIGINT) AS occurred_at,
          (hash(i, 2) % 250000)::INTEGER + 1 AS user_id,
          ['page_view','click','add_to_cart','purchase','refund','signup'][(hash(i, 3) % 6)::INTEGER + 1] AS event_type,
          ['web','ios','android','store'][(hash(i, 4) % 4)::INTEGER + 1] AS channel,
          CASE WHEN hash(i, 5) % 10 < 3 THEN NULL ELSE round(((hash(i, 6) % 100000) / 100.0) * (1 + (hash(i, 7) % 3)), 2)::DECIMAL(12,2) END AS amount,
          CASE WHEN hash(i, 8) % 20 = 0 THEN NULL ELSE ['CZ','DE','AT','PL','SK','FR','GB','ES'][(hash(i, 9) % 8)::INTEGER + 1] END AS country,
          (hash(i, 10) % 100) < 7 AS is_bot,
          'session-' || (hash(i, 11) % 5000000)::VARCHAR AS session_id
        FROM range(${Math.floor(rows)}) t(i)
      ) TO '${target.replace(/'/g, "''")}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  return target;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { rows: { type: 'string', default: '10000000' }, out: { type: 'string', default: 'bench/data' } },
  });
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < 1) {
    process.stderr.write('usage: bun run bench/gen.ts --rows N --out DIR\n');
    process.exit(2);
  }
  const started = performance.now();
  const path = await generateEvents(rows, values.out!);
  const size = Bun.file(path).size;
  process.stdout.write(`${path}: ${rows} rows, ${(size / 1e6).toFixed(1)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
