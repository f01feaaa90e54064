import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv, AuthUser } from '../../context.ts';
import { publicOrigin } from '../../api/http.ts';
import { NameSchema, RoleSchema } from '../../api/schemas.ts';
import { datasetAccess } from '../../auth/datasets.ts';
import { RESET_PATH, SET_PASSWORD_PATH } from '../../auth/password-reset.ts';
import { mayManageUser, seesAllDatasets } from '../../auth/roles.ts';
import {
  assignableRoles, createUserAs, deactivateUserAs, getUserOrFail, issueResetTokenAs, listDatasetPermissions,
  removeDatasetPermission, setDatasetPermission, updateUserAs,
} from '../../auth/users.ts';
import { ConflictError, ValidationError } from '../../errors.ts';
import type { User } from '../../repositories/users.ts';
import { listSources } from '../../sync/registry.ts';
import { NO_FORM, type FormState } from '../../../views/admin/common.tsx';
import { UserPage, type DatasetAccessRow } from '../../../views/admin/user.tsx';
import { UsersPage, type UserRow } from '../../../views/admin/users.tsx';
import { definePage, type AnyPage } from '../router.ts';
import { adminPage, pathParam, readForm } from './common.ts';

/**
 * The user pages of the administration: /admin/users (list, add, role, deactivate,
 * reactivate, reset link) and /admin/users/<id> (the account and its dataset grants).
 * Every action calls the same function of src/auth/users.ts as the API route named in its
 * `action`, so it gets the same refusals and is audited under the same name.
 */

const Back = z.enum(['list', 'user']).default('user');

const CreateForm = z
  .object({
    email: z.string().trim().min(1, 'enter an email address').max(254).pipe(z.string().email('not an email address')),
    name: z.string().trim().max(200, 'at most 200 characters').optional(),
    role: RoleSchema,
    mode: z.enum(['password', 'link']).default('password'),
    password: z.string().max(1024).optional(),
  })
  .superRefine((f, ctx) => {
    if (f.mode === 'password' && (f.password ?? '').length < 8) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'at least 8 characters, or choose a setup link' });
    }
  });

function toRow(u: User, actor: AuthUser): UserRow {
  return {
    id: u.id, email: u.email, name: u.name, role: u.role, active: u.active, created_at: u.created_at,
    last_login_at: u.last_login_at, manageable: mayManageUser(actor, u), self: u.id === actor.id,
  };
}

/**
 * A link with a single-use token in it to the sign-in page where its holder sets a password
 * (`/set-password`, `/reset`), on this server when its address is known.
 */
function tokenLink(c: Context<AppEnv>, deps: AppDeps, path: string, token: string): string {
  const origin = publicOrigin(c, deps.config) ?? '';
  return `${origin}${path}?${new URLSearchParams({ token })}`;
}

function validFor(deps: AppDeps): string {
  const hours = Math.round(deps.config.auth.setup_token_ttl_seconds / 3600);
  return hours >= 1 ? `${hours} h` : `${Math.round(deps.config.auth.setup_token_ttl_seconds / 60)} min`;
}

async function renderList(c: Context<AppEnv>, deps: AppDeps, actor: AuthUser, csrf: string, form: FormState, status: 200 | 409 | 422 = 200) {
  adminPage(c, status);
  const users = await deps.repos.users.list({ includeInactive: true });
  return c.render(
    <UsersPage users={users.map((u) => toRow(u, actor))} roles={assignableRoles(actor)} form={form} csrf={csrf} />,
    { title: 'Users' },
  );
}

/** Where a user action goes back to. */
const backTo = (back: 'list' | 'user', id: string) => (back === 'list' ? '/admin/users' : `/admin/users/${encodeURIComponent(id)}`);

/** GET /admin: the administration starts at its users. */
export const adminIndex = definePage({
  path: '/admin',
  access: 'admin',
  get: (c) => c.redirect('/admin/users', 302),
});

/** GET /admin/users: every account; POST: add one (users.create). */
export const adminUsersPage = definePage({
  path: '/admin/users',
  access: 'admin',
  action: 'users.create',
  get: (c, { deps, user, csrf }) => renderList(c, deps, user, csrf, NO_FORM),
  async post(c, { deps, user, csrf, redirect }) {
    const read = await readForm(c, CreateForm);
    if (!read.ok) return renderList(c, deps, user, csrf, read.form, 422);
    const { email, name, role, mode, password } = read.data;
    let created;
    try {
      created = await createUserAs(deps, user, { email, name: name || null, role, password: mode === 'password' ? password : undefined });
    } catch (err) {
      if (err instanceof ConflictError) return renderList(c, deps, user, csrf, { values: read.values, errors: { email: err.message } }, 409);
      throw err;
    }
    const { user: added, setup_token } = created;
    return redirect(`/admin/users/${encodeURIComponent(added.id)}`, {
      kind: 'ok',
      message: `Added ${added.email} as ${added.role}.`,
      secret: setup_token
        ? { label: `Setup link for ${added.email}: shown this once, valid ${validFor(deps)}`, value: tokenLink(c, deps, SET_PASSWORD_PATH, setup_token) }
        : undefined,
    });
  },
});

