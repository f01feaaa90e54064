import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AppDeps } from '../../context.ts';
import type { SyncEngine } from '../../sync/engine.ts';
import { parseJiraWatermark } from './index.ts';
import { parseWebhookEvent, type JiraChange } from './events.ts';

/**
 * Checks Jira's `X-Hub-Signature: sha256=<hex>` against the HMAC-SHA256 of the raw body
 * with the dataset's secret, in constant time.
 */
export function verifyJiraSignature(secret: string, body: Uint8Array, header: string | undefined): boolean {
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? '');
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(m[1]!, 'hex'), expected);
}

/** What the webhook did with one event. */
export interface WebhookOutcome {
  status: 'accepted' | 'ignored';
  event: string;
  issue_key: string | null;
  /** The stored event's number (accepted only). */
  seq: number | null;
  /** The sync that applies it, when one was started now. */
  job_id: string | null;
}

/** Datasets with a sync queued behind a running one, so a burst of events starts one sync, not many. */
const waiting = new Set<string>();

/**
 * Accepts one verified webhook body: stores the row changes it makes and starts a sync of
 * the dataset's registered tables, which applies them through the engine's write path
 * (new file, hash, sync_state, views). While another sync runs, one sync is queued behind
 * it; a table that is not registered yet applies the events at its first sync.
 * Throws MalformedEventError for a body that is not a Jira event.
 */
export async function acceptJiraEvent(deps: AppDeps, engine: SyncEngine, dataset: string, body: unknown): Promise<WebhookOutcome> {
  const change: JiraChange | null = parseWebhookEvent(body);
  const event = String((body as { webhookEvent: string }).webhookEvent);
  if (!change) return { status: 'ignored', event, issue_key: null, seq: null, job_id: null };
  await pruneApplied(deps, dataset);
  const seq = await deps.repos.jiraEvents.append({ dataset, event, change, deletes: change.tombstones.length > 0 });
  const tables = (await deps.repos.tableRegistry.list()).filter((t) => t.dataset === dataset && t.enabled && !t.missing_since).map((t) => t.id);
  let jobId: string | null = null;
  if (tables.length) {
    const started = await engine.trigger({ tables });
    if (!started.already_running) jobId = started.job.id;
    else if (!waiting.has(dataset)) {
      waiting.add(dataset);
      void engine
        .idle()
        .then(() => engine.trigger({ tables }))
        .catch((err) => deps.logger.warn('starting a sync for Jira webhook events failed', { dataset, error: String(err) }))
        .finally(() => waiting.delete(dataset));
    }
  }
  return { status: 'accepted', event, issue_key: change.issue_key, seq, job_id: jobId };
}

/** Drops events every registered table of the dataset has applied (deletes stay as tombstones). */
async function pruneApplied(deps: AppDeps, dataset: string): Promise<void> {
  const tables = (await deps.repos.tableRegistry.list()).filter((t) => t.dataset === dataset);
  if (!tables.length) return;
  const states = new Map((await deps.repos.syncState.list()).map((s) => [s.table_id, s]));
  const applied = tables.map((t) => parseJiraWatermark(states.get(t.id)?.watermark ?? null)?.seq ?? 0);
  const upTo = Math.min(...applied);
  if (upTo > 0) await deps.repos.jiraEvents.prune(dataset, upTo);
}
