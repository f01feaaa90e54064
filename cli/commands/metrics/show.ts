import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { CliError } from '../../errors.ts';
import { localMetric, metricsDir, type LocalMetric } from '../../metrics.ts';
import { workspacePaths } from '../../workspace.ts';

/** `da metrics show NAME`: one metric's definition (its YAML file). */
export class MetricsShowCommand extends BaseCommand {
  static paths = [['metrics', 'show']];
  static usage = Command.Usage({
    category: 'Data',
    description: "Print one metric's definition",
    examples: [['As synced', '$0 metrics show net_revenue'], ['As JSON', '$0 metrics show net_revenue --json']],
  });
  name = Option.String({ name: 'name' });
  remote = Option.Boolean('--remote', false, { description: 'Ask the server instead of the synced files' });

  async run() {
    if (this.remote) {
      const all = await this.authedClient().get<LocalMetric[]>('/api/metrics');
      const m = all.find((x) => x.name === this.name);
      if (!m) throw new CliError(`no metric ${this.name} on the server`, 1);
      this.emit(m, () => Bun.YAML.stringify(m, null, 2));
      return;
    }
    const ws = workspacePaths(this.context.cwd);
    const m = localMetric(ws, this.name);
    this.emit(m, () => readFileSync(join(metricsDir(ws), `${m.name}.yaml`), 'utf8'));
  }
}
