import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../../base.ts';
import { findScript, formatRun, type RemoteRun } from './shared.ts';

/** `da scripts logs NAME`: the output of the latest runs of a script. */
export class ScriptsLogsCommand extends BaseCommand {
  static paths = [['scripts', 'logs']];
  static usage = Command.Usage({
    category: 'Scripts',
    description: "Show a script's latest runs: status, reason, output and artifacts",
    examples: [['The last run', '$0 scripts logs daily-revenue'], ['The last 5, as JSON', '$0 scripts logs daily-revenue --runs 5 --json']],
  });
  name = Option.String({ name: 'name' });
  runs = Option.String('--runs', '1', { description: 'How many runs, newest first', validator: t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(1, 500)]) });

  async run() {
    const client = this.authedClient();
    const script = await findScript(client, this.name);
    const runs = await client.get<RemoteRun[]>(`/api/scripts/${script.id}/runs`, { query: { limit: this.runs } });
    this.emit(runs, () => (runs.length ? runs.map(formatRun).join('\n\n') : `${script.name} has not run yet`));
  }
}
