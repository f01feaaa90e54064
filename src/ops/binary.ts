/**
 * Where this process comes from: `bun src/server.ts` in a checkout, or the compiled `da`
 * (`bun build --compile`), whose own modules live in Bun's embedded file system (`$bunfs`)
 * and which has no source tree or node_modules beside it.
 */

/** The hidden first argument that makes the compiled `da` run a query worker (see cli/main.ts). */
export const QUERY_WORKER_ARG = '__query-worker';

/** The hidden first argument that makes the compiled `da` run a SQL script inside the script sandbox (src/scripts/sql-runner.ts). */
export const SCRIPT_SQL_ARG = '__script-sql';

/** True when running as the compiled `da` executable. */
export function isCompiledBinary(moduleUrl: string = import.meta.url): boolean {
  return moduleUrl.includes('$bunfs') || moduleUrl.includes('~BUN');
}
