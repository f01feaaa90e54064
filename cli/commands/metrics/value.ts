import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { CliError } from '../../errors.ts';
import { formatTable } from '../../format.ts';
import { runQuery, type QueryResult } from '../../local-db.ts';
import { openLockedDb } from '../../mcp/query.ts';
import { localMetric, type LocalMetric } from '../../metrics.ts';
import { workspacePaths } from '../../workspace.ts';

/** `da metrics value NAME`: the metric evaluated on the synced views (offline), or on the server. */
export class MetricsValueCommand extends BaseCommand {
  static paths = [['metrics', 'value']];
  static usage = Command.Usage({
    category: 'Data',
    description: "Evaluate a metric: locally on the synced tables (default, offline), or on the server with --remote",
    examples: [['Offline', '$0 metrics value net_revenue'], ['On the server, as JSON', '$0 metrics value net_revenue --remote --json']],
  });
  name = Option.String({ name: 'name' });
  remote = Option.Boolean('--remote', false, { description: "Run it on the server (GET /api/metrics/{id}/value)" });

  async run() {
    let result: QueryResult & { name: string };
    if (this.remote) {
      const client = this.authedClient();
      const m = (await client.get<LocalMetric[]>('/api/metrics')).find((x) => x.name === this.name);
      if (!m) throw new CliError(`no metric ${this.name} on the server`, 1);
      result = await client.get<QueryResult & { name: string }>(`/api/metrics/${encodeURIComponent(m.id)}/value`);
    } else {
      const ws = workspacePaths(this.context.cwd);
      const m = localMetric(ws, this.name);
      const db = await openLockedDb(ws);
      try {
        result = { name: m.name, ...(await runQuery(db.conn, m.sql.trim().replace(/;\s*$/, ''), 1000)) };
      } finally {
        db.close();
      }
    }
    this.emit(result, () => formatTable(result.columns.map((c) => c.name), result.rows));
  }
}
