import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../context.ts';
import { currentUser } from '../auth/middleware.ts';
import { runQuery } from '../query/run.ts';
import type { QueryPool } from '../query/pool.ts';
import type { SystemSnapshots } from '../query/state-snapshots.ts';
import type { AccessCache, TableCatalog } from '../sync/catalog.ts';
import { jsonText } from './http.ts';
import { createRouter, defineRoute, errorResponse } from './router.ts';
import { jsonBody, jsonResponse } from './schemas.ts';

export const QueryRequestSchema = z
  .object({
    sql: z.string().min(1).max(1_000_000).openapi({ example: 'SELECT count(*) FROM sales.orders' }),
    limit: z.number().int().positive().optional().openapi({ description: 'Rows returned at most (default and maximum from the server config)' }),
  })
  .openapi('QueryRequest');

export const QueryResultSchema = z
  .object({
    columns: z.array(z.object({ name: z.string(), type: z.string() })),
    rows: z.array(z.array(z.unknown())).openapi({ description: 'JSON-safe values: BIGINT, DECIMAL and HUGEINT as strings' }),
    row_count: z.number().int(),
    truncated: z.boolean().openapi({ description: 'True when the result was cut at the row limit or at the server\'s byte limit (query.max_result_bytes)' }),
    elapsed_ms: z.number().int(),
    bytes_scanned: z.number().optional().openapi({ description: 'Set when the query ran in BigQuery (it named remote tables): bytes scanned' }),
    estimated_cost_usd: z.number().optional().openapi({ description: 'Set when the query ran in BigQuery: the estimated cost of the scan' }),
  })
  .openapi('QueryResult');

const queryRoute = defineRoute({
  access: 'analyst', method: 'post', path: '/api/query', operationId: 'query.run', tags: ['query'],
  summary: 'Run one read-only SQL query over the tables you may read (`<dataset>.<table>`, or the bare table name where unique; admins also the secret-free state tables as `state.*`); a query naming remote BigQuery tables runs in BigQuery',
  request: jsonBody(QueryRequestSchema),
  responses: {
    200: jsonResponse(QueryResultSchema, 'The result, cut at the limit'),
    400: errorResponse('Not one read-only statement, or DuckDB refused it (its message is the detail)'),
    408: errorResponse('The query ran longer than the server allows and was stopped'),
    429: errorResponse('You already have as many queries running as the server allows per user'),
    500: errorResponse('The query ended its worker process (a crash, or memory past the cap); the worker was replaced'),
    503: errorResponse('Every query worker stayed busy for the queue time; try again'),
  },
});

/** `POST /api/query`: SQL in a locked-down sandbox that holds only the caller's tables. */
export function createQueryRouter(
  deps: AppDeps,
  { access, catalog, snapshots, queryPool }: { access: AccessCache; catalog: TableCatalog; snapshots: SystemSnapshots; queryPool: QueryPool },
) {
  return createRouter().openapi(queryRoute, async (c) => {
    const { sql, limit } = c.req.valid('json');
    const result = await runQuery(
      { config: deps.config, access, catalog, snapshots, queryPool, registry: deps.repos.tableRegistry }, currentUser(c), { sql, limit },
    );
    // The rows arrive as JSON text from the worker: pass them on without parsing them again.
    const { rowsJson, ...rest } = result;
    const cost = 'bytes_scanned' in rest ? { bytes_scanned: rest.bytes_scanned, estimated_cost_usd: rest.estimated_cost_usd } : {};
    const head = JSON.stringify({ columns: rest.columns, row_count: rest.row_count, truncated: rest.truncated, elapsed_ms: rest.elapsed_ms, ...cost });
    return jsonText(c, `${head.slice(0, -1)},"rows":${rowsJson}}`);
  });
}
