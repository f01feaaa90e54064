import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createHmac } from 'node:crypto';
import { parquetPath } from '../../src/sync/paths.ts';
import { jiraTime, startJiraStandIn, type JiraStandIn, type StandInIssue } from '../stand-ins/jira.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { testYaml } from '../helpers/data.ts';
import { readParquetFile } from '../helpers/parquet.ts';

const SECRET = 'jira-webhook-secret-0123456789abcdef';
let jira: JiraStandIn;
let server: TestServer;

const person = (id: string, name: string) => ({ accountId: id, displayName: name });
const adf = (text: string) => ({ type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text }] }] });

function makeIssue(n: number, updated: string, extra: Partial<StandInIssue> = {}): StandInIssue {
  return {
    id: String(10000 + n),
    key: `OPS-${n}`,
    fields: {
      project: { key: 'OPS' }, issuetype: { name: 'Task' }, summary: `Issue ${n}`, description: adf(`Body of ${n}`),
      status: { name: 'To Do', statusCategory: { name: 'To Do' } }, priority: { name: 'Medium' }, resolution: null,
      assignee: person('a1', 'Ann'), reporter: person('r1', 'Rob'), labels: ['ops', `n${n}`], timeoriginalestimate: 7200,
      timespent: 3600, duedate: '2025-02-01', created: jiraTime('2025-01-01T09:00:00Z'), updated: jiraTime(updated), resolutiondate: null,
    },
    comments: [], worklogs: [], histories: [], ...extra,
  };
}

const comment = (id: number, text: string, updated: string) => ({
  id: String(id), author: person('a1', 'Ann'), body: adf(text), created: jiraTime('2025-01-01T10:00:00Z'), updated: jiraTime(updated),
});

const sign = (body: string) => 'sha256=' + createHmac('sha256', SECRET).update(body).digest('hex');

function webhook(dataset: string, payload: unknown, signature: string | null | 'sign' = 'sign') {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature === 'sign') headers['x-hub-signature'] = sign(body);
  else if (signature) headers['x-hub-signature'] = signature;
  return server.fetch(`/webhooks/jira/${dataset}`, { method: 'POST', body, headers });
}

/**
 * Waits until every registered table of the dataset has applied every stored webhook event
 * (a webhook starts a sync, or queues one behind a running sync): waits on the engine, then
 * checks the tables' watermarks.
 */
async function settle(dataset = 'tracker') {
  for (;;) {
    await server.services.sync.idle();
    const events = await server.deps.repos.jiraEvents.list(dataset);
    const last = events.at(-1)?.seq ?? 0;
    const states = (await server.deps.repos.syncState.list()).filter((s) => s.table_id.startsWith(`${dataset}.`));
    if (states.every((s) => (JSON.parse(s.watermark ?? '{"seq":0}') as { seq: number }).seq >= last)) return;
    await Bun.sleep(5);
  }
}

async function query(sql: string, token = server.adminToken) {
  const res = await server.fetch('/api/query', { method: 'POST', token, json: { sql } });
  return { status: res.status, body: (await res.json()) as { rows: unknown[][]; detail?: string } };
}

const issueEvent = (event: string, issue: StandInIssue, at: string) => ({
  timestamp: Date.parse(at), webhookEvent: event, user: person('a1', 'Ann'), issue: { id: issue.id, key: issue.key, fields: issue.fields },
});

