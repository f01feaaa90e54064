import { CsrfField } from '../layout.tsx';
import { AdminFrame, Time } from './common.tsx';
import { StatusBadge } from './tables.tsx';
import { DataTable } from '../data-table.tsx';

/** One job as GET /api/jobs shows it. */
export interface JobRow {
  name: string;
  schedule: string | null;
  next_run: string | null;
  last_run: string | null;
  last_status: 'running' | 'succeeded' | 'failed' | null;
  busy: boolean;
}

/** One finding of the health job's last run. */
export interface HealthRow {
  name: string;
  ok: boolean;
  detail: string;
  checked_at: string;
}

export interface JobsPageProps {
  jobs: JobRow[];
  health: HealthRow[];
  csrf: string;
}

/** `/admin/jobs`: every job with its schedule and runs, a "Run now" button each, and the health job's findings. */
export function JobsPage({ jobs, health, csrf }: JobsPageProps) {
  return (
    <AdminFrame current="/admin/jobs">
      <h1>Jobs</h1>
      <p class="note">
        Scheduled work of the server. A job runs once at a time: while it runs, "Run now" waits for it. The same list is{' '}
        <code>GET /api/jobs</code>.
      </p>
      <DataTable testId="jobs" caption="Jobs" stack columns={['Job', 'Schedule', 'Next run', 'Last run', 'Last status', { label: <span class="muted">Action</span> }]}>
        {jobs.map((j) => (
          <tr data-job={j.name}>
            <th scope="row">
              <code>{j.name}</code>
            </th>
            <td data-label="Schedule">{j.schedule ? <code>{j.schedule}</code> : 'on demand'}</td>
            <td data-label="Next run">
              <Time iso={j.next_run} fallback={j.schedule ? 'not scheduled' : '—'} />
            </td>
            <td data-label="Last run">
              <Time iso={j.last_run} />
            </td>
            <td data-label="Last status" data-testid="job-status">
              {j.busy ? <StatusBadge status="running" /> : j.last_status ? <StatusBadge status={j.last_status} /> : 'never run'}
            </td>
            <td>
              <form method="post" action={`/admin/jobs/${encodeURIComponent(j.name)}/run`} class="inline">
                <CsrfField token={csrf} />
                <button type="submit" disabled={j.busy} aria-label={`Run ${j.name} now`}>
                  {j.busy ? 'Running…' : 'Run now'}
                </button>
              </form>
            </td>
          </tr>
        ))}
      </DataTable>

      <section aria-labelledby="health-title">
        <h2 id="health-title">Health</h2>
        {health.length === 0 ? (
          <p class="note">The health job has not run yet.</p>
        ) : (
          <table data-testid="health">
            <caption class="visually-hidden">Findings of the last health check</caption>
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Result</th>
                <th scope="col">Found</th>
              </tr>
            </thead>
            <tbody>
              {health.map((h) => (
                <tr data-check={h.name}>
                  <th scope="row">{h.name}</th>
                  <td>
                    <StatusBadge status={h.ok ? 'ok' : 'failed'} />
                  </td>
                  <td>
                    {h.detail} <span class="muted">(<Time iso={h.checked_at} />)</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </AdminFrame>
  );
}
