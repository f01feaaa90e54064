import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { VERSION } from '../../src/version.ts';
import type { Client } from '../client.ts';
import { errorLines, summarise } from '../commands/sync.ts';
import { CliError, oneLine } from '../errors.ts';
import { describeLocalTable, fileHealth, syncedTables } from '../local-catalog.ts';
import { retryPolicyFromEnv } from '../retry.ts';
import { SKILLS, skillTitle } from '../skills.ts';
import { readSyncState } from '../sync-state.ts';
import { runSync } from '../workspace-sync.ts';
import type { WorkspacePaths } from '../workspace.ts';
import { searchMemory } from './memory.ts';
import { runReadOnlyQuery } from './query.ts';

/** What `da mcp` serves and with which limits. */
export interface DaMcpOptions {
  ws: WorkspacePaths;
  /** `$DA_CONFIG_DIR`: sync state, config and token. */
  configDir: string;
  /** A signed-in client for the server in effect (throws a CliError saying how to sign in); asked per sync. */
  client: () => Client;
  env: Record<string, string | undefined>;
  /** Most rows one `query` may return, and its default. */
  maxRows: number;
  defaultRows: number;
  timeoutMs: number;
  /** Most bytes of JSON rows one `query` returns. */
  maxBytes: number;
  /** One line to stderr (stdout carries only MCP messages). */
  log: (line: string) => void;
}

/** The URI of a skill as an MCP resource. */
export const skillUri = (name: string) => `da://skills/${name}`;

/** How long the sync tool waits for the server's health answer before calling it unreachable. */
const PROBE_TIMEOUT_MS = 5_000;

const INSTRUCTIONS = `da: the organisation's data, synced into this workspace and queried locally with DuckDB (works offline).
- list_tables: what is synced (dataset, table, rows, columns, when synced). Start here.
- describe_table: columns, types, profile statistics and sample rows of one table. Look before you write SQL.
- query: one read-only SELECT on the local DuckDB. Tables are views "<dataset>.<table>" (a unique table name alone works too). Rows are capped and the query has a time limit.
- search_memory: search the organisation's rules and documentation (./server/docs, ./.claude/rules). Read the rules before answering.
- sync: bring the data up to date from the server (needs the network; everything else works offline).
The skills (da://skills/…) explain every task in detail.`;

/**
 * Lets queries run together but never while a sync rebuilds the local database (a sync waits
 * for running queries, then runs alone): one process must not open the file for writing and
 * reading at once.
 */
class ReadWriteGate {
  private readers = 0;
  private writing: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.writing) await this.writing;
    this.readers++;
    try {
      return await fn();
    } finally {
      if (--this.readers === 0) this.drained?.();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.writing) await this.writing;
    let release!: () => void;
    this.writing = new Promise((r) => (release = r));
    try {
      if (this.readers > 0) await new Promise<void>((r) => (this.drained = r));
      this.drained = null;
      return await fn();
    } finally {
      this.writing = null;
      release();
    }
  }
}

const json = (value: unknown): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(value) }] });
const failure = (message: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text: message }] });

/** A one-line message for a tool error, in our words where we have them. */
function messageOf(err: unknown): string {
  return oneLine(err instanceof Error ? err.message || err.name : String(err));
}

/**
 * The `da mcp` server: tools over the local workspace (list_tables, describe_table, query,
 * search_memory, sync) and the skills as resources. Every failure is a tool error (isError
 * with one clear line); nothing a tool does ends the process.
 */
