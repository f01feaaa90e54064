/**
 * `da sync` benchmarks against a real server:
 *
 * - cli-sync-noop: a sync with nothing to do on 1,000 tables vs `da --help` in the same run (goal ≤ 1.5×);
 * - cli-sync-throughput: a fresh sync of 20 tables / ~2 GB vs 4 parallel curl downloads of the
 *   same files from nginx (goal ≥ 0.9×);
 * - cli-sync-memory: peak RSS growth of `da` while syncing the 2 GB (goal ≤ 64 MB).
 *
 * @example bun bench/cli-sync.ts            # all three
 * @example bun bench/cli-sync.ts --mb 50    # smaller tables (20 × 50 MB)
 * @example bun bench/cli-sync.ts --noop     # only the no-op sync (no 2 GB download)
 * @example bun bench/cli-sync.ts --noop --before /tmp/old/dist/da   # also an older build, same rounds
 * @example bun bench/cli-sync.ts --throughput --before /tmp/old/dist/da   # only the 2 GB sync and its memory, and an older build in the same rounds
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ensureCliBuilt } from '../tests/helpers/cli.ts';

/** How the notes name the `--before` binary (`--before-label TEXT`, else its path). */
function beforeLabel(): string {
  const at = process.argv.indexOf('--before-label');
  if (at > 0) return process.argv[at + 1]!;
  const bin = process.argv.indexOf('--before');
  return `An older build (${bin > 0 ? process.argv[bin + 1] : '?'})`;
}
import { benchTmp, fmtRate, median, report, seedServedTable, startBenchServer, type BenchResult, type BenchServer } from './lib.ts';

