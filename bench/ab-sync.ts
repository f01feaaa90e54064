/**
 * A/B of two compiled `da` binaries on the same fresh sync (scratch tool, not a report):
 *   bun bench/ab-sync.ts OLD_BIN NEW_BIN [--mb 100] [--rounds 3]
 * Both run with the same environment; `DA_X_NAME=value` here passes `NAME=value` to both
 * (e.g. DA_X_DA_SYNC_FLUSH=each). Prints wall time and peak RSS per run; writes no report.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchTmp, seedServedTable, startBenchServer } from './lib.ts';

const [oldBin, newBin] = process.argv.slice(2, 4) as [string, string];
const arg = (n: string, d: number) => (process.argv.indexOf(n) > 0 ? Number(process.argv[process.argv.indexOf(n) + 1]) : d);
const mb = arg('--mb', 100);
const rounds = arg('--rounds', 3);
const path = join(benchTmp('cli-sync'), `random-${mb}mb.parquet`);
if (!existsSync(path)) {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run(`COPY (SELECT md5(random()::VARCHAR) || md5(random()::VARCHAR) AS v FROM range(${Math.round((mb * 1024 * 1024) / 66)})) TO '${path}.tmp' (FORMAT parquet, COMPRESSION uncompressed)`);
  conn.closeSync();
  db.closeSync();
  renameSync(`${path}.tmp`, path);
}
const server = await startBenchServer({ datasets: ['big'] });
for (let i = 0; i < 20; i++) await seedServedTable(server, { dataset: 'big', table: `t${i}`, source: path, columns: 1 });
const home = mkdtempSync(join(tmpdir(), 'da-ab-'));
const cwd = join(home, 'work');
mkdirSync(cwd);
const env = { PATH: '/usr/bin:/bin', HOME: home, DA_CONFIG_DIR: join(home, 'config'), DA_SERVER: server.url, DA_TOKEN: server.analystToken, DA_CACHE_DIR: join(tmpdir(), 'da-test-native-cache'), ...(process.env.DA_BOOT_ID ? { DA_BOOT_ID: process.env.DA_BOOT_ID } : {}), ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('DA_X_')).map(([k, v]) => [k.slice(5), v!])) };
async function run(bin: string) {
  for (const d of ['server', 'user']) rmSync(join(cwd, d), { recursive: true, force: true });
  rmSync(join(home, 'config'), { recursive: true, force: true });
  Bun.spawnSync(['sync']);
  const t = performance.now();
  const p = Bun.spawn([bin, 'sync', '--quiet'], { env, cwd, stdout: 'ignore', stderr: 'pipe' });
  let peak = 0;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? 0));
    } catch {}
  }, 20);
  const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  clearInterval(timer);
  if (code !== 0) throw new Error(err);
  return { ms: performance.now() - t, peakMb: peak / 1024 };
}
for (let r = 0; r < rounds; r++) {
  const a = await run(oldBin);
  const b = await run(newBin);
  console.log(`round ${r}: old ${a.ms.toFixed(0)} ms (${a.peakMb.toFixed(0)} MB)  new ${b.ms.toFixed(0)} ms (${b.peakMb.toFixed(0)} MB)`);
}
rmSync(home, { recursive: true, force: true });
await server.stop();
process.exit(0);
