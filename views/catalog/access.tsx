import type { AccessRequest } from '../../src/repositories/access-requests.ts';
import { CsrfField } from '../layout.tsx';
import { formatTime } from '../format.ts';
import { DataTable } from '../data-table.tsx';

/** One configured dataset as the catalog shows it to everyone signed in: name, description, access. */
export interface DatasetAccessRow {
  name: string;
  description: string | null;
  /** readable: the user reads it; pending: a request waits; requestable: they may ask. */
  state: 'readable' | 'pending' | 'requestable';
}

export interface AccessSectionProps {
  datasets: DatasetAccessRow[];
  requests: AccessRequest[];
  csrf: string;
}

/**
 * Every configured dataset (name and description only, never its tables), with a request
 * form on those the user cannot read, and the user's requests with their decisions.
 */
export function AccessSection({ datasets, requests, csrf }: AccessSectionProps) {
  return (
    <section aria-labelledby="access-title" data-testid="dataset-access">
      <h2 id="access-title">All datasets and your access</h2>
      <DataTable stack columns={['Dataset', 'Description', 'Access']}>
        {datasets.map((d) => (
          <tr data-dataset={d.name}>
            <th scope="row">
              <code>{d.name}</code>
            </th>
            <td data-label="Description">{d.description ?? ''}</td>
            <td data-label="Access">
              {d.state === 'readable' ? (
                'You can read it'
              ) : d.state === 'pending' ? (
                'Request pending'
              ) : (
                <form method="post" action="/catalog/access-requests" class="inline" data-testid={`request-${d.name}`}>
                  <CsrfField token={csrf} />
                  <input type="hidden" name="dataset" value={d.name} />
                  <label>
                    Reason
                    <input name="reason" required maxlength={2000} size={24} />
                  </label>{' '}
                  <button type="submit">Request access</button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
      {requests.length ? (
        <>
          <h3>Your requests</h3>
          <ul data-testid="my-requests">
            {requests.map((r) => (
              <li data-request={r.id} data-status={r.status}>
                <code>{r.dataset}</code>: {r.status} (asked {formatTime(r.created_at)}
                {r.decided_at ? `, decided ${formatTime(r.decided_at)}` : ''})
                {r.note ? <span class="note"> · {r.note}</span> : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}
