import { websocket } from 'hono/bun';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { SchemaTooNewError } from './db/system.ts';
import { bootstrap, shutdown } from './boot.ts';
import { createApp } from './app.ts';
import { VERSION } from './version.ts';

/** Starts Bun.serve and the jobs; nothing else. */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`da server: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  let runtime;
  try {
    runtime = await bootstrap(config, logger);
  } catch (err) {
    if (err instanceof SchemaTooNewError || (err as Error).name === 'ValidationError') {
      process.stderr.write(`da server: ${(err as Error).message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const app = createApp(runtime);
  const server = Bun.serve({
    port: config.server.port,
    hostname: config.server.hostname,
    fetch: app.fetch,
    websocket,
    idleTimeout: 120,
  });
  runtime.services.jobs.start();
  // Not awaited: a slow Telegram API must not hold up start-up (start() logs its own failures).
  void runtime.services.notifications.start();
  logger.info('da server listening', { url: `http://localhost:${server.port}`, version: VERSION, data_dir: config.dataDir });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    await server.stop();
    await shutdown(runtime);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

await main();
