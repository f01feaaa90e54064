import { changelogRow, commentRow, idOf, issueRow, toUtc, worklogRow, type JiraRow, type JiraTable } from './records.ts';

/** A row removed by a `*_deleted` event: by its own id, or every row of a deleted issue. */
export interface Tombstone {
  table: JiraTable;
  /** The row's id, or null with `issue_id` for every row of that issue. */
  id: number | null;
  issue_id: number | null;
  /** When it was deleted: rows updated up to then go, a later version stays. */
  at: string;
}

/** What one webhook event changes in the tables. */
export interface JiraChange {
  event: string;
  upserts: Array<{ table: JiraTable; row: JiraRow }>;
  tombstones: Tombstone[];
  /** The issue key, for the audit log. */
  issue_key: string | null;
}

/** A webhook body that is not a Jira event this connector understands. */
export class MalformedEventError extends Error {
  override name = 'MalformedEventError';
}

/** The events the webhook applies; any other `webhookEvent` is acknowledged and ignored. */
export const APPLIED_EVENTS = /^(jira:issue_(created|updated|deleted)|comment_(created|updated|deleted)|worklog_(created|updated|deleted))$/;

type Json = Record<string, any>;

/**
 * Turns one webhook body (Jira Cloud's JSON) into row changes. Throws MalformedEventError
 * when an applied event lacks what it needs (an issue, comment or worklog with an id).
 * Returns null for events the connector does not apply.
 */
export function parseWebhookEvent(body: unknown): JiraChange | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new MalformedEventError('the body is not a JSON object');
  const b = body as Json;
  const event = b.webhookEvent;
  if (typeof event !== 'string' || !event) throw new MalformedEventError('the body has no webhookEvent');
  if (!APPLIED_EVENTS.test(event)) return null;
  // Jira stamps each event with the time it happened (ms); a delete removes what was updated up to then.
  const at = toUtc(b.timestamp) ?? toUtc(Date.now())!;
  const change: JiraChange = { event, upserts: [], tombstones: [], issue_key: typeof b.issue?.key === 'string' ? b.issue.key : null };
  try {
    const issueId = () => {
      if (!b.issue || typeof b.issue !== 'object') throw new MalformedEventError(`${event} has no issue`);
      return idOf(b.issue.id, 'issue');
    };
    if (event.startsWith('jira:issue_')) {
      const id = issueId();
      if (event === 'jira:issue_deleted') {
        change.tombstones.push({ table: 'issues', id, issue_id: null, at });
        for (const table of ['comments', 'changelog', 'worklogs'] as const) change.tombstones.push({ table, id: null, issue_id: id, at });
      } else {
        if (!b.issue.fields || typeof b.issue.fields !== 'object') throw new MalformedEventError(`${event} has no issue fields`);
        change.upserts.push({ table: 'issues', row: issueRow(b.issue) });
        // An update carries the history entry it wrote.
        if (b.changelog?.id !== undefined && Array.isArray(b.changelog.items)) {
          change.upserts.push({ table: 'changelog', row: changelogRow(b.changelog, id, b.timestamp, b.user) });
        }
      }
    } else if (event.startsWith('comment_')) {
      const id = issueId();
      if (!b.comment || typeof b.comment !== 'object') throw new MalformedEventError(`${event} has no comment`);
      const row = commentRow(b.comment, id);
      if (event === 'comment_deleted') change.tombstones.push({ table: 'comments', id: row.id, issue_id: null, at });
      else change.upserts.push({ table: 'comments', row });
    } else {
      if (!b.worklog || typeof b.worklog !== 'object') throw new MalformedEventError(`${event} has no worklog`);
      const row = worklogRow(b.worklog, b.issue?.id !== undefined ? idOf(b.issue.id, 'issue') : undefined);
      if (event === 'worklog_deleted') change.tombstones.push({ table: 'worklogs', id: row.id, issue_id: null, at });
      else change.upserts.push({ table: 'worklogs', row });
    }
  } catch (err) {
    if (err instanceof MalformedEventError) throw err;
    throw new MalformedEventError(`${event}: ${(err as Error).message}`);
  }
  for (const u of change.upserts) {
    if (!u.row.updated) throw new MalformedEventError(`${event}: the ${u.table} record has no updated time`);
  }
  return change;
}
