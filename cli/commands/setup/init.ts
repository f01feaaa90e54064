import { Command, Option } from 'clipanion';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { BaseCommand } from '../../base.ts';
import { CliError, EXIT } from '../../errors.ts';
import { realStream } from '../../stdio.ts';

interface SourceSpec {
  name: string;
  path: string;
  public: boolean;
}

/** Quotes a YAML scalar when it needs it. */
function yamlString(s: string): string {
  return /^[\w./@:-]+$/.test(s) && !/^(true|false|null|yes|no|~)$/i.test(s) ? s : JSON.stringify(s);
}

/** The commented instance.yaml for these answers. */
export function renderInstanceYaml(a: { name: string; baseUrl?: string; sources: SourceSpec[]; smtpUrl?: string; mailFrom?: string; backupSchedule?: string }): string {
  const lines = [
    '# da server configuration (instance.yaml), written by `da setup init`.',
    '# Start the server with it: DA_CONFIG=instance.yaml da server start',
    '# Every key and its default: docs/configuration.md. ${NAME} is replaced by the environment variable NAME.',
    '',
    'instance:',
    `  name: ${yamlString(a.name)}`,
    a.baseUrl ? `  base_url: ${yamlString(a.baseUrl)}   # links in mails and the CLI installer point here` : '  # base_url: https://da.example.com   # needed for sign-in links by mail',
    '',
    '# Where the data comes from: one dataset per source; tables are registered on each sync.',
    '# A public dataset is readable by every signed-in user; others need a grant (da admin grant).',
  ];
  if (a.sources.length) {
    lines.push('sources:');
    for (const s of a.sources) {
      lines.push(`  ${s.name}:`, '    type: local', `    path: ${yamlString(s.path)}`, `    public: ${s.public}`);
    }
  } else {
    lines.push('sources: {}', '# sources:', '#   sales: { type: local, path: /srv/exports/sales, public: true }', '#   crm: { type: keboola, url: "https://connection.keboola.com", token: "${KBC_TOKEN}" }');
  }
  lines.push('');
  if (a.smtpUrl && a.mailFrom) {
    lines.push('# Outgoing mail: sign-in links and password resets.', 'email:', `  smtp_url: ${yamlString(a.smtpUrl)}`, `  from: ${yamlString(a.mailFrom)}`);
  } else {
    lines.push('# Outgoing mail (sign-in links, password resets); without it mails go to the log.', '# email:', '#   smtp_url: "smtp://user:${SMTP_PASSWORD}@smtp.example.com:587"', '#   from: "da <da@example.com>"');
  }
  lines.push('', '# Sign-in: passwords are on; Google needs a client from the Google Cloud console.', 'auth:', '  password: true', '  # google: { client_id: "…", client_secret: "${GOOGLE_CLIENT_SECRET}", allowed_domains: [example.com] }', '');
  lines.push('# Data refresh: every 15 minutes by default; null turns the schedule off.', 'sync:', '  schedule: "*/15 * * * *"', '');
  lines.push(
    '# Scheduled backups into <data dir>/backups (da server backup works without this).',
    'backup:',
    `  schedule: ${a.backupSchedule ? JSON.stringify(a.backupSchedule) : 'null   # e.g. "30 2 * * *" for every night at 02:30'}`,
    '  dir: backups',
    '  keep: 7',
    '',
  );
  return lines.join('\n');
}

/** `da setup init`: writes a commented instance.yaml from flags or answers. */
export class SetupInitCommand extends BaseCommand {
  static paths = [['setup', 'init']];
  static usage = Command.Usage({
    category: 'Setup',
    description: 'Write a commented instance.yaml for a new server (from flags, or by asking)',
    details: `
      Asks for the instance name, public URL, data sources (folders of CSV/Parquet/JSON files) and mail settings when run in a terminal without flags; otherwise takes them from the flags. The file is checked like the server checks it (every source folder must exist) before it is written; an existing file is kept unless \`--force\`.

      Next: \`DA_CONFIG=instance.yaml DA_ADMIN_EMAIL=you@example.com DA_ADMIN_PASSWORD=… da server start\`, then \`da setup first-sync\` and \`da setup verify\`.
    `,
    examples: [
      ['Ask', '$0 setup init'],
      ['From flags', '$0 setup init --name acme --source sales=/srv/exports/sales --public sales --base-url https://da.acme.com'],
    ],
  });
  out = Option.String('--out', 'instance.yaml', { description: 'File to write' });
  name = Option.String('--name', { description: 'Instance name (shown on pages)' });
  baseUrl = Option.String('--base-url', { description: 'Public URL of the server' });
  sources = Option.Array('--source', [], { description: 'A local source as NAME=FOLDER (repeatable)' });
  publics = Option.Array('--public', [], { description: 'Make this source readable by every signed-in user (repeatable)' });
  smtpUrl = Option.String('--smtp-url', { description: 'smtp://user:pass@host:port for mails' });
  mailFrom = Option.String('--mail-from', { description: 'Sender address of mails' });
  backupSchedule = Option.String('--backup-schedule', { description: 'Cron pattern of scheduled backups (off when not given)' });
  force = Option.Boolean('--force', false, { description: 'Overwrite an existing file' });

