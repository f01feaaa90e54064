import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option, UsageError } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../../base.ts';
import { CliError } from '../../errors.ts';
import { languageOf, nameOf, type RemoteScript } from './shared.ts';

/** `da scripts deploy FILE`: creates the script, or replaces the source of yours of that name. */
export class ScriptsDeployCommand extends BaseCommand {
  static paths = [['scripts', 'deploy']];
  static usage = Command.Usage({
    category: 'Scripts',
    description: 'Deploy a script file (.sql, .ts, .js, .py) to the server, or update yours of the same name',
    details: 'The language comes from the extension unless --language says otherwise. `--schedule` takes a cron pattern (5 fields, or 6 with seconds first); `--schedule none` removes a schedule.',
    examples: [['Deploy', '$0 scripts deploy revenue.sql'], ['Every weekday at 7', "$0 scripts deploy report.ts --name weekly-report --schedule '0 7 * * 1-5'"]],
  });
  file = Option.String({ name: 'file' });
  name = Option.String('--name', { description: 'Script name (default: the file name without extension)' });
  schedule = Option.String('--schedule', { description: "Cron pattern, or 'none' for on demand only" });
  language = Option.String('--language', { description: 'sql, typescript, javascript or python', validator: t.isEnum(['sql', 'typescript', 'javascript', 'python']) });

  async run() {
    const path = resolve(this.context.cwd, this.file);
    if (!existsSync(path)) throw new CliError(`no file ${this.file}`);
    const language = this.language ?? languageOf(path);
    if (!language) throw new UsageError(`cannot tell the language of ${this.file} from its extension: pass --language`);
    const name = this.name ?? nameOf(path);
    const source = readFileSync(path, 'utf8');
    const schedule = this.schedule === undefined ? undefined : this.schedule === 'none' ? null : this.schedule;
    const client = this.authedClient();
    const [me, scripts] = await Promise.all([client.get<{ id: string }>('/api/me'), client.get<RemoteScript[]>('/api/scripts')]);
    const existing = scripts.find((s) => s.name === name && s.owner === me.id);
    const script = existing
      ? await client.patch<RemoteScript>(`/api/scripts/${existing.id}`, { source, language, ...(schedule !== undefined ? { schedule } : {}) })
      : await client.post<RemoteScript>('/api/scripts', { name, language, source, schedule: schedule ?? null });
    this.emit({ ...script, action: existing ? 'updated' : 'created' }, () =>
      `${existing ? 'updated' : 'deployed'} ${script.name} (${script.language}${script.schedule ? `, schedule ${script.schedule}` : ', on demand'})`,
    );
  }
}
