import { text } from 'node:stream/consumers';
import { Command, Option, UsageError } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../base.ts';
import { formatCsv, formatTable } from '../format.ts';
import { openLocalDb, runQuery, type QueryResult } from '../local-db.ts';
import { workspacePaths } from '../workspace.ts';

/** `da query`: SQL against the local DuckDB (offline) or the server. */
export class QueryCommand extends BaseCommand {
  static paths = [['query']];
  static usage = Command.Usage({
    category: 'Data',
    description: 'Run SQL on the local DuckDB (default, works offline) or on the server',
    details: `
      Locally the SQL runs on \`./user/duckdb/analytics.duckdb\` in the current directory: every synced table is a view \`<dataset>.<table>\`, and \`<table>\` alone where the name is unique. Tables you create there survive \`da sync\`. With no synced workspace the SQL runs on an empty in-memory database.

      \`--remote\` sends the SQL to the server's POST /api/query (read-only, only the tables you may read).

      The SQL comes from the argument or, when it is \`-\` or left out, from stdin. \`--json\` prints \`{columns, rows, row_count, truncated, elapsed_ms}\`.
    `,
    examples: [
      ['Count rows locally', '$0 query "SELECT count(*) FROM sales.orders"'],
      ['On the server, as CSV', '$0 query --remote --format csv "SELECT * FROM orders LIMIT 10"'],
      ['SQL from stdin', 'echo "SELECT 42 AS answer" | $0 query --json'],
    ],
  });

  sql = Option.String({ required: false, name: 'sql' });
  remote = Option.Boolean('--remote', false, { description: 'Run on the server instead of the local DuckDB' });
  format = Option.String('--format', 'table', {
    description: 'Output format: table (default), csv or json',
    validator: t.isEnum(['table', 'csv', 'json']),
  });
  limit = Option.String('--limit', '1000', {
    description: 'Most rows to return (default 1000)',
    validator: t.cascade(t.isNumber(), [t.isInteger(), t.isPositive()]),
  });

  async run() {
    const limit = this.limit;
    let sql = this.sql && this.sql !== '-' ? this.sql : await text(this.context.stdin);
    sql = sql.trim();
    if (!sql) throw new UsageError('no SQL: pass it as an argument or on stdin');

    let result: QueryResult;
    if (this.remote) {
      result = await this.authedClient().post<QueryResult>('/api/query', { sql, limit });
    } else {
      const ws = workspacePaths(this.context.cwd);
      await this.repairWorkspace(ws);
      const db = await openLocalDb(ws.db);
      try {
        result = await runQuery(db.conn, sql, limit);
      } finally {
        db.close();
      }
    }
    if (this.json || this.format === 'json') {
      this.context.stdout.write(JSON.stringify(result) + '\n');
      return;
    }
    const cols = result.columns.map((c) => c.name);
    if (this.format === 'csv') {
      this.context.stdout.write(formatCsv(cols, result.rows) + '\n');
    } else {
      this.context.stdout.write(formatTable(cols, result.rows) + '\n');
      this.context.stderr.write(`${result.row_count} row${result.row_count === 1 ? '' : 's'}${result.truncated ? ` (truncated at ${limit}; use --limit)` : ''}, ${result.elapsed_ms} ms\n`);
    }
    if (result.truncated && this.format === 'csv') this.context.stderr.write(`truncated at ${limit} rows; use --limit\n`);
  }
}
