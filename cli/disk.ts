import { closeSync, existsSync, fsyncSync, openSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { CliError, errorCode } from './errors.ts';
import { formatBytes } from './format.ts';

/**
 * Room kept free beyond the downloads themselves: the local DuckDB (built beside the old one,
 * then renamed), its WAL, the sync state and the docs.
 */
export const DISK_HEADROOM = 4 * 1024 * 1024;

// EFBIG: a file-size limit (ulimit -f) ends a write like a full disk does.
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
const DISK_FULL_TEXT = /ENOSPC|EDQUOT|EFBIG|no space left|disk quota|file too large/i;

/** Whether an error means the disk (or a quota or file-size limit) took no more bytes. */
export function isDiskFull(err: unknown): boolean {
  const code = errorCode(err);
  if (code && DISK_FULL_CODES.has(code)) return true;
  return err instanceof Error && DISK_FULL_TEXT.test(err.message);
}

/** The nearest existing folder at or above `path` (a fresh workspace has no ./server yet). */
export function existingAncestor(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

/** Bytes an unprivileged process may still write on the file system holding `path`. */
export function freeBytes(path: string): number {
  const fs = statfsSync(existingAncestor(path));
  return Number(fs.bavail) * Number(fs.bsize);
}

/** `sales.orders (77.0 MB), sales.items (20.0 MB) and 3 more`. */
export function listTables(items: { id: string; bytes?: number }[], max = 4): string {
  const shown = items.slice(0, max).map((t) => (t.bytes === undefined ? t.id : `${t.id} ${formatBytes(t.bytes)}`));
  return items.length > max ? `${shown.join(', ')} and ${items.length - max} more` : shown.join(', ');
}

/**
 * Stops a sync before it writes anything when the downloads cannot fit: one line with what is
 * needed, what is free and which tables (and the same as fields of the `--json` error).
 */
export function assertRoomFor(dir: string, tables: { id: string; bytes: number }[]): { needed: number; free: number } | undefined {
  const bytes = tables.reduce((n, t) => n + t.bytes, 0);
  let free: number;
  try {
    free = freeBytes(dir);
  } catch {
    return undefined; // a file system that does not tell: the writes themselves will say
  }
  const needed = bytes === 0 ? 0 : bytes + DISK_HEADROOM;
  if (needed > free) {
    const largest = [...tables].filter((t) => t.bytes > 0).sort((a, b) => b.bytes - a.bytes);
    throw new CliError(
      `not enough disk space: this sync needs ${formatBytes(needed)} in ${existingAncestor(dir)}, ${formatBytes(free)} is free ` +
        `(${listTables(largest)}); nothing was changed — free some space, or sync fewer tables with --table`,
      1,
      { reason: 'disk_full', needed_bytes: needed, free_bytes: free, path: existingAncestor(dir), tables: largest.map((t) => ({ id: t.id, bytes: t.bytes })) },
    );
  }
  return { needed, free };
}

const KEPT = 'nothing was recorded and the previous files are kept — free some space and run da sync again (it resumes)';

/** The one-line message for a write that failed because the disk is full; `then` says what was kept and what to do. */
export function diskFullMessage(dir: string, err: unknown, then = KEPT): string {
  let free = '';
  try {
    free = `, ${formatBytes(freeBytes(dir))} free`;
  } catch {
    // the numbers are a courtesy
  }
  const tooLarge = errorCode(err) === 'EFBIG' || (err instanceof Error && /EFBIG|file too large/i.test(err.message));
  const limit = tooLarge ? 'a file-size limit (ulimit -f) stopped the write' : 'the disk is full';
  return `${limit} (${existingAncestor(dir)}${free}); ${then}`;
}

/** Flushes a file's bytes to the disk (opened read-write: some systems refuse fsync on a read-only handle). */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename durable: the directory entry reaches the disk, not only the file's bytes. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the file itself is already flushed.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
