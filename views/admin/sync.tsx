import { CsrfField } from '../layout.tsx';
import { AdminFrame, formatBytes, formatCount, Time } from './common.tsx';
import { StatusBadge } from './tables.tsx';
import { DataTable, num } from '../data-table.tsx';

/** What the server serves of one table now. */
export interface TableStateRow {
  id: string;
  enabled: boolean;
  /** `ok`, `error`, or `pending` (never synced). */
  status: string;
  hash: string | null;
  rows: number | null;
  bytes: number | null;
  columns: number | null;
  last_sync: string | null;
  error: string | null;
}

/** One table's outcome within a job. */
export interface JobTableRow {
  table_id: string;
  status: string;
  rows: number | null;
  duration_ms: number | null;
  error: string | null;
  /** What the connector reported (a full pull instead of an incremental one, values that did not convert). */
  notes?: string[];
}

export interface JobView {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  requested_by: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** How many tables it pulls. */
  total: number;
  /** The tables it has finished (all of them once it has ended). */
  tables: JobTableRow[];
  error: string | null;
  /** Why the job had nothing to sync, when it had nothing. */
  message?: string | null;
  /** What automatic registration did, one line per source that changed. */
  registration?: string[];
}

export interface HistoryRow {
  table_id: string;
  job_id: string | null;
  synced_at: string;
  status: string;
  rows: number | null;
  bytes: number | null;
  duration_ms: number | null;
  error: string | null;
}

export interface SyncPageProps {
  tables: TableStateRow[];
  /** The job followed (the one asked for, the running one, or the newest). */
  job: JobView | null;
  recentJobs: Array<Pick<JobView, 'id' | 'status' | 'created_at' | 'finished_at' | 'requested_by' | 'total'>>;
  history: HistoryRow[];
  /** A sync is running now (the button follows it instead of starting one). */
  syncing: boolean;
  /** Seconds until the page reloads itself while the job runs. */
  refreshSeconds: number;
  csrf: string;
}

const running = (status: string) => status === 'queued' || status === 'running';
const seconds = (ms: number | null) => (ms === null ? '' : `${(ms / 1000).toFixed(1)} s`);

