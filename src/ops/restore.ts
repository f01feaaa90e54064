import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ArchiveFormatError, readTar } from './archive.ts';
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, BACKUP_HEADER, BACKUP_MANIFEST, BACKUP_ROOTS, type BackupHeader, type BackupManifest } from './backup.ts';

/** A restore that was refused; nothing was written to the target folder. */
export class RestoreError extends Error {
  override name = 'RestoreError';
}

export interface RestoreResult {
  dataDir: string;
  header: BackupHeader;
  files: number;
  bytes: number;
  tables: number;
}

export interface RestoreOptions {
  /** Called as bytes of the archive's contents are written (for progress). */
  onProgress?: (bytesWritten: number) => void;
}

function allowed(path: string): boolean {
  return BACKUP_ROOTS.some((root) => (root.endsWith('/') ? path.startsWith(root) && path.length > root.length : path === root));
}

async function readJson<T>(body: AsyncIterable<Uint8Array>, max: number, what: string): Promise<T> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new RestoreError(`${what} is too large`);
    parts.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as T;
  } catch {
    throw new RestoreError(`${what} is not valid JSON`);
  }
}

/** The target must be missing or an empty folder. */
function checkTarget(dataDir: string) {
  const st = statSync(dataDir, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isDirectory()) throw new RestoreError(`${dataDir} exists and is not a folder; restore into a new, empty folder`);
  if (readdirSync(dataDir).length) throw new RestoreError(`${dataDir} is not empty; restore only into a new, empty folder (nothing was changed)`);
}

/**
 * Restores a backup (from createBackup) into `dataDir`, which must be missing or empty.
 * Everything is first extracted into a hidden folder beside it while each file's sha256
 * is computed; only when every file matches the manifest (no file missing, none extra,
 * each table's file the hash sync_state recorded) is that folder renamed to `dataDir`.
 * A damaged, truncated or foreign archive throws RestoreError and leaves nothing behind.
 */
export async function restoreBackup(archive: string, dataDirArg: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const dataDir = resolve(dataDirArg);
  if (!existsSync(archive) || !statSync(archive).isFile()) throw new RestoreError(`${archive} does not exist or is not a file`);
  checkTarget(dataDir);
  mkdirSync(dirname(dataDir), { recursive: true });
  const staging = join(dirname(dataDir), `.${basename(dataDir)}.restore-${process.pid}-${Date.now()}`);
  mkdirSync(staging, { mode: 0o700 });
  try {
    const result = await scanBackup(archive, staging, options);
    // Checked again: another process may have written there meanwhile.
    checkTarget(dataDir);
    if (existsSync(dataDir)) rmdirSync(dataDir);
    renameSync(staging, dataDir);
    return { ...result, dataDir };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Checks a backup without restoring it: every entry read and hashed against the manifest.
 * Throws RestoreError as restoreBackup does.
 */
export async function verifyBackup(archive: string): Promise<Omit<RestoreResult, 'dataDir'>> {
  if (!existsSync(archive) || !statSync(archive).isFile()) throw new RestoreError(`${archive} does not exist or is not a file`);
  return scanBackup(archive, undefined, {});
}

/** Reads the whole archive, checking it; writes the files under `staging` when given. */
async function scanBackup(archive: string, staging: string | undefined, options: RestoreOptions): Promise<Omit<RestoreResult, 'dataDir'>> {
  let written = 0;
  {
    const source = Bun.file(archive).stream().pipeThrough(new DecompressionStream('gzip'));
    const seen = new Map<string, { sha256: string; size: number }>();
    let header: BackupHeader | undefined;
    let manifest: BackupManifest | undefined;
    try {
      for await (const entry of readTar(source as unknown as AsyncIterable<Uint8Array>)) {
        if (!header) {
          if (entry.path !== BACKUP_HEADER) throw new RestoreError(`${archive} is not a da backup (its first entry is ${entry.path}, not ${BACKUP_HEADER})`);
          header = await readJson<BackupHeader>(entry.body, 1 << 20, 'the backup header');
          if (header.format !== BACKUP_FORMAT) throw new RestoreError(`${archive} is not a da backup (format ${JSON.stringify(header.format)})`);
          if (header.format_version !== BACKUP_FORMAT_VERSION) {
            throw new RestoreError(`${archive} is a da backup of format ${header.format_version}; this da reads format ${BACKUP_FORMAT_VERSION} (use the da release that wrote it)`);
          }
          continue;
        }
        if (manifest) throw new RestoreError(`${archive} is damaged: an entry (${entry.path}) follows the manifest`);
        if (entry.path === BACKUP_MANIFEST) {
          manifest = await readJson<BackupManifest>(entry.body, 256 << 20, 'the backup manifest');
          continue;
        }
        if (!allowed(entry.path)) throw new RestoreError(`${archive} is not a da backup it can restore: unexpected entry ${entry.path}`);
        if (seen.has(entry.path)) throw new RestoreError(`${archive} is damaged: ${entry.path} appears twice`);
        const hasher = new Bun.CryptoHasher('sha256');
        let fd: number | undefined;
        if (staging) {
          const target = join(staging, entry.path);
          mkdirSync(dirname(target), { recursive: true });
          fd = openSync(target, 'wx', 0o600);
        }
        let size = 0;
        try {
          for await (const chunk of entry.body) {
            hasher.update(chunk);
            if (fd !== undefined) for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
            size += chunk.length;
            written += chunk.length;
            options.onProgress?.(written);
          }
          if (fd !== undefined) fsyncSync(fd);
        } finally {
          if (fd !== undefined) closeSync(fd);
        }
        seen.set(entry.path, { sha256: hasher.digest('hex'), size });
      }
    } catch (err) {
      if (err instanceof RestoreError) throw err;
      if (err instanceof ArchiveFormatError) throw new RestoreError(`${archive} is damaged: ${err.message}`);
      // The gzip layer: not gzip at all, a bad CRC, or cut short.
      const msg = (err as Error).message ?? String(err);
      if (!header) throw new RestoreError(`${archive} is not a da backup (not a gzip-compressed tar: ${msg})`);
      throw new RestoreError(`${archive} is damaged: ${msg}`);
    }
    if (!header) throw new RestoreError(`${archive} is not a da backup (it is empty)`);
    if (!manifest) throw new RestoreError(`${archive} is damaged: it has no manifest (truncated?)`);
    for (const [path, want] of Object.entries(manifest.files ?? {})) {
      const got = seen.get(path);
      if (!got) throw new RestoreError(`${archive} is damaged: ${path} is in the manifest but not in the archive`);
      if (got.sha256 !== want.sha256 || got.size !== want.size) throw new RestoreError(`${archive} is damaged: ${path} does not match its sha256 in the manifest`);
    }
    for (const path of seen.keys()) {
      if (!manifest.files?.[path]) throw new RestoreError(`${archive} is damaged: ${path} is not in the manifest`);
    }
    for (const [table, t] of Object.entries(manifest.tables ?? {})) {
      if (seen.get(t.path)?.sha256 !== t.sha256) throw new RestoreError(`${archive} is damaged: the file of ${table} does not have the hash sync_state recorded`);
    }
    if (!seen.has('state/system.duckdb')) throw new RestoreError(`${archive} is damaged: it holds no state database`);
    return { header, files: seen.size, bytes: written, tables: Object.keys(manifest.tables ?? {}).length };
  }
}
