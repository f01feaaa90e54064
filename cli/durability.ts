import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fsyncDir, fsyncFile } from './disk.ts';
import type { FlushJournal } from './download.ts';
import { CliError, EXIT } from './errors.ts';
import type { WorkspacePaths } from './workspace.ts';

/**
 * Durability without waiting for the disk.
 *
 * A downloaded file is verified (sha256 of the bytes written) and renamed into place. Making
 * each rename durable at once (fsync of the file, then of its folder) made a large sync wait
 * for the disk: writing 2 GB back took about a third of the whole sync. What the fsync buys
 * is only that a power loss or kernel crash cannot leave a renamed file whose bytes never
 * reached the disk; a crash of `da` itself loses nothing that was written (the page cache
 * has it).
 *
 * So instead each renamed file is first listed, with its hash, in a small journal in the
 * workspace (written and flushed before the rename: listing is cheap, flushing a large file
 * is not) together with the machine's boot id. The first `da` command that opens the
 * workspace afterwards settles it:
 *
 * - same boot, and the files are old enough for the kernel to have written them back (it
 *   does so within 30 s by default): flush them (now cheap) and drop the journal;
 * - another boot (the machine went down in between): check every listed file against its
 *   hash; one that does not match (or is gone) is removed, so queries fail clearly instead of
 *   reading garbage and the next `da sync` downloads it again.
 *
 * Where the boot cannot be told (no Linux boot id), or with DA_SYNC_FLUSH=each (a workspace
 * on a network file system, whose server can restart without this machine), there is no
 * journal: each file is flushed before its rename.
 */

interface JournalFile {
  boot_id: string;
  written_at: string;
  /** Workspace-relative path → sha256. */
  files: Record<string, string>;
}

/** After this long in the same boot the kernel has written the files back; flushing them is cheap. */
export const SETTLE_AFTER_MS = 60_000;

const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

/** This boot's id: DA_BOOT_ID when set (tests simulate a restart with it), else the kernel's. */
export function bootId(env: Record<string, string | undefined> = process.env): string | undefined {
  if (env.DA_BOOT_ID) return env.DA_BOOT_ID;
  try {
    return readFileSync(BOOT_ID_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function journalPath(ws: WorkspacePaths): string {
  return join(ws.serverDir, '.flush-journal.json');
}

function readJournal(path: string): JournalFile | undefined {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as JournalFile;
    return typeof j.boot_id === 'string' && j.files && typeof j.files === 'object' ? j : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the journal through a flushed temporary file and a rename, so it is whole or absent. */
function writeJournal(path: string, j: JournalFile): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(j));
  fsyncFile(tmp);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** Only paths inside the workspace are listed and acted on (the journal is a file anyone could edit). */
function inside(ws: WorkspacePaths, rel: string): string | undefined {
  if (isAbsolute(rel)) return undefined;
  const abs = resolve(ws.root, rel);
  return abs.startsWith(ws.serverDir + sep) ? abs : undefined;
}

/**
 * The journal for this sync, or undefined where files must be flushed one by one. Entries of
 * an earlier sync in the same boot that were not settled yet are kept.
 */
export function openFlushJournal(ws: WorkspacePaths, env: Record<string, string | undefined> = process.env): FlushJournal | undefined {
  const mode = env.DA_SYNC_FLUSH || 'deferred';
  if (mode !== 'each' && mode !== 'deferred') throw new CliError(`DA_SYNC_FLUSH must be each or deferred (got ${mode})`, EXIT.usage);
  if (mode === 'each') return undefined;
  const boot = bootId(env);
  if (!boot) return undefined;
  const path = journalPath(ws);
  const earlier = readJournal(path);
  const files: Record<string, string> = earlier && earlier.boot_id === boot ? { ...earlier.files } : {};
  let written: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  // Renames that arrive while the journal is being written share the next write.
  const flush = (): Promise<void> => {
    if (queued) return queued;
    const after = written ?? Promise.resolve();
    queued = after.then(() => {
      queued = undefined;
      writeJournal(path, { boot_id: boot, written_at: new Date().toISOString(), files });
    });
    written = queued;
    return queued;
  };
  return {
    add(file, hash) {
      files[relative(ws.root, file)] = hash;
      return flush();
    },
  };
}

/** What settling found: files that did not survive a restart and were removed. */
export interface SettleResult {
  lost: string[];
}

/**
 * Settles the journal left by earlier syncs (see the top of this file). Cheap when there is
 * none (one failed open). `now` and `env` are for tests.
 */
export async function settleFlushJournal(ws: WorkspacePaths, env: Record<string, string | undefined> = process.env, now = Date.now()): Promise<SettleResult> {
  const path = journalPath(ws);
  const j = existsSync(path) ? readJournal(path) : undefined;
  if (!j) {
    rmSync(path, { force: true });
    return { lost: [] };
  }
  const boot = bootId(env);
  const lost: string[] = [];
  if (boot && boot === j.boot_id) {
    if (now - Date.parse(j.written_at) < SETTLE_AFTER_MS) return { lost };
    const dirs = new Set<string>();
    for (const rel of Object.keys(j.files)) {
      const abs = inside(ws, rel);
      if (!abs || !existsSync(abs)) continue;
      try {
        fsyncFile(abs);
        dirs.add(dirname(abs));
      } catch {
        // unreadable now: the next sync checks it against the manifest anyway
      }
    }
    for (const d of dirs) fsyncDir(d);
  } else {
    // The machine restarted since these files were renamed: keep only those whose bytes made it.
    // (Loaded here: every command settles the journal, few ever hash.)
    const { sha256File } = await import('./download.ts');
    for (const [rel, hash] of Object.entries(j.files)) {
      const abs = inside(ws, rel);
      if (!abs) continue;
      let ok = false;
      try {
        ok = statSync(abs).isFile() && (await sha256File(abs)) === hash;
      } catch {
        ok = false;
      }
      if (!ok) {
        rmSync(abs, { force: true });
        lost.push(rel);
      }
    }
  }
  rmSync(path, { force: true });
  fsyncDir(dirname(path));
  return { lost };
}

/** `2 files synced before the machine restarted had not reached the disk (server/parquet/a.parquet, …)`. */
export function lostLine(lost: string[]): string {
  const shown = lost.slice(0, 3).join(', ') + (lost.length > 3 ? ` and ${lost.length - 3} more` : '');
  return `${lost.length} ${lost.length === 1 ? 'file' : 'files'} synced before the machine restarted had not reached the disk and ${lost.length === 1 ? 'was' : 'were'} removed (${shown})`;
}
