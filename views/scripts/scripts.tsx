import type { ScriptRun } from '../../src/repositories/scripts.ts';
import type { ScriptView } from '../../src/scripts/service.ts';
import { formatBytes, formatTime } from '../format.ts';
import { CsrfField } from '../layout.tsx';
import { DataTable } from '../data-table.tsx';

export interface ScriptsListProps {
  scripts: ScriptView[];
  /** Admins see everyone's scripts: show the owner column. */
  showOwner: boolean;
  /** Owner id → email. */
  owners: Record<string, string>;
  /** Why scripts cannot run here, when they cannot. */
  sandboxProblem: string | null;
}

function Status({ status }: { status: string | null | undefined }) {
  if (!status) return <span class="note">never run</span>;
  return <span class={`run-status run-${status}`} data-status={status}>{status.replace('_', ' ')}</span>;
}

/** /scripts: the caller's scripts (every one for admins) with schedule and last run. */
export function ScriptsListPage({ scripts, showOwner, owners, sandboxProblem }: ScriptsListProps) {
  return (
    <main>
      <h1>Scripts</h1>
      {sandboxProblem ? <p class="flash error" role="alert">{sandboxProblem}</p> : null}
      <p class="note">
        Scripts run on the server in a sandbox: read-only access to your tables under <code>$DA_DATA</code>, results written to{' '}
        <code>$DA_OUT</code>, no network. Deploy one with <code>da scripts deploy FILE [--schedule CRON]</code>.
      </p>
      {scripts.length === 0 ? (
        <p class="note" data-testid="no-scripts">No scripts yet.</p>
      ) : (
        <DataTable testId="scripts" stack columns={['Name', ...(showOwner ? ['Owner'] : []), 'Language', 'Schedule', 'Last run', 'Status']}>
          {scripts.map((s) => (
            <tr data-script={s.id}>
              <th scope="row"><a href={`/scripts/${encodeURIComponent(s.id)}`}>{s.name}</a></th>
              {showOwner ? <td data-label="Owner">{owners[s.owner] ?? s.owner}</td> : null}
              <td data-label="Language">{s.language}</td>
              <td data-label="Schedule">{s.schedule ? <code>{s.schedule}</code> : <span class="note">on demand</span>}{s.enabled ? null : ' (disabled)'}</td>
              <td data-label="Last run">{s.last_run ? formatTime(s.last_run.queued_at) : '—'}</td>
              <td data-label="Status"><Status status={s.last_run?.status} /></td>
            </tr>
          ))}
        </DataTable>
      )}
    </main>
  );
}

export interface ScriptPageProps {
  script: ScriptView;
  owner: string;
  runs: ScriptRun[];
  csrf: string;
  sandboxProblem: string | null;
}

/** /scripts/<id>: source, schedule, run-now and undeploy forms, and the runs with output and artifacts. */
export function ScriptPage({ script, owner, runs, csrf, sandboxProblem }: ScriptPageProps) {
  const base = `/scripts/${encodeURIComponent(script.id)}`;
  return (
    <main>
      <p><a href="/scripts">← Scripts</a></p>
      <h1>{script.name}</h1>
      {sandboxProblem ? <p class="flash error" role="alert">{sandboxProblem}</p> : null}
      <dl class="facts">
        <dt>Language</dt><dd>{script.language}</dd>
        <dt>Owner</dt><dd>{owner}</dd>
        <dt>Schedule</dt><dd data-testid="schedule">{script.schedule ? <code>{script.schedule}</code> : 'on demand'}{script.enabled ? '' : ' (disabled)'}</dd>
        <dt>Updated</dt><dd>{formatTime(script.updated_at)}</dd>
      </dl>
      <form method="post" action={`${base}/run`} class="inline">
        <CsrfField token={csrf} />
        <button type="submit" data-testid="run-now" disabled={sandboxProblem ? true : undefined}>Run now</button>
      </form>{' '}
      <form method="post" action={`${base}/undeploy`} class="inline">
        <CsrfField token={csrf} />
        <button type="submit" data-testid="undeploy">Undeploy</button>
      </form>
      <h2>Source</h2>
      <pre data-testid="source"><code>{script.source}</code></pre>
      <h2>Runs</h2>
      {runs.length === 0 ? (
        <p class="note" data-testid="no-runs">No runs yet.</p>
      ) : (
        runs.map((r) => (
          <section class="run" data-run={r.id} data-status={r.status}>
            <h3>
              <Status status={r.status} /> · {formatTime(r.queued_at)} · {r.trigger}
              {r.duration_ms !== null ? ` · ${r.duration_ms} ms` : ''}
              {r.exit_code !== null ? ` · exit ${r.exit_code}` : ''}
            </h3>
            {r.reason && r.status !== 'succeeded' ? <p class="note" data-testid="reason">{r.reason}</p> : null}
            {r.stdout ? (<><h4>Output</h4><pre data-testid="stdout">{r.stdout}</pre></>) : null}
            {r.stderr ? (<><h4>Errors</h4><pre data-testid="stderr">{r.stderr}</pre></>) : null}
            {r.truncated ? <p class="note">Output was cut at the server's limit.</p> : null}
            {r.artifacts.length ? (
              <ul data-testid="artifacts">
                {r.artifacts.map((a) => (
                  <li>
                    <a href={`/api/scripts/${encodeURIComponent(script.id)}/runs/${encodeURIComponent(r.id)}/artifacts/${encodeURIComponent(a.name)}`} download>{a.name}</a>{' '}
                    <span class="note">({formatBytes(a.size_bytes)})</span>
                  </li>
                ))}
              </ul>
            ) : null}
          </section>
        ))
      )}
    </main>
  );
}
