import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../context.ts';
import { createRouter, defineRoute } from './router.ts';
import { jsonResponse } from './schemas.ts';

export const AuditEntrySchema = z
  .object({
    id: z.string(),
    timestamp: z.string(),
    request_id: z.string().nullable(),
    user_id: z.string().nullable(),
    action: z.string().openapi({ description: 'operationId of the route (e.g. auth.token), or METHOD path' }),
    resource: z.string().nullable(),
    params: z.unknown().openapi({ description: 'Query and JSON body, with secrets redacted' }),
    result: z.string().nullable().openapi({ description: 'allowed | refused | error' }),
    status: z.number().int().nullable(),
    duration_ms: z.number().int().nullable(),
    ip: z.string().nullable(),
  })
  .openapi('AuditEntry');

const listAudit = defineRoute({
  access: 'admin',
  method: 'get',
  path: '/api/audit',
  operationId: 'audit.list',
  tags: ['audit'],
  summary: 'The audit trail, newest first; filter by user (id or email), action, resource prefix, status, time',
  request: {
    query: z.object({
      user: z.string().max(254).optional(),
      action: z.string().max(200).optional(),
      resource: z.string().max(500).optional(),
      status: z.coerce.number().int().min(100).max(599).optional(),
      since: z.string().datetime({ offset: true }).optional(),
      until: z.string().datetime({ offset: true }).optional(),
      cursor: z.string().max(200).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
  },
  responses: {
    200: jsonResponse(z.object({ items: z.array(AuditEntrySchema), next_cursor: z.string().nullable() }).openapi('AuditPage'), 'A page of entries'),
  },
});

/** GET /api/audit. */
export function createAuditRouter(deps: AppDeps) {
  return createRouter().openapi(listAudit, async (c) => c.json(await deps.repos.audit.list(c.req.valid('query')), 200));
}
