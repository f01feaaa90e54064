import { z } from '@hono/zod-openapi';
import { ROLES } from '../auth/roles.ts';
import { NAME_PATTERN, TABLE_ID_PATTERN } from '../sync/paths.ts';

/** Schemas shared by several route groups. */
export const RoleSchema = z.enum(ROLES).openapi('Role');

export const UserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    role: RoleSchema,
    active: z.boolean(),
    created_at: z.string(),
    updated_at: z.string().nullable(),
    last_login_at: z.string().nullable(),
  })
  .openapi('User');

/** A dataset or table name. */
export const NameSchema = z.string().regex(NAME_PATTERN, `names match ${NAME_PATTERN.source}`);

/** A table id, `<dataset>.<table>`. */
export const TableIdSchema = z.string().regex(TABLE_ID_PATTERN, 'table ids are <dataset>.<table>');

export const IdParamSchema = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: 'id', in: 'path' } }) });

/** A JSON body, declared once per route. */
export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { body: { content: { 'application/json': { schema } }, required: true, description } };
}

/** A JSON response, declared once per status. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { content: { 'application/json': { schema } }, description };
}