beforeAll(async () => {
  jira = startJiraStandIn({ embedLimit: 2 });
  jira.issues.set('10001', makeIssue(1, '2025-01-05T10:00:00Z', {
    comments: [comment(501, 'first', '2025-01-02T10:00:00Z'), comment(502, 'second', '2025-01-03T10:00:00Z'), comment(503, 'third', '2025-01-04T10:00:00Z')],
    worklogs: [{ id: '701', issueId: '10001', author: person('a1', 'Ann'), timeSpentSeconds: 3600, started: jiraTime('2025-01-02T08:00:00Z'),
      created: jiraTime('2025-01-02T09:00:00Z'), updated: jiraTime('2025-01-02T09:00:00Z'), comment: adf('debugging') }],
    histories: [1, 2, 3].map((h) => ({ id: String(900 + h), author: person('a1', 'Ann'), created: jiraTime(`2025-01-0${h + 1}T11:00:00Z`),
      items: [{ field: 'status', fromString: 'To Do', toString: 'In Progress', from: '1', to: '3' }] })),
  }));
  jira.issues.set('10002', makeIssue(2, '2025-01-06T10:00:00Z'));
  jira.issues.set('10003', makeIssue(3, '2025-01-07T10:00:00Z'));
  server = await startTestServer({ JIRA_TOKEN: jira.token }, {
    yaml: testYaml(`sync:
  schedule: null
sources:
  tracker:
    type: jira
    url: ${jira.url}
    email: ${jira.email}
    token: \${JIRA_TOKEN}
    webhook_secret: ${SECRET}
    page_size: 2
    max_retries: 3
    retry_backoff_ms: 10
  unsigned:
    type: jira
    url: ${jira.url}
    email: ${jira.email}
    token: \${JIRA_TOKEN}
    auto_register: false
`),
  });
});

afterAll(async () => {
  await server?.stop();
  jira?.stop();
});

test('a sync discovers and registers the four Jira tables and backfills them, waiting out a 429', async () => {
  jira.fail(/\/search\/jql$/, 429, 1, '1');
  const job = await server.services.sync.runNow();
  expect(job.status).toBe('succeeded');
  const result = job.result as { sources: Array<{ dataset: string; registered: string[] }>; tables: Array<{ table_id: string; status: string; mode: string }> };
  expect(result.sources.find((s) => s.dataset === 'tracker')!.registered.sort()).toEqual(
    ['tracker.changelog', 'tracker.comments', 'tracker.issues', 'tracker.worklogs'],
  );
  expect(result.tables.every((t) => t.status === 'ok' && t.mode === 'full')).toBe(true);
  const { items: tables } = (await (await server.fetch('/api/tables', { token: server.adminToken })).json()) as { items: Array<{ id: string; sync_strategy: string; primary_key: string[] }> };
  expect(tables.find((t) => t.id === 'tracker.issues')).toMatchObject({ sync_strategy: 'incremental', primary_key: ['id'] });
  // The 429 was retried after its Retry-After, then paging by nextPageToken (page_size 2, 3 issues).
  expect(jira.requests.filter((r) => r.includes('nextPageToken=2')).length).toBeGreaterThan(0);
  expect(jira.requests.some((r) => r.startsWith('GET /rest/api/3/search/jql') && r.includes('ORDER+BY+updated+ASC'))).toBe(true);
});

