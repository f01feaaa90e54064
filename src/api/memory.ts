import { z } from '@hono/zod-openapi';
import type { JobRunner } from '../../jobs/runner.ts';
import { currentUser } from '../auth/middleware.ts';
import { MAX_LIMIT, type MemoryService } from '../memory/service.ts';
import { MEMORY_STATUSES } from '../repositories/memory.ts';
import { createRouter, defineRoute, errorResponse } from './router.ts';
import { IdParamSchema, jsonBody, jsonResponse, RoleSchema } from './schemas.ts';

export const MemoryStatusSchema = z.enum(MEMORY_STATUSES).openapi('MemoryStatus');
/** The statuses a change may set (items start pending). */
export const MemoryTargetStatusSchema = z.enum(['approved', 'rejected', 'mandatory', 'revoked']);

export const AudienceSchema = z
  .object({
    roles: z.array(RoleSchema).max(10).optional(),
    users: z.array(z.string().min(1).max(320)).max(500).optional().openapi({ description: 'User ids or emails (stored as ids)' }),
    datasets: z.array(z.string().min(1).max(64)).max(100).optional().openapi({ description: 'Only readers of every one of these datasets' }),
  })
  .strict()
  .openapi('MemoryAudience', { description: 'Who an item is for; null is everyone' });

const fields = {
  title: z.string().trim().min(1).max(200).openapi({ example: 'Revenue excludes VAT' }),
  content: z.string().trim().min(1).max(20_000).openapi({ example: 'orders.amount is net of VAT; add 21 % for gross figures.' }),
  category: z.string().trim().min(1).max(64).regex(/^[\p{L}\p{N} _.-]+$/u, 'letters, digits, spaces and . _ -').openapi({ example: 'sales' }),
  tags: z.array(z.string().trim().min(1).max(64)).max(20).openapi({ example: ['revenue', 'vat'] }),
};

