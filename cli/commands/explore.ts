import { Command, Option } from 'clipanion';
import { BaseCommand } from '../base.ts';
import { CliError } from '../errors.ts';
import { formatTable } from '../format.ts';
import { describeLocalTable, num, type ColumnInfo, type ExploreResult } from '../local-catalog.ts';
import { ident } from '../local-db.ts';
import { workspacePaths } from '../workspace.ts';

export type { ExploreResult } from '../local-catalog.ts';

/** `da explore TABLE`: columns, types, profile and sample rows of one table. */
export class ExploreCommand extends BaseCommand {
  static paths = [['explore']];
  static usage = Command.Usage({
    category: 'Data',
    description: 'Show a table: columns, types, profile statistics and 5 sample rows',
    details: `
      TABLE is \`dataset.table\` or a table name. Locally (default, works offline) it reads the synced Parquet file and the profile \`da sync\` saved under \`./server/profiles/\` (or computes the statistics with DuckDB when there is none). \`--remote\` asks the server's catalog instead.

      An unknown table fails (exit 1) and lists the available tables (\`available\` in the JSON error).
    `,
    examples: [
      ['Explore a synced table', '$0 explore sales.orders'],
      ['From the server, as JSON', '$0 explore orders --remote --json'],
    ],
  });

  table = Option.String({ name: 'table' });
  remote = Option.Boolean('--remote', false, { description: "Use the server's catalog and query API" });

  async run() {
    const result = this.remote ? await this.exploreRemote() : await this.exploreLocal();
    this.emit(result, () => {
      const lines = [`${result.id}${result.description ? ` — ${result.description}` : ''}`, `${result.rows ?? '?'} rows, ${result.columns.length} columns (${result.source})`];
      if (result.tags.length) lines.push(`tags: ${result.tags.join(', ')}`);
      lines.push('');
      const described = result.columns.some((c) => c.description);
      lines.push(
        formatTable(
          ['column', 'type', 'null %', 'distinct', 'min', 'max', ...(described ? ['description'] : [])],
          result.columns.map((c) => [
            c.name, c.type, c.null_pct === null ? '' : c.null_pct.toFixed(1), c.distinct_count ?? '', c.min ?? '', c.max ?? '',
            ...(described ? [c.description ?? ''] : []),
          ]),
          30,
        ),
      );
      if (result.sample.length) {
        const cols = Object.keys(result.sample[0]!);
        lines.push('', 'sample:', formatTable(cols, result.sample.map((r) => cols.map((c) => r[c])), 30));
      }
      return lines;
    });
  }

  private async exploreLocal(): Promise<ExploreResult> {
    const ws = workspacePaths(this.context.cwd);
    await this.repairWorkspace(ws);
    return describeLocalTable(this.store.paths.dir, ws, this.table);
  }

  private async exploreRemote(): Promise<ExploreResult> {
    const client = this.authedClient();
    const list = await client.get<{ items: { id: string; name: string }[] }>('/api/catalog/tables');
    const match = list.items.filter((t) => t.id === this.table || t.name === this.table);
    if (match.length !== 1) {
      const available = list.items.map((t) => t.id).sort();
      const why = match.length > 1 ? `${this.table} is ambiguous; use dataset.table` : `no table ${this.table} on the server`;
      throw new CliError(`${why}; available: ${available.join(', ') || 'none'}`, 1, { available });
    }
    const detail = await client.get<Record<string, unknown> & {
      id: string; dataset: string; name: string; description: string | null; rows: number | null; profile: Record<string, unknown> | null;
      tags?: string[]; column_descriptions?: Record<string, string>;
    }>(
      `/api/catalog/tables/${match[0]!.id}`,
    );
    const profCols = (detail.profile?.columns as Record<string, unknown>[] | undefined) ?? [];
    let sample = (detail.profile?.sample as Record<string, unknown>[] | undefined) ?? [];
    let columns: ColumnInfo[] = profCols.map((c) => ({
      name: String(c.name), type: String(c.type), null_pct: num(c.null_pct), distinct_count: num(c.distinct_count),
      min: c.min ?? null, max: c.max ?? null, mean: num(c.mean),
    }));
    if (!columns.length || !sample.length) {
      const q = await client.post<{ columns: { name: string; type: string }[]; rows: unknown[][] }>('/api/query', {
        sql: `SELECT * FROM ${ident(detail.dataset)}.${ident(detail.name)} LIMIT 5`, limit: 5,
      });
      if (!columns.length) columns = q.columns.map((c) => ({ name: c.name, type: c.type, null_pct: null, distinct_count: null, min: null, max: null, mean: null }));
      if (!sample.length) sample = q.rows.map((r) => Object.fromEntries(q.columns.map((c, i) => [c.name, r[i]])));
    }
    const described = detail.column_descriptions ?? {};
    columns = columns.map((c) => ({ ...c, description: described[c.name] ?? null }));
    return {
      id: detail.id, dataset: detail.dataset, name: detail.name, source: 'remote', description: detail.description, tags: detail.tags ?? [],
      rows: detail.rows, columns, profile: detail.profile, sample: sample.slice(0, 5),
    };
  }
}
