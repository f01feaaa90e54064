/**
 * `POST /api/query` on an aggregate over a 10M-row table against the same SQL in a bare
 * DuckDB process (same threads and memory limit, a view over the same Parquet file).
 * Goal: da ≤ 1.1× the bare time.
 *
 * @example bun bench/query.ts --rows 10000000
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateEvents } from './gen.ts';
import { benchTmp, median, report, seedServedTable, startBenchServer, type BenchResult } from './lib.ts';

export const AGGREGATE_SQL =
  'SELECT event_type, channel, count(*) AS n, sum(amount) AS total, avg(amount) AS mean, count(DISTINCT user_id) AS users FROM bench.events GROUP BY ALL ORDER BY ALL';

/** The events file for `rows`, generated once and reused. */
export async function eventsFile(rows: number): Promise<string> {
  const dir = benchTmp(`events-${rows}`);
  const path = join(dir, 'events.parquet');
  return existsSync(path) ? path : generateEvents(rows, dir);
}


/** A bare DuckDB process (bench/bare-duckdb.ts) that runs the SQL once per request. */
async function startBare(path: string, sql: string, threads: number, memory: string) {
  const proc = Bun.spawn(['bun', join(import.meta.dir, 'bare-duckdb.ts'), path, sql, String(threads), memory], {
    stdin: 'pipe', stdout: 'pipe', stderr: 'inherit',
  });
  const reader = proc.stdout.getReader();
  let buffered = '';
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const nl = buffered.indexOf('\n');
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('bare DuckDB process ended');
      buffered += new TextDecoder().decode(value);
    }
  };
  if ((await nextLine()) !== 'ready') throw new Error('bare DuckDB process did not start');
  return {
    async runOnce(): Promise<number> {
      proc.stdin.write('\n');
      await proc.stdin.flush();
      return Number(await nextLine());
    },
    stop() {
      proc.stdin.end();
      proc.kill();
    },
  };
}

export async function benchQuery({ rows = 10_000_000, runs = 7 } = {}): Promise<BenchResult> {
  const source = await eventsFile(rows);
  const server = await startBenchServer({ datasets: ['bench'] });
  try {
    await seedServedTable(server, { dataset: 'bench', table: 'events', source, rows, columns: 9 });
    const { threads, memory_limit } = server.deps.config.query;
    const bare = await startBare(source, AGGREGATE_SQL, threads, memory_limit);

    const run = async () => {
      const t = performance.now();
      const res = await fetch(`${server.url}/api/query`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.analystToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sql: AGGREGATE_SQL }),
      });
      if (res.status !== 200) throw new Error(`query failed: ${res.status} ${await res.text()}`);
      await res.json();
      return performance.now() - t;
    };
    const first = await run();
    const ours: number[] = [];
    const base: number[] = [];
    // Interleaved, so both sides see the same machine load.
    for (let i = 0; i < runs; i++) {
      ours.push(await run());
      base.push(await bare.runOnce());
    }
    bare.stop();
    const o = median(ours);
    const b = median(base);
    return {
      name: 'query',
      what: `\`POST /api/query\` (HTTP round trip, auth, permission scope, sandbox, JSON) on \`${AGGREGATE_SQL}\` over ${rows.toLocaleString('en')} rows, vs the same SQL in a bare DuckDB process with the same threads (${threads}) and memory limit (${memory_limit}); median of ${runs} warm runs, interleaved with the baseline's.`,
      ours: `${o.toFixed(0)} ms`,
      baseline: `${b.toFixed(0)} ms`,
      ratio: o / b,
      goal: '≤ 1.1×',
      met: o / b <= 1.1,
      notes: `The first request, which builds the caller's sandbox, took ${first.toFixed(0)} ms.`,
    };
  } finally {
    await server.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '10000000' }, runs: { type: 'string', default: '7' } } });
  report(await benchQuery({ rows: Number(values.rows), runs: Number(values.runs) }));
}
