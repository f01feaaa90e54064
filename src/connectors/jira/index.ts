import { join } from 'node:path';
import type { SourceConfig } from '../../config.ts';
import { quoteIdent, quoteLiteral } from '../../db/connection.ts';
import type { JiraEventsRepository } from '../../repositories/jira-events.ts';
import { copyToParquet, openScratchDb, readParquet, type ScratchDb } from '../duck.ts';
import type { Connector, PullRequest, PullResult, SourceTable } from '../types.ts';
import { createJiraClient, type JiraClient } from './client.ts';
import type { JiraChange, Tombstone } from './events.ts';
import {
  changelogRow, commentRow, idOf, issueRow, JIRA_TABLES, TABLE_COLUMNS, TABLE_DESCRIPTIONS, toUtc, worklogRow, type JiraRow, type JiraTable,
} from './records.ts';

type JiraSource = Extract<SourceConfig, { type: 'jira' }>;
type Json = Record<string, any>;

/** Issue fields the issues table reads. */
const ISSUE_FIELDS = [
  'project', 'issuetype', 'summary', 'description', 'status', 'priority', 'resolution', 'assignee', 'reporter', 'parent',
  'labels', 'timeoriginalestimate', 'timespent', 'duedate', 'created', 'updated', 'resolutiondate',
];

/**
 * JQL compares times in the account's own time zone, to the minute: an incremental search
 * starts this long before the last `updated` seen, and the merge (newest `updated` wins)
 * makes the overlap harmless.
 */
const OVERLAP_MS = 26 * 3600 * 1000;

/** What an incremental pull continues from: the newest issue `updated` seen by search, and the last webhook event applied. */
export interface JiraWatermark {
  updated: string | null;
  seq: number;
}

export function parseJiraWatermark(text: string | null): JiraWatermark | null {
  if (!text) return null;
  try {
    const w = JSON.parse(text) as Partial<JiraWatermark>;
    if (typeof w.seq === 'number') return { updated: typeof w.updated === 'string' ? w.updated : null, seq: w.seq };
  } catch {}
  return null;
}

/** `yyyy-MM-dd HH:mm` for JQL. */
function jqlTime(utc: string, minusMs: number): string {
  const ms = Date.parse(utc.replace(' ', 'T') + 'Z') - minusMs;
  return new Date(Math.max(0, ms)).toISOString().slice(0, 16).replace('T', ' ');
}

/** Rows read from the REST API for one table, and the issues whose children were all read. */
interface Fetched {
  rows: JiraRow[];
  covered: number[];
  maxUpdated: string | null;
}

async function fetchTable(client: JiraClient, table: JiraTable, jql: string, signal?: AbortSignal): Promise<Fetched> {
  const out: Fetched = { rows: [], covered: [], maxUpdated: null };
  const fields = table === 'issues' ? ISSUE_FIELDS : table === 'comments' ? ['updated', 'comment'] : table === 'worklogs' ? ['updated', 'worklog'] : ['updated'];
  for await (const page of client.search(jql, fields, table === 'changelog' ? 'changelog' : undefined, signal)) {
    for (const issue of page) {
      const updated = toUtc(issue.fields?.updated);
      if (updated && (!out.maxUpdated || updated > out.maxUpdated)) out.maxUpdated = updated;
      if (table === 'issues') {
        out.rows.push(issueRow(issue));
        continue;
      }
      const issueId = idOf(issue.id, 'issue');
      // Search embeds the first page of an issue's children; the rest come from the issue's own list.
      const embedded: Json | undefined =
        table === 'comments' ? issue.fields?.comment : table === 'worklogs' ? issue.fields?.worklog : issue.changelog;
      const key = table === 'comments' ? 'comments' : table === 'worklogs' ? 'worklogs' : 'histories';
      let items: Json[] = Array.isArray(embedded?.[key]) ? embedded![key] : [];
      if (typeof embedded?.total === 'number' && items.length < embedded.total) {
        items = await client.listAll(issueId, table === 'comments' ? 'comment' : table === 'worklogs' ? 'worklog' : 'changelog', signal);
      }
      for (const item of items) {
        out.rows.push(table === 'comments' ? commentRow(item, issueId) : table === 'worklogs' ? worklogRow(item, issueId) : changelogRow(item, issueId));
      }
      out.covered.push(issueId);
    }
  }
  return out;
}

/** `SELECT` of rows written as NDJSON, with the table's types. */
function typedSelect(table: JiraTable, path: string | null): string {
  const cols = TABLE_COLUMNS[table];
  if (!path) return `SELECT ${cols.map((c) => `NULL::${c.type} AS ${quoteIdent(c.name)}`).join(', ')}, 0 AS __ord WHERE false`;
  const spec = `{${cols.map((c) => `${quoteLiteral(c.name)}: ${quoteLiteral(c.type!)}`).join(', ')}, '__ord': 'BIGINT'}`;
  return `SELECT * FROM read_json(${quoteLiteral(path)}, format = 'newline_delimited', columns = ${spec})`;
}

/**
 * The `jira` connector (Jira Cloud REST v3): four tables, `issues`, `comments`, `changelog`
 * and `worklogs`, each keyed by its own id. A pull searches with JQL (`updated >= …
 * ORDER BY updated ASC`, paged by nextPageToken) and reads each found issue's children,
 * then merges into the previous file: of two versions of a row the one with the newer
 * `updated` stays, so overlapping searches and replayed webhook events never overwrite
 * newer rows. Accepted webhook events (stored by the webhook route) are applied by the
 * next pull of each table; delete events stay stored as tombstones.
 */
