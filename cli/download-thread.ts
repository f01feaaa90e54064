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

export type WorkerMessage = { bytes: number } | { done: { bytes: number; resumed: boolean } } | { error: WireError };

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

const idle: ThreadWorker[] = [];

/** How many transfers ran on download threads, and how many threads were started, in this process. */
export const threadStats = { transfers: 0, threads: 0 };

function startWorker(): ThreadWorker {
  threadStats.threads++;
  // Listed as an entry point of the compiled binary (scripts/build-cli.ts), so this URL
  // resolves inside the executable as it does in the source tree.
  return new Worker(new URL('./download-worker.ts', import.meta.url).href, { smol: true } as WorkerOptions) as ThreadWorker;
}

/** Runs one transfer on a download thread; `onBytes` hears progress in batches. */
export function transferOnThread(req: TransferRequest, onBytes: (n: number) => void): Promise<{ bytes: number; resumed: boolean }> {
  const worker = idle.pop() ?? startWorker();
  worker.ref();
  threadStats.transfers++;
  return new Promise((resolve, reject) => {
    const done = (ok: boolean) => {
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
      if (ok) {
        worker.unref();
        idle.push(worker);
      } else worker.terminate();
    };
    const onMessage = (e: MessageEvent<WorkerMessage>) => {
      const m = e.data;
      if ('bytes' in m) onBytes(m.bytes);
      else if ('done' in m) {
        done(true);
        resolve(m.done);
      } else {
        done(true);
        reject(errorFromWire(m.error));
      }
    };
    const onError = (e: ErrorEvent) => {
      done(false);
      reject(new CliError(`the download thread failed: ${e.message}`));
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
    worker.postMessage(req);
  });
}
