import { closeSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync, fsyncSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Backup, BackupManifest } from './backup.ts';

/** Writes a stream to `path` through a temporary name: a file at `path` is always complete. */
export async function writeStreamToFile(stream: ReadableStream<Uint8Array>, path: string, onProgress?: (bytes: number) => void): Promise<number> {
  const partial = `${path}.partial`;
  const fd = openSync(partial, 'w', 0o600);
  let bytes = 0;
  try {
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
      bytes += chunk.length;
      onProgress?.(bytes);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(partial, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(partial, path);
  return bytes;
}

/** The folder backups are kept in: `backup.dir`, relative to the data directory. */
export function backupDir(dataDir: string, dir: string): string {
  return resolve(dataDir, dir);
}

/** Writes `backup` into `dir` under its own name; resolves with the path, size and manifest. */
export async function saveBackup(backup: Backup, dir: string): Promise<{ path: string; bytes: number; manifest: BackupManifest }> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, backup.fileName);
  const bytes = await writeStreamToFile(backup.stream, path);
  return { path, bytes, manifest: await backup.done };
}

/** Deletes all but the `keep` newest backups (`da-backup-*.tar.gz`) in `dir`; returns the deleted paths. */
export function pruneBackups(dir: string, keep: number): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^da-backup-.*\.tar\.gz$/.test(n));
  } catch {
    return [];
  }
  const byAge = names
    .map((n) => ({ path: join(dir, n), mtime: statSync(join(dir, n)).mtimeMs, name: n }))
    .sort((a, b) => b.mtime - a.mtime || b.name.localeCompare(a.name));
  const gone = byAge.slice(keep).map((f) => f.path);
  for (const p of gone) rmSync(p, { force: true });
  return gone;
}
