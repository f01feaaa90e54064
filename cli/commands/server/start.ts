import { Command, Option } from 'clipanion';
import { resolve } from 'node:path';
import type { DaContext } from '../../base.ts';
import { EXIT } from '../../errors.ts';

/** `da server start`: the whole server (API, pages, docs, jobs) from this executable. */
export class ServerStartCommand extends Command<DaContext> {
  static paths = [['server', 'start']];
  static usage = Command.Usage({
    category: 'Server',
    description: 'Run the da server from this executable (same environment as `bun src/server.ts`)',
    details: `
      Serves the API, the web pages, the API docs, the notifications and the scheduled jobs until SIGTERM or SIGINT; user SQL runs in worker processes started from this same executable. The server hands out this executable at \`/cli/da\`.

      Configured by the environment: \`DA_DATA_DIR\` (default \`./data\`), \`PORT\` (default 8000), \`DA_CONFIG\` (path of instance.yaml), \`DA_SECRET\` (generated and kept under state/ when absent), \`DA_ADMIN_EMAIL\` + \`DA_ADMIN_PASSWORD\` (first admin). The options below override the first three. Nothing else is read from disk.
    `,
    examples: [
      ['Serve ./data on port 8000', '$0 server start'],
      ['Another data directory and config', '$0 server start --data-dir /srv/da --config /srv/da/instance.yaml --port 8080'],
    ],
  });
  dataDir = Option.String('--data-dir', { description: 'Data directory (sets DA_DATA_DIR)' });
  config = Option.String('--config', { description: 'Path of instance.yaml (sets DA_CONFIG)' });
  port = Option.String('--port', { description: 'Port to listen on; 0 picks a free one (sets PORT)' });

  async execute(): Promise<number> {
    const env: Record<string, string | undefined> = { ...this.context.env };
    if (this.dataDir) env.DA_DATA_DIR = resolve(this.context.cwd, this.dataDir);
    if (this.config) env.DA_CONFIG = resolve(this.context.cwd, this.config);
    if (this.port !== undefined) {
      if (!/^\d{1,5}$/.test(this.port)) {
        this.context.stderr.write(`da: --port must be a number from 0 to 65535, not "${this.port}"\n`);
        return EXIT.usage;
      }
      env.PORT = this.port;
    }
    // Loaded only here: every other command starts without the server's modules.
    const { startServer, StartupError } = await import('../../../src/server.ts');
    let running;
    try {
      running = await startServer(env);
    } catch (err) {
      if (err instanceof StartupError) {
        this.context.stderr.write(`da server: ${err.message}\n`);
        return err.code;
      }
      throw err;
    }
    const signal = await new Promise<string>((res) => {
      process.once('SIGTERM', () => res('SIGTERM'));
      process.once('SIGINT', () => res('SIGINT'));
    });
    await running.stop(signal);
    return EXIT.ok;
  }
}
