import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../context.ts';
import type { Services } from '../boot.ts';
import { currentUser } from '../auth/middleware.ts';
import { approveRequest, denyRequest, listMyRequests, listRequests, requestAccess, type AccessRequestDeps } from '../auth/access-requests.ts';
import { createRouter, defineRoute, errorResponse } from './router.ts';
import { IdParamSchema, jsonBody, jsonResponse, NameSchema } from './schemas.ts';

const StatusSchema = z.enum(['pending', 'approved', 'denied']);

export const AccessRequestSchema = z
  .object({
    id: z.string(),
    user: z.string().openapi({ description: "The requester's email" }),
    dataset: z.string(),
    reason: z.string(),
    status: StatusSchema,
    note: z.string().nullable().openapi({ description: "The admin's note on a denial" }),
    created_at: z.string(),
    decided_by: z.string().nullable().openapi({ description: "The deciding admin's email" }),
    decided_at: z.string().nullable(),
  })
  .openapi('AccessRequest');

const ListSchema = z.object({ items: z.array(AccessRequestSchema) });
const tags = ['access-requests'];
const notFound = { 404: errorResponse('No such access request') };
const notPending = { 409: errorResponse('The request is already decided') };

const createRoute = defineRoute({
  access: 'viewer', method: 'post', path: '/api/access-requests', operationId: 'accessRequests.create', tags,
  summary: 'Ask for read access to a dataset',
  request: jsonBody(z.object({ dataset: NameSchema, reason: z.string().trim().min(1).max(2000) }).openapi('AccessRequestCreate')),
  responses: {
    201: jsonResponse(AccessRequestSchema, 'Requested'),
    404: errorResponse('No configured dataset of that name'),
    409: errorResponse('A request for this dataset is pending, or you can already read it'),
  },
});
const mineRoute = defineRoute({
  access: 'viewer', method: 'get', path: '/api/access-requests/mine', operationId: 'accessRequests.mine', tags,
  summary: 'My access requests, newest first',
  responses: { 200: jsonResponse(ListSchema, 'My requests') },
});
const listRoute = defineRoute({
  access: 'admin', method: 'get', path: '/api/access-requests', operationId: 'accessRequests.list', tags,
  summary: "Everyone's access requests, newest first, optionally by status",
  request: { query: z.object({ status: StatusSchema.optional() }) },
  responses: { 200: jsonResponse(ListSchema, 'Requests') },
});
const approveRoute = defineRoute({
  access: 'admin', method: 'post', path: '/api/access-requests/{id}/approve', operationId: 'accessRequests.approve', tags,
  summary: 'Approve a pending request: grants the requester read on the dataset',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(AccessRequestSchema, 'Approved'), ...notFound, ...notPending },
});
const denyRoute = defineRoute({
  access: 'admin', method: 'post', path: '/api/access-requests/{id}/deny', operationId: 'accessRequests.deny', tags,
  summary: 'Deny a pending request, with a note for the requester',
  request: { params: IdParamSchema, ...jsonBody(z.object({ note: z.string().trim().max(2000).nullish() }).openapi('AccessRequestDeny')) },
  responses: { 200: jsonResponse(AccessRequestSchema, 'Denied'), ...notFound, ...notPending },
});

/** What the access-request domain code reads, from the runtime. */
export function accessRequestDeps(deps: AppDeps, services: Pick<Services, 'events'>): AccessRequestDeps {
  const { accessRequests, permissions } = deps.repos;
  return { accessRequests, permissions, sources: deps.config.sources, events: services.events };
}

/** Access requests (the rules are in src/auth/access-requests.ts). */
export function createAccessRequestsRouter(deps: AppDeps, services: Pick<Services, 'events'>) {
  const d = accessRequestDeps(deps, services);
  return createRouter()
    .openapi(createRoute, async (c) => c.json(await requestAccess(d, currentUser(c), c.req.valid('json')), 201))
    .openapi(mineRoute, async (c) => c.json({ items: await listMyRequests(d, currentUser(c)) }, 200))
    .openapi(listRoute, async (c) => c.json({ items: await listRequests(d, c.req.valid('query').status) }, 200))
    .openapi(approveRoute, async (c) => c.json(await approveRequest(d, currentUser(c), c.req.valid('param').id), 200))
    .openapi(denyRoute, async (c) => {
      const note = c.req.valid('json').note || null;
      return c.json(await denyRequest(d, currentUser(c), c.req.valid('param').id, note), 200);
    });
}