export const MemoryItemSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    content: z.string(),
    category: z.string(),
    tags: z.array(z.string()),
    status: MemoryStatusSchema,
    audience: AudienceSchema.nullable(),
    score: z.number().int(),
    my_vote: z.union([z.literal(-1), z.literal(0), z.literal(1)]),
    contributors: z.array(z.string()).openapi({ description: 'User ids, first contributor first' }),
    source: z.string().nullable().openapi({ description: 'Where it came from: an upload path, `api` or `web`' }),
    created_by: z.string().nullable().openapi({ description: 'Its author; null when the extraction job proposed it' }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('MemoryItem');

const MemoryListSchema = z
  .object({ items: z.array(MemoryItemSchema), next_cursor: z.string().nullable() })
  .openapi('MemoryList');

const HistorySchema = z
  .object({
    id: z.string(),
    item_id: z.string(),
    at: z.string(),
    actor: z.string().nullable().openapi({ description: 'User id; null for the extraction job' }),
    action: z.enum(['created', 'edited', 'status', 'contributor']),
    // Inline, not the MemoryStatus $ref: a nullable $ref loses its null in the document.
    from_status: z.enum(MEMORY_STATUSES).nullable(),
    to_status: z.enum(MEMORY_STATUSES).nullable(),
    note: z.string().nullable(),
    changes: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi('MemoryHistoryEntry');

const ListQuerySchema = z.object({
  q: z.string().max(500).optional().openapi({ description: 'Words that must all occur in the title, content, tags or category' }),
  status: MemoryStatusSchema.optional(),
  category: z.string().max(64).optional(),
  tag: z.string().max(64).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional(),
});

const StatusBodySchema = z
  .object({
    status: MemoryTargetStatusSchema,
    note: z.string().max(2000).optional().openapi({ description: 'Why: kept in the history and sent to the contributors' }),
    audience: AudienceSchema.nullable().optional().openapi({ description: 'km_admin: who the item is for (null: everyone)' }),
    category: fields.category.optional().openapi({ description: 'km_admin: move it to another category' }),
  })
  .openapi('MemoryStatusChange');

const BatchBodySchema = z
  .object({
    ids: z.array(z.string().min(1).max(64)).min(1).max(500),
    status: MemoryTargetStatusSchema,
    note: z.string().max(2000).optional(),
  })
  .openapi('MemoryBatch');

const notFound = { 404: errorResponse('No such item, or not one you may see') };

const listMemory = defineRoute({
  access: 'viewer', method: 'get', path: '/api/memory', operationId: 'memory.list', tags: ['memory'],
  summary: 'Corporate memory items you may see (approved and mandatory ones of your audience and your own; admins: all), newest first',
  request: { query: ListQuerySchema },
  responses: { 200: jsonResponse(MemoryListSchema, 'A page of items; `next_cursor` fetches the next') },
});
const createItem = defineRoute({
  access: 'analyst', method: 'post', path: '/api/memory', operationId: 'memory.create', tags: ['memory'],
  summary: 'Propose an item (pending until an admin approves it)',
  request: jsonBody(z.object({ ...fields, category: fields.category.optional(), tags: fields.tags.optional() }).openapi('MemoryCreate')),
  responses: { 201: jsonResponse(MemoryItemSchema, 'The pending item') },
});
const batchStatus = defineRoute({
  access: 'admin', method: 'post', path: '/api/memory/batch', operationId: 'memory.batch', tags: ['memory'],
  summary: 'Set the status of several items at once (all are checked before any changes)',
  request: jsonBody(BatchBodySchema),
  responses: {
    200: jsonResponse(z.object({ items: z.array(MemoryItemSchema) }).openapi('MemoryBatchResult'), 'The items'),
    403: errorResponse('The status needs km_admin, or an item is mandatory'),
    ...notFound,
    409: errorResponse('An item cannot go to that status from where it is'),
  },
});
const collect = defineRoute({
  access: 'admin', method: 'post', path: '/api/memory/collect', operationId: 'memory.collect', tags: ['memory'],
  summary: 'Run the extraction job now: new and changed uploads become pending items',
  responses: {
    202: jsonResponse(z.object({ job_id: z.string() }).openapi('MemoryCollectStarted'), 'The run started (see GET /api/jobs)'),
    409: errorResponse('The extraction job is running'),
  },
});
const getItem = defineRoute({
  access: 'viewer', method: 'get', path: '/api/memory/{id}', operationId: 'memory.get', tags: ['memory'],
  summary: 'One item',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(MemoryItemSchema, 'The item'), ...notFound },
});
const patchItem = defineRoute({
  access: 'analyst', method: 'patch', path: '/api/memory/{id}', operationId: 'memory.update', tags: ['memory'],
  'x-owner-or': 'admin',
  summary: 'Change an item: its author while it is pending, or an admin (a mandatory one or a category: km_admin)',
  request: { params: IdParamSchema, ...jsonBody(z.object(fields).partial().openapi('MemoryPatch')) },
  responses: { 200: jsonResponse(MemoryItemSchema, 'The item'), 403: errorResponse('Not your pending item'), ...notFound },
});
const voteItem = defineRoute({
  access: 'analyst', method: 'post', path: '/api/memory/{id}/vote', operationId: 'memory.vote', tags: ['memory'],
  summary: 'Vote +1 or -1 (replaces your vote); 0 takes it back',
  request: {
    params: IdParamSchema,
    ...jsonBody(z.object({ vote: z.union([z.literal(1), z.literal(-1), z.literal(0)]) }).openapi('MemoryVote')),
  },
  responses: { 200: jsonResponse(MemoryItemSchema, 'The item with its score and your vote'), ...notFound, 409: errorResponse('A rejected or revoked item takes no votes') },
});
const setStatus = defineRoute({
  access: 'admin', method: 'post', path: '/api/memory/{id}/status', operationId: 'memory.status', tags: ['memory'],
  summary: 'Govern an item: admin approves or rejects; km_admin also mandates, revokes, and sets audience and category',
  request: { params: IdParamSchema, ...jsonBody(StatusBodySchema) },
  responses: {
    200: jsonResponse(MemoryItemSchema, 'The item'),
    403: errorResponse('That change needs km_admin'),
    ...notFound,
    409: errorResponse('The item cannot go to that status from where it is, or is already there'),
  },
});
const itemHistory = defineRoute({
  access: 'admin', method: 'get', path: '/api/memory/{id}/history', operationId: 'memory.history', tags: ['memory'],
  summary: "An item's changes: who, when, what and why",
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(z.array(HistorySchema), 'Oldest first'), ...notFound },
});

/** Corporate memory: `/api/memory…`. */
export function createMemoryRouter({ memory, jobs }: { memory: MemoryService; jobs: JobRunner }) {
  return createRouter()
    .openapi(listMemory, async (c) => c.json(await memory.list(currentUser(c), c.req.valid('query')), 200))
    .openapi(createItem, async (c) => c.json(await memory.create(currentUser(c), c.req.valid('json'), 'api'), 201))
    .openapi(batchStatus, async (c) => {
      const { ids, status, note } = c.req.valid('json');
      return c.json({ items: await memory.batch(currentUser(c), ids, status, note) }, 200);
    })
    .openapi(collect, async (c) => {
      const { runId } = await jobs.runNow('memory-collect');
      return c.json({ job_id: runId }, 202);
    })
    .openapi(getItem, async (c) => c.json(await memory.get(currentUser(c), c.req.valid('param').id), 200))
    .openapi(patchItem, async (c) => c.json(await memory.update(currentUser(c), c.req.valid('param').id, c.req.valid('json')), 200))
    .openapi(voteItem, async (c) => c.json(await memory.vote(currentUser(c), c.req.valid('param').id, c.req.valid('json').vote), 200))
    .openapi(setStatus, async (c) => c.json(await memory.setStatus(currentUser(c), c.req.valid('param').id, c.req.valid('json')), 200))
    .openapi(itemHistory, async (c) => c.json(await memory.history(currentUser(c), c.req.valid('param').id), 200));
}
