/**
 * What running user SQL out of the server process costs a tiny query: `SELECT 42` through
 * the worker pool (IPC to a worker process, its sandbox, JSON text back) against the same
 * sandboxes run in-process, as /api/query did before the pool. Goal: under 2 ms more.
 *
 * @example bun bench/query-overhead.ts --runs 2000
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createQueryPool } from '../src/query/pool.ts';
import { createSandboxes } from '../src/query/sandbox.ts';
import { median, report, type BenchResult } from './lib.ts';

export async function benchQueryOverhead({ runs = 1000 } = {}): Promise<BenchResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'da-bench-overhead-'));
  const pool = createQueryPool({ dataDir, memoryLimit: '1GB', threads: 2, minWorkers: 1, maxWorkers: 1 });
  const inProcess = createSandboxes({ spillRoot: join(dataDir, 'in-process'), memoryLimit: '1GB', threads: 2 });
  const spec = { tables: [] };
  const request = { sql: 'SELECT 42 AS answer', limit: 1000, maxBytes: 50 * 1024 * 1024 };
  try {
    const viaPool = async () => {
      const t = performance.now();
      await pool.run(spec, { owner: 'bench', ...request, timeoutMs: 30_000 });
      return performance.now() - t;
    };
    const direct = async () => {
      const t = performance.now();
      await inProcess.run('bench', spec, request);
      return performance.now() - t;
    };
    for (let i = 0; i < 50; i++) {
      await viaPool();
      await direct();
    }
    const ours: number[] = [];
    const base: number[] = [];
    // Interleaved, so both sides see the same machine load.
    for (let i = 0; i < runs; i++) {
      ours.push(await viaPool());
      base.push(await direct());
    }
    const o = median(ours);
    const b = median(base);
    return {
      name: 'query-overhead',
      what: `A tiny query (\`${request.sql}\`) through the worker pool (IPC to a worker process, its sandbox, rows back as JSON text) vs the same sandbox code in the server process, as /api/query ran it before user SQL moved out; median of ${runs} interleaved runs each, after 50 warm-up runs.`,
      ours: `${o.toFixed(2)} ms`,
      baseline: `${b.toFixed(2)} ms`,
      ratio: o / b,
      goal: '< 2 ms more',
      met: o - b < 2,
      notes: `Out of process adds ${(o - b).toFixed(2)} ms a query.`,
    };
  } finally {
    pool.close();
    inProcess.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '1000' } } });
  report(await benchQueryOverhead({ runs: Number(values.runs) }));
}
