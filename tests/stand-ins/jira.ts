type Json = Record<string, any>;

/** An issue of the stand-in, with its children as Jira returns them. */
export interface StandInIssue {
  id: string;
  key: string;
  fields: Json & { updated: string; created: string };
  comments: Json[];
  worklogs: Json[];
  histories: Json[];
}

export interface JiraStandIn {
  url: string;
  email: string;
  token: string;
  issues: Map<string, StandInIssue>;
  /** Every request as `METHOD path?query`. */
  requests: string[];
  /** The next `count` requests matching `match` get `status` (with Retry-After when given). */
  fail(match: RegExp, status: number, count?: number, retryAfter?: string): void;
  /** Stops failing. */
  clearFailures(): void;
  stop(): void;
}

/** Jira's own time format: `2025-01-02T10:00:00.000+0000`. */
export const jiraTime = (iso: string) => new Date(iso).toISOString().replace('Z', '+0000');

/**
 * A local stand-in of the Jira Cloud REST API v3 over real HTTP: basic auth, GET
 * /rest/api/3/myself, the enhanced search GET /rest/api/3/search/jql (JQL `updated >=
 * "yyyy-MM-dd HH:mm"`, ORDER BY updated ASC, `fields`, `expand=changelog`, paging by
 * nextPageToken, the first `embedLimit` comments / worklogs / histories embedded with their
 * total) and each issue's paged `comment`, `worklog` and `changelog` lists. Failures are
 * injected per path.
 */
export function startJiraStandIn(opts: { embedLimit?: number } = {}): JiraStandIn {
  const embedLimit = opts.embedLimit ?? 2;
  const email = 'bot@example.com';
  const token = 'jira-token-' + Math.random().toString(36).slice(2);
  const issues = new Map<string, StandInIssue>();
  const requests: string[] = [];
  let failures: Array<{ match: RegExp; status: number; left: number; retryAfter?: string }> = [];

  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  const page = (items: Json[], url: URL, key: string) => {
    const startAt = Number(url.searchParams.get('startAt') ?? 0);
    const max = Number(url.searchParams.get('maxResults') ?? 50);
    const slice = items.slice(startAt, startAt + max);
    return { startAt, maxResults: max, total: items.length, isLast: startAt + slice.length >= items.length, [key]: slice };
  };

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      const url = new URL(req.url);
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      const failure = failures.find((f) => f.left > 0 && f.match.test(url.pathname));
      if (failure) {
        failure.left--;
        return json({ errorMessages: [`injected ${failure.status}`] }, failure.status, failure.retryAfter ? { 'retry-after': failure.retryAfter } : {});
      }
      if (req.headers.get('authorization') !== 'Basic ' + Buffer.from(`${email}:${token}`).toString('base64')) {
        return new Response('Client must be authenticated to access this resource.', { status: 401 });
      }
      if (url.pathname === '/rest/api/3/myself') return json({ accountId: 'bot', emailAddress: email, displayName: 'Bot' });
      if (url.pathname === '/rest/api/3/search/jql') {
        const jql = url.searchParams.get('jql') ?? '';
        const m = /updated >= "(\d{4}-\d{2}-\d{2} \d{2}:\d{2})"/.exec(jql);
        if (!m) return json({ errorMessages: ['Unbounded JQL queries are not allowed here.'] }, 400);
        const since = Date.parse(m[1]!.replace(' ', 'T') + ':00Z');
        const found = [...issues.values()]
          .filter((i) => Date.parse(i.fields.updated.replace(/\+0000$/, 'Z')) >= since)
          .sort((a, b) => a.fields.updated.localeCompare(b.fields.updated) || Number(a.id) - Number(b.id));
        const offset = Number(url.searchParams.get('nextPageToken') ?? 0);
        const max = Number(url.searchParams.get('maxResults') ?? 50);
        const fields = (url.searchParams.get('fields') ?? '').split(',').filter(Boolean);
        const changelog = (url.searchParams.get('expand') ?? '').split(',').includes('changelog');
        const slice = found.slice(offset, offset + max).map((i) => {
          const out: Json = { id: i.id, key: i.key, fields: {} };
          for (const f of fields) {
            if (f === 'comment') out.fields.comment = { comments: i.comments.slice(0, embedLimit), maxResults: embedLimit, total: i.comments.length, startAt: 0 };
            else if (f === 'worklog') out.fields.worklog = { worklogs: i.worklogs.slice(0, embedLimit), maxResults: embedLimit, total: i.worklogs.length, startAt: 0 };
            else if (f in i.fields) out.fields[f] = i.fields[f];
          }
          if (changelog) out.changelog = { histories: i.histories.slice(0, embedLimit), maxResults: embedLimit, total: i.histories.length, startAt: 0 };
          return out;
        });
        const more = offset + max < found.length;
        return json({ issues: slice, isLast: !more, ...(more ? { nextPageToken: String(offset + max) } : {}) });
      }
      const child = /^\/rest\/api\/3\/issue\/([^/]+)\/(comment|worklog|changelog)$/.exec(url.pathname);
      if (child) {
        const issue = issues.get(child[1]!) ?? [...issues.values()].find((i) => i.key === child[1]);
        if (!issue) return json({ errorMessages: ['Issue does not exist or you do not have permission to see it.'] }, 404);
        if (child[2] === 'comment') return json(page(issue.comments, url, 'comments'));
        if (child[2] === 'worklog') return json(page(issue.worklogs, url, 'worklogs'));
        return json(page(issue.histories, url, 'values'));
      }
      return json({ errorMessages: ['not found'] }, 404);
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    email,
    token,
    issues,
    requests,
    fail(match, status, count = 1, retryAfter) {
      failures.push({ match, status, left: count, retryAfter });
    },
    clearFailures() {
      failures = [];
    },
    stop() {
      server.stop(true);
    },
  };
}
