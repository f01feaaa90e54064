import type { SourceColumn } from '../types.ts';

/** The four tables a Jira site offers. */
export type JiraTable = 'issues' | 'comments' | 'changelog' | 'worklogs';

export const JIRA_TABLES: JiraTable[] = ['issues', 'comments', 'changelog', 'worklogs'];

/** A row of one of the tables, as plain JSON (timestamps as `YYYY-MM-DD HH:MM:SS.mmm` UTC). */
export type JiraRow = Record<string, unknown> & { id: number; updated: string | null };

/**
 * Columns of each table with their DuckDB types. Every table has `id` (its key) and
 * `updated` (what decides which of two versions of a row is newer).
 */
export const TABLE_COLUMNS: Record<JiraTable, SourceColumn[]> = {
  issues: [
    { name: 'id', type: 'BIGINT' },
    { name: 'key', type: 'VARCHAR' },
    { name: 'project_key', type: 'VARCHAR' },
    { name: 'issue_type', type: 'VARCHAR' },
    { name: 'summary', type: 'VARCHAR' },
    { name: 'description', type: 'VARCHAR' },
    { name: 'status', type: 'VARCHAR' },
    { name: 'status_category', type: 'VARCHAR' },
    { name: 'priority', type: 'VARCHAR' },
    { name: 'resolution', type: 'VARCHAR' },
    { name: 'assignee_account_id', type: 'VARCHAR' },
    { name: 'assignee_name', type: 'VARCHAR' },
    { name: 'reporter_account_id', type: 'VARCHAR' },
    { name: 'reporter_name', type: 'VARCHAR' },
    { name: 'parent_key', type: 'VARCHAR' },
    { name: 'labels', type: 'VARCHAR[]' },
    { name: 'time_estimate_seconds', type: 'BIGINT' },
    { name: 'time_spent_seconds', type: 'BIGINT' },
    { name: 'due_date', type: 'DATE' },
    { name: 'created', type: 'TIMESTAMP' },
    { name: 'updated', type: 'TIMESTAMP' },
    { name: 'resolved', type: 'TIMESTAMP' },
  ],
  comments: [
    { name: 'id', type: 'BIGINT' },
    { name: 'issue_id', type: 'BIGINT' },
    { name: 'author_account_id', type: 'VARCHAR' },
    { name: 'author_name', type: 'VARCHAR' },
    { name: 'body', type: 'VARCHAR' },
    { name: 'created', type: 'TIMESTAMP' },
    { name: 'updated', type: 'TIMESTAMP' },
  ],
  changelog: [
    { name: 'id', type: 'BIGINT' },
    { name: 'issue_id', type: 'BIGINT' },
    { name: 'author_account_id', type: 'VARCHAR' },
    { name: 'author_name', type: 'VARCHAR' },
    { name: 'items', type: 'STRUCT(field VARCHAR, from_value VARCHAR, from_string VARCHAR, to_value VARCHAR, to_string VARCHAR)[]' },
    { name: 'created', type: 'TIMESTAMP' },
    { name: 'updated', type: 'TIMESTAMP' },
  ],
  worklogs: [
    { name: 'id', type: 'BIGINT' },
    { name: 'issue_id', type: 'BIGINT' },
    { name: 'author_account_id', type: 'VARCHAR' },
    { name: 'author_name', type: 'VARCHAR' },
    { name: 'comment', type: 'VARCHAR' },
    { name: 'started', type: 'TIMESTAMP' },
    { name: 'time_spent_seconds', type: 'BIGINT' },
    { name: 'created', type: 'TIMESTAMP' },
    { name: 'updated', type: 'TIMESTAMP' },
  ],
};

export const TABLE_DESCRIPTIONS: Record<JiraTable, string> = {
  issues: 'Jira issues, one row per issue (id), with their current fields',
  comments: 'Comments on Jira issues, one row per comment (id), issue_id links to issues',
  changelog: 'Change history of Jira issues, one row per history entry (id) with the changed fields in items',
  worklogs: 'Time logged on Jira issues, one row per worklog (id), issue_id links to issues',
};

type Json = Record<string, any>;

/**
 * Jira's time (`2024-01-15T10:30:00.000+0000`) as UTC text DuckDB reads as TIMESTAMP;
 * null for anything that is not a time.
 */
