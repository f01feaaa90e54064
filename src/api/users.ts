import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../context.ts';
import { currentUser } from '../auth/middleware.ts';
import {
  createUserAs, deactivateUserAs, getUserOrFail, issueResetTokenAs, listDatasetPermissions, removeDatasetPermission,
  setDatasetPermission, updateUserAs,
} from '../auth/users.ts';
import { saveSyncSettings } from '../sync/settings.ts';
import { createRouter, defineRoute } from './router.ts';
import { IdParamSchema, jsonBody, jsonResponse, NameSchema, RoleSchema, UserSchema } from './schemas.ts';

const DatasetNameSchema = NameSchema;

export const UserCreateSchema = z
  .object({
    email: z.string().email().max(254),
    name: z.string().max(200).nullish(),
    role: RoleSchema.default('analyst'),
    password: z.string().min(8).max(1024).optional(),
  })
  .openapi('UserCreate');

const UserCreatedSchema = UserSchema.extend({
  setup_token: z.string().optional().openapi({ description: 'Present when no password was given; shown once' }),
}).openapi('UserCreated');

const UserUpdateSchema = z
  .object({ name: z.string().max(200).nullish(), role: RoleSchema.optional(), active: z.boolean().optional() })
  .openapi('UserUpdate');

export const PermissionSchema = z
  .object({
    user_id: z.string(),
    dataset: z.string(),
    access: z.enum(['read', 'none']),
    granted_by: z.string().nullable(),
    granted_at: z.string().nullable(),
  })
  .openapi('DatasetPermission');

const SyncSettingSchema = z
  .object({
    dataset: DatasetNameSchema,
    enabled: z.boolean(),
    table_mode: z.enum(['all', 'explicit']).default('all'),
    tables: z.array(z.string().max(200)).max(10_000).nullish(),
  })
  .openapi('SyncSetting');

const UserDatasetParams = IdParamSchema.extend({
  dataset: DatasetNameSchema.openapi({ param: { name: 'dataset', in: 'path' } }),
});

const tags = ['users'];
const notFound = { 404: { description: 'No such user' } };

const listUsers = defineRoute({
  access: 'admin', method: 'get', path: '/api/users', operationId: 'users.list', tags, summary: 'List users',
  request: { query: z.object({ include_inactive: z.enum(['true', 'false']).optional() }) },
  responses: { 200: jsonResponse(z.object({ items: z.array(UserSchema) }), 'Users') },
});
const createUserRoute = defineRoute({
  access: 'admin', method: 'post', path: '/api/users', operationId: 'users.create', tags,
  summary: 'Create a user, with a password or (without one) a single-use setup token',
  request: jsonBody(UserCreateSchema),
  responses: { 201: jsonResponse(UserCreatedSchema, 'Created'), 409: { description: 'Email already in use' } },
});
const getUser = defineRoute({
  access: 'admin', allowSelf: 'id', method: 'get', path: '/api/users/{id}', operationId: 'users.get', tags,
  summary: 'One user (admins, or the user themselves)',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(UserSchema, 'The user'), ...notFound },
});
const updateUser = defineRoute({
  access: 'admin', method: 'patch', path: '/api/users/{id}', operationId: 'users.update', tags,
  summary: 'Change name, role or active flag of a user below your role (km_admin: anyone); deactivating ends their sessions',
  request: { params: IdParamSchema, ...jsonBody(UserUpdateSchema) },
  responses: { 200: jsonResponse(UserSchema, 'Updated'), ...notFound, 409: { description: 'Would lock you out' } },
});
const deactivateUser = defineRoute({
  access: 'admin', method: 'delete', path: '/api/users/{id}', operationId: 'users.deactivate', tags,
  summary: 'Deactivate a user below your role (km_admin: anyone); history is kept, their sessions and tokens stop working',
  request: { params: IdParamSchema },
  responses: { 204: { description: 'Deactivated' }, ...notFound, 409: { description: 'Cannot deactivate yourself' } },
});
const resetToken = defineRoute({
  access: 'admin', method: 'post', path: '/api/users/{id}/reset-token', operationId: 'users.resetToken', tags,
  summary: 'Issue a single-use password reset token (shown once) for a user below your role or yourself (km_admin: anyone)',
  request: { params: IdParamSchema },
  responses: { 201: jsonResponse(z.object({ token: z.string(), expires_in: z.number().int() }), 'Issued'), ...notFound },
});
const getSettings = defineRoute({
  access: 'admin', allowSelf: 'id', method: 'get', path: '/api/users/{id}/settings', operationId: 'users.settings.get', tags,
  summary: 'Per-dataset sync settings (own or admin)',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(z.object({ items: z.array(SyncSettingSchema.extend({ updated_at: z.string().nullable() })) }), 'Settings'), ...notFound },
});
const putSettings = defineRoute({
  access: 'admin', allowSelf: 'id', method: 'put', path: '/api/users/{id}/settings', operationId: 'users.settings.put', tags,
  summary: 'Replace per-dataset sync settings (own or admin)',
  request: { params: IdParamSchema, ...jsonBody(z.object({ items: z.array(SyncSettingSchema).max(1000) })) },
  responses: { 200: jsonResponse(z.object({ items: z.array(SyncSettingSchema.extend({ updated_at: z.string().nullable() })) }), 'Saved'), ...notFound },
});
const listPermissions = defineRoute({
  access: 'admin', allowSelf: 'id', method: 'get', path: '/api/users/{id}/permissions', operationId: 'users.permissions.list', tags,
  summary: "A user's dataset grants (own or admin)",
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(z.object({ items: z.array(PermissionSchema) }), 'Grants'), ...notFound },
});
const putPermission = defineRoute({
  access: 'admin', method: 'put', path: '/api/users/{id}/permissions/{dataset}', operationId: 'users.permissions.put', tags,
  summary: 'Grant (`read`) or deny (`none`, hides even a public dataset) a dataset',
  request: { params: UserDatasetParams, ...jsonBody(z.object({ access: z.enum(['read', 'none']) }).openapi('PermissionSet')) },
  responses: { 200: jsonResponse(PermissionSchema, 'Saved'), ...notFound },
});
const deletePermission = defineRoute({
  access: 'admin', method: 'delete', path: '/api/users/{id}/permissions/{dataset}', operationId: 'users.permissions.delete', tags,
  summary: 'Remove a grant or denial (back to the default: public datasets only)',
  request: { params: UserDatasetParams },
  responses: { 204: { description: 'Removed' }, ...notFound },
});