  async run() {
    const out = resolve(this.context.cwd, this.out);
    if (existsSync(out) && !this.force) throw new CliError(`${out} exists; pass --force to overwrite it`);
    const interactive = Boolean((this.context.stdin as { isTTY?: boolean }).isTTY) && !this.json && !this.sources.length && !this.name;
    const answers = interactive ? await this.ask() : this.fromFlags();
    for (const s of answers.sources) {
      if (!existsSync(s.path) || !statSync(s.path).isDirectory()) throw new CliError(`source ${s.name}: folder ${s.path} does not exist`);
    }
    const text = renderInstanceYaml(answers);
    // Checked as the server will check it, before anything is written. Loaded here so other
    // commands start without the config schema.
    const { ConfigError, loadConfig } = await import('../../../src/config.ts');
    const dir = mkdtempSync(join(tmpdir(), 'da-setup-'));
    try {
      writeFileSync(join(dir, 'instance.yaml'), text);
      loadConfig({ DA_CONFIG: join(dir, 'instance.yaml') }, this.context.cwd);
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(`the answers do not make a valid config: ${err.message}`, EXIT.usage);
      throw err;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    writeFileSync(out, text);
    this.emit({ file: out, sources: answers.sources.map((s) => s.name) }, () => [
      `wrote ${out}`,
      `next: DA_CONFIG=${out} DA_ADMIN_EMAIL=you@example.com DA_ADMIN_PASSWORD=… da server start`,
      '      then: da login --server http://localhost:8000 && da setup first-sync && da setup verify',
    ]);
  }

  private fromFlags() {
    const sources: SourceSpec[] = this.sources.map((spec) => {
      const eq = spec.indexOf('=');
      if (eq <= 0 || eq === spec.length - 1) throw new CliError(`--source must be NAME=FOLDER, not "${spec}"`, EXIT.usage);
      const name = spec.slice(0, eq);
      return { name, path: resolve(this.context.cwd, spec.slice(eq + 1)), public: this.publics.includes(name) };
    });
    for (const p of this.publics) if (!sources.some((s) => s.name === p)) throw new CliError(`--public ${p} names no --source`, EXIT.usage);
    if ((this.smtpUrl === undefined) !== (this.mailFrom === undefined)) throw new CliError('--smtp-url and --mail-from go together', EXIT.usage);
    return { name: this.name ?? 'da', baseUrl: this.baseUrl, sources, smtpUrl: this.smtpUrl, mailFrom: this.mailFrom, backupSchedule: this.backupSchedule };
  }

  private async ask() {
    // readline needs whole streams, not the light writers a compiled da runs with (cli/stdio.ts).
    const rl = createInterface({ input: realStream(this.context.stdin), output: realStream(this.context.stderr) });
    // Lines are read from a queue, not with rl.question: answers typed (or pasted) ahead of
    // their question are kept for it.
    const lines = rl[Symbol.asyncIterator]();
    try {
      const q = async (text: string, fallback = '') => {
        this.context.stderr.write(fallback ? `${text} [${fallback}]: ` : `${text}: `);
        const { value, done } = await lines.next();
        if (done) throw new CliError('the input ended before every question was answered; nothing was written');
        return String(value).trim() || fallback;
      };
      const name = await q('Instance name', 'da');
      const baseUrl = (await q('Public URL (empty: none yet)')) || undefined;
      const sources: SourceSpec[] = [];
      for (;;) {
        const src = await q('Add a folder of data files as a source, NAME=FOLDER (empty: done)');
        if (!src) break;
        const eq = src.indexOf('=');
        if (eq <= 0) {
          this.context.stderr.write('  write it as NAME=FOLDER, e.g. sales=/srv/exports/sales\n');
          continue;
        }
        const path = resolve(this.context.cwd, src.slice(eq + 1));
        if (!existsSync(path)) {
          this.context.stderr.write(`  ${path} does not exist\n`);
          continue;
        }
        const pub = /^y/i.test(await q(`  Readable by every signed-in user? (y/n)`, 'n'));
        sources.push({ name: src.slice(0, eq), path, public: pub });
      }
      const smtpUrl = (await q('SMTP URL for mails, smtp://user:pass@host:port (empty: mails go to the log)')) || undefined;
      const mailFrom = smtpUrl ? await q('Sender address', 'da@example.com') : undefined;
      const backupSchedule = (await q('Nightly backup? cron pattern, e.g. 30 2 * * * (empty: none)')) || undefined;
      return { name, baseUrl, sources, smtpUrl, mailFrom, backupSchedule };
    } finally {
      rl.close();
    }
  }
}