test('the backfilled Parquet files have real types and every child, paged past what search embeds', async () => {
  const issues = await readParquetFile(parquetPath(server.dataDir, 'tracker', 'issues'), 'id');
  expect(issues.types).toMatchObject({
    id: 'BIGINT', key: 'VARCHAR', labels: 'VARCHAR[]', time_spent_seconds: 'BIGINT', due_date: 'DATE', created: 'TIMESTAMP', updated: 'TIMESTAMP', resolved: 'TIMESTAMP',
  });
  expect(issues.rows).toHaveLength(3);
  expect(issues.rows[0]).toMatchObject({
    id: '10001', key: 'OPS-1', project_key: 'OPS', summary: 'Issue 1', description: 'Body of 1', status: 'To Do', assignee_name: 'Ann',
    labels: ['ops', 'n1'], time_spent_seconds: '3600', due_date: '2025-02-01', updated: '2025-01-05 10:00:00', resolved: null,
  });
  const comments = await readParquetFile(parquetPath(server.dataDir, 'tracker', 'comments'), 'id');
  expect(comments.types).toMatchObject({ id: 'BIGINT', issue_id: 'BIGINT', updated: 'TIMESTAMP' });
  expect(comments.rows.map((r) => [r.id, r.issue_id, r.body])).toEqual([['501', '10001', 'first'], ['502', '10001', 'second'], ['503', '10001', 'third']]);
  expect(jira.requests.some((r) => r.startsWith('GET /rest/api/3/issue/10001/comment'))).toBe(true);
  const changelog = await readParquetFile(parquetPath(server.dataDir, 'tracker', 'changelog'), 'id');
  expect(changelog.rows).toHaveLength(3);
  expect(changelog.types.items).toStartWith('STRUCT(');
  expect(changelog.rows[0]!.items).toEqual([{ field: 'status', from_value: '1', from_string: 'To Do', to_value: '3', to_string: 'In Progress' }]);
  const worklogs = await readParquetFile(parquetPath(server.dataDir, 'tracker', 'worklogs'), 'id');
  expect(worklogs.types).toMatchObject({ time_spent_seconds: 'BIGINT', started: 'TIMESTAMP' });
  expect(worklogs.rows).toEqual([expect.objectContaining({ id: '701', issue_id: '10001', time_spent_seconds: '3600', started: '2025-01-02 08:00:00', comment: 'debugging' })]);
});

test('an incremental sync searches from the last update and merges a changed issue and its new comment', async () => {
  const issue = jira.issues.get('10002')!;
  issue.fields = { ...issue.fields, summary: 'Issue 2, renamed', updated: jiraTime('2025-02-01T12:00:00Z') };
  issue.comments.push(comment(504, 'new on 2', '2025-02-01T12:00:00Z'));
  jira.requests.length = 0;
  const job = await server.services.sync.runNow({ tables: ['tracker.issues', 'tracker.comments'] });
  expect(job.status).toBe('succeeded');
  const result = job.result as { tables: Array<{ table_id: string; mode: string; rows_read: number }> };
  expect(result.tables.map((t) => t.mode)).toEqual(['incremental', 'incremental']);
  // From a day and more before the newest update seen (JQL compares in the account's zone), not from the beginning.
  const searches = jira.requests.filter((r) => r.startsWith('GET /rest/api/3/search/jql'));
  expect(searches.every((r) => decodeURIComponent(r.replace(/\+/g, ' ')).includes('updated >= "2025-01-06'))).toBe(true);
  const { body } = await query(`SELECT id, summary FROM tracker.issues ORDER BY id`);
  expect(body.rows).toEqual([['10001', 'Issue 1'], ['10002', 'Issue 2, renamed'], ['10003', 'Issue 3']]);
  const comments = await query(`SELECT id, issue_id FROM tracker.comments ORDER BY id`);
  expect(comments.body.rows.map((r) => r[0])).toEqual(['501', '502', '503', '504']);
});

test('a signed issue_created webhook is applied: the new issue is queryable after the sync it starts', async () => {
  const fresh = makeIssue(4, '2025-03-01T10:00:00Z');
  const res = await webhook('tracker', issueEvent('jira:issue_created', fresh, '2025-03-01T10:00:00Z'));
  expect(res.status).toBe(202);
  expect(await res.json()).toMatchObject({ status: 'accepted', event: 'jira:issue_created', issue_key: 'OPS-4' });
  await settle();
  const { body } = await query(`SELECT key, summary, updated::VARCHAR FROM tracker.issues WHERE id = 10004`);
  expect(body.rows).toEqual([['OPS-4', 'Issue 4', '2025-03-01 10:00:00']]);
  const audit = (await (await server.fetch('/api/audit?action=jiraWebhook', { token: server.adminToken })).json()) as { items: Array<{ status: number; params: { event?: string } }> };
  expect(audit.items.some((e) => e.status === 202 && e.params.event === 'jira:issue_created')).toBe(true);
});