/** A Parquet file of roughly `mb` MiB that does not compress (random text). */
export async function parquetOf(mb: number): Promise<string> {
  const path = join(benchTmp('cli-sync'), `random-${mb}mb.parquet`);
  if (existsSync(path)) return path;
  const rows = Math.round((mb * 1024 * 1024) / 66);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`COPY (SELECT md5(random()::VARCHAR) || md5(random()::VARCHAR) AS v FROM range(${rows})) TO '${path}.tmp' (FORMAT parquet, COMPRESSION uncompressed)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  renameSync(`${path}.tmp`, path);
  return path;
}

interface Run {
  ms: number;
  peakRssKb: number;
  code: number;
  stderr: string;
  /** CPU time (user + system) of the process and the children it waited for, in seconds. */
  cpuS: number;
}

const cpuSeconds = (p: Bun.Subprocess) => {
  const u = p.resourceUsage();
  return u ? Number(u.cpuTime.user + u.cpuTime.system) / 1e6 : NaN;
};

/** Runs the compiled da and samples its peak RSS (VmHWM) until it exits. */
export async function runDa(bin: string, args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  const t = performance.now();
  const proc = Bun.spawn([bin, ...args], { env, cwd, stdout: 'ignore', stderr: 'pipe' });
  let peak = 0;
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      // exited
    }
  };
  const timer = setInterval(sample, 20);
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearInterval(timer);
  return { ms: performance.now() - t, peakRssKb: peak, code, stderr, cpuS: cpuSeconds(proc) };
}

function workspace(server: BenchServer) {
  const home = mkdtempSync(join(tmpdir(), 'da-bench-cli-'));
  const cwd = join(home, 'work');
  mkdirSync(cwd);
  const env = { PATH: '/usr/bin:/bin', HOME: home, DA_CONFIG_DIR: join(home, 'config'), DA_SERVER: server.url, DA_TOKEN: server.analystToken, DA_CACHE_DIR: join(tmpdir(), 'da-test-native-cache') };
  return { home, cwd, env };
}

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (at - lo);
}
const spread = (v: number[]) => `p25–p75 ${quantile(v, 0.25).toFixed(1)}–${quantile(v, 0.75).toFixed(1)}`;

/** `before`: an older `da` binary, measured in the same rounds on the same workspace (e.g. a build of main). */
export async function benchSyncNoop({ tables = 1000, runs = 20, before }: { tables?: number; runs?: number; before?: string } = {}): Promise<BenchResult> {
  const bin = await ensureCliBuilt();
  const source = await parquetOf(0.01);
  const server = await startBenchServer({ datasets: ['noop'] });
  const ws = workspace(server);
  // The older build gets a workspace of its own: its state file and views are its own business.
  const oldWs = workspace(server);
  try {
    for (let i = 0; i < tables; i++) await seedServedTable(server, { dataset: 'noop', table: `t${String(i).padStart(4, '0')}`, source, rows: 150, columns: 1 });
    const first = await runDa(bin, ['sync', '--quiet'], ws.env, ws.cwd);
    if (first.code !== 0) throw new Error(`first sync failed: ${first.stderr}`);
    if (before) {
      const r = await runDa(before, ['sync', '--quiet'], oldWs.env, oldWs.cwd);
      if (r.code !== 0) throw new Error(`first sync of ${before} failed: ${r.stderr}`);
    }
    const stateFile = readdirSync(join(ws.env.DA_CONFIG_DIR, 'sync-state')).map((f) => join(ws.env.DA_CONFIG_DIR, 'sync-state', f))[0]!;
    const ours: number[] = [];
    const help: number[] = [];
    const syncHelp: number[] = [];
    const old: number[] = [];
    const time = async (args: string[], into: number[], exe = bin) => {
      const w = exe === bin ? ws : oldWs;
      const r = await runDa(exe, args, w.env, w.cwd);
      if (r.code !== 0) throw new Error(r.stderr);
      into.push(r.ms);
    };
    for (let i = 0; i < 2; i++) {
      await time(['sync', '--quiet'], []);
      if (before) await time(['sync', '--quiet'], [], before);
    }
    // Alternating rounds: all three see the same load. Spawned asynchronously: the server runs in this process.
    for (let i = 0; i < runs; i++) {
      await time(['sync', '--quiet'], ours);
      await time(['--help'], help);
      await time(['sync', '--help'], syncHelp);
      if (before) await time(['sync', '--quiet'], old, before);
    }
    const o = median(ours);
    const h = median(help);
    const sh = median(syncHelp);
    return {
      name: 'cli-sync-noop',
      what: `\`da sync\` with nothing to do on ${tables} synced tables (manifest answered 304 via If-None-Match, one stat per local file checked against the size and mtime it was synced with, views left alone when the database file is as the last check left it, the state file written once, compact) against \`da --help\`, median of ${runs} alternating rounds (spawned from the process that runs the server).`,
      ours: `${o.toFixed(1)} ms (${spread(ours)})`,
      baseline: `${h.toFixed(1)} ms (da --help, ${spread(help)})`,
      ratio: o / h,
      goal: '≤ 1.5× da --help',
      met: o / h <= 1.5,
      notes: [
        `\`da --help\` no longer loads the CLI at all (see cli-help), so it is now the hello-world floor. \`da sync --help\` (clipanion and the sync command's modules, no work) took ${sh.toFixed(1)} ms (${spread(syncHelp)}): the no-op sync is ${(o / sh).toFixed(2)}× that, i.e. its work on ${tables} tables (read and write a ${(statSync(stateFile).size / 1024).toFixed(0)} KB state file, the 304 round trip, ${tables} stats) costs ${(o - sh).toFixed(0)} ms.`,
        ...(before ? [`${beforeLabel()}, in the same rounds: ${median(old).toFixed(1)} ms (${spread(old)}), ${(median(old) / h).toFixed(2)}× \`da --help\` of now.`] : []),
        `The first sync of the ${tables} tables took ${(first.ms / 1000).toFixed(1)} s.`,
      ].join(' '),
    };
  } finally {
    rmSync(ws.home, { recursive: true, force: true });
    rmSync(oldWs.home, { recursive: true, force: true });
    await server.stop();
  }
}