export function createJiraConnector(
  dataset: string,
  source: JiraSource,
  options: { fetch?: typeof fetch; events?: JiraEventsRepository } = {},
): Connector {
  const client = createJiraClient({
    url: source.url, email: source.email, token: source.token, fetch: options.fetch,
    maxRetries: source.max_retries, backoffMs: source.retry_backoff_ms, timeoutMs: source.request_timeout_ms, pageSize: source.page_size,
  });

  async function merge(
    db: ScratchDb, table: JiraTable, req: PullRequest, fresh: JiraRow[], covered: number[], tombstones: Tombstone[], incremental: boolean,
  ): Promise<void> {
    const cols = TABLE_COLUMNS[table];
    const hasIssue = cols.some((c) => c.name === 'issue_id');
    let path: string | null = null;
    if (fresh.length) {
      path = join(req.scratch_dir, `${table}-changes.ndjson`);
      await Bun.write(path, fresh.map((r, i) => JSON.stringify({ ...r, __ord: i })).join('\n') + '\n');
    }
    await db.run(`CREATE OR REPLACE TEMP TABLE __new AS ${typedSelect(table, path)}`);
    await db.run(`CREATE OR REPLACE TEMP TABLE __covered (issue_id BIGINT)`);
    // Integers only (checked here), so they can be written into the statement: one insert for a whole backfill.
    const ids = covered.filter((id) => Number.isSafeInteger(id));
    if (ids.length) await db.run(`INSERT INTO __covered SELECT unnest([${ids.join(',')}]::BIGINT[])`);
    await db.run(`CREATE OR REPLACE TEMP TABLE __tomb (id BIGINT, issue_id BIGINT, deleted_at TIMESTAMP)`);
    for (const t of tombstones) await db.run(`INSERT INTO __tomb VALUES (?, ?, CAST(? AS TIMESTAMP))`, [t.id, t.issue_id, t.at]);
    const names = cols.map((c) => quoteIdent(c.name)).join(', ');
    // The previous rows: for an issue whose children were all read, a child no longer listed was deleted.
    const previous = incremental && req.existing
      ? `SELECT ${names}, 0 AS __src, 0::BIGINT AS __ord FROM ${readParquet(req.existing)} p` +
        (hasIssue ? ` WHERE NOT (p.issue_id IN (SELECT issue_id FROM __covered) AND p.id NOT IN (SELECT id FROM __new))` : '')
      : null;
    const candidates = [previous, `SELECT ${names}, 1 AS __src, __ord FROM __new`].filter(Boolean).join(' UNION ALL ');
    const tombMatch = hasIssue ? `(t.id = w.id OR t.issue_id = w.issue_id)` : `t.id = w.id`;
    await copyToParquet(
      db,
      `SELECT ${names} FROM (
         SELECT * FROM (${candidates})
         QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated DESC NULLS LAST, __src DESC, __ord DESC) = 1
       ) w
       WHERE NOT EXISTS (SELECT 1 FROM __tomb t WHERE ${tombMatch} AND (w.updated IS NULL OR w.updated <= t.deleted_at))
       ORDER BY id`,
      req.target,
    );
  }

  return {
    type: 'jira',

    async listTables(): Promise<SourceTable[]> {
      // Listing checks the credentials: a wrong token shows as a failed source, not as empty tables.
      await client.myself();
      return JIRA_TABLES.map((name) => ({
        source_table: name, name, description: TABLE_DESCRIPTIONS[name], primary_key: ['id'], row_estimate: null, columns: TABLE_COLUMNS[name],
      }));
    },

    async pull(req: PullRequest): Promise<PullResult> {
      const table = req.source_table as JiraTable;
      if (!JIRA_TABLES.includes(table)) throw new Error(`Jira offers no table ${req.source_table} (only ${JIRA_TABLES.join(', ')})`);
      const previous = parseJiraWatermark(req.watermark);
      const incremental = req.mode === 'incremental' && !!req.existing && !!previous;
      const notes: string[] = [];
      // Read the stored events first: one that arrives during the search waits for the next pull.
      const stored = options.events ? await options.events.list(dataset) : [];
      const since = incremental ? previous!.updated : null;
      const jql = `${source.jql ? `(${source.jql}) AND ` : ''}updated >= "${since ? jqlTime(since, OVERLAP_MS) : '1970-01-01 00:00'}" ORDER BY updated ASC`;
      let fetched: Fetched;
      try {
        fetched = await fetchTable(client, table, jql, req.signal);
      } catch (err) {
        throw new Error(`Jira table ${table}: ${(err as Error).message.split('\n')[0]}`);
      }
      const fromEvents: JiraRow[] = [];
      const tombstones: Tombstone[] = [];
      const appliedFrom = incremental ? previous!.seq : 0;
      for (const e of stored) {
        const change = e.change as JiraChange;
        tombstones.push(...change.tombstones.filter((t) => t.table === table));
        if (e.seq > appliedFrom) fromEvents.push(...change.upserts.filter((u) => u.table === table).map((u) => u.row));
      }
      if (fromEvents.length) notes.push(`${fromEvents.length} row${fromEvents.length === 1 ? '' : 's'} from webhook events`);
      const db = await openScratchDb({ threads: 2 });
      try {
        await merge(db, table, req, [...fetched.rows, ...fromEvents], fetched.covered, tombstones, incremental);
      } finally {
        db.close();
      }
      const lastSeq = stored.at(-1)?.seq ?? previous?.seq ?? 0;
      const watermark: JiraWatermark = { updated: fetched.maxUpdated ?? previous?.updated ?? null, seq: Math.max(lastSeq, previous?.seq ?? 0) };
      return {
        mode: incremental ? 'incremental' : 'full',
        rows_read: fetched.rows.length + fromEvents.length,
        watermark: JSON.stringify(watermark),
        ...(notes.length ? { notes } : {}),
      };
    },
  };
}