export function createDaMcpServer(opts: DaMcpOptions): McpServer {
  const { ws, configDir } = opts;
  const gate = new ReadWriteGate();
  const server = new McpServer({ name: 'da', title: 'da — AI data analyst', version: VERSION }, { instructions: INSTRUCTIONS, capabilities: { tools: {}, resources: {} } });

  /** Runs a tool body; an error becomes a tool error and a line on stderr. */
  const guarded = async (name: string, body: () => Promise<CallToolResult>): Promise<CallToolResult> => {
    try {
      return await body();
    } catch (err) {
      const message = messageOf(err);
      opts.log(`da mcp: ${name}: ${message}`);
      return failure(message);
    }
  };

  server.registerTool(
    'list_tables',
    {
      title: 'List synced tables',
      description:
        'The tables synced into this workspace, by dataset: id (`dataset.table`, the name to query), rows, columns, size, ' +
        "when the server's data last changed (`updated_at`) and when it was synced here (`synced_at`), and the file's state " +
        '(`synced`, `missing`, `damaged`, `unverified`). Read from the local sync state; works offline. Tables you created ' +
        'yourself with `da query` are not listed: `query` with `SHOW ALL TABLES` shows everything.',
      inputSchema: { dataset: z.string().optional().describe('Only this dataset') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ dataset }) =>
      guarded('list_tables', async () => {
        const state = readSyncState(configDir, ws.root);
        const entries = Object.entries(state.tables)
          .filter(([, t]) => !dataset || t.dataset === dataset)
          .sort(([a], [b]) => a.localeCompare(b));
        const datasets = new Map<string, unknown[]>();
        for (const [id, t] of entries) {
          const { health } = await fileHealth(ws, t, false);
          const list = datasets.get(t.dataset) ?? [];
          list.push({ id, name: t.name, rows: t.rows, columns: t.columns, size_bytes: t.size_bytes, updated_at: t.updated_at, synced_at: t.synced_at, state: health });
          datasets.set(t.dataset, list);
        }
        if (dataset && !datasets.size) {
          const known = [...new Set(Object.values(state.tables).map((t) => t.dataset))].sort();
          throw new CliError(`no synced dataset ${dataset}; synced datasets: ${known.join(', ') || 'none (run the sync tool)'}`);
        }
        return json({
          workspace: ws.root,
          server: state.server,
          last_sync: state.last_sync,
          table_count: entries.length,
          datasets: [...datasets].map(([name, tables]) => ({ name, tables })),
          ...(entries.length ? {} : { hint: 'nothing synced yet: call the sync tool (or run `da sync`)' }),
        });
      }),
  );

  server.registerTool(
    'describe_table',
    {
      title: 'Describe a table',
      description:
        'One synced table: its columns with types, the profile `da sync` saved (null %, distinct counts, min/max/mean, ' +
        'description) or statistics computed locally when there is none, the row count and a few sample rows. Works offline.',
      inputSchema: {
        table: z.string().min(1).describe('`dataset.table`, or a table name that is unique'),
        sample_rows: z.number().int().min(0).max(50).optional().describe('Sample rows to include (default 5)'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ table, sample_rows }) =>
      guarded('describe_table', async () => json(await gate.shared(() => describeLocalTable(configDir, ws, table, sample_rows ?? 5)))),
  );

  server.registerTool(
    'query',
    {
      title: 'Run a read-only SQL query',
      description:
        'Runs one SELECT (also WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE) on the local DuckDB of this workspace, offline. ' +
        'Tables are views `<dataset>.<table>`; a unique table name alone works too. The database is opened read-only and can ' +
        'read nothing but the synced tables: COPY, ATTACH, INSTALL/LOAD, SET, other statements and file readers outside ' +
        `./server/parquet are refused. Returns {sql, columns, rows, row_count, truncated, elapsed_ms}; at most ${opts.maxRows} ` +
        `rows and ${Math.round(opts.maxBytes / 1024)} KiB of rows (\`truncated: true\` when cut), stopped after ${opts.timeoutMs / 1000} s.`,
      inputSchema: {
        sql: z.string().min(1).describe('One SELECT statement (DuckDB SQL)'),
        limit: z.number().int().min(1).max(opts.maxRows).optional().describe(`Most rows to return (default ${opts.defaultRows}, at most ${opts.maxRows})`),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ sql, limit }) =>
      guarded('query', async () =>
        json(await gate.shared(() => runReadOnlyQuery(ws, sql.trim(), { limit: limit ?? opts.defaultRows, timeoutMs: opts.timeoutMs, maxBytes: opts.maxBytes }))),
      ),
  );

  server.registerTool(
    'search_memory',
    {
      title: "Search the organisation's knowledge",
      description:
        'Plain-text search (case-insensitive, by words) of the knowledge documents synced into this workspace: ' +
        'organisation notes such as ./server/docs/knowledge.md, the mandatory rules in ./server/docs/rules/, dataset ' +
        'documentation in ./server/docs/datasets/, and Claude Code rules in ./.claude/rules/. Answers the passages that ' +
        'hold the most of the words first, and says which files it searched. Works offline.',
      inputSchema: {
        query: z.string().min(1).describe('Words to look for, e.g. "net revenue definition"'),
        limit: z.number().int().min(1).max(50).optional().describe('Most passages to return (default 10)'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ query, limit }) =>
      guarded('search_memory', async () => {
        const result = searchMemory(ws, query, limit ?? 10);
        if (!result.searched.files_count) {
          return json({ ...result, hint: 'no knowledge documents in this workspace yet: call the sync tool (documents come with every sync)' });
        }
        return json(result);
      }),
  );

  server.registerTool(
    'sync',
    {
      title: 'Sync from the server',
      description:
        'Brings the workspace up to date with the server, like `da sync`: downloads tables that changed, removes tables no ' +
        'longer permitted, refreshes documents, rules and profiles, rebuilds the local views and uploads session notes. ' +
        'Needs the server; when it cannot be reached the tool fails and the local data stays as it was (still queryable).',
      inputSchema: {
        tables: z.array(z.string().min(1)).optional().describe('Only these tables (`dataset.table` or name)'),
        docs_only: z.boolean().optional().describe('Only documents, rules and profiles (no tables, no uploads)'),
        dry_run: z.boolean().optional().describe('Report what would change; change nothing'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    ({ tables, docs_only, dry_run }, extra) =>
      guarded('sync', async () => {
        const client = opts.client();
        if (!client.server) throw new CliError('no server configured: run `da login --server URL` (or set DA_SERVER); the local data stays usable offline');
        if (!client.token) throw new CliError(`not logged in to ${client.server}: run \`da login\` (or set DA_TOKEN); the local data stays usable offline`);
        try {
          await client.get('/api/health', { accept: [503], signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        } catch (err) {
          const last = readSyncState(configDir, ws.root).last_sync;
          const status = err instanceof CliError ? err.details.status : undefined;
          const timedOut = err instanceof Error && err.name === 'TimeoutError';
          const why =
            typeof status === 'number' ? `${client.server} answered ${messageOf(err)} (is it a da server?)`
            : timedOut ? `cannot reach ${client.server}: no answer within ${PROBE_TIMEOUT_MS / 1000} s`
            : `cannot reach ${client.server}: ${messageOf(err).replace(/^cannot reach \S+:?\s*/, '')}`;
          throw new CliError(`${why}. Nothing was synced; the local data${last ? ` (last synced ${last})` : ''} stays usable offline.`);
        }
        // A client that asked for progress gets bytes downloaded of the total (at most 4 a second).
        const token = extra._meta?.progressToken;
        let last = 0;
        const onProgress =
          token === undefined
            ? undefined
            : (p: { done: number; total: number; bytes: number; totalBytes: number }) => {
                const now = performance.now();
                if (now - last < 250 && p.done < p.total) return;
                last = now;
                void extra
                  .sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: p.bytes, total: p.totalBytes, message: `${p.done}/${p.total} tables` } })
                  .catch(() => {});
              };
        const report = await gate.exclusive(() =>
          runSync(client, configDir, ws.root, { tables, docsOnly: docs_only, dryRun: dry_run, retry: retryPolicyFromEnv(opts.env), onProgress }),
        );
        if (report.errors.length) {
          return { isError: true, content: [{ type: 'text', text: [summarise(report), ...errorLines(report.errors)].join('\n') }, { type: 'text', text: JSON.stringify(report) }] };
        }
        return { content: [{ type: 'text', text: summarise(report) }, { type: 'text', text: JSON.stringify(report) }] };
      }),
  );

  for (const [name, markdown] of Object.entries(SKILLS)) {
    server.registerResource(
      `skill-${name}`,
      skillUri(name),
      { title: skillTitle(markdown), description: `da skill: ${skillTitle(markdown)}`, mimeType: 'text/markdown' },
      (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/markdown', text: markdown }] }),
    );
  }
  return server;
}

/** How many tables the workspace has synced (for the start-up line). */
export function syncedCount(configDir: string, ws: WorkspacePaths): number {
  return syncedTables(configDir, ws).tables.length;
}
