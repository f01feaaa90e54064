import { CsrfField } from '../layout.tsx';
import { AdminFrame, Time } from './common.tsx';
import { UserActions, type UserRow } from './users.tsx';
import { DataTable } from '../data-table.tsx';

/** One dataset of the configured sources (or a stored grant for one no longer configured), for one user. */
export interface DatasetAccessRow {
  dataset: string;
  description: string | null;
  /** Configured as public (everyone reads it unless denied). */
  public: boolean;
  /** False for a grant whose source is no longer configured. */
  configured: boolean;
  /** The stored setting: a grant, a denial, or none (the default). */
  setting: 'read' | 'none' | null;
  granted_by: string | null;
  granted_at: string | null;
  /** Whether the user reads it now (the dataset rule, src/auth/datasets.ts). */
  readable: boolean;
}

export interface UserPageProps {
  user: UserRow;
  roles: string[];
  /** Admins and above read every dataset whatever their grants say. */
  seesAll: boolean;
  datasets: DatasetAccessRow[];
  csrf: string;
}

const SETTING_LABEL = { read: 'granted read', none: 'denied (none)' } as const;

/** /admin/users/<id>: the account and its dataset grants and denials. */
export function UserPage({ user, roles, seesAll, datasets, csrf }: UserPageProps) {
  const base = `/admin/users/${encodeURIComponent(user.id)}`;
  return (
    <AdminFrame current="/admin/users">
      <p class="crumbs">
        <a href="/admin/users">Users</a> /
      </p>
      <h1 data-testid="user-email">{user.email}</h1>
      <dl class="facts">
        <dt>Name</dt>
        <dd>{user.name ?? '—'}</dd>
        <dt>Role</dt>
        <dd data-testid="role">{user.role}</dd>
        <dt>Status</dt>
        <dd data-testid="status">{user.active ? 'active' : 'deactivated'}</dd>
        <dt>Created</dt>
        <dd><Time iso={user.created_at} /></dd>
        <dt>Last sign-in</dt>
        <dd><Time iso={user.last_login_at} /></dd>
      </dl>
      <section aria-labelledby="account">
        <h2 id="account">Account</h2>
        <UserActions user={user} roles={roles} csrf={csrf} back="user" />
      </section>

      <section aria-labelledby="datasets">
        <h2 id="datasets">Dataset access</h2>
        <p class="note">
          {seesAll
            ? `As ${user.role}, this user reads every dataset; grants and denials take effect only if the role goes below admin.`
            : 'Public datasets are readable unless denied; restricted ones need a read grant. "none" hides even a public dataset.'}
        </p>
        {datasets.length === 0 ? (
          <p class="note">No sources are configured.</p>
        ) : (
          <DataTable testId="datasets" caption="Datasets and this user's access to each" columns={['Dataset', 'Visibility', 'Setting', 'Reads it', 'Set by', 'Change']}>
            {datasets.map((d) => {
              const action = `${base}/permissions/${encodeURIComponent(d.dataset)}`;
              return (
                <tr data-dataset={d.dataset}>
                  <th scope="row">
                    <code>{d.dataset}</code>
                    {d.description ? <div class="note">{d.description}</div> : null}
                  </th>
                  <td>{d.configured ? (d.public ? 'public' : 'restricted') : 'not configured'}</td>
                  <td data-testid="setting">{d.setting ? SETTING_LABEL[d.setting] : 'default'}</td>
                  <td data-testid="readable">{d.readable ? 'yes' : 'no'}</td>
                  <td>{d.granted_by ? <>{d.granted_by}, <Time iso={d.granted_at} fallback="" /></> : ''}</td>
                  <td>
                    <div class="actions">
                      {d.setting !== 'read' && d.configured ? (
                        <form method="post" action={action} class="inline">
                          <CsrfField token={csrf} />
                          <input type="hidden" name="access" value="read" />
                          <button type="submit" aria-label={`Grant read on ${d.dataset}`}>Grant read</button>
                        </form>
                      ) : null}
                      {d.setting !== 'none' && d.configured ? (
                        <form method="post" action={action} class="inline">
                          <CsrfField token={csrf} />
                          <input type="hidden" name="access" value="none" />
                          <button type="submit" aria-label={`Set none on ${d.dataset}`}>Set none</button>
                        </form>
                      ) : null}
                      {d.setting ? (
                        <form method="post" action={`${action}/remove`} class="inline">
                          <CsrfField token={csrf} />
                          <button type="submit" aria-label={`Remove the setting on ${d.dataset}`}>Remove</button>
                        </form>
                      ) : null}
                    </div>
                  </td>
                </tr>
              );
            })}
          </DataTable>
        )}
      </section>
    </AdminFrame>
  );
}
