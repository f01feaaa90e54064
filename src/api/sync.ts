import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../context.ts';
import type { SyncEngine } from '../sync/engine.ts';
import { currentUser } from '../auth/middleware.ts';
import { NotFoundError } from '../errors.ts';
import { createRouter, defineRoute } from './router.ts';
import { jsonBody, jsonResponse, TableIdSchema } from './schemas.ts';


const TriggerSchema = z
  .object({ tables: z.array(TableIdSchema).max(10_000).optional().openapi({ description: 'Default: every enabled table' }) })
  .openapi('SyncTrigger');

const TriggeredSchema = z
  .object({
    job_id: z.string(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    already_running: z.boolean().openapi({ description: 'True when a sync was running: job_id is that one' }),
  })
  .openapi('SyncTriggered');

const TableResultSchema = z
  .object({
    table_id: z.string(),
    status: z.enum(['ok', 'error']),
    mode: z.enum(['full', 'incremental']).nullable(),
    rows: z.number().nullable(),
    rows_read: z.number().nullable(),
    bytes: z.number().nullable(),
    columns: z.number().nullable(),
    hash: z.string().nullable(),
    duration_ms: z.number(),
    error: z.string().nullable(),
    profile_error: z.string().nullable().optional(),
    notes: z.array(z.string()).optional().openapi({ description: 'What the connector reports, e.g. why an incremental table was pulled in full' }),
    unconverted_values: z.number().optional().openapi({ description: 'Values of loosely typed columns that did not convert and became NULL' }),
    bytes_scanned: z.number().optional().openapi({ description: 'Bytes the warehouse scanned for the pull (BigQuery)' }),
    estimated_cost_usd: z.number().optional().openapi({ description: 'Estimated cost of that scan in US dollars' }),
  })
  .openapi('TableSyncResult');

const SourceResultSchema = z
  .object({
    dataset: z.string(),
    status: z.enum(['ok', 'error']),
    auto_register: z.boolean(),
    registered: z.array(z.string()).openapi({ description: 'Tables this sync registered' }),
    skipped: z.array(z.object({ source_table: z.string(), reason: z.string() })),
    missing: z.array(z.string()).openapi({ description: 'Registered tables the source no longer offers (still served)' }),
    returned: z.array(z.string()).openapi({ description: 'Missing tables the source offers again' }),
    error: z.string().nullable(),
  })
  .openapi('SyncSourceResult');

const JobSchema = z
  .object({
    job_id: z.string(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed']),
    requested_by: z.string().nullable(),
    requested_tables: z.array(z.string()).nullable(),
    tables: z.array(TableResultSchema).openapi({ description: 'Per-table results (filled when the job ends)' }),
    sources: z.array(SourceResultSchema).openapi({ description: 'Per source, what automatic registration did (syncs of every table)' }),
    message: z.string().nullable().openapi({ description: 'Set when the job had nothing to sync, and why' }),
    created_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi('SyncJob');

const HistorySchema = z
  .object({
    id: z.string(),
    table_id: z.string(),
    job_id: z.string().nullable(),
    synced_at: z.string(),
    rows: z.number().nullable(),
    bytes: z.number().nullable(),
    columns: z.number().nullable(),
    duration_ms: z.number().nullable(),
    status: z.string(),
    error: z.string().nullable(),
  })
  .openapi('SyncHistoryEntry');

const tags = ['sync'];

const trigger = defineRoute({
  access: 'admin', method: 'post', path: '/api/sync/trigger', operationId: 'sync.trigger', tags,
  summary: 'Start a sync of the registered tables; while one runs, returns that job (already_running)',
  request: { body: { ...jsonBody(TriggerSchema).body, required: false } },
  responses: { 202: jsonResponse(TriggeredSchema, 'Accepted'), 404: { description: 'A requested table is not registered' } },
});
const getJob = defineRoute({
  access: 'admin', method: 'get', path: '/api/sync/jobs/{job_id}', operationId: 'sync.job', tags,
  summary: 'A sync job with its per-table results',
  request: { params: z.object({ job_id: z.string().min(1).max(64).openapi({ param: { name: 'job_id', in: 'path' } }) }) },
  responses: { 200: jsonResponse(JobSchema, 'The job'), 404: { description: 'No such job' } },
});
const history = defineRoute({
  access: 'admin', method: 'get', path: '/api/sync/history', operationId: 'sync.history', tags,
  summary: 'Sync history, newest first, optionally of one table',
  request: {
    query: z.object({
      table: TableIdSchema.optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
  },
  responses: { 200: jsonResponse(z.object({ items: z.array(HistorySchema) }), 'History') },
});

/** Sync jobs: trigger, follow, history (admin). */
export function createSyncRouter(deps: AppDeps, sync: SyncEngine) {
  return createRouter()
    .openapi(trigger, async (c) => {
      // No body means "every enabled table".
      const body = c.req.valid('json');
      const { job, already_running } = await sync.trigger({ tables: body.tables, requestedBy: currentUser(c).id });
      return c.json({ job_id: job.id, status: job.status, already_running }, 202);
    })
    .openapi(getJob, async (c) => {
      const { job_id } = c.req.valid('param');
      const job = await deps.repos.syncState.getJob(job_id);
      if (!job) throw new NotFoundError(`sync job ${job_id} not found`);
      const result = (job.result ?? {}) as { tables?: unknown[]; sources?: unknown[]; message?: string | null };
      return c.json(
        {
          job_id: job.id, status: job.status, requested_by: job.requested_by, requested_tables: job.tables,
          tables: (result.tables ?? []) as z.infer<typeof TableResultSchema>[],
          sources: (result.sources ?? []) as z.infer<typeof SourceResultSchema>[],
          message: result.message ?? null,
          created_at: job.created_at, started_at: job.started_at, finished_at: job.finished_at, error: job.error,
        },
        200,
      );
    })
    .openapi(history, async (c) => {
      const { table, limit } = c.req.valid('query');
      return c.json({ items: await deps.repos.syncState.history(table, limit) }, 200);
    });
}
