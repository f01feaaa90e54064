/**
 * The baseline of bench/query.ts: one SQL statement in a bare DuckDB process over a view of
 * a Parquet file. After one warm-up run it prints `ready`; then each line read on stdin
 * runs the statement once more and prints its time in ms, so the caller can interleave
 * these runs with its own measurements.
 *
 * @example echo | bun bench/bare-duckdb.ts /tmp/events.parquet "SELECT count(*) FROM bench.events" 2 1GB
 */
import { DuckDBInstance } from '@duckdb/node-api';

const [path, sql, threads = '2', memory = '1GB'] = process.argv.slice(2);
if (!path || !sql) throw new Error('usage: bun bench/bare-duckdb.ts <parquet> <sql> [threads] [memory_limit]');
const instance = await DuckDBInstance.create(':memory:', { threads, memory_limit: memory });
const conn = await instance.connect();
await conn.run('CREATE SCHEMA bench');
await conn.run(`CREATE VIEW bench.events AS SELECT * FROM read_parquet('${path.replace(/'/g, "''")}')`);
await conn.runAndReadAll(sql);
console.log('ready');
for await (const _line of console) {
  const t = performance.now();
  (await conn.runAndReadAll(sql)).getRowsJson();
  console.log((performance.now() - t).toFixed(3));
}
conn.closeSync();
instance.closeSync();