/** Users, their dataset permissions and sync settings (the rules are in src/auth/users.ts). */
export function createUsersRouter(deps: AppDeps) {
  const { users, permissions } = deps.repos;

  return createRouter()
    .openapi(listUsers, async (c) => {
      const items = await users.list({ includeInactive: c.req.valid('query').include_inactive === 'true' });
      return c.json({ items }, 200);
    })
    .openapi(createUserRoute, async (c) => {
      const { user, setup_token } = await createUserAs(deps, currentUser(c), c.req.valid('json'));
      return c.json({ ...user, ...(setup_token ? { setup_token } : {}) }, 201);
    })
    .openapi(getUser, async (c) => c.json(await getUserOrFail(deps, c.req.valid('param').id), 200))
    .openapi(updateUser, async (c) => {
      return c.json(await updateUserAs(deps, currentUser(c), c.req.valid('param').id, c.req.valid('json')), 200);
    })
    .openapi(deactivateUser, async (c) => {
      await deactivateUserAs(deps, currentUser(c), c.req.valid('param').id);
      return c.body(null, 204);
    })
    .openapi(resetToken, async (c) => {
      return c.json(await issueResetTokenAs(deps, currentUser(c), c.req.valid('param').id), 201);
    })
    .openapi(getSettings, async (c) => {
      const { id } = c.req.valid('param');
      await getUserOrFail(deps, id);
      return c.json({ items: await permissions.listSyncSettings(id) }, 200);
    })
    .openapi(putSettings, async (c) => {
      const { id } = c.req.valid('param');
      await getUserOrFail(deps, id);
      await saveSyncSettings(permissions, id, c.req.valid('json').items);
      return c.json({ items: await permissions.listSyncSettings(id) }, 200);
    })
    .openapi(listPermissions, async (c) => {
      return c.json({ items: await listDatasetPermissions(deps, c.req.valid('param').id) }, 200);
    })
    .openapi(putPermission, async (c) => {
      const { id, dataset } = c.req.valid('param');
      return c.json(await setDatasetPermission(deps, currentUser(c), id, dataset, c.req.valid('json').access), 200);
    })
    .openapi(deletePermission, async (c) => {
      const { id, dataset } = c.req.valid('param');
      await removeDatasetPermission(deps, id, dataset);
      return c.body(null, 204);
    });
}
