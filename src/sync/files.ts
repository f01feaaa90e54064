import { closeSync, existsSync, fsyncSync, openSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** sha256 of a file, hex, read as a stream (constant memory). */
export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher('sha256');
  const reader = Bun.file(path).stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hasher.update(value);
  }
  return hasher.digest('hex');
}

/**
 * The temporary name a pull writes before the rename: hidden, in the same directory
 * (so the rename is atomic), tagged with the job, ending in `.tmp`.
 * `.orders.parquet.<job>.tmp` for `orders.parquet`.
 */
export function tempPathFor(finalPath: string, jobId: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${jobId.replace(/[^a-zA-Z0-9-]/g, '')}.tmp`);
}

/** Scratch directory for a pull's downloads, beside the final file. */
export function scratchDirFor(finalPath: string, jobId: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${jobId.replace(/[^a-zA-Z0-9-]/g, '')}.scratch.tmp`);
}

/** The final file name a temporary name belongs to (`orders.parquet`), or undefined. */
export function finalNameOfTemp(name: string): string | undefined {
  return /^\.(.+\.parquet)\.[a-zA-Z0-9-]+\.tmp$/.exec(name)?.[1];
}

/** Every leftover temporary entry (`*.tmp`) under `<data>/parquet/<dataset>/`. */
export function listTempEntries(parquetRoot: string): string[] {
  if (!existsSync(parquetRoot)) return [];
  const out: string[] = [];
  for (const dataset of readdirSync(parquetRoot, { withFileTypes: true })) {
    if (!dataset.isDirectory()) continue;
    const dir = join(parquetRoot, dataset.name);
    for (const entry of readdirSync(dir)) if (entry.endsWith('.tmp')) out.push(join(dir, entry));
  }
  return out;
}

/** Removes a file or directory, ignoring one that is already gone. */
export function removePath(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/**
 * Flushes a file's bytes to disk. Called before the state names a new file, so a power
 * loss cannot leave state pointing at a file whose blocks never reached the disk.
 */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
