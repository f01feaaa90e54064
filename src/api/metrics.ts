import { z } from '@hono/zod-openapi';
import { currentUser } from '../auth/middleware.ts';
import type { MetricsService } from '../metrics/service.ts';
import { METRIC_NAME } from '../metrics/yaml.ts';
import { createRouter, defineRoute, errorResponse } from './router.ts';
import { IdParamSchema, jsonBody, jsonResponse } from './schemas.ts';

const fields = {
  name: z.string().regex(METRIC_NAME, `metric names match ${METRIC_NAME.source}`).openapi({ example: 'net_revenue' }),
  description: z.string().max(10_000),
  sql: z.string().min(1).max(100_000).openapi({ example: 'SELECT sum(amount) AS value FROM sales.orders' }),
  datasets: z.array(z.string().min(1).max(200)).min(1).max(100).openapi({ description: 'The datasets the SQL reads; it is checked against only these' }),
  owner: z.string().max(320),
  unit: z.string().max(100),
  grain: z.string().max(100),
  tags: z.array(z.string().min(1).max(100)).max(100),
  status: z.enum(['draft', 'certified']),
};

export const MetricSchema = z
  .object({ id: z.string(), ...fields, created_by: z.string().nullable(), created_at: z.string(), updated_at: z.string() })
  .openapi('Metric');

const CreateMetricSchema = z
  .object({
    ...fields,
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    description: fields.description.default(''),
    owner: fields.owner.default(''),
    unit: fields.unit.default(''),
    grain: fields.grain.default(''),
    tags: fields.tags.default([]),
    status: fields.status.default('draft'),
  })
  .openapi('MetricCreate');

const PatchMetricSchema = z.object(fields).partial().openapi('MetricPatch');

const MetricValueSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    columns: z.array(z.object({ name: z.string(), type: z.string() })),
    rows: z.array(z.array(z.unknown())),
    row_count: z.number().int(),
    truncated: z.boolean(),
    elapsed_ms: z.number().int(),
  })
  .openapi('MetricValue');

const FilesSchema = z
  .object({ files: z.record(z.string(), z.string().max(200_000)).openapi({ description: '`<name>.yaml` → the YAML text of one metric' }) })
  .openapi('MetricFiles');

const sqlRefused = {
  400: errorResponse('The SQL is not one read-only SELECT, does not bind against your views, or uses a refused function'),
  403: errorResponse('Not allowed: you may not read one of its datasets, or analysts may only propose and edit their own drafts'),
  409: errorResponse('Another metric has that name'),
};

const listMetrics = defineRoute({
  access: 'viewer', method: 'get', path: '/api/metrics', operationId: 'metrics.list', tags: ['metrics'],
  summary: 'The metrics over datasets you may read',
  responses: { 200: jsonResponse(z.array(MetricSchema), 'The metrics, by name') },
});
const createMetric = defineRoute({
  access: 'analyst', method: 'post', path: '/api/metrics', operationId: 'metrics.create', tags: ['metrics'],
  summary: 'Define a metric (analysts: drafts only). Its SQL is checked in your query sandbox first; nothing is stored when it is refused',
  request: jsonBody(CreateMetricSchema),
  responses: { 201: jsonResponse(MetricSchema, 'The metric'), ...sqlRefused },
});
const exportMetrics = defineRoute({
  access: 'admin', method: 'get', path: '/api/metrics/export', operationId: 'metrics.export', tags: ['metrics'],
  summary: 'Every metric as one YAML file each',
  responses: { 200: jsonResponse(FilesSchema, 'The files') },
});
const importMetrics = defineRoute({
  access: 'admin', method: 'post', path: '/api/metrics/import', operationId: 'metrics.import', tags: ['metrics'],
  summary: 'Create or replace (by name) metrics from YAML files; every one is checked before any is stored',
  request: jsonBody(FilesSchema),
  responses: { 200: jsonResponse(z.object({ created: z.number().int(), updated: z.number().int() }).openapi('MetricImport'), 'What changed'), ...sqlRefused },
});
const getMetric = defineRoute({
  access: 'viewer', method: 'get', path: '/api/metrics/{id}', operationId: 'metrics.get', tags: ['metrics'],
  summary: 'One metric',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(MetricSchema, 'The metric'), 404: errorResponse('No such metric, or not one you may read') },
});
const patchMetric = defineRoute({
  access: 'analyst', method: 'patch', path: '/api/metrics/{id}', operationId: 'metrics.update', tags: ['metrics'],
  summary: 'Change a metric (admins: any, and certify; analysts: their own drafts). The SQL is checked again',
  request: { params: IdParamSchema, ...jsonBody(PatchMetricSchema) },
  responses: { 200: jsonResponse(MetricSchema, 'The metric'), 404: errorResponse('No such metric, or not one you may read'), ...sqlRefused },
});
const deleteMetric = defineRoute({
  access: 'analyst', method: 'delete', path: '/api/metrics/{id}', operationId: 'metrics.delete', tags: ['metrics'],
  summary: 'Delete a metric (admins: any; analysts: their own drafts)',
  request: { params: IdParamSchema },
  responses: { 204: { description: 'Deleted' }, 403: errorResponse('Not your draft'), 404: errorResponse('No such metric, or not one you may read') },
});
const metricValue = defineRoute({
  access: 'viewer', method: 'get', path: '/api/metrics/{id}/value', operationId: 'metrics.value', tags: ['metrics'],
  summary: "The metric's value: its SQL run for you in the query sandbox",
  request: { params: IdParamSchema },
  responses: {
    200: jsonResponse(MetricValueSchema, 'The result'),
    400: errorResponse('The SQL no longer binds against your views'),
    404: errorResponse('No such metric, or not one you may read'),
    408: errorResponse('The query ran longer than the server allows'),
    429: errorResponse('Too many queries of yours at once'),
    503: errorResponse('Every query worker stayed busy'),
  },
});

/** The metrics catalog: `/api/metrics…`. */
export function createMetricsRouter(metrics: MetricsService) {
  return createRouter()
    .openapi(listMetrics, async (c) => c.json(await metrics.listFor(currentUser(c)), 200))
    .openapi(createMetric, async (c) => c.json(await metrics.create(currentUser(c), c.req.valid('json')), 201))
    .openapi(exportMetrics, async (c) => c.json({ files: await metrics.exportFiles() }, 200))
    .openapi(importMetrics, async (c) => c.json(await metrics.importFiles(currentUser(c), c.req.valid('json').files), 200))
    .openapi(getMetric, async (c) => c.json(await metrics.getFor(currentUser(c), c.req.valid('param').id), 200))
    .openapi(patchMetric, async (c) => c.json(await metrics.update(currentUser(c), c.req.valid('param').id, c.req.valid('json')), 200))
    .openapi(deleteMetric, async (c) => {
      await metrics.remove(currentUser(c), c.req.valid('param').id);
      return c.body(null, 204);
    })
    .openapi(metricValue, async (c) => c.json(await metrics.value(currentUser(c), c.req.valid('param').id), 200));
}
