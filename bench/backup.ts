/**
 * Backup and restore throughput: createBackup (through the write queue, hashing every
 * file, tar + gzip) written to a file, and restoreBackup (gunzip, hash check, extract)
 * against GNU `tar -czf` / `tar -xzf` of the same files on the same disk. Goal: ≥ 0.5× tar
 * (we hash every byte and verify the archive, tar does neither).
 *
 * @example bun bench/backup.ts --mb 2048
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBackup } from '../src/ops/backup.ts';
import { saveBackup } from '../src/ops/backup-file.ts';
import { restoreBackup } from '../src/ops/restore.ts';
import { benchTmp, fmtRate, report, seedServedTable, sh, startBenchServer, type BenchResult } from './lib.ts';

/** `count` files of Parquet-like (incompressible) bytes, `mb` in all. */
async function blobs(mb: number, count: number): Promise<string[]> {
  const dir = benchTmp('backup');
  const each = Math.max(1, Math.floor(mb / count));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(dir, `blob-${each}mb-${i}.bin`);
    out.push(path);
    if (existsSync(path) && statSync(path).size === each * 2 ** 20) continue;
    const writer = Bun.file(path).writer();
    const chunk = new Uint8Array(2 ** 20);
    for (let j = 0; j < each; j++) {
      for (let k = 0; k < chunk.length; k += 65536) crypto.getRandomValues(chunk.subarray(k, k + 65536));
      writer.write(chunk);
    }
    await writer.end();
  }
  return out;
}

export async function benchBackup({ mb = 2048, files = 8 } = {}): Promise<BenchResult[]> {
  const sources = await blobs(mb, files);
  const server = await startBenchServer();
  const work = join(benchTmp('backup'), `run-${process.pid}`);
  mkdirSync(work, { recursive: true });
  try {
    for (const [i, source] of sources.entries()) await seedServedTable(server, { dataset: 'bench', table: `t${i}`, source });
    await server.deps.db.checkpoint();
    const bytes = sources.reduce((n, p) => n + statSync(p).size, 0) + statSync(join(server.dataDir, 'state', 'system.duckdb')).size;

    let t = performance.now();
    const saved = await saveBackup(await createBackup({ config: server.deps.config, db: server.deps.db, syncState: server.deps.repos.syncState }), work);
    const oursBackup = (performance.now() - t) / 1000;

    t = performance.now();
    await sh(['tar', '-czf', join(work, 'tar.tar.gz'), '-C', server.dataDir, 'state/system.duckdb', 'parquet']);
    const tarBackup = (performance.now() - t) / 1000;

    t = performance.now();
    await restoreBackup(saved.path, join(work, 'restored'));
    const oursRestore = (performance.now() - t) / 1000;

    mkdirSync(join(work, 'untarred'));
    t = performance.now();
    await sh(['tar', '-xzf', join(work, 'tar.tar.gz'), '-C', join(work, 'untarred')]);
    const tarRestore = (performance.now() - t) / 1000;

    const rate = (s: number) => fmtRate(bytes / s);
    const notes = `${(bytes / 2 ** 20).toFixed(0)} MB in ${files + 1} files; archive ${(saved.bytes / 2 ** 20).toFixed(0)} MB (ours) vs ${(statSync(join(work, 'tar.tar.gz')).size / 2 ** 20).toFixed(0)} MB (tar)`;
    return [
      { name: 'backup', what: 'da server backup (write queue copy, sha256 of every file, tar+gzip) vs tar -czf of the same files', ours: rate(oursBackup), baseline: rate(tarBackup), ratio: tarBackup / oursBackup, goal: '≥ 0.5× tar', met: tarBackup / oursBackup >= 0.5, notes },
      { name: 'restore', what: 'da server restore (gunzip, sha256 check of every file, extract, rename) vs tar -xzf', ours: rate(oursRestore), baseline: rate(tarRestore), ratio: tarRestore / oursRestore, goal: '≥ 0.5× tar', met: tarRestore / oursRestore >= 0.5, notes },
    ];
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { mb: { type: 'string', default: '2048' }, files: { type: 'string', default: '8' } } });
  for (const r of await benchBackup({ mb: Number(values.mb), files: Number(values.files) })) report(r);
}
