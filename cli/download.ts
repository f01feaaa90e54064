import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Client } from './client.ts';
import { fsyncDir } from './disk.ts';
import { CliError } from './errors.ts';
import { transferOnThread } from './download-thread.ts';
import { StalledError, unreachableError, withRetry, type RetryPolicy } from './retry.ts';

/** Iterates a web stream's chunks (typed here: lib.dom's ReadableStream is not iterable). */
export async function* chunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** sha256 of a file, hex, read as a stream (constant memory). */
export async function sha256File(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher('sha256');
  for await (const chunk of chunks(Bun.file(path).stream())) hasher.update(chunk);
  return hasher.digest('hex');
}

function sizeOrUndefined(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

// How far the disk may fall behind the network before reading waits (per download).
const HIGH_WATER = 4 * 1024 * 1024;
// Buffers per pwritev(2): well under IOV_MAX (1024 on Linux).
const MAX_BATCH = 256;

/**
 * Writes a response body to a file behind the network: chunks queue up and one loop writes
 * all that is queued with pwritev at the next position, so reading rarely waits (close to a
 * FileSink's speed) while every error and short write is seen. A chunk is hashed only after
 * it was written, so the hash covers what is on disk; `written` is the length known sound.
 */
class QueuedWriter {
  written: number;
  failed = false;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private running: Promise<void> | undefined;
  private error: unknown;

  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly hasher: Bun.CryptoHasher,
  ) {
    this.written = start;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failed) throw this.error;
    this.queue.push(chunk);
    this.queued += chunk.byteLength;
    this.start();
    if (this.queued >= HIGH_WATER) await this.drain();
  }

  /** Waits until everything queued is written; throws the write error, if any. */
  async drain(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
    if (this.failed) throw this.error;
  }

  /** Drops what is not written yet (after a write failed, or to stop). */
  discard(): void {
    this.queue = [];
    this.queued = 0;
  }

  private start(): void {
    if (this.running) return;
    this.running = this.loop().finally(() => (this.running = undefined));
    // Marked as handled now: the error is thrown by write() or drain(), not reported by the
    // runtime as an unhandled rejection while the network is being read.
    this.running.catch(() => undefined);
  }

  private async loop(): Promise<void> {
    try {
      while (this.queue.length && !this.failed) {
        let batch = this.queue.splice(0, MAX_BATCH);
        while (batch.length) {
          const { bytesWritten } = await this.fh.writev(batch, this.written);
          if (bytesWritten === 0) throw Object.assign(new Error('no space left on device, write'), { code: 'ENOSPC' });
          batch = this.account(batch, bytesWritten);
        }
      }
    } catch (err) {
      this.failed = true;
      this.error = err;
      throw err;
    }
  }

  /** Hashes and counts the first `n` bytes of `batch`; returns what is left to write. */
  private account(batch: Uint8Array[], n: number): Uint8Array[] {
    this.written += n;
    this.queued -= n;
    let i = 0;
    for (; i < batch.length && n >= batch[i]!.byteLength; i++) {
      this.hasher.update(batch[i]!);
      n -= batch[i]!.byteLength;
    }
    if (n === 0) return batch.slice(i);
    this.hasher.update(batch[i]!.subarray(0, n));
    return [batch[i]!.subarray(n), ...batch.slice(i + 1)];
  }
}

/** The length of a `.part` file that is the start of the expected file (0 when there is none). */
function soundPart(part: string, meta: string, expected: Expected): number {
  const size = sizeOrUndefined(part);
  let hash: string | undefined;
  try {
    hash = JSON.parse(readFileSync(meta, 'utf8')).hash;
  } catch {
    hash = undefined;
  }
  if (size === undefined || hash !== expected.hash || size === 0 || (expected.size !== null && size > expected.size)) return 0;
  return size;
}

/** Bytes of `dest` already downloaded by an earlier, interrupted run (0 when none can be resumed). */
export function resumableBytes(dest: string, expected: Expected): number {
  return soundPart(`${dest}.part`, `${dest}.part.json`, expected);
}

