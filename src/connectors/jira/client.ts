type Json = Record<string, any>;

export interface JiraClientOptions {
  url: string;
  email: string;
  token: string;
  fetch?: typeof fetch;
  maxRetries: number;
  backoffMs: number;
  timeoutMs: number;
  pageSize: number;
}

/** Longest wait a Retry-After may ask for before the call gives up waiting. */
const MAX_RETRY_WAIT_MS = 60_000;

/** A Jira REST answer that is not a success (after retries). */
export class JiraHttpError extends Error {
  override name = 'JiraHttpError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}

/**
 * Jira Cloud REST v3 over fetch: basic auth with the account's email and API token,
 * retries of 429 and 5xx (not 501) honouring Retry-After, a time limit per call.
 */
export function createJiraClient(opts: JiraClientOptions) {
  const doFetch = opts.fetch ?? fetch;
  const base = opts.url.replace(/\/+$/, '');
  const auth = 'Basic ' + Buffer.from(`${opts.email}:${opts.token}`).toString('base64');

  async function get(path: string, params: Record<string, string | number | undefined> = {}, signal?: AbortSignal): Promise<Json> {
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, String(v));
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      let res: Response;
      try {
        res = await doFetch(url, {
          headers: { authorization: auth, accept: 'application/json' },
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs)]) : AbortSignal.timeout(opts.timeoutMs),
        });
      } catch (err) {
        if (signal?.aborted || attempt >= opts.maxRetries) {
          throw new Error(`Jira ${path}: ${(err as Error).name === 'TimeoutError' ? `no answer within ${opts.timeoutMs} ms` : (err as Error).message}`);
        }
        await Bun.sleep(opts.backoffMs * 2 ** attempt);
        continue;
      }
      if (res.ok) return (await res.json()) as Json;
      const retryable = res.status === 429 || (res.status >= 500 && res.status !== 501);
      if (retryable && attempt < opts.maxRetries) {
        const wait = retryAfterMs(res.headers.get('retry-after')) ?? opts.backoffMs * 2 ** attempt;
        await res.body?.cancel();
        await Bun.sleep(Math.min(wait, MAX_RETRY_WAIT_MS));
        continue;
      }
      const text = (await res.text().catch(() => '')).slice(0, 300);
      let detail = text;
      try {
        const body = JSON.parse(text) as Json;
        detail = [...(body.errorMessages ?? []), ...Object.values(body.errors ?? {})].join('; ') || text;
      } catch {}
      const hint = res.status === 401 ? ' (check the source\'s email and token)' : res.status === 403 ? ' (the account may not browse these projects)' : '';
      throw new JiraHttpError(res.status, `Jira ${path} answered ${res.status}${hint}${detail ? `: ${detail}` : ''}`);
    }
  }

  return {
    /** The account the token belongs to (checks the credentials). */
    myself: (signal?: AbortSignal) => get('/rest/api/3/myself', {}, signal),

    /** Every issue the JQL finds, page by page (enhanced search, nextPageToken). */
    async *search(jql: string, fields: string[], expand: string | undefined, signal?: AbortSignal): AsyncGenerator<Json[]> {
      let nextPageToken: string | undefined;
      for (;;) {
        const page = await get(
          '/rest/api/3/search/jql',
          { jql, fields: fields.join(','), expand, maxResults: opts.pageSize, nextPageToken },
          signal,
        );
        const issues = Array.isArray(page.issues) ? (page.issues as Json[]) : [];
        yield issues;
        if (page.isLast === true || !page.nextPageToken || !issues.length) return;
        nextPageToken = String(page.nextPageToken);
      }
    },

    /** Every item of a paged per-issue list (`comment`, `worklog`, `changelog`), by startAt. */
    async listAll(issueId: number, what: 'comment' | 'worklog' | 'changelog', signal?: AbortSignal): Promise<Json[]> {
      const key = what === 'comment' ? 'comments' : what === 'worklog' ? 'worklogs' : 'values';
      const out: Json[] = [];
      for (;;) {
        const page = await get(`/rest/api/3/issue/${issueId}/${what}`, { startAt: out.length, maxResults: 100 }, signal);
        const items = Array.isArray(page[key]) ? (page[key] as Json[]) : [];
        out.push(...items);
        const total = typeof page.total === 'number' ? page.total : null;
        if (!items.length || page.isLast === true || (total !== null && out.length >= total)) return out;
      }
    },
  };
}

export type JiraClient = ReturnType<typeof createJiraClient>;
