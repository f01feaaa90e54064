import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../../context.ts';
import { NotFoundError } from '../../errors.ts';
import type { SyncJob } from '../../repositories/sync-state.ts';
import type { SyncJobResult } from '../../sync/engine.ts';
import { listTablesWithState } from '../../sync/registry.ts';
import { TableIdSchema } from '../../api/schemas.ts';
import { SyncPage, type JobView } from '../../../views/admin/sync.tsx';
import { definePage, type AnyPage } from '../router.ts';
import { adminPage } from './common.ts';

/**
 * /admin/sync: what each table's last sync left, a button that starts a sync (the engine's
 * trigger, as POST /api/sync/trigger), the job it started with its progress, and the
 * history. While the job runs the page reloads itself (a Refresh header): no script needed.
 */

const REFRESH_SECONDS = 2;

async function jobView(deps: AppDeps, job: SyncJob, emails: Map<string, string>): Promise<JobView> {
  const result = (job.result ?? {}) as Partial<SyncJobResult>;
  const tables = result.tables
    ? result.tables.map((t) => ({ table_id: t.table_id, status: t.status, rows: t.rows, duration_ms: t.duration_ms, error: t.error, notes: t.notes }))
    : (await deps.repos.syncState.historyOfJob(job.id)).map((h) => ({
        table_id: h.table_id, status: h.status, rows: h.rows, duration_ms: h.duration_ms, error: h.error,
      }));
  return {
    id: job.id, status: job.status, requested_by: job.requested_by ? (emails.get(job.requested_by) ?? job.requested_by) : null,
    created_at: job.created_at, started_at: job.started_at, finished_at: job.finished_at,
    // A sync of every table registers new ones as it starts: once it has ended, its result counts them.
    total: result.tables?.length ?? job.tables?.length ?? tables.length, tables, error: job.error, message: result.message ?? null,
    registration: (result.sources ?? []).flatMap((s) => {
      const parts = [
        s.registered.length ? `registered ${s.registered.join(', ')}` : '',
        s.missing.length ? `missing (still served) ${s.missing.join(', ')}` : '',
        s.returned.length ? `offered again ${s.returned.join(', ')}` : '',
        s.skipped.length ? `skipped ${s.skipped.map((k) => `${k.source_table} (${k.reason})`).join(', ')}` : '',
      ].filter(Boolean);
      return parts.length ? [`${s.dataset}: ${parts.join('; ')}`] : [];
    }),
  };
}

/** GET /admin/sync (`?job=<id>` follows that job); POST starts a sync (sync.trigger). */
export const adminSyncPage = definePage({
  path: '/admin/sync',
  access: 'admin',
  action: 'sync.trigger',
  query: z.object({ job: z.string().min(1).max(64).optional() }),
  form: z.object({ table: TableIdSchema.optional() }),
  async get(c, { deps, services, query, csrf }) {
    const { syncState, users } = deps.repos;
    const [tables, recent, history, everyone] = await Promise.all([
      listTablesWithState(deps), syncState.listJobs(10), syncState.history(undefined, 50), users.list({ includeInactive: true }),
    ]);
    const emails = new Map(everyone.map((u) => [u.id, u.email]));
    const followed = query.job ?? services.sync.runningJobId() ?? recent[0]?.id;
    const job = followed ? await syncState.getJob(followed) : undefined;
    if (query.job && !job) throw new NotFoundError(`There is no sync job ${query.job}.`);
    const view = job ? await jobView(deps, job, emails) : null;
    adminPage(c);
    if (view && (view.status === 'queued' || view.status === 'running')) c.header('refresh', String(REFRESH_SECONDS));
    return c.render(
      <SyncPage
        tables={tables.map((t) => ({
          id: t.id, enabled: t.enabled, status: t.sync?.status ?? 'pending', hash: t.sync?.hash ?? null, rows: t.sync?.rows ?? null,
          bytes: t.sync?.file_size_bytes ?? null, columns: t.sync?.columns ?? null, last_sync: t.sync?.last_sync ?? null, error: t.sync?.error ?? null,
        }))}
        job={view}
        recentJobs={recent.map((j) => ({
          id: j.id, status: j.status, created_at: j.created_at, finished_at: j.finished_at,
          requested_by: j.requested_by ? (emails.get(j.requested_by) ?? j.requested_by) : null, total: (j.result as Partial<SyncJobResult> | null)?.tables?.length ?? j.tables?.length ?? 0,
        }))}
        history={history}
        syncing={services.sync.runningJobId() !== null}
        refreshSeconds={REFRESH_SECONDS}
        csrf={csrf}
      />,
      { title: 'Sync' },
    );
  },
  async post(c, { services, user, form, redirect }) {
    const { job, already_running } = await services.sync.trigger({ tables: form.table ? [form.table] : undefined, requestedBy: user.id });
    const count = job.tables?.length ?? 0;
    return redirect(`/admin/sync?job=${encodeURIComponent(job.id)}`, {
      kind: 'ok',
      message: already_running
        ? 'A sync was already running: this is that job. Start another when it has finished.'
        : `Started a sync of ${count} table${count === 1 ? '' : 's'}.`,
    });
  },
});

/** The sync page, as src/web/pages.ts registers it. */
export const ADMIN_SYNC_PAGES: AnyPage[] = [adminSyncPage];
