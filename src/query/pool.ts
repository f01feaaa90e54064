import { readdirSync, rmSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import type { Subprocess } from 'bun';
import { ProcessFailedError, RateLimitError, ServiceUnavailableError, TimeoutError } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { SqlError } from './guard.ts';
import { isCompiledBinary, QUERY_WORKER_ARG } from '../ops/binary.ts';
import { specKey, type SandboxResult, type SandboxSpec } from './sandbox.ts';
import type { WorkerOptions, WorkerReady, WorkerReply, WorkerRequest } from './worker.ts';

export interface PoolQuery {
  /** The user the query runs for: sandboxes and concurrency limits are per user. */
  owner: string;
  sql: string;
  limit: number;
  /** Bytes of JSON rows returned at most. */
  maxBytes: number;
  /** Measured from when the worker receives the query; past it the worker is killed. */
  timeoutMs: number;
}

export interface QueryResult extends SandboxResult {
  elapsed_ms: number;
}

export interface QueryPoolOptions {
  /** Spill files go to `<dataDir>/tmp/query/`. */
  dataDir: string;
  /** DuckDB memory limit of each sandbox. */
  memoryLimit: string;
  /** DuckDB threads of each sandbox. */
  threads: number;
  /** Workers kept running while idle, and started at most. */
  minWorkers?: number;
  maxWorkers?: number;
  /** Queries one user may have running at once; more get 429. */
  perUser?: number;
  /** Memory each worker may allocate for queries beyond its start-up size (RLIMIT_DATA, where `prlimit` exists). */
  workerMemoryMb?: number;
  /** How long a query waits for a free worker before 503. */
  queueMs?: number;
  /** A worker idle this long is stopped (down to minWorkers). */
  idleMs?: number;
  /** Sandboxes each worker keeps open. */
  sandboxesPerWorker?: number;
  /** How to start a worker; the default runs src/query/worker.ts with this executable. */
  command?: string[];
  logger?: Logger;
}

/** Runs user SQL in a pool of worker processes (see createQueryPool). */
export interface QueryPool {
  run(spec: SandboxSpec, query: PoolQuery): Promise<QueryResult>;
  /** The running workers: process id, state and how many sandboxes each holds (for tests and metrics). */
  workers(): Array<{ pid: number; state: 'starting' | 'idle' | 'busy'; sandboxes: number }>;
  close(): void;
}

interface Job {
  id: number;
  key: string;
  started: number;
  timeoutMs: number;
  timer: ReturnType<typeof setTimeout>;
  resolve(result: QueryResult): void;
  reject(err: Error): void;
}

interface Worker {
  proc: Subprocess;
  state: 'starting' | 'idle' | 'busy' | 'dead';
  ready: Promise<void>;
  markReady(): void;
  failStart(err: Error): void;
  /** Sandbox keys this worker holds, most recent last (mirrors its own LRU). */
  keys: string[];
  idleSince: number;
  job?: Job;
}

interface Waiter {
  key: string;
  resolve(worker: Worker): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * `[executable, worker entry]`: the same executable that runs the server. From a checkout
 * that is bun with src/query/worker.ts; the compiled `da` runs itself with a hidden first
 * argument that cli/main.ts checks before anything else loads.
 */
export function queryWorkerCommand(): string[] {
  if (isCompiledBinary()) return [process.execPath, QUERY_WORKER_ARG];
  return [process.execPath, join(import.meta.dir, 'worker.ts')];
}

/**
 * A worker's environment: no secrets, only PATH and what locates the DuckDB library the
 * compiled `da` extracts into its cache folder (HOME, XDG_CACHE_HOME, DA_CACHE_DIR).
 */
export function queryWorkerEnv(env: Record<string, string | undefined> = process.env): Record<string, string> {
  const out: Record<string, string> = { PATH: env.PATH ?? '/usr/bin:/bin' };
  for (const name of ['HOME', 'XDG_CACHE_HOME', 'DA_CACHE_DIR']) if (env[name]) out[name] = env[name]!;
  return out;
}

/** Workers run at a lower CPU priority, so the server's own requests come first. */
const WORKER_NICE = 10;

/**
 * User SQL runs out of the server process, in a small pool of worker processes started
 * from the same executable. Each worker runs one query at a time in sandboxes of its own
 * (one per user and set of views, see createSandboxes), at a lower CPU priority and with
 * a memory cap (see capMemory in worker.ts). The pool
 * - sends a query to an idle worker, preferring one that already holds the caller's sandbox;
 *   starts another (up to maxWorkers) or queues it for at most queueMs (then 503);
 * - limits the queries one user has running (429 past perUser), so one analyst cannot hold
 *   every worker;
 * - kills the worker when a query passes its time limit (408), and answers 408 as well when
 *   a result arrives after it;
 * - replaces a worker that dies; the query it ran gets a 500 that says so.
 * The server's own state database never shares a thread, a connection or a process with user SQL.
 *
 * @example
 * const pool = createQueryPool({ dataDir, memoryLimit: '1GB', threads: 2 })
 * await pool.run(spec, { owner: user.id, sql, limit: 1000, maxBytes: 50e6, timeoutMs: 30_000 })
 */
export function createQueryPool(options: QueryPoolOptions): QueryPool {
  const {
    dataDir, memoryLimit, threads, minWorkers = 1, maxWorkers = 8, perUser = 3, workerMemoryMb = 2048,
    queueMs = 10_000, idleMs = 5 * 60_000, sandboxesPerWorker = 8, command = queryWorkerCommand(), logger = silentLogger,
  } = options;
  const spillRoot = join(dataDir, 'tmp', 'query');
  // Spill files of a previous process are of no use to anyone.
  rmSync(spillRoot, { recursive: true, force: true });
  const workerOptions: WorkerOptions = { spillRoot, memoryLimit, threads, maxInstances: sandboxesPerWorker, memoryCapMb: workerMemoryMb };
  let warnedUncapped = false;

  const workers = new Set<Worker>();
  const waiters: Waiter[] = [];
  const running = new Map<string, number>();
  let seq = 0;
  let closed = false;

  function spawn(): Worker {
    let markReady!: () => void;
    let failStart!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failStart = reject;
    });
    ready.catch(() => {});
    const cmd = [...command, JSON.stringify(workerOptions)];
    const worker: Worker = {
      state: 'starting', ready, markReady, failStart, keys: [], idleSince: performance.now(),
      proc: Bun.spawn(cmd, {
        // No secrets in a worker's environment: it needs none.
        env: queryWorkerEnv(),
        stdin: 'ignore',
        stdout: 'ignore',
        stderr: 'pipe',
        serialization: 'json',
        ipc: (message) => onMessage(worker, message as WorkerReply | WorkerReady),
        onExit: (_proc, code, signal) => onExit(worker, code, signal),
      }),
    };
    try {
      setPriority(worker.proc.pid, WORKER_NICE);
    } catch {
      // Not permitted on some systems: the worker then competes at normal priority.
    }
    logStderr(worker.proc);
    workers.add(worker);
    return worker;
  }

  async function logStderr(proc: Subprocess) {
    if (!(proc.stderr instanceof ReadableStream)) return;
    const decoder = new TextDecoder();
    const reader = proc.stderr.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const text = decoder.decode(value).trim();
        if (text) logger.warn('query worker stderr', { pid: proc.pid, text: text.slice(0, 2000) });
      }
    } catch {
      // The pipe closes with the process.
    }
  }

  function ensureMinimum() {
    if (closed) return;
    let live = 0;
    for (const w of workers) if (w.state !== 'dead') live++;
    for (; live < minWorkers; live++) spawn().ready.then(() => handOut(), () => {});
  }

  function onMessage(worker: Worker, message: WorkerReply | WorkerReady) {
    if ('ready' in message) {
      if (!message.capped && !warnedUncapped) {
        warnedUncapped = true;
        logger.warn('query workers run without a memory rlimit (no prlimit or /proc here); DuckDB memory_limit still applies');
      }
      if (worker.state === 'starting') worker.state = 'idle';
      worker.markReady();
      return;
    }
    const job = worker.job;
    if (!job || job.id !== message.id) return;
    clearTimeout(job.timer);
    worker.job = undefined;
    worker.keys = [...worker.keys.filter((k) => k !== job.key), job.key].slice(-sandboxesPerWorker);
    const elapsed = performance.now() - job.started;
    if (elapsed > job.timeoutMs) job.reject(timeoutError(job.timeoutMs));
    else if (message.ok) job.resolve({ ...message.result, elapsed_ms: Math.round(elapsed) });
    else job.reject(message.refused ? new SqlError(message.message) : new ProcessFailedError(`the query failed in its worker: ${message.message}`));
    release(worker);
  }

  /** A killed worker cannot clean up: its sandboxes' spill files (`<pid>-<n>/`) go now. */
  function removeSpillFiles(pid: number) {
    let names: string[];
    try {
      names = readdirSync(spillRoot);
    } catch {
      return;
    }
    for (const name of names) if (name.startsWith(`${pid}-`)) rmSync(join(spillRoot, name), { recursive: true, force: true });
  }

  function onExit(worker: Worker, code: number | null, signal: number | string | null) {
    const wasStarting = worker.state === 'starting';
    worker.state = 'dead';
    workers.delete(worker);
    removeSpillFiles(worker.proc.pid);
    worker.failStart(new ServiceUnavailableError('a query worker could not be started', 5));
    const job = worker.job;
    worker.job = undefined;
    if (job) {
      clearTimeout(job.timer);
      logger.warn('query worker died during a query', { pid: worker.proc.pid, code, signal });
      job.reject(new ProcessFailedError('the query ended its worker process (it crashed or ran out of memory); the worker was replaced'));
    } else if (wasStarting && !closed) {
      logger.error('query worker exited before it was ready', { code, signal });
    }
    // A worker that cannot start must not be respawned in a tight loop: only replace it
    // when it had started once.
    if (!wasStarting) ensureMinimum();
    handOut();
  }

  function kill(worker: Worker) {
    worker.state = 'dead';
    workers.delete(worker);
    worker.proc.kill('SIGKILL');
  }

  function timeoutError(ms: number) {
    return new TimeoutError(`query exceeded ${ms} ms and was stopped`);
  }

  /** Gives idle workers to waiting queries, starting workers while under maxWorkers. */
  function handOut() {
    while (waiters.length) {
      const worker = pickIdle(waiters[0]!.key);
      if (worker) {
        const waiter = waiters.shift()!;
        clearTimeout(waiter.timer);
        worker.state = 'busy';
        waiter.resolve(worker);
        continue;
      }
      let starting = 0;
      for (const w of workers) if (w.state === 'starting') starting++;
      if (starting < waiters.length && workers.size < maxWorkers && !closed) {
        // A fresh worker serves the queue once it is ready.
        const fresh = spawn();
        fresh.ready.then(() => handOut(), (err) => waiters.shift()?.reject(err));
      }
      return;
    }
  }

  function pickIdle(key: string): Worker | undefined {
    let any: Worker | undefined;
    for (const w of workers) {
      if (w.state !== 'idle') continue;
      if (w.keys.includes(key)) return w;
      if (!any || w.keys.length < any.keys.length) any = w;
    }
    return any;
  }

  function release(worker: Worker) {
    if (worker.state === 'dead') return;
    worker.state = 'idle';
    worker.idleSince = performance.now();
    handOut();
  }

  function acquire(key: string): Promise<Worker> {
    const idle = pickIdle(key);
    if (idle && waiters.length === 0) {
      idle.state = 'busy';
      return Promise.resolve(idle);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        key, resolve, reject,
        timer: setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new ServiceUnavailableError(`every query worker is busy; try again in a few seconds`, Math.ceil(queueMs / 1000)));
        }, queueMs),
      };
      waiters.push(waiter);
      handOut();
    });
  }

  function execute(worker: Worker, request: Omit<WorkerRequest, 'id'>, timeoutMs: number): Promise<QueryResult> {
    return new Promise((resolve, reject) => {
      const job: Job = {
        id: ++seq, key: request.key, started: performance.now(), timeoutMs, resolve, reject,
        timer: setTimeout(() => {
          if (worker.job !== job) return;
          worker.job = undefined;
          kill(worker);
          reject(timeoutError(timeoutMs));
          ensureMinimum();
          handOut();
        }, timeoutMs),
      };
      worker.job = job;
      worker.proc.send({ ...request, id: job.id } satisfies WorkerRequest);
    });
  }

  const sweeper = setInterval(() => {
    const now = performance.now();
    let live = workers.size;
    for (const w of [...workers]) {
      if (live > minWorkers && w.state === 'idle' && now - w.idleSince > idleMs) {
        kill(w);
        live--;
      }
    }
  }, Math.min(idleMs, 60_000));
  sweeper.unref?.();
  ensureMinimum();

  return {
    async run(spec, { owner, sql, limit, maxBytes, timeoutMs }) {
      if (closed) throw new ServiceUnavailableError('the server is shutting down', 5);
      const mine = running.get(owner) ?? 0;
      if (mine >= perUser) {
        throw new RateLimitError(`you have ${mine} queries running (at most ${perUser} at once); wait for one to finish`, 1);
      }
      running.set(owner, mine + 1);
      try {
        const key = `${owner}\n${specKey(spec)}`;
        const worker = await acquire(key);
        return await execute(worker, { key, spec, sql, limit, maxBytes }, timeoutMs);
      } finally {
        const left = (running.get(owner) ?? 1) - 1;
        if (left > 0) running.set(owner, left);
        else running.delete(owner);
      }
    },

    workers() {
      return [...workers]
        .filter((w) => w.state !== 'dead')
        .map((w) => ({ pid: w.proc.pid, state: w.state as 'starting' | 'idle' | 'busy', sandboxes: w.keys.length }));
    },

    close() {
      closed = true;
      clearInterval(sweeper);
      for (const waiter of waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new ServiceUnavailableError('the server is shutting down', 5));
      }
      for (const w of [...workers]) kill(w);
      rmSync(spillRoot, { recursive: true, force: true });
    },
  };
}
