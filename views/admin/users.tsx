import { CsrfField } from '../layout.tsx';
import { AdminFrame, FieldError, Time, invalid, type FormState } from './common.tsx';
import { DataTable } from '../data-table.tsx';

/** One account as the admin pages list it, with what the viewing admin may do to it. */
export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  role: string;
  active: boolean;
  created_at: string;
  last_login_at: string | null;
  /** The viewing admin may change it (src/auth/users.ts decides; the server checks again). */
  manageable: boolean;
  /** It is the viewing admin's own account. */
  self: boolean;
}

/** Where a user action sends the admin back to. */
export type Back = 'list' | 'user';

/** Role, deactivate/reactivate and reset-link forms of one account. */
export function UserActions({ user, roles, csrf, back }: { user: UserRow; roles: string[]; csrf: string; back: Back }) {
  if (!user.manageable) return <span class="note">Only a km_admin can change this account.</span>;
  const base = `/admin/users/${encodeURIComponent(user.id)}`;
  const roleId = `role-${back}-${user.id}`;
  return (
    <div class="actions">
      {user.self ? null : (
        <form method="post" action={`${base}/role`} class="inline">
          <CsrfField token={csrf} />
          <input type="hidden" name="back" value={back} />
          <label for={roleId} class={back === 'list' ? 'visually-hidden' : undefined}>
            {back === 'list' ? `Role of ${user.email}` : 'Role'}
          </label>
          <select id={roleId} name="role">
            {roles.map((r) => (
              <option value={r} selected={r === user.role}>
                {r}
              </option>
            ))}
          </select>
          <button type="submit">Change role</button>
        </form>
      )}
      {user.self ? null : user.active ? (
        <form method="post" action={`${base}/deactivate`} class="inline">
          <CsrfField token={csrf} />
          <input type="hidden" name="back" value={back} />
          <button type="submit" class="danger" aria-label={back === 'list' ? `Deactivate ${user.email}` : undefined}>
            Deactivate
          </button>
        </form>
      ) : (
        <form method="post" action={`${base}/reactivate`} class="inline">
          <CsrfField token={csrf} />
          <input type="hidden" name="back" value={back} />
          <button type="submit" aria-label={back === 'list' ? `Reactivate ${user.email}` : undefined}>
            Reactivate
          </button>
        </form>
      )}
      {user.active ? (
        <form method="post" action={`${base}/reset-token`} class="inline">
          <CsrfField token={csrf} />
          <input type="hidden" name="back" value={back} />
          <button type="submit" aria-label={back === 'list' ? `Password reset link for ${user.email}` : undefined}>
            Reset link
          </button>
        </form>
      ) : null}
    </div>
  );
}

export interface UsersPageProps {
  users: UserRow[];
  /** Roles the viewing admin may hand out. */
  roles: string[];
  /** The create form as sent, with its errors (after a refused post). */
  form: FormState;
  csrf: string;
}

/** /admin/users: every account, what can be done to each, and the form to add one. */
export function UsersPage({ users, roles, form, csrf }: UsersPageProps) {
  const v = form.values;
  const mode = v.mode === 'link' ? 'link' : 'password';
  return (
    <AdminFrame current="/admin/users">
      <h1>Users</h1>
      <DataTable testId="users" caption="Accounts, with their role, status and actions" columns={['User', 'Role', 'Status', 'Last sign-in', 'Actions']}>
        {users.map((u) => (
          <tr data-email={u.email} class={u.active ? undefined : 'inactive'}>
            <th scope="row">
              <a href={`/admin/users/${encodeURIComponent(u.id)}`}>{u.email}</a>
              {u.self ? <span class="note"> (you)</span> : null}
              {u.name ? <div class="note">{u.name}</div> : null}
            </th>
            <td data-testid="role">{u.role}</td>
            <td data-testid="status">{u.active ? 'active' : 'deactivated'}</td>
            <td><Time iso={u.last_login_at} /></td>
            <td>
              <UserActions user={u} roles={roles} csrf={csrf} back="list" />
            </td>
          </tr>
        ))}
      </DataTable>

      <section aria-labelledby="add-user">
        <h2 id="add-user">Add a user</h2>
        <form method="post" action="/admin/users" class="stacked" novalidate>
          <CsrfField token={csrf} />
          <label for="email">Email</label>
          <input id="email" name="email" type="email" autocomplete="off" required value={v.email ?? ''} {...invalid('email', form)} />
          <FieldError field="email" form={form} />
          <label for="name">Name (optional)</label>
          <input id="name" name="name" type="text" autocomplete="off" value={v.name ?? ''} {...invalid('name', form)} />
          <FieldError field="name" form={form} />
          <label for="role">Role</label>
          <select id="role" name="role" {...invalid('role', form)}>
            {roles.map((r) => (
              <option value={r} selected={r === (v.role ?? 'analyst')}>
                {r}
              </option>
            ))}
          </select>
          <FieldError field="role" form={form} />
          <fieldset>
            <legend>First sign-in</legend>
            <label class="choice">
              <input type="radio" name="mode" value="password" checked={mode === 'password'} /> Set a password now
            </label>
            <label class="choice">
              <input type="radio" name="mode" value="link" checked={mode === 'link'} /> Give them a setup link (shown once)
            </label>
          </fieldset>
          <label for="password">Password (at least 8 characters; not needed for a setup link)</label>
          <input id="password" name="password" type="password" autocomplete="new-password" {...invalid('password', form)} />
          <FieldError field="password" form={form} />
          <button type="submit">Add user</button>
        </form>
      </section>
    </AdminFrame>
  );
}
