/**
 * A query worker process: the server's pool (src/query/pool.ts) starts it from the same
 * executable, sends it one query at a time over IPC and kills it when a query passes its
 * time limit. Whatever user SQL does here (crash DuckDB, run away, exhaust memory up to
 * its cap) ends this process at most, never the server.
 *
 * Protocol (JSON over the IPC channel): the worker sends `{ready: true}` once; then for
 * each WorkerRequest it answers one WorkerReply with the same id.
 */
import { readFileSync } from 'node:fs';
import { SqlError } from './guard.ts';
import { createSandboxes, type QueryRequest, type SandboxesOptions, type SandboxResult, type SandboxSpec } from './sandbox.ts';

export interface WorkerRequest extends QueryRequest {
  id: number;
  /** Which sandbox: the pool keys them by user and views. */
  key: string;
  spec: SandboxSpec;
}

/** The first message of a worker; `capped` says whether its memory cap is in force. */
export interface WorkerReady {
  ready: true;
  capped: boolean;
}

export type WorkerReply =
  | { id: number; ok: true; result: SandboxResult }
  | { id: number; ok: false; /** The query was refused or DuckDB rejected it (the caller's mistake). */ refused: boolean; message: string };

export interface WorkerOptions extends SandboxesOptions {
  /** Memory this process may allocate beyond what it holds once started (MB). */
  memoryCapMb?: number;
}

/**
 * Caps this process's data segment at what it holds now plus `capMb` (RLIMIT_DATA, set
 * with prlimit). The runtime reserves gigabytes of address space at start, so a fixed
 * rlimit would either break start-up or cap nothing; relative to the start it caps what
 * queries allocate, and DuckDB then fails the allocation with an out-of-memory error.
 * Returns false where that is not possible (no /proc or no prlimit).
 */
function capMemory(capMb: number): boolean {
  const prlimit = Bun.which('prlimit');
  let status: string;
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return false;
  }
  const dataKb = Number(/^VmData:\s+(\d+) kB/m.exec(status)?.[1]);
  if (!prlimit || !dataKb) return false;
  const limit = dataKb * 1024 + capMb * 1024 * 1024;
  return Bun.spawnSync([prlimit, '--pid', String(process.pid), `--data=${limit}`]).exitCode === 0;
}

/** Serves queries on this process's IPC channel until the parent goes away. */
export function serveQueries(options: WorkerOptions): void {
  const sandboxes = createSandboxes(options);
  const capped = options.memoryCapMb ? capMemory(options.memoryCapMb) : false;
  const send = (message: WorkerReply | WorkerReady) => process.send!(message);
  process.on('message', async (request: WorkerRequest) => {
    try {
      send({ id: request.id, ok: true, result: await sandboxes.run(request.key, request.spec, request) });
    } catch (err) {
      send({ id: request.id, ok: false, refused: err instanceof SqlError, message: err instanceof Error ? err.message : String(err) });
    }
  });
  // The channel closes when the server exits, even by SIGKILL: do not outlive it.
  process.on('disconnect', () => process.exit(0));
  send({ ready: true, capped });
}

/** The worker's process entry: `argv` is its JSON options (from the pool's command line). */
export function runQueryWorkerProcess(optionsJson: string | undefined): void {
  if (!process.send) {
    process.stderr.write('the query worker is started by the da server, not by hand\n');
    process.exit(2);
  }
  serveQueries(JSON.parse(optionsJson ?? '{}') as WorkerOptions);
}

if (import.meta.main) runQueryWorkerProcess(process.argv[2]);