test('comment and worklog webhooks upsert and delete their rows', async () => {
  const issue = { id: '10004', key: 'OPS-4' };
  expect((await webhook('tracker', { timestamp: Date.parse('2025-03-02T10:00:00Z'), webhookEvent: 'comment_created', issue, comment: comment(601, 'via hook', '2025-03-02T10:00:00Z') })).status).toBe(202);
  expect((await webhook('tracker', {
    timestamp: Date.parse('2025-03-02T11:00:00Z'), webhookEvent: 'worklog_created',
    worklog: { id: '801', issueId: '10004', timeSpentSeconds: 900, started: jiraTime('2025-03-02T09:00:00Z'), created: jiraTime('2025-03-02T11:00:00Z'), updated: jiraTime('2025-03-02T11:00:00Z') },
  })).status).toBe(202);
  await settle();
  expect((await query(`SELECT body FROM tracker.comments WHERE id = 601`)).body.rows).toEqual([['via hook']]);
  expect((await query(`SELECT time_spent_seconds FROM tracker.worklogs WHERE id = 801`)).body.rows).toEqual([['900']]);
  expect((await webhook('tracker', { timestamp: Date.parse('2025-03-03T10:00:00Z'), webhookEvent: 'comment_deleted', issue, comment: comment(601, 'via hook', '2025-03-02T10:00:00Z') })).status).toBe(202);
  await settle();
  expect((await query(`SELECT count(*) FROM tracker.comments WHERE id = 601`)).body.rows).toEqual([['0']]);
});

test('a replayed older event does not overwrite a newer row, and a deleted issue does not come back', async () => {
  const newer = makeIssue(4, '2025-03-05T10:00:00Z');
  newer.fields.summary = 'Newest summary';
  const older = makeIssue(4, '2025-03-04T10:00:00Z');
  older.fields.summary = 'Older summary';
  expect((await webhook('tracker', issueEvent('jira:issue_updated', newer, '2025-03-05T10:00:00Z'))).status).toBe(202);
  await settle();
  expect((await webhook('tracker', issueEvent('jira:issue_updated', older, '2025-03-04T10:00:00Z'))).status).toBe(202);
  await settle();
  expect((await query(`SELECT summary FROM tracker.issues WHERE id = 10004`)).body.rows).toEqual([['Newest summary']]);

  expect((await webhook('tracker', issueEvent('jira:issue_deleted', newer, '2025-03-06T10:00:00Z'))).status).toBe(202);
  await settle();
  expect((await query(`SELECT count(*) FROM tracker.issues WHERE id = 10004`)).body.rows).toEqual([['0']]);
  expect((await query(`SELECT count(*) FROM tracker.worklogs WHERE issue_id = 10004`)).body.rows).toEqual([['0']]);
  // The update from before the delete arrives late: the issue stays deleted.
  expect((await webhook('tracker', issueEvent('jira:issue_updated', older, '2025-03-04T10:00:00Z'))).status).toBe(202);
  await settle();
  expect((await query(`SELECT count(*) FROM tracker.issues WHERE id = 10004`)).body.rows).toEqual([['0']]);
});

