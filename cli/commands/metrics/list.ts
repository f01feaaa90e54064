import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { formatTable } from '../../format.ts';
import { localMetrics, type LocalMetric } from '../../metrics.ts';
import { workspacePaths } from '../../workspace.ts';

/** `da metrics list`: the company's certified metrics, as synced (or from the server with --remote). */
export class MetricsListCommand extends BaseCommand {
  static paths = [['metrics', 'list']];
  static usage = Command.Usage({
    category: 'Data',
    description: "List the company's metric definitions (synced certified ones; --remote: every one you may read on the server)",
    examples: [['Synced metrics', '$0 metrics list'], ['On the server, as JSON', '$0 metrics list --remote --json']],
  });
  remote = Option.Boolean('--remote', false, { description: 'Ask the server (drafts included) instead of the synced files' });

  async run() {
    const metrics = this.remote
      ? await this.authedClient().get<LocalMetric[]>('/api/metrics')
      : localMetrics(workspacePaths(this.context.cwd));
    this.emit(metrics, () =>
      metrics.length
        ? formatTable(['name', 'status', 'unit', 'grain', 'datasets', 'description'], metrics.map((m) => [m.name, m.status, m.unit, m.grain, m.datasets.join(','), m.description.split('\n')[0]!]))
        : this.remote ? 'no metrics' : 'no metrics synced (run `da sync`)',
    );
  }
}
