import type { AccessRequest } from '../../src/repositories/access-requests.ts';
import { CsrfField } from '../layout.tsx';
import { AdminFrame, Time } from './common.tsx';
import { DataTable } from '../data-table.tsx';

export interface AccessPageProps {
  pending: AccessRequest[];
  /** The most recent decisions. */
  decided: AccessRequest[];
  csrf: string;
}

/** /admin/access: pending access requests with approve and deny (with a note), and recent decisions. */
export function AccessPage({ pending, decided, csrf }: AccessPageProps) {
  return (
    <AdminFrame current="/admin/access">
      <h1>Access requests</h1>
      <p class="note">Approving grants the user read on the dataset (as a grant on /admin/users would). A denial's note is shown to the user.</p>
      <h2>Pending</h2>
      {pending.length === 0 ? (
        <p class="note" data-testid="no-pending">No pending requests.</p>
      ) : (
        <DataTable testId="pending-requests" stack columns={['User', 'Dataset', 'Reason', 'Asked', 'Decide']}>
          {pending.map((r) => (
            <tr data-request={r.id}>
              <th scope="row">{r.user}</th>
              <td data-label="Dataset"><code>{r.dataset}</code></td>
              <td data-label="Reason">{r.reason}</td>
              <td data-label="Asked"><Time iso={r.created_at} /></td>
              <td data-label="Decide">
                <form method="post" action={`/admin/access/${encodeURIComponent(r.id)}/approve`} class="inline">
                  <CsrfField token={csrf} />
                  <button type="submit" data-testid="approve">Approve</button>
                </form>{' '}
                <form method="post" action={`/admin/access/${encodeURIComponent(r.id)}/deny`} class="inline">
                  <CsrfField token={csrf} />
                  <label>
                    Note <input name="note" maxlength={2000} size={20} />
                  </label>{' '}
                  <button type="submit" data-testid="deny">Deny</button>
                </form>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <h2>Recently decided</h2>
      {decided.length === 0 ? (
        <p class="note">None yet.</p>
      ) : (
        <ul data-testid="decided-requests">
          {decided.map((r) => (
            <li data-request={r.id} data-status={r.status}>
              {r.user} · <code>{r.dataset}</code>: {r.status} by {r.decided_by ?? '?'} (<Time iso={r.decided_at} />)
              {r.note ? <span class="note"> · {r.note}</span> : null}
            </li>
          ))}
        </ul>
      )}
    </AdminFrame>
  );
}