test('unsigned, badly signed, secretless, unknown and malformed webhooks are refused and change nothing', async () => {
  const before = (await server.deps.repos.jiraEvents.list('tracker')).length;
  const event = issueEvent('jira:issue_created', makeIssue(9, '2025-04-01T10:00:00Z'), '2025-04-01T10:00:00Z');
  const bad = await webhook('tracker', event, 'sha256=' + '0'.repeat(64));
  expect(bad.status).toBe(401);
  expect(bad.headers.get('content-type')).toContain('application/problem+json');
  expect((await webhook('tracker', event, null)).status).toBe(401);
  expect((await webhook('tracker', event, 'sha1=abc')).status).toBe(401);
  // Signed with the right secret over a different body.
  expect((await server.fetch('/webhooks/jira/tracker', { method: 'POST', body: JSON.stringify(event) + ' ', headers: { 'x-hub-signature': sign(JSON.stringify(event)) } })).status).toBe(401);
  const secretless = await webhook('unsigned', event);
  expect(secretless.status).toBe(403);
  expect(((await secretless.json()) as { detail: string }).detail).toContain('webhook_secret');
  expect((await webhook('nowhere', event)).status).toBe(404);
  expect((await webhook('tracker', '{not json')).status).toBe(400);
  const noIssue = await webhook('tracker', { webhookEvent: 'jira:issue_created', timestamp: Date.now() });
  expect(noIssue.status).toBe(400);
  expect(((await noIssue.json()) as { detail: string }).detail).toContain('has no issue');
  expect((await webhook('tracker', { timestamp: Date.now() })).status).toBe(400);
  // An event the connector does not apply is acknowledged and ignored.
  const other = await webhook('tracker', { webhookEvent: 'project_created', timestamp: Date.now() });
  expect(other.status).toBe(202);
  expect(await other.json()).toMatchObject({ status: 'ignored' });
  await settle();
  expect((await server.deps.repos.jiraEvents.list('tracker')).length).toBe(before);
  expect((await query(`SELECT count(*) FROM tracker.issues WHERE id = 10009`)).body.rows).toEqual([['0']]);
  const audit = (await (await server.fetch('/api/audit?action=jiraWebhook', { token: server.adminToken })).json()) as { items: Array<{ status: number; result: string }> };
  expect(audit.items.filter((e) => e.result === 'refused').map((e) => e.status)).toEqual(expect.arrayContaining([401, 403, 404, 400]));
});

test('a failing Jira (500s) is reported in the sync history and the previous data is still served', async () => {
  const before = (await query(`SELECT count(*) FROM tracker.issues`)).body.rows;
  jira.fail(/\/search\/jql$/, 500, 1000);
  try {
    const job = await server.services.sync.runNow({ tables: ['tracker.issues'] });
    expect(job.status).toBe('failed');
    const res = await server.fetch(`/api/sync/jobs/${job.id}`, { token: server.adminToken });
    const body = (await res.json()) as { status: string; tables: Array<{ status: string; error: string }> };
    expect(body.status).toBe('failed');
    expect(body.tables[0]).toMatchObject({ status: 'error' });
    expect(body.tables[0]!.error).toContain('answered 500');
    const history = (await (await server.fetch('/api/sync/history?table=tracker.issues', { token: server.adminToken })).json()) as { items: Array<{ status: string; error: string | null }> };
    expect(history.items[0]).toMatchObject({ status: 'error' });
  } finally {
    jira.clearFailures();
  }
  expect((await query(`SELECT count(*) FROM tracker.issues`)).body.rows).toEqual(before);
});

test('wrong credentials fail listing the source with a clear error', async () => {
  const { createJiraConnector } = await import('../../src/connectors/jira/index.ts');
  const connector = createJiraConnector('x', {
    type: 'jira', url: jira.url, email: jira.email, token: 'wrong', public: false, auto_register: true, page_size: 10, max_retries: 0, retry_backoff_ms: 1, request_timeout_ms: 5000,
  });
  await expect(connector.listTables()).rejects.toThrow(/answered 401 \(check the source's email and token\)/);
});

test('an analyst without a grant to the Jira dataset gets 404 for its tables; with one, reads them', async () => {
  const analyst = await server.createUser('analyst');
  expect((await server.fetch('/api/data/tracker.issues/download', { token: analyst.token })).status).toBe(404);
  expect((await server.fetch('/api/catalog/tables/tracker.issues', { token: analyst.token })).status).toBe(404);
  const denied = await query(`SELECT count(*) FROM tracker.issues`, analyst.token);
  expect(denied.status).toBeGreaterThanOrEqual(400);
  const grant = await server.fetch(`/api/users/${analyst.id}/permissions/tracker`, { method: 'PUT', token: server.adminToken, json: { access: 'read' } });
  expect(grant.status).toBeLessThan(300);
  expect((await server.fetch('/api/data/tracker.issues/download', { token: analyst.token })).status).toBe(200);
});
