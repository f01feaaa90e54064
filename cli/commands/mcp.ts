import { resolve } from 'node:path';
import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../base.ts';
import { workspacePaths } from '../workspace.ts';
import { realStream } from '../stdio.ts';

/**
 * The MCP server, evaluated on first use: `require` of a literal is bundled like a static
 * import (the compiled binary holds it), but the SDK's modules only run for `da mcp`, so
 * every other command starts as fast as before.
 */
function mcp(): typeof import('../mcp/serve.ts') {
  return require('../mcp/serve.ts');
}

/** Bytes of JSON rows one `query` call returns at most. */
const MAX_RESULT_BYTES = 1024 * 1024;
/** Rows a `query` call returns when it does not ask for a number. */
const DEFAULT_ROWS = 100;

/** `da mcp`: a Model Context Protocol server on stdio over the local workspace. */
export class McpCommand extends BaseCommand {
  static paths = [['mcp']];
  static usage = Command.Usage({
    category: 'Data',
    description: 'Serve the local workspace to AI agents over MCP (stdio; works offline)',
    details: `
      Runs a Model Context Protocol server on stdin/stdout for an agent (Claude Code, or any MCP client) over the workspace: \`--workspace\`, else \`$CLAUDE_PROJECT_DIR\` (Claude Code sets it), else the current directory. \`da init\` registers it for Claude Code in \`.mcp.json\`. stdout carries only MCP messages; logs go to stderr. It ends when stdin closes.

      Tools:

      - \`list_tables\`: synced datasets and tables with rows, columns and freshness, from the local sync state;
      - \`describe_table\`: columns and types, the synced profile and a few sample rows of one table;
      - \`query\`: one read-only SELECT on \`./user/duckdb/analytics.duckdb\`, with a row cap (\`--max-rows\`; ${DEFAULT_ROWS} unless the call asks for more), ${MAX_RESULT_BYTES / 1024 / 1024} MiB of rows and a time limit (\`--timeout\`); the result as JSON with the SQL echoed;
      - \`search_memory\`: plain-text search of the knowledge documents (\`./server/docs/\`: knowledge notes, rules, dataset docs; \`./.claude/rules/\`), saying what it searched;
      - \`sync\`: \`da sync\` when the server is reachable; a tool error (and the local data untouched) when it is not.

      The skills (\`da skills list\`) are MCP resources \`da://skills/<name>\`.

      The \`query\` tool cannot write or read outside the workspace's synced tables: the database is opened READ_ONLY, only statements DuckDB classifies as SELECT run, and before any SQL runs external access is switched off except for \`./server/parquet/\` and the configuration is locked. COPY, ATTACH, INSTALL/LOAD, SET, reading other files (\`read_csv('/etc/passwd')\`, a file name as a table, \`glob\`) and the network are refused. Your own \`da query\` keeps full DuckDB.

      Every failure (unknown table, bad SQL, a refusal, no server) is an MCP tool error with one line; the server keeps running. Everything except \`sync\` works offline.
    `,
    examples: [
      ['Serve this workspace (an MCP client starts it)', '$0 mcp'],
      ['Another folder, 500 rows at most, 10 s per query', '$0 mcp --workspace ~/analysis --max-rows 500 --timeout 10'],
    ],
  });

  workspace = Option.String('--workspace', { description: 'The workspace to serve (default: $CLAUDE_PROJECT_DIR, else the current directory)' });
  maxRows = Option.String('--max-rows', '10000', {
    description: 'Most rows one query returns (default 10000)',
    validator: t.cascade(t.isNumber(), [t.isInteger(), t.isPositive()]),
  });
  timeout = Option.String('--timeout', '30', {
    description: 'Seconds a query may run before it is stopped (default 30)',
    validator: t.cascade(t.isNumber(), [t.isPositive()]),
  });

  async run() {
    const env = this.context.env;
    const ws = workspacePaths(resolve(this.context.cwd, this.workspace ?? env.CLAUDE_PROJECT_DIR ?? '.'));
    await this.repairWorkspace(ws);
    const stderr = this.context.stderr;
    await mcp().serveMcp({
      ws,
      configDir: this.store.paths.dir,
      client: () => this.client(),
      env,
      maxRows: this.maxRows,
      defaultRows: Math.min(DEFAULT_ROWS, this.maxRows),
      timeoutMs: Math.round(this.timeout * 1000),
      maxBytes: MAX_RESULT_BYTES,
      log: (line) => void stderr.write(`${line}\n`),
      // The MCP transport needs whole Node streams, not the light writers a compiled da uses.
      stdin: realStream(this.context.stdin),
      stdout: realStream(this.context.stdout),
      detailed: this.detailed,
    });
  }
}