/** Lists a verified file before its rename instead of flushing it (cli/durability.ts). */
export interface FlushJournal {
  add(path: string, hash: string): Promise<void>;
}

/** What a download must turn out to be. */
export interface Expected {
  hash: string;
  size: number | null;
}

function discardPart(part: string, meta: string): void {
  rmSync(part, { force: true });
  rmSync(meta, { force: true });
}

/**
 * Checks a finished part: flushed to disk first when `flush` (see cli/durability.ts for when it
 * is not), then its length and hash. A part that fails any check, or whose flush failed, is
 * removed. The part keeps its name: `commitPart` renames it into place.
 */
async function verifyPart(fh: FileHandle, part: string, expected: Expected, got: string, length: number, flush: boolean): Promise<void> {
  const meta = `${part}.json`;
  let onDisk: number;
  try {
    if (flush) await fh.sync();
    onDisk = (await fh.stat()).size;
    await fh.close();
  } catch (err) {
    // After a failed fsync the kernel may have dropped the dirty pages: the bytes are unknown.
    await fh.close().catch(() => undefined);
    discardPart(part, meta);
    throw err;
  }
  if (got !== expected.hash || onDisk !== length || (expected.size !== null && onDisk !== expected.size)) {
    discardPart(part, meta);
    throw new CliError(
      `downloaded file has sha256 ${got.slice(0, 12)}… (${onDisk} bytes), the manifest says ${expected.hash.slice(0, 12)}…${expected.size === null ? '' : ` (${expected.size} bytes)`}`,
      1,
      { reason: 'hash_mismatch' },
    );
  }
}

/**
 * Renames a verified part into place. With a durability journal the file is listed there
 * first and nothing waits for the disk; without one the rename itself is made durable.
 */
async function commitPart(dest: string, hash: string, journal?: FlushJournal): Promise<void> {
  const part = `${dest}.part`;
  if (journal) await journal.add(dest, hash);
  renameSync(part, dest);
  if (!journal) fsyncDir(dirname(dest));
  rmSync(`${part}.json`, { force: true });
}

/**
 * After a failed try, leaves the part as exactly the bytes known to be written: queued bytes
 * are still written when the network failed (they arrived intact), dropped once a write
 * failed. A part whose length cannot be set is removed.
 */
async function keepSoundPrefix(fh: FileHandle, writer: QueuedWriter, part: string): Promise<void> {
  try {
    await writer.drain().catch(() => writer.discard());
    await writer.drain().catch(() => undefined);
    await fh.truncate(writer.written);
    await fh.close();
  } catch {
    await fh.close().catch(() => undefined);
    discardPart(part, `${part}.json`);
  }
}

/**
 * One try at downloading a file to `<dest>.part`: resumes a sound partial file with `Range`
 * (guarded by `If-Range` on the expected hash), writes and hashes every byte and verifies
 * (flushed first when `flush`). On success the part holds exactly the expected file, ready for
 * `commitPart`; on any failure the final name is untouched and the part holds exactly the
 * bytes that were written, ready for a resume. Runs on the main thread or in a download
 * thread (cli/download-thread.ts): it needs nothing but its arguments.
 */
