import { Command, Option } from 'clipanion';
import { resolve } from 'node:path';
import { BaseCommand } from '../../base.ts';
import { CliError, EXIT } from '../../errors.ts';
import { formatChecks, type Check } from './common.ts';

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`${what} did not answer within ${ms / 1000} s`)), ms).unref?.())]);
}

/** `da setup test-connection`: checks each source and the mail settings of an instance.yaml. */
export class SetupTestConnectionCommand extends BaseCommand {
  static paths = [['setup', 'test-connection']];
  static usage = Command.Usage({
    category: 'Setup',
    description: 'Check each configured source and the mail settings, and say what is wrong',
    details: `
      Reads instance.yaml (\`--config\`, else $DA_CONFIG, else ./instance.yaml) with the environment, as the server does, and for each source lists its tables (a local folder must exist and be readable; a Keboola token must be accepted); with \`email\` set, connects to the SMTP server and signs in. Exit 1 when a check failed.
    `,
    examples: [['This folder', '$0 setup test-connection'], ['Another config', '$0 setup test-connection --config /srv/da/instance.yaml --json']],
  });
  config = Option.String('--config', { description: 'instance.yaml to check (default: $DA_CONFIG or ./instance.yaml)' });
  timeout = Option.String('--timeout', '15', { description: 'Seconds each check may take' });

  async run() {
    const path = resolve(this.context.cwd, this.config ?? this.context.env.DA_CONFIG ?? 'instance.yaml');
    const ms = Number(this.timeout) * 1000;
    if (!Number.isFinite(ms) || ms <= 0) throw new CliError(`--timeout must be a number of seconds, not "${this.timeout}"`, EXIT.usage);
    // Loaded here so other commands start without the config schema, connectors and mailer.
    const [{ ConfigError, loadConfig }, { createConnector }, { default: nodemailer }] = await Promise.all([
      import('../../../src/config.ts'), import('../../../src/connectors/index.ts'), import('nodemailer'),
    ]);
    let config;
    try {
      config = loadConfig({ ...this.context.env, DA_CONFIG: path }, this.context.cwd);
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.message);
      throw err;
    }
    const checks: Check[] = [];
    for (const [dataset, source] of Object.entries(config.sources)) {
      const name = `source ${dataset} (${source.type})`;
      try {
        const tables = await withTimeout(createConnector(dataset, source).listTables(), ms, name);
        checks.push({ name, status: tables.length ? 'ok' : 'failed', detail: tables.length ? `${tables.length} tables: ${tables.slice(0, 5).map((t) => t.name).join(', ')}${tables.length > 5 ? ', …' : ''}` : 'reachable, but it offers no tables' });
      } catch (err) {
        checks.push({ name, status: 'failed', detail: (err as Error).message.split('\n')[0]! });
      }
    }
    if (!Object.keys(config.sources).length) checks.push({ name: 'sources', status: 'failed', detail: 'none configured: add one under `sources:` (da setup init --source NAME=FOLDER)' });
    if (config.email) {
      const transport = nodemailer.createTransport(config.email.smtp_url);
      try {
        await withTimeout(transport.verify(), ms, 'SMTP server');
        checks.push({ name: 'email (SMTP)', status: 'ok', detail: `${new URL(config.email.smtp_url).host} accepts the connection and sign-in` });
      } catch (err) {
        checks.push({ name: 'email (SMTP)', status: 'failed', detail: (err as Error).message.split('\n')[0]! });
      } finally {
        transport.close();
      }
    } else {
      checks.push({ name: 'email (SMTP)', status: 'skipped', detail: 'not configured: mails are written to the server log' });
    }
    const failed = checks.filter((c) => c.status === 'failed').length;
    this.emit({ config: path, ok: failed === 0, checks }, () => [...formatChecks(checks), failed ? `${failed} check(s) failed` : 'all checks passed']);
    return failed ? EXIT.failure : EXIT.ok;
  }
}
