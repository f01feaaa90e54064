import { Command, Option } from 'clipanion';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BaseCommand } from '../../base.ts';
import { CliError, EXIT } from '../../errors.ts';

/** Quotes a word for the printed command line (what --dry-run shows). */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The base of `da server status|logs|deploy|rollback`: each runs one Kamal command with the
 * deploy config (kamal.yml; kamal.<destination>.yml merged for `--destination`). Kamal
 * itself needs Docker and SSH access to the hosts; `--dry-run` prints the command instead.
 */
export abstract class KamalCommand extends BaseCommand {
  destination = Option.String('-d,--destination', { description: 'Kamal destination, e.g. staging (reads kamal.<destination>.yml too)' });
  configFile = Option.String('-c,--config-file', { description: 'Kamal config (default: kamal.yml in the current folder)' });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Print the Kamal command instead of running it' });

  /** The Kamal words after `kamal` and before the config options. */
  abstract kamalArgs(): string[];

  async run() {
    const config = resolve(this.context.cwd, this.configFile ?? 'kamal.yml');
    const argv = ['kamal', ...this.kamalArgs(), '-c', config, ...(this.destination ? ['-d', this.destination] : [])];
    const line = argv.map(shellWord).join(' ');
    if (!existsSync(config)) {
      throw new CliError(`no Kamal config at ${config}: copy kamal.yml from the da repository (see docs/deploy.md) or pass --config-file`);
    }
    if (this.destination && !existsSync(config.replace(/\.ya?ml$/, `.${this.destination}.yml`))) {
      throw new CliError(`destination ${this.destination} has no ${config.replace(/\.ya?ml$/, `.${this.destination}.yml`)} (see kamal.staging.yml for an example)`, EXIT.usage);
    }
    if (this.dryRun) {
      this.emit({ command: argv, line }, () => line);
      return EXIT.ok;
    }
    const kamal = Bun.which('kamal', { PATH: this.context.env.PATH ?? '' });
    if (!kamal) {
      throw new CliError(
        `kamal is not installed here, and \`da server ${this.path[1]}\` drives it: install it (\`gem install kamal\`, Ruby 3.1+; it also needs Docker and SSH access to the hosts in kamal.yml), then run again — the command is: ${line}`,
      );
    }
    const proc = Bun.spawn([kamal, ...argv.slice(1)], {
      cwd: this.context.cwd,
      env: this.context.env as Record<string, string>,
      stdin: 'inherit',
      stdout: this.json ? 'pipe' : 'inherit',
      stderr: 'inherit',
    });
    const out = this.json && proc.stdout instanceof ReadableStream ? await new Response(proc.stdout).text() : undefined;
    const code = await proc.exited;
    if (this.json) this.emit({ command: argv, line, exit_code: code, output: out ?? '' }, () => undefined);
    if (code !== 0) throw new CliError(`kamal exited with ${code}: ${line}`);
    return EXIT.ok;
  }
}

/** `da server deploy`. */
export class ServerDeployCommand extends KamalCommand {
  static paths = [['server', 'deploy']];
  static usage = Command.Usage({
    category: 'Server',
    description: 'Build, push and deploy the server image with Kamal (kamal deploy)',
    details: `
      Runs \`kamal deploy\` with kamal.yml: builds the Dockerfile (one \`da\` binary + bubblewrap), pushes it, and switches the hosts over once \`/api/health\` answers. The state database has one writer, so the old container is stopped first (\`.kamal/hooks/pre-deploy\`): expect a few seconds without service. Take a backup first (\`da server backup\`).
    `,
    examples: [
      ['Deploy to production', '$0 server deploy'],
      ['Show what would run for staging', '$0 server deploy -d staging --dry-run'],
    ],
  });
  kamalArgs() {
    return ['deploy'];
  }
}

/** `da server rollback VERSION`. */
export class ServerRollbackCommand extends KamalCommand {
  static paths = [['server', 'rollback']];
  static usage = Command.Usage({
    category: 'Server',
    description: 'Go back to an earlier deployed image version with Kamal (kamal rollback VERSION)',
    details: `
      VERSION is an image tag Kamal deployed before (\`da server status\` lists the containers). A newer da may have migrated the state database: the server then refuses to start on the old version and says so; restore the \`state/system.duckdb.pre-v<N>\` copy the upgrade left, or a backup.
    `,
    examples: [['Roll back to a version', '$0 server rollback 3f2a9c1']],
  });
  version = Option.String({ name: 'VERSION' });
  kamalArgs() {
    return ['rollback', this.version];
  }
}

/** `da server status`. */
export class ServerStatusCommand extends KamalCommand {
  static paths = [['server', 'status']];
  static usage = Command.Usage({
    category: 'Server',
    description: 'Show the deployed containers and versions with Kamal (kamal app details)',
    examples: [['Production', '$0 server status'], ['Staging', '$0 server status -d staging']],
  });
  kamalArgs() {
    return ['app', 'details'];
  }
}

/** `da server logs`. */
export class ServerLogsCommand extends KamalCommand {
  static paths = [['server', 'logs']];
  static usage = Command.Usage({
    category: 'Server',
    description: "Show the server's log on the deployed hosts with Kamal (kamal app logs)",
    examples: [['Follow the log', '$0 server logs --follow'], ['Last 200 lines', '$0 server logs --lines 200']],
  });
  follow = Option.Boolean('-f,--follow', false, { description: 'Keep printing new lines' });
  lines = Option.String('-n,--lines', { description: 'How many lines to show' });
  kamalArgs() {
    if (this.lines !== undefined && !/^\d+$/.test(this.lines)) throw new CliError(`--lines must be a number, not "${this.lines}"`, EXIT.usage);
    return ['app', 'logs', ...(this.follow ? ['--follow'] : []), ...(this.lines ? ['--lines', this.lines] : [])];
  }
}

/** `da server health`: the container's HEALTHCHECK (the image has no curl). */
export class ServerHealthCommand extends BaseCommand {
  static paths = [['server', 'health']];
  static usage = Command.Usage({
    category: 'Server',
    description: "Check a server's /api/health; exit 0 when it answers ok or degraded",
    details: `
      Without --url it asks the server on this machine: http://127.0.0.1:$PORT (8000 by default). The Docker image uses this as its HEALTHCHECK.
    `,
    examples: [['This machine', '$0 server health'], ['Another server', '$0 server health --url https://da.example.com']],
  });
  url = Option.String('--url', { description: 'Server URL (default: http://127.0.0.1:$PORT)' });
  async run() {
    const base = (this.url ?? `http://127.0.0.1:${this.context.env.PORT || '8000'}`).replace(/\/+$/, '');
    let res: Response;
    try {
      res = await fetch(`${base}/api/health`, { signal: AbortSignal.timeout(5000) });
    } catch (err) {
      throw new CliError(`${base} does not answer: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => ({}))) as { status?: string; schema_version?: number; version?: string };
    this.emit({ url: base, http_status: res.status, ...body }, () => `${base}: ${body.status ?? res.status} (da ${body.version ?? '?'}, schema ${body.schema_version ?? '?'})`);
    return res.ok ? EXIT.ok : EXIT.failure;
  }
}
