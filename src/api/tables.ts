import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../context.ts';
import type { SyncEngine } from '../sync/engine.ts';
import { currentUser } from '../auth/middleware.ts';
import type { Enrichment } from '../catalog/annotations.ts';
import {
  discoverTables, listSources as configuredSources, listTablesWithState, registerAllTables, registerTable, updateTable as updateRegisteredTable,
} from '../sync/registry.ts';
import { describeTable, enrichmentOf, enrichmentsOf, checkDescriptionPatch, touchesDescriptions } from '../catalog/describe.ts';
import { createRouter, defineRoute } from './router.ts';
import { jsonBody, jsonResponse, NameSchema, TableIdSchema } from './schemas.ts';

const TableIdParams = z.object({
  id: TableIdSchema.openapi({ param: { name: 'id', in: 'path' }, example: 'sales.orders' }),
});
const DatasetParams = z.object({ dataset: NameSchema.openapi({ param: { name: 'dataset', in: 'path' }, example: 'sales' }) });
const KeySchema = z.array(z.string().min(1).max(256)).min(1).max(32);
const StrategySchema = z.enum(['full', 'incremental']);

export const SyncStateSchema = z
  .object({
    last_sync: z.string().nullable(),
    rows: z.number().int().nullable(),
    file_size_bytes: z.number().int().nullable(),
    columns: z.number().int().nullable(),
    hash: z.string().nullable().openapi({ description: 'sha256 of the Parquet file served now' }),
    watermark: z.string().nullable(),
    status: z.string().openapi({ description: '`ok`, or `error` when the last pull failed (the previous file is still served)' }),
    error: z.string().nullable(),
  })
  .openapi('TableSyncState');

export const RegisteredTableSchema = z
  .object({
    id: z.string().openapi({ example: 'sales.orders' }),
    name: z.string(),
    dataset: z.string(),
    source_table: z.string(),
    sync_strategy: StrategySchema,
    primary_key: z.array(z.string()).nullable(),
    description: z.string().nullable(),
    enabled: z.boolean(),
    registered_by: z.string().nullable(),
    registered_at: z.string().nullable(),
    updated_at: z.string().nullable(),
    missing_since: z.string().nullable().openapi({
      description: 'When the source stopped offering the table; its last file is still served until an admin unregisters it',
    }),
  })
  .openapi('RegisteredTable');

/** The merged descriptions and tags beside a registered table. */
const EnrichmentFields = {
  description_origin: z.enum(['admin', 'openmetadata', 'source']).nullable().openapi({
    description: 'Where `description` comes from: an admin edit wins over OpenMetadata, which wins over the source',
  }),
  source_description: z.string().nullable().openapi({ description: "The source's own description" }),
  tags: z.array(z.string()),
  column_descriptions: z.record(z.string(), z.string()).openapi({ description: 'Column name → description (merged like the table description)' }),
};

const DescribedTableSchema = RegisteredTableSchema.extend(EnrichmentFields).openapi('DescribedTable');

const TableWithStateSchema = RegisteredTableSchema.extend({
  ...EnrichmentFields,
  missing: z.boolean().openapi({ description: 'The source no longer offers this table (see missing_since)' }),
  remote: z.boolean().openapi({ description: 'The table stays in its warehouse (a `mode: remote` BigQuery source): never pulled, queried there' }),
  sync: SyncStateSchema.nullable(),
}).openapi('RegisteredTableWithState');

const RegisterSchema = z
  .object({
    dataset: NameSchema,
    source_table: z.string().min(1).max(1024).openapi({ description: 'The name the source uses (see discover)' }),
    name: NameSchema.optional().openapi({ description: 'Defaults to source_table normalised' }),
    sync_strategy: StrategySchema.default('full'),
    primary_key: KeySchema.nullish(),
    description: z.string().max(4000).nullish(),
  })
  .openapi('TableRegister');

const UpdateSchema = z
  .object({
    sync_strategy: StrategySchema.optional(),
    primary_key: KeySchema.nullable().optional(),
    description: z.string().max(4000).nullable().optional().openapi({
      description: "An admin's description; wins over OpenMetadata's and the source's (null or empty: back to theirs)",
    }),
    columns: z
      .record(z.string().min(1).max(256), z.object({ description: z.string().max(4000).nullable().optional() }).strict())
      .optional()
      .openapi({ description: 'Column descriptions by column name (an unknown column is a 422; null or empty clears one)' }),
    tags: z.array(z.string().min(1).max(100)).max(50).nullable().optional().openapi({ description: "Replaces the tags (null: back to OpenMetadata's)" }),
    enabled: z.boolean().optional(),
  })
  .openapi('TableUpdate');

const SourceSchema = z
  .object({
    dataset: z.string(),
    type: z.enum(['local', 'keboola', 'jira', 'bigquery']),
    public: z.boolean(),
    description: z.string().nullable(),
    location: z.string().openapi({ description: 'Folder (local) or Storage API URL (keboola); never a token' }),
    auto_register: z.boolean().openapi({ description: 'New tables are registered on each sync' }),
  })
  .openapi('Source');

