#!/usr/bin/env bun
/** Entry point of the `da` executable (compiled by scripts/build-cli.ts). */
import { errorDetail, oneLine, processGuard, wantsDetail } from './errors.ts';
import { staticAnswer } from './overview.ts';
import { QUERY_WORKER_ARG, SCRIPT_SQL_ARG } from '../src/ops/binary.ts';

/**
 * Anything that escapes a command ends the process with one line, not the runtime's dump of
 * the error and of the bundle's source around it (the detail with --verbose or DA_DEBUG=1).
 * A serving command (`da mcp`) logs it and keeps serving instead.
 */
function fatal(err: unknown): void {
  if (processGuard.survive) return processGuard.survive(err);
  process.stderr.write(`da: ${oneLine(err instanceof Error ? err.message || err.name : String(err))}\n`);
  if (wantsDetail(process.argv.includes('--verbose'), process.env)) process.stderr.write(`${errorDetail(err)}\n`);
  process.exit(1);
}
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
// The binary starts with the JIT reluctant to compile (scripts/build-cli.ts JIT_POLICY): a short
// command is over before compiling pays off. A process still running after 250 ms (a sync that
// downloads, the server, `da mcp`, a query worker) gets the normal policy back.
setTimeout(() => Bun.unsafe.setJITPolicy(1), 250).unref();

// The server's query pool starts workers as `da __query-worker OPTIONS` (src/query/pool.ts).
// Checked before the CLI loads: a worker needs neither clipanion nor the commands, and
// nothing of the CLI may run in a process that executes user SQL. Dynamic imports keep the
// two apart; `bun build --compile` still bundles both.
// `da`, `da --help` and `da --version` print a text made at build time (cli/overview.ts):
// nothing else is loaded. Everything else is imported only when needed; the build splits the
// bundle so that a module's Node built-ins are set up only when the module is loaded.
const answer = staticAnswer(process.argv.slice(2), process.env);
if (answer !== undefined) {
  await Bun.write(Bun.stdout, answer);
} else if (process.argv[2] === QUERY_WORKER_ARG) {
  const { runQueryWorkerProcess } = await import('../src/query/worker.ts');
  runQueryWorkerProcess(process.argv[3]);
} else if (process.argv[2] === SCRIPT_SQL_ARG) {
  // The same for a SQL script the script sandbox runs (src/scripts/runner.ts).
  const { runSqlScriptProcess } = await import('../src/scripts/sql-runner.ts');
  runSqlScriptProcess(process.argv[3]);
} else {
  // clipanion's default context, read when it loads: writers on the file descriptors instead of
  // Node's streams, which cost more to set up than all the rest of a short command
  // (cli/stdio.ts; scripts/build-cli.ts makes the compiled clipanion read this).
  const { lightStdio } = await import('./stdio.ts');
  (globalThis as { __DA_STDIO__?: unknown }).__DA_STDIO__ = lightStdio();
  const { runCli } = await import('./run.ts');
  const code = await runCli(process.argv.slice(2));
  // Flush stdout before leaving: a piped `da … --json` must not lose its document.
  process.exitCode = code;
}
