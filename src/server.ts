import { accessSync, constants, mkdirSync } from 'node:fs';
import { websocket } from 'hono/bun';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { SchemaTooNewError } from './db/system.ts';
import { MigrationFailedError } from './ops/versions.ts';
import { bootstrap, shutdown } from './boot.ts';
import { createApp } from './app.ts';
import { VERSION } from './version.ts';

/** Why the server could not start, in one line for the operator; `code` is the exit code. */
export class StartupError extends Error {
  override name = 'StartupError';
  constructor(message: string, readonly code: 1 | 2) {
    super(message);
  }
}

/** A running server: its port and how to stop it (checkpointing the state database). */
export interface RunningServer {
  port: number;
  /** Stops serving, stops the jobs and closes the state database; `signal` is logged. */
  stop(signal?: string): Promise<void>;
}

/**
 * Loads the config from `env`, bootstraps, serves and schedules the jobs: what both
 * `bun src/server.ts` and the compiled `da server start` run. Mistakes an operator can fix
 * (config, a port in use, a data directory without write permission, a newer or failed
 * schema) throw StartupError with one line.
 */
export async function startServer(env: Record<string, string | undefined> = process.env): Promise<RunningServer> {
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new StartupError(err.message, 2);
    throw err;
  }
  try {
    mkdirSync(config.dataDir, { recursive: true });
    accessSync(config.dataDir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new StartupError(`the data directory ${config.dataDir} is not writable (${code}); set DA_DATA_DIR to a folder this user may write`, 1);
  }
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  let runtime;
  try {
    runtime = await bootstrap(config, logger);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof SchemaTooNewError || err instanceof MigrationFailedError || e.name === 'ValidationError') throw new StartupError(e.message, 1);
    // DuckDB's lock: another process (a second server, a container still running) holds the state database.
    const text = String(e?.message ?? '');
    if (/Could not set lock on file/.test(text)) {
      const pid = /\(PID (\d+)\)/.exec(text)?.[1];
      throw new StartupError(`the data directory ${config.dataDir} is in use by another process${pid ? ` (PID ${pid})` : ''}; stop it first (two servers must never share a data directory)`, 1);
    }
    if (e.code === 'EACCES' || e.code === 'EROFS' || e.code === 'EPERM') {
      throw new StartupError(`the data directory ${config.dataDir} is not writable (${e.code}${e.path ? `: ${e.path}` : ''}); set DA_DATA_DIR to a folder this user may write`, 1);
    }
    throw err;
  }
  const app = createApp(runtime);
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ port: config.server.port, hostname: config.server.hostname, fetch: app.fetch, websocket, idleTimeout: 120 });
  } catch (err) {
    await shutdown(runtime);
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new StartupError(`port ${config.server.port} is in use; stop what listens there or set PORT`, 1);
    throw err;
  }
  runtime.services.jobs.start();
  // Not awaited: a slow Telegram API must not hold up start-up (start() logs its own failures).
  void runtime.services.notifications.start();
  logger.info('da server listening', { url: `http://localhost:${server.port}`, version: VERSION, data_dir: config.dataDir });
  let stopped: Promise<void> | undefined;
  return {
    port: server.port!,
    stop(signal) {
      return (stopped ??= (async () => {
        logger.info('stopping', { signal: signal ?? 'stop' });
        await server.stop();
        await shutdown(runtime);
      })());
    },
  };
}

/** Runs the server until SIGTERM/SIGINT; a StartupError ends the process with its line and code. */
export async function runServerProcess(env: Record<string, string | undefined> = process.env, label = 'da server'): Promise<void> {
  let running: RunningServer;
  try {
    running = await startServer(env);
  } catch (err) {
    if (err instanceof StartupError) {
      process.stderr.write(`${label}: ${err.message}\n`);
      process.exit(err.code);
    }
    throw err;
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    await running.stop(signal);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

if (import.meta.main) await runServerProcess();
