import { closeSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BadRequestError, ConflictError, PayloadTooLargeError, QuotaExceededError, ValidationError, type QuotaUsage as UploadUsage } from '../errors.ts';
import { parseUploadName, UPLOAD_LIMITS, type UploadKind } from './upload-rules.ts';

/** A file where a folder is needed (or the reverse) means two upload names clash: 409. */
function clashOrError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
    return new ConflictError('this name clashes with an earlier upload: one is a file where the other needs a folder');
  }
  return err;
}

/** An upload in progress: its bytes so far (or as declared) count against the quota. */
interface Reservation {
  target: string;
  bytes: number;
  /** Bytes of the file it replaces, which go away when it lands. */
  credit: number;
  /** It adds a file (nothing of that name exists, and no other upload is writing it). */
  newFile: boolean;
}

function sizeOf(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

function scanUsage(dir: string): UploadUsage {
  const usage = { bytes: 0, files: 0 };
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return usage; // nothing uploaded yet
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    usage.files++;
    usage.bytes += sizeOf(join(e.parentPath, e.name)) ?? 0;
  }
  return usage;
}

const mb = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MB`;

/**
 * Per-user upload quota (bytes and files) over everything under uploads/<user>. What is on
 * disk is counted once per process, then kept up to date by every upload that lands; uploads
 * in flight count with their bytes so far, so concurrent uploads cannot overshoot together.
 */
function createUploadQuota(limit: UploadUsage) {
  const users = new Map<string, { stored: UploadUsage; inFlight: Set<Reservation> }>();
  const usageOf = (dir: string) => {
    let u = users.get(dir);
    if (!u) users.set(dir, (u = { stored: scanUsage(dir), inFlight: new Set() }));
    return u;
  };
  const refuse = (stored: UploadUsage, what: string) =>
    new QuotaExceededError(
      `upload quota exceeded: you keep ${mb(stored.bytes)} (${stored.bytes} bytes) in ${stored.files} files, ` +
        `and the limit is ${mb(limit.bytes)} (${limit.bytes} bytes) in ${limit.files} files per user; ${what}. ` +
        'Nothing was stored; ask an administrator to make room or raise uploads.quota_bytes / quota_files.',
      { ...stored },
      { ...limit },
    );

  return {
    /**
     * Starts an upload of `declared` bytes (0 when unknown) to `target` in the user folder
     * `dir`. Throws QuotaExceededError when it cannot fit; nothing is written before this.
     */
    begin(dir: string, target: string, declared: number) {
      const u = usageOf(dir);
      const replacing = [...u.inFlight].some((r) => r.target === target);
      const existing = sizeOf(target);
      const r: Reservation = {
        target,
        bytes: declared,
        credit: replacing ? 0 : (existing ?? 0),
        newFile: !replacing && existing === undefined,
      };
      const fits = () => {
        let bytes = u.stored.bytes;
        let files = u.stored.files;
        for (const o of [...u.inFlight, r]) {
          bytes += o.bytes - o.credit;
          if (o.newFile) files++;
        }
        // An upload that adds nothing (a replacement no larger) passes even over a lowered quota.
        return { bytes: bytes <= limit.bytes || r.bytes <= r.credit, files: files <= limit.files || !r.newFile };
      };
      const first = fits();
      if (!first.files) throw refuse(u.stored, 'this upload would add one file too many');
      if (!first.bytes) throw refuse(u.stored, `this upload of ${mb(declared)} (${declared} bytes) would go over it`);
      u.inFlight.add(r);
      return {
        /** Counts the bytes received so far; throws QuotaExceededError when they no longer fit. */
        grow(received: number) {
          if (received <= r.bytes) return;
          r.bytes = received;
          if (!fits().bytes) throw refuse(u.stored, `this upload went over it after ${mb(received)} (${received} bytes)`);
        },
        /** The file landed with `size` bytes, replacing `replaced` bytes (undefined: a new file). */
        commit(size: number, replaced: number | undefined) {
          u.inFlight.delete(r);
          u.stored.bytes += size - (replaced ?? 0);
          if (replaced === undefined) u.stored.files++;
        },
        abort() {
          u.inFlight.delete(r);
        },
      };
    },
  };
}

type QuotaReservation = ReturnType<ReturnType<typeof createUploadQuota>['begin']>;

/** Removes the folders that one upload created (from `dir` up to `created`) while they are empty. */
function removeCreatedDirs(dir: string, created: string | undefined) {
  if (!created) return;
  for (let d = dir; d.length >= created.length; d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty: another upload uses it
    }
    if (d === created) return;
  }
}

/**
 * Streams a request body into `target` through a temp file: refuses more than `limit`
 * bytes or what the quota cannot fit (nothing is left behind: no temp file, no new
 * folder) and returns the size and sha256.
 */
async function storeBody(body: ReadableStream<Uint8Array> | null, target: string, limit: number, quota: QuotaReservation, check?: (bytes: Uint8Array) => void) {
  const tmp = `${target}.${crypto.randomUUID()}.tmp`;
  const dir = dirname(target);
  let created: string | undefined;
  let fd: number;
  try {
    created = mkdirSync(dir, { recursive: true });
    fd = openSync(tmp, 'w', 0o600);
  } catch (err) {
    removeCreatedDirs(dir, created);
    throw clashOrError(err);
  }
  const hasher = new Bun.CryptoHasher('sha256');
  let size = 0;
  const parts: Uint8Array[] = [];
  let stored = false;
  try {
    if (body) {
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > limit) {
          await reader.cancel();
          return { tooLarge: true as const };
        }
        try {
          quota.grow(size);
        } catch (err) {
          await reader.cancel();
          throw err;
        }
        writeSync(fd, value);
        hasher.update(value);
        if (check) parts.push(value);
      }
    }
    if (check) check(Buffer.concat(parts));
    closeSync(fd);
    // Measured and renamed in one synchronous step: no other upload lands in between.
    const replaced = sizeOf(target);
    try {
      renameSync(tmp, target);
    } catch (err) {
      throw clashOrError(err);
    }
    stored = true;
    quota.commit(size, replaced);
    return { tooLarge: false as const, size, sha256: hasher.digest('hex') };
  } finally {
    if (!stored) {
      quota.abort();
      try {
        closeSync(fd);
      } catch {
        // already closed before a failed rename
      }
      rmSync(tmp, { force: true });
      removeCreatedDirs(dir, created);
    }
  }
}


/** What one stored upload looks like to the uploader. */
export interface UploadResult {
  kind: UploadKind;
  name: string;
  size_bytes: number;
  sha256: string;
  stored_at: string;
}

/** One stored upload of a user. */
export interface StoredUpload {
  kind: UploadKind;
  /** Path below its kind's folder (`CLAUDE.local.md` for local-md). */
  name: string;
  size_bytes: number;
  modified_at: string;
}

/** A user's uploads: totals, and the newest files. */
export interface UploadListing {
  files: number;
  bytes: number;
  /** The newest files first. */
  recent: StoredUpload[];
}

/** Stores what `da sync` uploads (see createUploadStore). */
export interface UploadStore {
  /**
   * Stores one upload of `userId`: `name` is the relative path for sessions and artifacts
   * (ignored for CLAUDE.local.md), `declared` the announced size (NaN when unknown).
   */
  receive(userId: string, kind: UploadKind, name: string, body: ReadableStream<Uint8Array> | null, declared: number): Promise<UploadResult>;
  /**
   * What `userId` has uploaded (sessions, artifacts and CLAUDE.local.md): totals, and the
   * `recent` newest files (default 5). Uploads in flight (temp files) are left out.
   */
  list(userId: string, recent?: number): UploadListing;
}

/**
 * Session transcripts, artifacts and CLAUDE.local.md, stored per user under
 * `<dataDir>/uploads/<user>/`: names checked by the upload rules, a size limit per kind, the
 * per-user quota (bytes and files), written through a temp file and renamed, nothing left
 * behind on refusal.
 */
export function createUploadStore({ dataDir, quota: limit }: { dataDir: string; quota: UploadUsage }): UploadStore {
  const root = join(dataDir, 'uploads');
  const quota = createUploadQuota(limit);
  const validId = (id: string) => /^[A-Za-z0-9_-]{1,64}$/.test(id);
  const userDir = (id: string) => {
    if (!validId(id)) throw new BadRequestError('unexpected user id');
    return join(root, id);
  };
  return {
    list(userId, recent = 5) {
      const none: UploadListing = { files: 0, bytes: 0, recent: [] };
      if (!validId(userId)) return none;
      const dir = join(root, userId);
      let entries;
      try {
        entries = readdirSync(dir, { recursive: true, withFileTypes: true });
      } catch {
        return none; // nothing uploaded yet
      }
      const all: Array<StoredUpload & { mtime: number }> = [];
      for (const e of entries) {
        if (!e.isFile() || e.name.endsWith('.tmp')) continue;
        const path = join(e.parentPath, e.name);
        let st;
        try {
          st = statSync(path);
        } catch {
          continue; // replaced or removed meanwhile
        }
        const rel = path.slice(dir.length + 1).split(/[\\/]/);
        const kind: UploadKind | undefined =
          rel.length === 1 && rel[0] === 'CLAUDE.local.md' ? 'local-md' : rel[0] === 'sessions' || rel[0] === 'artifacts' ? rel[0] : undefined;
        if (!kind) continue;
        all.push({ kind, name: kind === 'local-md' ? rel[0]! : rel.slice(1).join('/'), size_bytes: st.size, modified_at: st.mtime.toISOString(), mtime: st.mtimeMs });
      }
      all.sort((a, b) => b.mtime - a.mtime);
      return {
        files: all.length,
        bytes: all.reduce((n, f) => n + f.size_bytes, 0),
        recent: all.slice(0, recent).map(({ mtime: _, ...f }) => f),
      };
    },

    async receive(userId, kind, requestedName, body, declared) {
      let name: string;
      let target: string;
      if (kind === 'local-md') {
        name = 'CLAUDE.local.md';
        target = join(userDir(userId), name);
      } else {
        name = requestedName;
        const segs = parseUploadName(name, kind);
        if (!segs) {
          throw new ValidationError(
            kind === 'sessions'
              ? 'name must be a relative .jsonl path of [A-Za-z0-9._-] segments (at most 6)'
              : 'name must be a relative path of [A-Za-z0-9._-] segments (at most 6)',
          );
        }
        target = join(userDir(userId), kind, ...segs);
      }
      const tooLarge = () => new PayloadTooLargeError(`${kind} uploads are limited to ${UPLOAD_LIMITS[kind]} bytes`);
      if (declared > UPLOAD_LIMITS[kind]) throw tooLarge();
      const reservation = quota.begin(userDir(userId), target, Number.isSafeInteger(declared) ? declared : 0);
      const stored = await storeBody(body, target, UPLOAD_LIMITS[kind], reservation, kind === 'local-md' ? mustBeUtf8 : undefined);
      if (stored.tooLarge) throw tooLarge();
      return { kind, name, size_bytes: stored.size, sha256: stored.sha256, stored_at: new Date().toISOString() };
    },
  };
}

function mustBeUtf8(bytes: Uint8Array) {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ValidationError('CLAUDE.local.md must be UTF-8 text');
  }
}
