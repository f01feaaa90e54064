/**
 * A query worker process: the server's pool (src/query/pool.ts) starts it from the same
 * executable, sends it one query at a time over IPC and kills it when a query passes its
 * time limit. Whatever user SQL does here (crash DuckDB, run away, exhaust memory under
 * the rlimit) ends this process at most, never the server.
 *
 * Protocol (JSON over the IPC channel): the worker sends `{ready: true}` once; then for
 * each WorkerRequest it answers one WorkerReply with the same id.
 */
import { DomainError } from '../errors.ts';
import { createSandboxes, type QueryRequest, type SandboxesOptions, type SandboxResult, type SandboxSpec } from './sandbox.ts';

export interface WorkerRequest extends QueryRequest {
  id: number;
  /** Which sandbox: the pool keys them by user and views. */
  key: string;
  spec: SandboxSpec;
}

export type WorkerReply =
  | { id: number; ok: true; result: SandboxResult }
  | { id: number; ok: false; status: number; message: string };

/** Serves queries on this process's IPC channel until the parent goes away. */
export function serveQueries(options: SandboxesOptions): void {
  const sandboxes = createSandboxes(options);
  const send = (message: WorkerReply | { ready: true }) => process.send!(message);
  process.on('message', async (request: WorkerRequest) => {
    try {
      send({ id: request.id, ok: true, result: await sandboxes.run(request.key, request.spec, request) });
    } catch (err) {
      const status = err instanceof DomainError ? err.status : 500;
      send({ id: request.id, ok: false, status, message: err instanceof Error ? err.message : String(err) });
    }
  });
  // The channel closes when the server exits, even by SIGKILL: do not outlive it.
  process.on('disconnect', () => process.exit(0));
  send({ ready: true });
}

if (import.meta.main) {
  if (!process.send) {
    process.stderr.write('the query worker is started by the da server, not by hand\n');
    process.exit(2);
  }
  serveQueries(JSON.parse(process.argv[2] ?? '{}') as SandboxesOptions);
}
