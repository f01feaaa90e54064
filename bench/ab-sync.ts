/**
 * A/B of two compiled `da` binaries on the same fresh sync (scratch tool, not a report):
 *   bun bench/ab-sync.ts OLD_BIN NEW_BIN [--mb 100] [--rounds 3]
 * Both run with the same environment; `DA_X_NAME=value` here passes `NAME=value` to both
 * (e.g. DA_X_DA_SYNC_FLUSH=each). Prints wall time and peak RSS per run; writes no report.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parquetOf, runDa } from './cli-sync.ts';
import { seedServedTable, startBenchServer } from './lib.ts';

// Absolute: each run's working directory is the scratch workspace.
const [oldBin, newBin] = process.argv.slice(2, 4).map((b) => resolve(b)) as [string, string];
const arg = (n: string, d: number) => (process.argv.indexOf(n) > 0 ? Number(process.argv[process.argv.indexOf(n) + 1]) : d);
const mb = arg('--mb', 100);
const rounds = arg('--rounds', 3);
const path = await parquetOf(mb);
const server = await startBenchServer({ datasets: ['big'] });
for (let i = 0; i < 20; i++) await seedServedTable(server, { dataset: 'big', table: `t${i}`, source: path, columns: 1 });
const home = mkdtempSync(join(tmpdir(), 'da-ab-'));
const cwd = join(home, 'work');
mkdirSync(cwd);
const env = { PATH: '/usr/bin:/bin', HOME: home, DA_CONFIG_DIR: join(home, 'config'), DA_SERVER: server.url, DA_TOKEN: server.analystToken, DA_CACHE_DIR: join(tmpdir(), 'da-test-native-cache'), ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('DA_X_')).map(([k, v]) => [k.slice(5), v!])) };
async function run(bin: string) {
  for (const d of ['server', 'user']) rmSync(join(cwd, d), { recursive: true, force: true });
  rmSync(join(home, 'config'), { recursive: true, force: true });
  Bun.spawnSync(['sync']);
  const r = await runDa(bin, ['sync', '--quiet'], env, cwd);
  if (r.code !== 0) throw new Error(r.stderr);
  return { ms: r.ms, peakMb: r.peakRssKb / 1024 };
}
for (let r = 0; r < rounds; r++) {
  const a = await run(oldBin);
  const b = await run(newBin);
  console.log(`round ${r}: old ${a.ms.toFixed(0)} ms (${a.peakMb.toFixed(0)} MB)  new ${b.ms.toFixed(0)} ms (${b.peakMb.toFixed(0)} MB)`);
}
rmSync(home, { recursive: true, force: true });
await server.stop();
process.exit(0);