function Job({ job, refreshSeconds }: { job: JobView; refreshSeconds: number }) {
  const busy = running(job.status);
  const done = job.tables.length;
  return (
    <section aria-labelledby="job" data-testid="job" data-job-id={job.id} data-status={job.status} aria-busy={busy ? 'true' : undefined}>
      <h2 id="job">
        Sync job <code>{job.id.slice(0, 8)}</code>: <span data-testid="job-status">{job.status}</span>
      </h2>
      <p class="note">
        Requested by {job.requested_by ?? 'the schedule'} at <Time iso={job.created_at} />
        {job.finished_at ? <>; finished <Time iso={job.finished_at} /></> : job.started_at ? <>; started <Time iso={job.started_at} /></> : ''}.
      </p>
      <p>
        <label for="job-progress">
          {done} of {job.total} tables done
        </label>{' '}
        <progress id="job-progress" value={done} max={Math.max(job.total, 1)} data-testid="job-progress">
          {done} of {job.total}
        </progress>
      </p>
      {busy ? (
        <p class="note" role="status">
          This page reloads itself every {refreshSeconds} s until the job ends, or <a href={`/admin/sync?job=${encodeURIComponent(job.id)}`}>refresh now</a>.
        </p>
      ) : null}
      {job.error ? <p class="error">{job.error}</p> : null}
      {job.message ? (
        <p class="error" data-testid="job-message">
          {job.message}
        </p>
      ) : null}
      {job.registration?.length ? (
        <ul data-testid="job-registration">
          {job.registration.map((line) => (
            <li>{line}</li>
          ))}
        </ul>
      ) : null}
      {job.tables.length ? (
        <DataTable testId="job-tables" caption="Tables of this job" columns={['Table', 'Result', num('Rows'), num('Took'), 'Error']}>
          {job.tables.map((t) => (
            <tr>
              <th scope="row">
                <code>{t.table_id}</code>
              </th>
              <td>
                <StatusBadge status={t.status} />
              </td>
              <td class="num">{formatCount(t.rows)}</td>
              <td class="num">{seconds(t.duration_ms)}</td>
              <td class="error">
                {t.error ?? ''}
                {t.notes?.map((n) => <div class="note">{n}</div>)}
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
    </section>
  );
}

/** /admin/sync: per-table state, a button that starts a sync, the job it started, and the history. */
export function SyncPage({ tables, job, recentJobs, history, syncing, refreshSeconds, csrf }: SyncPageProps) {
  const enabled = tables.filter((t) => t.enabled).length;
  return (
    <AdminFrame current="/admin/sync">
      <h1>Sync</h1>
      <form method="post" action="/admin/sync">
        <CsrfField token={csrf} />
        <button type="submit" data-testid="trigger" disabled={enabled === 0}>
          {syncing ? 'Follow the running sync' : `Sync all ${enabled} enabled tables now`}
        </button>
        {enabled === 0 ? <span class="note"> No table is enabled: register tables on the <a href="/admin/tables">Tables</a> page.</span> : null}
      </form>

      {job ? <Job job={job} refreshSeconds={refreshSeconds} /> : null}

      <section aria-labelledby="state">
        <h2 id="state">Tables</h2>
        {tables.length === 0 ? (
          <p class="note">No tables are registered.</p>
        ) : (
          <DataTable testId="state" caption="What the server serves of each table" columns={['Table', 'Status', 'Last sync', num('Rows'), num('Size'), 'Hash', 'Sync']}>
            {tables.map((t) => (
              <tr data-table={t.id} class={t.enabled ? undefined : 'inactive'}>
                <th scope="row">
                  <code>{t.id}</code>
                  {t.enabled ? null : <div class="note">disabled</div>}
                </th>
                <td>
                  <StatusBadge status={t.status} />
                  {t.error ? <div class="error">{t.error}</div> : null}
                </td>
                <td><Time iso={t.last_sync} /></td>
                <td class="num" data-testid="rows">{formatCount(t.rows)}</td>
                <td class="num">{formatBytes(t.bytes)}</td>
                <td>{t.hash ? <code title={t.hash}>{t.hash.slice(0, 12)}</code> : ''}</td>
                <td>
                  <form method="post" action="/admin/sync" class="inline">
                    <CsrfField token={csrf} />
                    <input type="hidden" name="table" value={t.id} />
                    <button type="submit" aria-label={`Sync ${t.id} now`}>Sync</button>
                  </form>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>

      {recentJobs.length ? (
        <section aria-labelledby="jobs">
          <h2 id="jobs">Recent jobs</h2>
          <DataTable testId="jobs" caption="The newest sync jobs" columns={['Job', 'Status', 'Requested', 'By', num('Tables'), 'Finished']}>
            {recentJobs.map((j) => (
              <tr>
                <th scope="row">
                  <a href={`/admin/sync?job=${encodeURIComponent(j.id)}`}>
                    <code>{j.id.slice(0, 8)}</code>
                  </a>
                </th>
                <td>
                  <StatusBadge status={j.status} />
                </td>
                <td><Time iso={j.created_at} /></td>
                <td>{j.requested_by ?? 'schedule'}</td>
                <td class="num">{j.total}</td>
                <td><Time iso={j.finished_at} fallback="" /></td>
              </tr>
            ))}
          </DataTable>
        </section>
      ) : null}

      <section aria-labelledby="history">
        <h2 id="history">History</h2>
        {history.length === 0 ? (
          <p class="note">Nothing has been synced yet.</p>
        ) : (
          <DataTable testId="history" caption="The newest table syncs" columns={['Table', 'When', 'Result', num('Rows'), num('Size'), num('Took'), 'Job']}>
            {history.map((h) => (
              <tr>
                <th scope="row">
                  <code>{h.table_id}</code>
                </th>
                <td><Time iso={h.synced_at} /></td>
                <td>
                  <StatusBadge status={h.status} />
                  {h.error ? <div class="error">{h.error}</div> : null}
                </td>
                <td class="num">{formatCount(h.rows)}</td>
                <td class="num">{formatBytes(h.bytes)}</td>
                <td class="num">{seconds(h.duration_ms)}</td>
                <td>{h.job_id ? <a href={`/admin/sync?job=${encodeURIComponent(h.job_id)}`}><code>{h.job_id.slice(0, 8)}</code></a> : ''}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>
    </AdminFrame>
  );
}
