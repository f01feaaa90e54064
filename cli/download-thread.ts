import { CliError } from './errors.ts';
import { StalledError } from './retry.ts';

/**
 * Download threads. One JavaScript thread that receives, writes and hashes four parallel
 * downloads is busy all the time (sha256 alone is about a core-second per 2 GB), so a sync
 * of large tables ran at the speed of that one thread. Each large transfer runs instead on
 * a worker thread of its own (cli/download-worker.ts runs `transferOnce` there), and the
 * main thread only counts progress and renames finished files. Idle threads are kept for
 * the next transfer and do not keep the process alive.
 */

/** One transfer as the worker gets it: plain data (the client is rebuilt from server and token). */
export interface TransferRequest {
  id?: number;
  server: string | undefined;
  token: string | undefined;
  url: string;
  dest: string;
  expected: { hash: string; size: number | null };
  idleTimeoutMs: number;
  flush: boolean;
}

/** An error as it crosses threads: enough to rebuild what retries and messages look at. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  exitCode?: number;
  details?: Record<string, unknown>;
  afterMs?: number;
}

export type WorkerMessage = { id: number } & ({ bytes: number } | { done: { bytes: number; resumed: boolean } } | { error: WireError });

export function errorToWire(err: unknown): WireError {
  if (err instanceof StalledError) return { name: err.name, message: err.message, afterMs: err.afterMs };
  if (err instanceof CliError) {
    // The cause (a network error) decides whether the failure is transient: keep its code.
    const code = (err.cause as { code?: unknown } | undefined)?.code;
    return { name: err.name, message: err.message, exitCode: err.exitCode, details: err.details, ...(typeof code === 'string' ? { code } : {}) };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
}

export function errorFromWire(w: WireError): Error {
  if (w.name === 'StalledError') return new StalledError(w.afterMs ?? 0);
  const cause = w.code ? Object.assign(new Error(w.message), { code: w.code }) : undefined;
  if (w.name === 'CliError') return new CliError(w.message, w.exitCode, w.details ?? {}, cause ? { cause } : {});
  return Object.assign(new Error(w.message), { name: w.name, ...(w.code ? { code: w.code } : {}) });
}

/** Bun's Worker can be left out of what keeps the process alive (the DOM type does not say so). */
type ThreadWorker = Worker & { ref(): void; unref(): void };

interface Thread {
  worker: ThreadWorker;
  /** Transfers running on it, by id. */
  running: Map<number, { onBytes: (n: number) => void; resolve: (r: { bytes: number; resumed: boolean }) => void; reject: (e: Error) => void }>;
}

/**
 * As many threads as cores (at most `MAX_THREADS`): on a 2-core laptop two threads carry the
 * four parallel downloads, two each, which is as fast as four threads and costs two fewer
 * JavaScript heaps.
 */
const MAX_THREADS = 4;
const threads: Thread[] = [];
let nextId = 0;

/** How many transfers ran on download threads in this process. */
export const threadStats = { transfers: 0 };

function threadLimit(): number {
  return Math.max(1, Math.min(MAX_THREADS, navigator.hardwareConcurrency || 1));
}

function startThread(): Thread {
  // Listed as an entry point of the compiled binary (scripts/build-cli.ts), so this URL
  // resolves inside the executable as it does in the source tree.
  const worker = new Worker(new URL('./download-worker.ts', import.meta.url).href, { smol: true } as WorkerOptions) as ThreadWorker;
  const t: Thread = { worker, running: new Map() };
  worker.addEventListener('message', (e: MessageEvent<WorkerMessage & { id: number }>) => {
    const m = e.data;
    const job = t.running.get(m.id);
    if (!job) return;
    if ('bytes' in m) return job.onBytes(m.bytes);
    t.running.delete(m.id);
    if (!t.running.size) worker.unref();
    if ('done' in m) job.resolve(m.done);
    else job.reject(errorFromWire(m.error));
  });
  worker.addEventListener('error', (e: ErrorEvent) => {
    // A thread that died takes its transfers with it; the next transfer starts a new thread.
    threads.splice(threads.indexOf(t), 1);
    worker.terminate();
    for (const job of t.running.values()) job.reject(new CliError(`the download thread failed: ${e.message}`));
    t.running.clear();
  });
  threads.push(t);
  return t;
}

/** Runs one transfer on a download thread; `onBytes` hears progress in batches. */
export function transferOnThread(req: TransferRequest, onBytes: (n: number) => void): Promise<{ bytes: number; resumed: boolean }> {
  let t = threads.reduce<Thread | undefined>((best, x) => (!best || x.running.size < best.running.size ? x : best), undefined);
  if (!t || (t.running.size > 0 && threads.length < threadLimit())) t = startThread();
  const id = nextId++;
  threadStats.transfers++;
  t.worker.ref();
  return new Promise((resolve, reject) => {
    t.running.set(id, { onBytes, resolve, reject });
    t.worker.postMessage({ ...req, id });
  });
}
