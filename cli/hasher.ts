/**
 * sha256 off the main thread. `da sync` reads the network, writes and hashes on one JS
 * thread; hashing alone took about a third of it, so a 2-core laptop could not reach the
 * speed of parallel curl. Each download hands its bytes (after they are written) to a hash
 * worker, which a later download reuses. The worker is small enough to be one string: a
 * Blob URL needs no separate entry point in the compiled `da`.
 */

/** What a download hashes with: bytes in order, then the digest. */
export interface StreamHasher {
  /** Hashes `chunk` next. The caller must not touch `chunk` afterwards (its memory may move to the worker). */
  update(chunk: Uint8Array): void;
  /** Resolves once fewer than `limit` bytes (at least 1 MiB) wait to be hashed (keeps memory bounded). */
  backlogBelow(limit: number): Promise<void>;
  /** The hex digest of everything given; the hasher cannot be used afterwards. */
  digest(): Promise<string>;
  /** Gives the hasher up without a digest (after a failed download). */
  abandon(): void;
}

// The worker reports its progress every this many bytes.
const REPORT_EVERY = 1 << 20;

// Messages to the worker: `{ start: gen, file?, length? }` begins a hash (hashing the first
// `length` bytes of the file first, read synchronously so the chunks after it stay in order), then Uint8Arrays to hash,
// then `{ digest: true }`. Replies carry the generation, so a reused worker's late replies to
// an abandoned hash are ignored: `{ gen, hashed: n }` now and then, `{ gen, digest: hex }`,
// `{ gen, error }`.
const WORKER_SOURCE = `
const { openSync, readSync, closeSync } = require('node:fs');
let hasher = new Bun.CryptoHasher('sha256');
let gen = 0;
let hashed = 0;
let failure = null;
const fail = (err) => {
  failure = String((err && err.message) || err);
  postMessage({ gen, error: failure });
};
self.onmessage = ({ data }) => {
  if (data instanceof Uint8Array) {
    if (failure) return;
    try { hasher.update(data); } catch (err) { return fail(err); }
    hashed += data.byteLength;
    if (hashed >= ${REPORT_EVERY}) { postMessage({ gen, hashed }); hashed = 0; }
  } else if (data.start !== undefined) {
    hasher = new Bun.CryptoHasher('sha256');
    gen = data.start;
    hashed = 0;
    failure = null;
    if (!data.file) return;
    // Exactly data.length bytes: the download may already be appending to the file.
    let fd;
    try {
      fd = openSync(data.file, 'r');
      const buf = new Uint8Array(${1 << 20});
      let left = data.length;
      for (let n; left > 0 && (n = readSync(fd, buf, 0, Math.min(buf.length, left), null)) > 0; left -= n) hasher.update(buf.subarray(0, n));
      if (left > 0) fail(data.file + ' is shorter than ' + data.length + ' bytes');
    } catch (err) {
      fail(err);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  } else if (data.digest) {
    if (failure) postMessage({ gen, error: failure });
    else postMessage({ gen, hashed, digest: hasher.digest('hex') });
    hashed = 0;
  }
};
`;

type Reply = { gen: number; hashed?: number; digest?: string; error?: string };

let workerUrl: string | undefined;
let generation = 0;

/** A hash worker and whoever uses it now; its handlers are set once and follow the user. */
interface Slot {
  worker: Worker;
  onReply?: (r: Reply) => void;
}
const idle: Slot[] = [];

function takeSlot(): Slot {
  const reused = idle.pop();
  if (reused) return reused;
  workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'application/javascript' }));
  const slot: Slot = { worker: new Worker(workerUrl) };
  slot.worker.onmessage = ({ data }: MessageEvent<Reply>) => slot.onReply?.(data);
  slot.worker.onerror = (e) => slot.onReply?.({ gen: -1, error: e.message });
  return slot;
}

/** A worker in use keeps the process alive until its digest arrives; an idle one must not keep `da` running. */
function keepAlive(worker: Worker, on: boolean): void {
  const w = worker as unknown as { ref(): void; unref(): void };
  if (on) w.ref();
  else w.unref();
}

/**
 * A sha256 over bytes given in order, computed by a worker thread. With `prefix`, the first
 * `length` bytes of that file are hashed first (a resumed part).
 */
export function createStreamHasher(prefix?: { file: string; length: number }): StreamHasher {
  const slot = takeSlot();
  const { worker } = slot;
  let pending = 0;
  let failed: Error | undefined;
  let done = false;
  const waiters = new Set<() => void>();
  let onDigest: ((r: Reply) => void) | undefined;
  const gen = ++generation;
  slot.onReply = (data) => {
    // gen -1: the worker itself failed, whoever uses it.
    if (data.gen !== gen && data.gen !== -1) return;
    if (data.error) failed = new Error(`hashing failed: ${data.error}`);
    if (data.hashed) pending -= data.hashed;
    if (data.digest !== undefined || data.error) onDigest?.(data);
    for (const w of waiters) w();
    waiters.clear();
  };
  keepAlive(worker, true);
  worker.postMessage({ start: gen, ...prefix });
  const release = () => {
    done = true;
    slot.onReply = undefined;
    keepAlive(worker, false);
    if (failed) worker.terminate();
    else idle.push(slot);
  };
  return {
    update(chunk) {
      if (done) throw new Error('hasher already finished');
      if (failed) throw failed;
      pending += chunk.byteLength;
      // A view that spans its whole buffer moves to the worker without a copy.
      const own = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer;
      const msg = own ? chunk : chunk.slice();
      worker.postMessage(msg, [msg.buffer as ArrayBuffer]);
    },
    async backlogBelow(limit) {
      // Progress comes in steps of REPORT_EVERY: a lower limit could wait for ever.
      limit = Math.max(limit, REPORT_EVERY + 1);
      while (pending >= limit && !failed) await new Promise<void>((resolve) => waiters.add(resolve));
      if (failed) throw failed;
    },
    digest() {
      if (done) return Promise.reject(new Error('hasher already finished'));
      if (failed) {
        const err = failed;
        release();
        return Promise.reject(err);
      }
      return new Promise<string>((resolve, reject) => {
        onDigest = (r) => {
          release();
          if (r.digest !== undefined) resolve(r.digest);
          else reject(failed ?? new Error(`hashing failed: ${r.error}`));
        };
        worker.postMessage({ digest: true });
      });
    },
    abandon() {
      if (!done) release();
    },
  };
}