/** GET /admin/users/<id>: the account and its dataset access. */
export const adminUserPage = definePage({
  path: '/admin/users/:id',
  access: 'admin',
  async get(c, { deps, user: actor, csrf }) {
    const target = await getUserOrFail(deps, pathParam(c, 'id'));
    const [grants, everyone] = await Promise.all([listDatasetPermissions(deps, target.id), deps.repos.users.list({ includeInactive: true })]);
    const emails = new Map(everyone.map((u) => [u.id, u.email]));
    const access = await datasetAccess(
      { permissions: deps.repos.permissions, sources: deps.config.sources },
      { id: target.id, email: target.email, role: target.role, name: target.name, via: 'jwt' },
    );
    const byDataset = new Map(grants.map((g) => [g.dataset, g]));
    const sources = listSources(deps.config.sources);
    const configured = new Set(sources.map((s) => s.dataset));
    const row = (dataset: string, s?: (typeof sources)[number]): DatasetAccessRow => {
      const g = byDataset.get(dataset);
      return {
        dataset, description: s?.description ?? null, public: s?.public ?? false, configured: !!s,
        setting: g?.access ?? null, granted_by: g?.granted_by ? (emails.get(g.granted_by) ?? g.granted_by) : null,
        granted_at: g?.granted_at ?? null, readable: access.canRead(dataset),
      };
    };
    const datasets = [
      ...sources.map((s) => row(s.dataset, s)),
      ...grants.filter((g) => !configured.has(g.dataset)).map((g) => row(g.dataset)),
    ];
    adminPage(c);
    return c.render(
      <UserPage
        user={toRow(target, actor)} roles={assignableRoles(actor)} seesAll={seesAllDatasets(target.role)}
        datasets={datasets} csrf={csrf}
      />,
      { title: target.email },
    );
  },
});

/** POST /admin/users/<id>/role (users.update). */
export const changeRoleAction = definePage({
  path: '/admin/users/:id/role',
  access: 'admin',
  action: 'users.update',
  form: z.object({ role: RoleSchema, back: Back }),
  async post(c, { deps, user, form, redirect }) {
    const updated = await updateUserAs(deps, user, pathParam(c, 'id'), { role: form.role });
    return redirect(backTo(form.back, updated.id), { kind: 'ok', message: `${updated.email} is now ${updated.role}.` });
  },
});

/** POST /admin/users/<id>/deactivate (users.deactivate): their sessions and tokens stop working. */
export const deactivateAction = definePage({
  path: '/admin/users/:id/deactivate',
  access: 'admin',
  action: 'users.deactivate',
  form: z.object({ back: Back }),
  async post(c, { deps, user, form, redirect }) {
    const id = pathParam(c, 'id');
    await deactivateUserAs(deps, user, id);
    const target = await getUserOrFail(deps, id);
    return redirect(backTo(form.back, id), { kind: 'ok', message: `Deactivated ${target.email}: their sessions and tokens no longer work.` });
  },
});

/** POST /admin/users/<id>/reactivate (users.update with active: true). */
export const reactivateAction = definePage({
  path: '/admin/users/:id/reactivate',
  access: 'admin',
  action: 'users.update',
  form: z.object({ back: Back }),
  async post(c, { deps, user, form, redirect }) {
    const updated = await updateUserAs(deps, user, pathParam(c, 'id'), { active: true });
    return redirect(backTo(form.back, updated.id), { kind: 'ok', message: `Reactivated ${updated.email}; they sign in again with their password.` });
  },
});

/** POST /admin/users/<id>/reset-token (users.resetToken): a password reset link, shown once. */
export const resetLinkAction = definePage({
  path: '/admin/users/:id/reset-token',
  access: 'admin',
  action: 'users.resetToken',
  form: z.object({ back: Back }),
  async post(c, { deps, user, form, redirect }) {
    const id = pathParam(c, 'id');
    const { token } = await issueResetTokenAs(deps, user, id);
    const target = await getUserOrFail(deps, id);
    return redirect(backTo(form.back, id), {
      kind: 'ok',
      message: `Issued a password reset link for ${target.email}. Using it ends their sessions and tokens.`,
      secret: { label: `Reset link for ${target.email}: shown this once, valid ${validFor(deps)}`, value: tokenLink(c, deps, RESET_PATH, token) },
    });
  },
});

function datasetParam(c: Context<AppEnv>): string {
  const parsed = NameSchema.safeParse(pathParam(c, 'dataset'));
  if (!parsed.success) throw new ValidationError('That is not a dataset name.', [{ path: 'dataset', message: parsed.error.issues[0]!.message }]);
  return parsed.data;
}

/** POST /admin/users/<id>/permissions/<dataset> (users.permissions.put): grant `read` or deny (`none`). */
export const setPermissionAction = definePage({
  path: '/admin/users/:id/permissions/:dataset',
  access: 'admin',
  action: 'users.permissions.put',
  form: z.object({ access: z.enum(['read', 'none']) }),
  async post(c, { deps, user, form, redirect }) {
    const id = pathParam(c, 'id');
    const saved = await setDatasetPermission(deps, user, id, datasetParam(c), form.access);
    const target = await getUserOrFail(deps, id);
    const text = saved.access === 'read' ? `${target.email} may now read ${saved.dataset}.` : `${saved.dataset} is now hidden from ${target.email} (none).`;
    return redirect(backTo('user', id), { kind: 'ok', message: text });
  },
});

/** POST /admin/users/<id>/permissions/<dataset>/remove (users.permissions.delete): back to the default. */
export const removePermissionAction = definePage({
  path: '/admin/users/:id/permissions/:dataset/remove',
  access: 'admin',
  action: 'users.permissions.delete',
  async post(c, { deps, redirect }) {
    const id = pathParam(c, 'id');
    const dataset = datasetParam(c);
    await removeDatasetPermission(deps, id, dataset);
    const target = await getUserOrFail(deps, id);
    return redirect(backTo('user', id), { kind: 'ok', message: `Removed the setting of ${target.email} on ${dataset}: the default applies.` });
  },
});

/** The user pages, as src/web/pages.ts registers them. */
export const ADMIN_USER_PAGES: AnyPage[] = [
  adminIndex, adminUsersPage, adminUserPage, changeRoleAction, deactivateAction, reactivateAction, resetLinkAction,
  setPermissionAction, removePermissionAction,
];
