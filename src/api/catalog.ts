import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../context.ts';
import { currentUser } from '../auth/middleware.ts';
import { seesAllDatasets } from '../auth/roles.ts';
import type { AccessCache, TableCatalog } from '../sync/catalog.ts';
import { readableTable, visibleTables, type CatalogTable } from '../sync/catalog.ts';
import { createRouter, defineRoute } from './router.ts';
import { jsonResponse } from './schemas.ts';

export const CatalogTableSchema = z
  .object({
    id: z.string().openapi({ example: 'sales.orders' }),
    dataset: z.string(),
    name: z.string(),
    description: z.string().nullable().openapi({ description: "An admin's description, else OpenMetadata's, else the source's" }),
    description_origin: z.enum(['admin', 'openmetadata', 'source']).nullable(),
    tags: z.array(z.string()),
    rows: z.number().int().nullable(),
    columns: z.number().int().nullable(),
    size_bytes: z.number().int().nullable(),
    last_sync: z.string().nullable(),
    status: z.string().openapi({ description: '`ok`, `error` (the last good file is still served) or `pending` (never synced)' }),
    error: z.string().nullable().openapi({ description: 'Why the last sync failed (admins only; null for others)' }),
    has_profile: z.boolean(),
  })
  .openapi('CatalogTable');

export const CatalogTableDetailSchema = CatalogTableSchema.extend({
  column_descriptions: z.record(z.string(), z.string()).openapi({ description: 'Column name → description (admin over OpenMetadata)' }),
  profile: z.unknown().nullable().openapi({
    description: "The stored profile (each column with its `description`), or null before the first profile",
  }),
  profiled_at: z.string().nullable(),
}).openapi('CatalogTableDetail');

const tags = ['catalog'];
const listTables = defineRoute({
  access: 'viewer', method: 'get', path: '/api/catalog/tables', operationId: 'catalog.list', tags,
  summary: 'The registered tables you may read, with size, freshness and sync status',
  responses: { 200: jsonResponse(z.object({ items: z.array(CatalogTableSchema) }), 'Tables') },
});
const getTable = defineRoute({
  access: 'viewer', method: 'get', path: '/api/catalog/tables/{id}', operationId: 'catalog.get', tags,
  summary: 'One table with its profile',
  request: { params: z.object({ id: z.string().max(200).openapi({ param: { name: 'id', in: 'path' }, example: 'sales.orders' }) }) },
  responses: { 200: jsonResponse(CatalogTableDetailSchema, 'The table'), 404: { description: 'No such table, or not one you may read' } },
});

const EnrichmentRunSchema = z
  .object({
    id: z.string(),
    origin: z.literal('openmetadata'),
    started_at: z.string(),
    finished_at: z.string(),
    status: z.enum(['succeeded', 'failed']),
    error: z.string().nullable().openapi({ description: 'Why the run failed (earlier descriptions are kept)' }),
    result: z.object({
      enriched: z.array(z.string()).openapi({ description: 'Tables whose descriptions and tags were fetched' }),
      not_found: z.array(z.object({ table: z.string(), fqn: z.string() })),
      skipped: z.array(z.object({ table: z.string(), reason: z.string() })),
      errors: z.array(z.object({ table: z.string(), fqn: z.string(), error: z.string() })),
    }),
  })
  .openapi('EnrichmentRun');

const getEnrichment = defineRoute({
  access: 'admin', method: 'get', path: '/api/catalog/enrichment', operationId: 'catalog.enrichment', tags,
  summary: 'Whether OpenMetadata enrichment is configured, and what its last run (the catalog-enrich job) did',
  responses: {
    200: jsonResponse(z.object({ configured: z.boolean(), last_run: EnrichmentRunSchema.nullable() }).openapi('EnrichmentStatus'), 'Status'),
  },
});

function toItem(t: CatalogTable, showErrors: boolean) {
  return {
    id: t.id,
    dataset: t.dataset,
    name: t.name,
    description: t.description,
    description_origin: t.description_origin,
    tags: t.tags,
    rows: t.rows,
    columns: t.columns,
    size_bytes: t.size_bytes,
    last_sync: t.last_sync,
    status: t.status,
    // Source errors can name hosts and buckets: for the people who run the server.
    error: showErrors ? t.error : null,
    has_profile: t.profile_hash !== null,
  };
}

/** The stored profile with each column's merged description (null when it has none). */
function describedProfile(profile: unknown, t: CatalogTable): unknown {
  if (!profile || typeof profile !== 'object' || !Array.isArray((profile as { columns?: unknown }).columns)) return profile;
  const p = profile as { columns: Record<string, unknown>[] };
  return { ...p, columns: p.columns.map((c) => ({ ...c, description: t.column_descriptions[String(c.name)] ?? null })) };
}

/** The table catalog, filtered by dataset permissions. */
export function createCatalogRouter(deps: AppDeps, { access: accessCache, catalog }: { access: AccessCache; catalog: TableCatalog }) {
  return createRouter()
    .openapi(getEnrichment, async (c) => {
      const last = await deps.repos.tableAnnotations.lastRun();
      return c.json({ configured: Boolean(deps.config.catalog.openmetadata), last_run: last ?? null }, 200);
    })
    .openapi(listTables, async (c) => {
      const user = currentUser(c);
      const { tables } = await visibleTables(accessCache, catalog, user);
      return c.json({ items: tables.map((t) => toItem(t, seesAllDatasets(user.role))) }, 200);
    })
    .openapi(getTable, async (c) => {
      const { id } = c.req.valid('param');
      const user = currentUser(c);
      const table = await readableTable(accessCache, catalog, user, id);
      const stored = await deps.repos.profiles.get(id);
      return c.json({
        ...toItem(table, seesAllDatasets(user.role)),
        column_descriptions: table.column_descriptions,
        profile: stored ? describedProfile(stored.profile, table) : null,
        profiled_at: stored?.profiled_at ?? null,
      }, 200);
    });
}