const DiscoveredSchema = z
  .object({
    source_table: z.string(),
    name: z.string(),
    table_id: z.string(),
    description: z.string().nullable(),
    primary_key: z.array(z.string()).nullable(),
    row_estimate: z.number().nullable(),
    columns: z.array(z.object({ name: z.string(), type: z.string().nullable() })).nullable(),
    registered: z.boolean(),
    conflict: z.string().nullable().openapi({ description: 'Why this table cannot be registered under its normalised name' }),
  })
  .openapi('DiscoveredTable');

const tags = ['tables'];
const notFound = { 404: { description: 'No such table or source' } };

const listTables = defineRoute({
  access: 'admin', method: 'get', path: '/api/tables', operationId: 'tables.list', tags,
  summary: 'Registered tables with their sync state',
  responses: { 200: jsonResponse(z.object({ items: z.array(TableWithStateSchema) }), 'Registered tables') },
});
const createTable = defineRoute({
  access: 'admin', method: 'post', path: '/api/tables', operationId: 'tables.register', tags,
  summary: 'Register a source table for syncing (a name that is taken is a 409, never an overwrite)',
  request: jsonBody(RegisterSchema),
  responses: { 201: jsonResponse(RegisteredTableSchema, 'Registered'), ...notFound, 409: { description: 'Name or source table already registered' } },
});
const updateTable = defineRoute({
  access: 'admin', method: 'patch', path: '/api/tables/{id}', operationId: 'tables.update', tags,
  summary: 'Change strategy, primary key, the enabled flag, or the descriptions and tags of the table and its columns',
  request: { params: TableIdParams, ...jsonBody(UpdateSchema) },
  responses: { 200: jsonResponse(DescribedTableSchema, 'Updated'), ...notFound },
});
const deleteTable = defineRoute({
  access: 'admin', method: 'delete', path: '/api/tables/{id}', operationId: 'tables.unregister', tags,
  summary: 'Unregister a table; removes its file, sync state and profile',
  request: { params: TableIdParams },
  responses: { 204: { description: 'Unregistered' }, ...notFound, 409: { description: 'A sync is running' } },
});
const listSources = defineRoute({
  access: 'admin', method: 'get', path: '/api/sources', operationId: 'sources.list', tags,
  summary: 'Configured sources (no secrets)',
  responses: { 200: jsonResponse(z.object({ items: z.array(SourceSchema) }), 'Sources') },
});
const discover = defineRoute({
  access: 'admin', method: 'get', path: '/api/sources/{dataset}/discover', operationId: 'sources.discover', tags,
  summary: 'Tables the source offers, with a registered flag',
  request: { params: DatasetParams },
  responses: { 200: jsonResponse(z.object({ items: z.array(DiscoveredSchema) }), 'Offered tables'), ...notFound },
});
const registerAll = defineRoute({
  access: 'admin', method: 'post', path: '/api/sources/{dataset}/register-all', operationId: 'sources.registerAll', tags,
  summary: 'Register every offered table not yet registered (colliding names are skipped and listed)',
  request: { params: DatasetParams },
  responses: {
    200: jsonResponse(
      z.object({
        registered: z.array(RegisteredTableSchema),
        skipped: z.array(z.object({ source_table: z.string(), reason: z.string() })),
      }),
      'What was registered and what was skipped',
    ),
    ...notFound,
  },
});

/** A registered table as the API shows it: the merged description in `description`, the source's beside it. */
function withEnrichment<T extends { description: string | null }>(t: T, e: Enrichment) {
  return { ...t, description: e.description, description_origin: e.description_origin, source_description: t.description, tags: e.tags, column_descriptions: e.column_descriptions };
}

/** The table registry and the configured sources (admin). */
export function createTablesRouter(deps: AppDeps, sync: SyncEngine) {
  return createRouter()
    .openapi(listTables, async (c) => {
      const tables = await listTablesWithState(deps);
      const enrichment = await enrichmentsOf(deps, tables);
      return c.json({ items: tables.map((t) => withEnrichment(t, enrichment.get(t.id)!)) }, 200);
    })
    .openapi(createTable, async (c) => {
      const table = await registerTable(deps, sync, c.req.valid('json'), currentUser(c).id);
      return c.json(table, 201);
    })
    .openapi(updateTable, async (c) => {
      const { id } = c.req.valid('param');
      const { description, columns, tags, ...settings } = c.req.valid('json');
      const described = { description, columns, tags };
      // Everything is checked before anything is written: a bad column leaves the settings alone too.
      let table = await checkDescriptionPatch(deps, id, described);
      if (Object.keys(settings).length) table = await updateRegisteredTable(deps, id, settings);
      if (touchesDescriptions(described)) await describeTable(deps, id, described, currentUser(c).id);
      return c.json(withEnrichment(table, await enrichmentOf(deps, table)), 200);
    })
    .openapi(deleteTable, async (c) => {
      await sync.unregister(c.req.valid('param').id);
      return c.body(null, 204);
    })
    .openapi(listSources, async (c) => c.json({ items: configuredSources(deps.config.sources) }, 200))
    .openapi(discover, async (c) => {
      const items = await discoverTables(deps, sync, c.req.valid('param').dataset);
      return c.json({ items }, 200);
    })
    .openapi(registerAll, async (c) => {
      const out = await registerAllTables(deps, sync, c.req.valid('param').dataset, currentUser(c).id);
      return c.json(out, 200);
    });
}