export async function transferOnce(
  client: Client,
  url: string,
  dest: string,
  expected: Expected,
  onBytes: (n: number) => void,
  idleTimeoutMs: number,
  flush: boolean,
): Promise<{ bytes: number; resumed: boolean }> {
  const part = `${dest}.part`;
  const meta = `${part}.json`;
  mkdirSync(dirname(dest), { recursive: true });
  const offset = soundPart(part, meta, expected);
  if (offset === 0) {
    rmSync(part, { force: true });
    writeFileSync(meta, JSON.stringify({ hash: expected.hash }));
  }
  const resumeHash = new Bun.CryptoHasher('sha256');
  if (offset > 0) for await (const chunk of chunks(Bun.file(part).stream())) resumeHash.update(chunk);

  const headers: Record<string, string> = {};
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    headers['if-range'] = `"${expected.hash}"`;
  }
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(new StalledError(idleTimeoutMs)), idleTimeoutMs);
  };
  const stalled = (err: unknown) => (abort.signal.aborted ? abort.signal.reason : err);
  arm();
  try {
    let res: Response;
    try {
      res = await client.request('GET', url, { headers, accept: [206, 416], signal: abort.signal });
    } catch (err) {
      throw stalled(err);
    }
    if (res.status === 416) {
      await res.body?.cancel();
      if (offset > 0 && offset === expected.size) {
        await verifyPart(await open(part, 'r+'), part, expected, resumeHash.digest('hex'), offset, flush);
        return { bytes: 0, resumed: true };
      }
      // The server holds a shorter file than the part: start again from the first byte.
      discardPart(part, meta);
      if (offset === 0) throw new CliError(`the server refused to send ${url} (416)`);
      return transferOnce(client, url, dest, expected, onBytes, idleTimeoutMs, flush);
    }
    let start = 0;
    if (res.status === 206) {
      const from = /bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1];
      if (Number(from) !== offset) {
        await res.body?.cancel();
        throw new CliError(`server resumed ${url} at ${from}, expected ${offset}`);
      }
      start = offset;
    }
    const hasher = start > 0 ? resumeHash : new Bun.CryptoHasher('sha256');
    const fh = await open(part, start > 0 ? 'r+' : 'w');
    const writer = new QueuedWriter(fh, start, hasher);
    try {
      for await (const chunk of chunks(res.body!)) {
        arm();
        await writer.write(chunk);
        onBytes(chunk.byteLength);
      }
      clearTimeout(timer);
      await writer.drain();
    } catch (err) {
      // A write that failed leaves the body unread: close the connection instead of draining it.
      await res.body?.cancel().catch(() => undefined);
      await keepSoundPrefix(fh, writer, part);
      throw stalled(err);
    }
    await verifyPart(fh, part, expected, hasher.digest('hex'), writer.written, flush);
    return { bytes: writer.written - start, resumed: start > 0 };
  } finally {
    clearTimeout(timer);
  }
}

/** Files at least this large are downloaded on a download thread; smaller ones are not worth starting one. */
export const THREAD_MIN_BYTES = 4 * 1024 * 1024;

/** How a download runs: where its bytes go first and whether the rename waits for the disk. */
export interface DownloadOptions {
  /** Lists renamed files instead of flushing each (cli/durability.ts); absent: every file is flushed. */
  journal?: FlushJournal;
  /** Runs large transfers on download threads (default true); false keeps every byte on this thread. */
  threads?: boolean;
}

/**
 * Downloads a file and verifies it, retrying transient network failures with backoff and
 * jitter (each try resumes from the bytes on disk) until `policy.budgetMs` passes without
 * progress; then fails with one line naming the server and what to try. A large file is
 * received, written and hashed on a download thread, so parallel downloads use every core
 * instead of queueing behind one JavaScript thread; the rename happens here.
 */
export async function downloadVerified(
  client: Client,
  url: string,
  dest: string,
  expected: Expected,
  onBytes: (n: number) => void,
  policy: RetryPolicy,
  what: string,
  opts: DownloadOptions = {},
): Promise<{ bytes: number; resumed: boolean }> {
  let bytes = 0;
  let resumed = false;
  const flush = !opts.journal;
  const threaded = opts.threads !== false && expected.size !== null && expected.size >= THREAD_MIN_BYTES;
  const r = await withRetry(
    policy,
    async (madeProgress) => {
      if (bytes > 0) resumed = true;
      const count = (n: number) => {
        bytes += n;
        madeProgress();
        onBytes(n);
      };
      const r = threaded
        ? await transferOnThread({ server: client.server, token: client.token, url, dest, expected, idleTimeoutMs: policy.idleTimeoutMs, flush }, count)
        : await transferOnce(client, url, dest, expected, count, policy.idleTimeoutMs, flush);
      return { bytes, resumed: resumed || r.resumed };
    },
    (err, tries, elapsed) => unreachableError(client.server!, what, err, tries, elapsed),
  );
  await commitPart(dest, expected.hash, opts.journal);
  return r;
}