export function toUtc(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value).toISOString().replace('T', ' ').replace('Z', '');
  if (typeof value !== 'string' || !value) return null;
  // Jira writes offsets without a colon (+0000), which not every parser takes.
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace('Z', '') : null;
}

/** The plain text of an Atlassian Document Format node (v3 bodies), or the string itself (v2). */
export function adfText(node: unknown): string | null {
  if (node === null || node === undefined) return null;
  if (typeof node === 'string') return node;
  if (typeof node !== 'object') return String(node);
  const parts: string[] = [];
  const walk = (n: Json, out: string[]) => {
    if (n.type === 'text' && typeof n.text === 'string') out.push(n.text);
    else if (n.type === 'hardBreak') out.push('\n');
    else if (n.type === 'mention' && n.attrs?.text) out.push(String(n.attrs.text));
    for (const child of Array.isArray(n.content) ? n.content : []) {
      if (child && typeof child === 'object') walk(child, out);
    }
  };
  const blocks = Array.isArray((node as Json).content) ? ((node as Json).content as Json[]) : [node as Json];
  for (const block of blocks) {
    const out: string[] = [];
    walk(block, out);
    parts.push(out.join(''));
  }
  return parts.join('\n').trim() || null;
}

const num = (v: unknown): number | null => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) ? n : null;
};
const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));
const dateOnly = (v: unknown): string | null => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : null);

/** A Jira id (numeric text) as a number; throws for anything else, so a malformed record is refused. */
export function idOf(v: unknown, what: string): number {
  const n = num(v);
  if (n === null || !Number.isInteger(n)) throw new TypeError(`${what} has no numeric id`);
  return n;
}

export function issueRow(issue: Json): JiraRow {
  const f: Json = issue.fields ?? {};
  return {
    id: idOf(issue.id, 'issue'),
    key: str(issue.key),
    project_key: str(f.project?.key),
    issue_type: str(f.issuetype?.name),
    summary: str(f.summary),
    description: adfText(f.description),
    status: str(f.status?.name),
    status_category: str(f.status?.statusCategory?.name),
    priority: str(f.priority?.name),
    resolution: str(f.resolution?.name),
    assignee_account_id: str(f.assignee?.accountId),
    assignee_name: str(f.assignee?.displayName),
    reporter_account_id: str(f.reporter?.accountId),
    reporter_name: str(f.reporter?.displayName),
    parent_key: str(f.parent?.key),
    labels: Array.isArray(f.labels) ? f.labels.map(String) : [],
    time_estimate_seconds: num(f.timeoriginalestimate),
    time_spent_seconds: num(f.timespent),
    due_date: dateOnly(f.duedate),
    created: toUtc(f.created),
    updated: toUtc(f.updated),
    resolved: toUtc(f.resolutiondate),
  };
}

export function commentRow(comment: Json, issueId: number): JiraRow {
  return {
    id: idOf(comment.id, 'comment'),
    issue_id: issueId,
    author_account_id: str(comment.author?.accountId),
    author_name: str(comment.author?.displayName),
    body: adfText(comment.body),
    created: toUtc(comment.created),
    updated: toUtc(comment.updated ?? comment.created),
  };
}

/** A history entry never changes after it is written: its `updated` is when it was created. */
export function changelogRow(history: Json, issueId: number, created?: unknown, author?: Json): JiraRow {
  const at = toUtc(history.created ?? created);
  const who: Json | undefined = history.author ?? author;
  return {
    id: idOf(history.id, 'changelog entry'),
    issue_id: issueId,
    author_account_id: str(who?.accountId),
    author_name: str(who?.displayName),
    items: (Array.isArray(history.items) ? history.items : []).map((i: Json) => ({
      field: str(i.field),
      from_value: str(i.from),
      from_string: str(i.fromString),
      to_value: str(i.to),
      to_string: str(i.toString),
    })),
    created: at,
    updated: at,
  };
}

export function worklogRow(worklog: Json, issueId?: number): JiraRow {
  return {
    id: idOf(worklog.id, 'worklog'),
    issue_id: issueId ?? idOf(worklog.issueId, 'the worklog\'s issue'),
    author_account_id: str(worklog.author?.accountId),
    author_name: str(worklog.author?.displayName),
    comment: adfText(worklog.comment),
    started: toUtc(worklog.started),
    time_spent_seconds: num(worklog.timeSpentSeconds),
    created: toUtc(worklog.created),
    updated: toUtc(worklog.updated ?? worklog.created),
  };
}
