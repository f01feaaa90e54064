import { Command, Option } from 'clipanion';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BaseCommand } from '../base.ts';
import { CliError } from '../errors.ts';
import { formatTable } from '../format.ts';
import { ident, openLocalDb } from '../local-db.ts';
import { readSyncState } from '../sync-state.ts';
import { localParquetPath, workspacePaths } from '../workspace.ts';

/** One column as explore shows it. */
interface ColumnInfo {
  name: string;
  type: string;
  null_pct: number | null;
  distinct_count: number | null;
  min: unknown;
  max: unknown;
  mean: number | null;
}

/** What `da explore --json` prints. */
export interface ExploreResult {
  id: string;
  dataset: string;
  name: string;
  source: 'local' | 'remote';
  description: string | null;
  rows: number | null;
  columns: ColumnInfo[];
  profile: Record<string, unknown> | null;
  sample: Record<string, unknown>[];
}

const num = (v: unknown) => (v === null || v === undefined || v === '' ? null : Number(v));

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
      const lines = [`${result.id}${result.description ? ` — ${result.description}` : ''}`, `${result.rows ?? '?'} rows, ${result.columns.length} columns (${result.source})`, ''];
      lines.push(
        formatTable(
          ['column', 'type', 'null %', 'distinct', 'min', 'max'],
          result.columns.map((c) => [c.name, c.type, c.null_pct === null ? '' : c.null_pct.toFixed(1), c.distinct_count ?? '', c.min ?? '', c.max ?? '']),
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
    const state = readSyncState(this.store.paths.dir, ws.root);
    const entries = Object.entries(state.tables).filter(([, t]) => existsSync(localParquetPath(ws, t.dataset, t.name)));
    const match = entries.filter(([id, t]) => id === this.table || t.name === this.table);
    if (match.length !== 1) {
      const available = entries.map(([id]) => id).sort();
      const why = match.length > 1 ? `${this.table} is ambiguous (${match.map(([id]) => id).join(', ')}); use dataset.table` : `no synced table ${this.table}`;
      throw new CliError(`${why}; available: ${available.join(', ') || 'none (run da sync)'}`, 1, { available });
    }
    const [id, t] = match[0]!;
    let profile: Record<string, unknown> | null = null;
    const profilePath = join(ws.profilesDir, `${id}.json`);
    if (existsSync(profilePath)) {
      try {
        profile = JSON.parse(readFileSync(profilePath, 'utf8'));
      } catch {
        profile = null;
      }
    }
    const db = await openLocalDb(':memory:');
    try {
      const file = `read_parquet('${localParquetPath(ws, t.dataset, t.name).replace(/'/g, "''")}')`;
      const sample = (await db.conn.runAndReadAll(`SELECT * FROM ${file} LIMIT 5`)).getRowObjectsJson() as Record<string, unknown>[];
      let columns: ColumnInfo[];
      const profCols = profile?.columns as Record<string, unknown>[] | undefined;
      if (profCols?.length) {
        columns = profCols.map((c) => ({
          name: String(c.name), type: String(c.type), null_pct: num(c.null_pct), distinct_count: num(c.distinct_count),
          min: c.min ?? null, max: c.max ?? null, mean: num(c.mean),
        }));
      } else {
        const rows = (await db.conn.runAndReadAll(`SUMMARIZE SELECT * FROM ${file}`)).getRowObjectsJson() as Record<string, unknown>[];
        columns = rows.map((r) => ({
          name: String(r.column_name), type: String(r.column_type), null_pct: num(r.null_percentage), distinct_count: num(r.approx_unique),
          min: r.min ?? null, max: r.max ?? null, mean: num(r.avg),
        }));
      }
      const rowCount = num((await db.conn.runAndReadAll(`SELECT count(*) AS n FROM ${file}`)).getRowObjectsJson()[0]!.n);
      return { id, dataset: t.dataset, name: t.name, source: 'local', description: (profile?.description as string) ?? null, rows: rowCount, columns, profile, sample };
    } finally {
      db.close();
    }
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
    const detail = await client.get<Record<string, unknown> & { id: string; dataset: string; name: string; description: string | null; rows: number | null; profile: Record<string, unknown> | null }>(
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
    return { id: detail.id, dataset: detail.dataset, name: detail.name, source: 'remote', description: detail.description, rows: detail.rows, columns, profile: detail.profile, sample: sample.slice(0, 5) };
  }
}
