import type { Client } from '../../client.ts';
import { CliError } from '../../errors.ts';

/** One check of `da setup test-connection|verify`. */
export interface Check {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  detail: string;
}

/** The checks as lines for a terminal: `ok      source sales: 4 tables`. */
export function formatChecks(checks: Check[]): string[] {
  return checks.map((c) => `${c.status.padEnd(7)} ${c.name}: ${c.detail}`);
}

/** A sync job as GET /api/sync/jobs/{id} returns it. */
export interface SyncJobView {
  job_id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  tables: Array<{ table_id: string; status: 'ok' | 'error'; rows: number | null; error: string | null }>;
  error: string | null;
}

/**
 * Registers every configured source's tables, starts a sync and waits for it, telling
 * `progress` what is going on. Returns the finished job.
 */
export async function registerAndSync(client: Client, progress: (line: string) => void, { pollMs = 250, timeoutMs = 30 * 60_000 } = {}): Promise<SyncJobView> {
  const { items } = await client.get<{ items: Array<{ dataset: string; type: string }> }>('/api/sources');
  if (!items.length) throw new CliError('the server has no sources configured: add one to instance.yaml (`da setup init --source NAME=PATH`) and restart it');
  for (const s of items) {
    const r = await client.post<{ registered?: unknown[]; items?: unknown[] }>(`/api/sources/${encodeURIComponent(s.dataset)}/register-all`);
    const n = Array.isArray(r?.registered) ? r.registered.length : Array.isArray(r?.items) ? r.items.length : undefined;
    progress(`registered ${s.dataset} (${s.type})${n !== undefined ? `: ${n} new tables` : ''}`);
  }
  const { job_id } = await client.post<{ job_id: string }>('/api/sync/trigger', {});
  progress(`sync ${job_id} started`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await client.get<SyncJobView>(`/api/sync/jobs/${encodeURIComponent(job_id)}`);
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    if (Date.now() > deadline) throw new CliError(`sync ${job_id} did not finish within ${Math.round(timeoutMs / 60_000)} minutes; follow it with \`da admin\` or the /admin/sync page`);
    progress(`sync ${job_id}: ${job.status}`);
    await Bun.sleep(pollMs);
  }
}

/** The one-line reason a finished sync job did not fully succeed, or undefined. */
export function syncProblem(job: SyncJobView): string | undefined {
  if (job.status === 'failed') return `sync failed: ${job.error ?? 'no reason given'}`;
  const bad = job.tables.filter((t) => t.status === 'error');
  if (bad.length) return `${bad.length} table(s) failed to sync: ${bad.map((t) => `${t.table_id} (${t.error})`).join('; ')}`;
  return undefined;
}
