import { Hono, type Context } from 'hono';
import type { AppDeps, AppEnv } from '../context.ts';
import type { SyncEngine } from '../sync/engine.ts';
import { newId } from '../auth/secrets.ts';
import { NAME_PATTERN } from '../sync/paths.ts';
import { MalformedEventError } from '../connectors/jira/events.ts';
import { acceptJiraEvent, verifyJiraSignature } from '../connectors/jira/webhook.ts';
import { problem } from './problem.ts';

export const JIRA_WEBHOOK_PATH = '/webhooks/jira/:dataset';

/**
 * `POST /webhooks/jira/{dataset}`: Jira's webhook for a `jira` source. Accepted only with a
 * valid `X-Hub-Signature: sha256=<hex>` (HMAC-SHA256 of the raw body with the source's
 * `webhook_secret`): 404 for a dataset that is not a Jira source, 403 when it has no secret
 * (never accepted unsigned), 401 for a missing or wrong signature, 400 for a body that is
 * not a Jira event; 202 once the event is stored (a sync applies it). Every call, refused
 * or not, is in the audit log as `jiraWebhook`.
 */
export function createJiraWebhookRouter(deps: AppDeps, engine: SyncEngine) {
  return new Hono<AppEnv>().post(JIRA_WEBHOOK_PATH, async (c) => {
    const started = performance.now();
    const dataset = c.req.param('dataset');
    const audit = async (status: number, params: Record<string, unknown>) => {
      await deps.repos.audit
        .append({
          id: newId(), timestamp: new Date().toISOString(), request_id: c.get('requestId') ?? null, user_id: null,
          action: 'jiraWebhook', resource: c.req.path, params: { dataset, ...params },
          result: status >= 500 ? 'error' : status >= 400 ? 'refused' : 'allowed', status,
          duration_ms: Math.round(performance.now() - started), ip: c.get('clientIp') ?? null,
        }, { urgent: true })
        .catch((err) => deps.logger.error('audit write failed', { error: String(err) }));
    };
    const refuse = async (ctx: Context, status: number, detail: string) => {
      await audit(status, { reason: detail });
      return problem(ctx, status, detail);
    };

    const source = NAME_PATTERN.test(dataset) ? deps.config.sources[dataset] : undefined;
    if (!source || source.type !== 'jira') return refuse(c, 404, `no Jira source is configured for dataset ${dataset}`);
    if (!source.webhook_secret) {
      return refuse(c, 403, `the Jira webhook of ${dataset} is off: its source has no webhook_secret (unsigned events are never accepted)`);
    }
    const raw = new Uint8Array(await c.req.arrayBuffer());
    if (!verifyJiraSignature(source.webhook_secret, raw, c.req.header('x-hub-signature'))) {
      return refuse(c, 401, 'missing or wrong X-Hub-Signature (expected sha256=<hex HMAC-SHA256 of the body>)');
    }
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      return refuse(c, 400, 'the body is not JSON');
    }
    try {
      const outcome = await acceptJiraEvent(deps, engine, dataset, body);
      await audit(202, { event: outcome.event, issue_key: outcome.issue_key, status: outcome.status, seq: outcome.seq });
      return c.json(outcome, 202);
    } catch (err) {
      if (err instanceof MalformedEventError) return refuse(c, 400, `not a Jira event: ${err.message}`);
      throw err;
    }
  });
}
