import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Client } from './client.ts';
import { fsyncDir } from './disk.ts';
import { CliError } from './errors.ts';
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

const BLOCK = 1024 * 1024;

/**
 * Appends a response body to a file in 1 MiB writes, one in flight while the next fills
 * (close to a FileSink's speed, but every error and short write is seen). The hash is updated
 * with a block only after the write of that block succeeded, so it covers what is on disk;
 * `written` is the length of the file known to be sound.
 */
class BlockWriter {
  written: number;
  failed = false;
  private spare = Buffer.allocUnsafe(BLOCK);
  private block = Buffer.allocUnsafe(BLOCK);
  private used = 0;
  private inflight: Promise<void> = Promise.resolve();

  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly hasher: Bun.CryptoHasher,
  ) {
    this.written = start;
  }

  async write(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.byteLength) {
      const n = Math.min(chunk.byteLength - at, BLOCK - this.used);
      this.block.set(chunk.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      if (this.used === BLOCK) await this.submit();
    }
  }

  /** Writes what is buffered and waits for every write; throws the first write error. */
  async drain(): Promise<void> {
    if (this.used > 0) await this.submit();
    await this.inflight;
  }

  /** Waits for the write in flight without throwing (after a failure elsewhere). */
  async settle(): Promise<void> {
    await this.inflight.catch(() => undefined);
  }

  private async submit(): Promise<void> {
    await this.inflight;
    const full = this.block.subarray(0, this.used);
    [this.block, this.spare] = [this.spare, this.block];
    this.used = 0;
    this.inflight = this.flush(full, this.written);
    // Marked as handled now; its error is thrown where it is awaited (next submit or drain),
    // not reported by the runtime as an unhandled rejection while the network is read.
    this.inflight.catch(() => undefined);
  }

  private async flush(buf: Buffer, position: number): Promise<void> {
    try {
      let off = 0;
      while (off < buf.byteLength) {
        const { bytesWritten } = await this.fh.write(buf, off, buf.byteLength - off, position + off);
        if (bytesWritten === 0) throw Object.assign(new Error('no space left on device, write'), { code: 'ENOSPC' });
        off += bytesWritten;
        this.written += bytesWritten;
      }
    } catch (err) {
      this.failed = true;
      throw err;
    }
    this.hasher.update(buf);
  }
}

/** The length of a `.part` file that is the start of the expected file (0 when there is none). */
function soundPart(part: string, meta: string, expected: { hash: string; size: number | null }): number {
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
export function resumableBytes(dest: string, expected: { hash: string; size: number | null }): number {
  return soundPart(`${dest}.part`, `${dest}.part.json`, expected);
}

function discardPart(part: string, meta: string): void {
  rmSync(part, { force: true });
  rmSync(meta, { force: true });
}

/**
 * Flushes the part to disk, checks its length and hash, then renames it into place (and makes
 * the rename durable). A part that fails any check, or whose flush failed, is removed.
 */
async function finish(fh: FileHandle, part: string, dest: string, expected: { hash: string; size: number | null }, got: string, length: number): Promise<void> {
  const meta = `${part}.json`;
  let onDisk: number;
  try {
    await fh.sync();
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
  renameSync(part, dest);
  fsyncDir(dirname(dest));
  rmSync(meta, { force: true });
}

/**
 * After a failed try, leaves the part as exactly the bytes known to be written: buffered bytes
 * are still written when the network failed (they arrived intact), not when a write failed. A
 * part whose length cannot be set is removed.
 */
async function keepSoundPrefix(fh: FileHandle, writer: BlockWriter, part: string): Promise<void> {
  try {
    if (!writer.failed) await writer.drain().catch(() => undefined);
    await writer.settle();
    await fh.truncate(writer.written);
    await fh.close();
  } catch {
    await fh.close().catch(() => undefined);
    discardPart(part, `${part}.json`);
  }
}

/**
 * One try at downloading a file to `dest` through `<dest>.part`: resumes a sound partial file
 * with `Range` (guarded by `If-Range` on the expected hash), writes and hashes every byte,
 * flushes, verifies and only then renames into place. On any failure the final name is
 * untouched and the part holds exactly the bytes that were written, ready for a resume.
 */
export async function downloadOnce(
  client: Client,
  url: string,
  dest: string,
  expected: { hash: string; size: number | null },
  onBytes: (n: number) => void,
  idleTimeoutMs: number,
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
        await finish(await open(part, 'r+'), part, dest, expected, resumeHash.digest('hex'), offset);
        return { bytes: 0, resumed: true };
      }
      // The server holds a shorter file than the part: start again from the first byte.
      discardPart(part, meta);
      if (offset === 0) throw new CliError(`the server refused to send ${url} (416)`);
      return downloadOnce(client, url, dest, expected, onBytes, idleTimeoutMs);
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
    const writer = new BlockWriter(fh, start, hasher);
    try {
      for await (const chunk of chunks(res.body!)) {
        arm();
        await writer.write(chunk);
        onBytes(chunk.byteLength);
      }
      clearTimeout(timer);
      await writer.drain();
    } catch (err) {
      await keepSoundPrefix(fh, writer, part);
      throw stalled(err);
    }
    await finish(fh, part, dest, expected, hasher.digest('hex'), writer.written);
    return { bytes: writer.written - start, resumed: start > 0 };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Downloads a file and verifies it, retrying transient network failures with backoff and
 * jitter (each try resumes from the bytes on disk) until `policy.budgetMs` passes without
 * progress; then fails with one line naming the server and what to try.
 */
export async function downloadVerified(
  client: Client,
  url: string,
  dest: string,
  expected: { hash: string; size: number | null },
  onBytes: (n: number) => void,
  policy: RetryPolicy,
  what: string,
): Promise<{ bytes: number; resumed: boolean }> {
  let bytes = 0;
  let resumed = false;
  return withRetry(
    policy,
    async (madeProgress) => {
      if (bytes > 0) resumed = true;
      const r = await downloadOnce(client, url, dest, expected, (n) => {
        bytes += n;
        madeProgress();
        onBytes(n);
      }, policy.idleTimeoutMs);
      return { bytes, resumed: resumed || r.resumed };
    },
    (err, tries, elapsed) => unreachableError(client.server!, what, err, tries, elapsed),
  );
}