export async function benchSyncThroughput({ tables = 20, mb = 100, before, beforeLabel }: { tables?: number; mb?: number; before?: string; beforeLabel?: string } = {}): Promise<BenchResult[]> {
  const bin = await ensureCliBuilt();
  const source = await parquetOf(mb);
  const server = await startBenchServer({ datasets: ['big'] });
  const nginxDir = mkdtempSync(join(tmpdir(), 'da-bench-nginx-'));
  let nginx: ReturnType<typeof Bun.spawn> | undefined;
  const ws = workspace(server);
  try {
    const seeded = [];
    for (let i = 0; i < tables; i++) seeded.push(await seedServedTable(server, { dataset: 'big', table: `t${i}`, source, columns: 1 }));
    const total = seeded.reduce((n, t) => n + t.size, 0);
    const root = join(server.dataDir, 'parquet');
    const port = 20000 + Math.floor(Math.random() * 20000);
    writeFileSync(join(nginxDir, 'nginx.conf'), `${process.getuid?.() === 0 ? 'user root; ' : ''}daemon off; worker_processes 1; pid ${nginxDir}/nginx.pid; error_log ${nginxDir}/error.log;
events { worker_connections 64; }
http { access_log off; sendfile on; tcp_nopush on; default_type application/octet-stream;
  client_body_temp_path ${nginxDir}/body; proxy_temp_path ${nginxDir}/proxy; fastcgi_temp_path ${nginxDir}/fcgi; uwsgi_temp_path ${nginxDir}/uwsgi; scgi_temp_path ${nginxDir}/scgi;
  server { listen 127.0.0.1:${port}; root ${root}; } }
`);
    nginx = Bun.spawn(['nginx', '-c', join(nginxDir, 'nginx.conf'), '-p', nginxDir], { stdout: 'ignore', stderr: 'inherit' });
    const urls = seeded.map((t) => `http://127.0.0.1:${port}/${relative(root, t.path)}`);
    for (let i = 0; i < 50 && !(await fetch(urls[0]!, { method: 'HEAD' }).then((r) => r.ok, () => false)); i++) await Bun.sleep(100);

    // curl baseline: 4 at a time, each to a file on the same disk (as da writes them).
    const curlDir = join(ws.home, 'curl');
    mkdirSync(curlDir);
    const cpu: number[] = [];
    const curlRun = async (from: string[] = urls, auth = 'X-None: 1') => {
      rmSync(curlDir, { recursive: true, force: true });
      mkdirSync(curlDir);
      const t = performance.now();
      const list = from.map((u, i) => `${u} ${join(curlDir, `t${i}.parquet`)}`).join('\n');
      const p = Bun.spawn(['sh', '-c', `printf '%s\\n' "$LIST" | xargs -P 4 -n 2 sh -c 'curl -s -H "$AUTH" -o "$1" "$0"'`], { env: { LIST: list, AUTH: auth, PATH: '/usr/bin:/bin' } });
      await p.exited;
      const ms = performance.now() - t;
      cpu.push(cpuSeconds(p));
      return ms;
    };
    // The same curl run against the da server tells the client's share of the gap from the server's.
    const daUrls = seeded.map((_, i) => `${server.url}/api/data/big.t${i}/download`);
    const curlFromDa = async () => curlRun(daUrls, `Authorization: Bearer ${server.analystToken}`);
    const daRun = async (which = bin) => {
      rmSync(join(ws.cwd, 'server'), { recursive: true, force: true });
      rmSync(join(ws.cwd, 'user'), { recursive: true, force: true });
      rmSync(join(ws.home, 'config'), { recursive: true, force: true });
      const r = await runDa(which, ['sync', '--quiet'], ws.env, ws.cwd);
      if (r.code !== 0) throw new Error(`da sync failed: ${r.stderr}`);
      return r;
    };
    const ours: Run[] = [];
    const older: Run[] = [];
    const base: number[] = [];
    const curlDa: number[] = [];
    // Each run starts with the previous run's files gone and written back, so no run pays
    // for another's dirty pages.
    const settle = () => {
      rmSync(curlDir, { recursive: true, force: true });
      rmSync(join(ws.cwd, 'server'), { recursive: true, force: true });
      Bun.spawnSync(['sync']);
    };
    let curlCpu = 0;
    // sha256 speed of one core on this machine: the verification curl does not do.
    const block = new Uint8Array(256 * 1024 * 1024);
    const h0 = performance.now();
    new Bun.CryptoHasher('sha256').update(block).digest();
    const shaRate = block.byteLength / ((performance.now() - h0) / 1000);
    for (let i = 0; i < 3; i++) {
      settle();
      base.push(await curlRun());
      curlCpu += cpu.at(-1)!;
      settle();
      ours.push(await daRun());
      settle();
      curlDa.push(await curlFromDa());
      if (before) {
        settle();
        older.push(await daRun(before));
      }
    }
    rmSync(curlDir, { recursive: true, force: true });
    const o = median(ours.map((r) => r.ms));
    const b = median(base);
    const cd = median(curlDa);
    const fixed = await runDa(bin, ['query', 'SELECT count(*) FROM big.t0'], ws.env, ws.cwd);
    const peak = Math.max(...ours.map((r) => r.peakRssKb));
    // What the runtime's HTTP client alone costs: the same downloads, 4 at a time, read and
    // dropped by a bare Bun process (its peak minus its own start).
    const bare = Bun.spawn(['bun', '-e', `
      const { readFileSync } = require('node:fs');
      const kb = (k) => Number(new RegExp(k + ':\\\\s+(\\\\d+)').exec(readFileSync('/proc/self/status', 'utf8'))[1]);
      const start = kb('VmRSS');
      const urls = JSON.parse(process.env.URLS);
      let next = 0;
      await Promise.all([0, 1, 2, 3].map(async () => {
        while (next < urls.length) {
          const res = await fetch(urls[next++], { headers: { authorization: 'Bearer ' + process.env.TOKEN } });
          for await (const _ of res.body) {}
        }
      }));
      console.log(kb('VmHWM') - start);
    `], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', URLS: JSON.stringify(daUrls), TOKEN: server.analystToken }, stdout: 'pipe', stderr: 'inherit' });
    const bareOut = (await new Response(bare.stdout).text()).trim();
    if (!/^\d+$/.test(bareOut)) throw new Error(`the bare fetch process printed ${JSON.stringify(bareOut)}`);
    const bareMb = Number(bareOut) / 1024;
    await bare.exited;
    const growthMb = (peak - fixed.peakRssKb) / 1024;
    const gb = (total / 1e9).toFixed(2);
    const daCpu = median(ours.map((r) => r.cpuS));
    const curlCpuRun = curlCpu / 3;
    const shaCpu = total / shaRate;
    // With both cores busy, a client that does curl's work plus the hash cannot beat this ratio.
    const ceiling = curlCpuRun / (curlCpuRun + shaCpu);
    const olderNote = older.length
      ? ` ${beforeLabel ?? `An earlier build (${before})`}, same rounds: ${fmtRate(total / (median(older.map((r) => r.ms)) / 1000))}, peak RSS ${(Math.max(...older.map((r) => r.peakRssKb)) / 1024).toFixed(0)} MB.`
      : '';
    return [
      {
        name: 'cli-sync-throughput',
        what: `A fresh \`da sync\` of ${tables} tables (${gb} GB, incompressible Parquet) from the da server: 4 downloads at once on download threads (one per core), each streamed to \`.part\`, sha256-verified, listed in the flush journal and renamed, then views built; against \`curl\` ×4 in parallel (xargs -P4) fetching the same files from nginx (1 worker, sendfile) to disk. Median of 3 alternating runs each.`,
        ours: fmtRate(total / (o / 1000)),
        baseline: `${fmtRate(total / (b / 1000))} (4× curl ← nginx)`,
        ratio: b / o,
        goal: '≥ 0.9×',
        met: b / o >= 0.9,
        notes: `The same 4× curl from the da server itself: ${fmtRate(total / (cd / 1000))}, that is \`da sync\` at ${(cd / o).toFixed(2)}× of curl against the same server, and the da server at ${(b / cd).toFixed(2)}× of nginx for curl. CPU per run (user + system, the client side only): \`da sync\` ${daCpu.toFixed(1)} core-s, 4× curl ${curlCpuRun.toFixed(1)} core-s; sha256 alone is ${shaCpu.toFixed(1)} core-s for these bytes (${fmtRate(shaRate)} on one core here), which curl does not do. On ${cpus().length} cores that are all busy (the clients and the server share them), a client doing curl's work plus the hash is bounded near ${ceiling.toFixed(2)}× of curl.${olderNote}`,
      },
      {
        name: 'cli-sync-memory',
        what: `Peak RSS (VmHWM) of \`da sync\` while downloading the ${gb} GB above, minus the peak RSS of \`da query\` on the same workspace (the process with DuckDB loaded and the views open): the memory the download itself costs.`,
        ours: `${growthMb.toFixed(1)} MB growth (peak ${(peak / 1024).toFixed(0)} MB)`,
        baseline: `${(fixed.peakRssKb / 1024).toFixed(0)} MB (da query)`,
        ratio: growthMb / 64,
        goal: '≤ 64 MB growth (ratio to 64 MB ≤ 1)',
        met: growthMb <= 64,
        notes: `The same downloads, 4 at a time, fetched by a bare Bun process that drops every byte: ${bareMb.toFixed(0)} MB above its own start. That much is the runtime's HTTP client buffering fast loopback responses, before any writing or hashing.`,
      },
    ];
  } finally {
    nginx?.kill();
    await nginx?.exited;
    rmSync(nginxDir, { recursive: true, force: true });
    rmSync(ws.home, { recursive: true, force: true });
    await server.stop();
  }
}

if (import.meta.main) {
  const mbArg = process.argv.indexOf('--mb');
  const mb = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 100;
  const beforeArg = process.argv.indexOf('--before');
  if (!process.argv.includes('--throughput')) report(await benchSyncNoop({ before: beforeArg > 0 ? process.argv[beforeArg + 1] : undefined }));
  if (!process.argv.includes('--noop')) for (const r of await benchSyncThroughput({ mb, before: beforeArg > 0 ? process.argv[beforeArg + 1] : undefined, beforeLabel: process.argv.includes('--before-label') ? process.argv[process.argv.indexOf('--before-label') + 1] : undefined })) report(r);
}
