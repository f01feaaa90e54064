/**
 * Authenticated `GET /api/sync/manifest` requests per second with 1,000 synced tables,
 * against a bare `Bun.serve` handler answering the same manifest JSON, both driven by wrk
 * (Debian `wrk`; a fetch loop when it is missing). Goal: da ≥ 0.5× the bare handler.
 *
 * @example bun bench/manifest.ts --tables 1000
 */
import { parseArgs } from 'node:util';
import { median, report, sh, startBenchServer, type BenchResult } from './lib.ts';

async function requestsPerSecond(url: string, headers: Record<string, string>, seconds: number): Promise<number> {
  const wrk = Bun.which('wrk');
  if (wrk) {
    const out = await sh([wrk, '-t1', '-c16', `-d${seconds}s`, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url]);
    const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
    if (!m) throw new Error(`unexpected wrk output: ${out}`);
    if (/Non-2xx/.test(out)) throw new Error(`wrk saw errors: ${out}`);
    return Number(m[1]);
  }
  // Fallback: 16 concurrent fetch loops in this process (measures less precisely).
  let done = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < until) {
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        done++;
      }
    }),
  );
  return done / seconds;
}

export async function benchManifest({ tables = 1000, seconds = 6 } = {}): Promise<BenchResult> {
  const datasets = Array.from({ length: 10 }, (_, i) => `ds${i}`);
  const server = await startBenchServer({ datasets: datasets.slice(0, 5) });
  let bare: ReturnType<typeof Bun.serve> | undefined;
  try {
    const { tableRegistry, syncState } = server.deps.repos;
    for (let i = 0; i < tables; i++) {
      const dataset = datasets[i % datasets.length]!;
      const id = `${dataset}.table_${i}`;
      await tableRegistry.insert({ id, name: `table_${i}`, dataset, source_table: `t${i}`, sync_strategy: 'full', primary_key: null, description: `Table ${i}`, registered_by: null });
      await syncState.recordSuccess({ tableId: id, rows: i * 100, fileSizeBytes: i * 4096, columns: 12, hash: new Bun.CryptoHasher('sha256').update(id).digest('hex') });
    }
    const url = `${server.url}/api/sync/manifest`;
    const headers = { authorization: `Bearer ${server.analystToken}` };
    const sample = await fetch(url, { headers });
    if (sample.status !== 200) throw new Error(`manifest failed: ${sample.status}`);
    const manifest = await sample.json();
    const visible = Object.keys((manifest as { tables: object }).tables).length;

    bare = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.json(manifest) });
    const bareUrl = `http://127.0.0.1:${bare.port}/`;
    await requestsPerSecond(url, headers, 1);
    await requestsPerSecond(bareUrl, {}, 1);
    // Alternating short rounds, so both sides see the same machine load.
    const rounds = 3;
    const oursRounds: number[] = [];
    const baseRounds: number[] = [];
    for (let i = 0; i < rounds; i++) {
      oursRounds.push(await requestsPerSecond(url, headers, Math.max(1, Math.round(seconds / rounds))));
      baseRounds.push(await requestsPerSecond(bareUrl, {}, Math.max(1, Math.round(seconds / rounds))));
    }
    const ours = median(oursRounds);
    const base = median(baseRounds);
    return {
      name: 'manifest',
      what: `Requests/s of \`GET /api/sync/manifest\` for an analyst (bearer JWT, audit, dataset permissions; ${tables} tables registered, ${visible} visible, ${(JSON.stringify(manifest).length / 1024).toFixed(0)} KiB of JSON) vs a bare \`Bun.serve\` handler returning the same manifest with \`Response.json\`; ${Bun.which('wrk') ? 'wrk -t1 -c16' : '16 fetch loops'}, median of 3 alternating rounds of ${Math.max(1, Math.round(seconds / 3))} s each, server and load generator on the same ${navigator.hardwareConcurrency} cores.`,
      ours: `${ours.toFixed(0)} req/s`,
      baseline: `${base.toFixed(0)} req/s`,
      ratio: ours / base,
      goal: '≥ 0.5×',
      met: ours / base >= 0.5,
    };
  } finally {
    bare?.stop(true);
    await server.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { tables: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '6' } } });
  report(await benchManifest({ tables: Number(values.tables), seconds: Number(values.seconds) }));
}
