import type { Config } from '../config.ts';
import type { AuthUser } from '../context.ts';
import { ValidationError } from '../errors.ts';
import type { AccessCache, TableCatalog } from '../sync/catalog.ts';
import type { QueryPool, QueryResult } from './pool.ts';
import type { SystemSnapshots } from './state-snapshots.ts';
import { querySpecFor } from './spec.ts';

/** What running a user's query needs: the query settings and the services that scope and run it. */
export interface QueryInputs {
  config: Pick<Config, 'query' | 'dataDir'>;
  access: AccessCache;
  catalog: TableCatalog;
  snapshots: SystemSnapshots;
  queryPool: QueryPool;
}

/**
 * Runs one read-only query for a user: in a worker of the pool, in a sandbox holding only
 * the tables they may read (admins also `state.*`), cut at `limit` rows (default
 * `query.default_limit`, at most `query.max_limit`) and at `query.max_result_bytes`.
 * What `POST /api/query` and the query box of the catalog page both call: the same
 * scope, limits and refusals (SqlError 400, 408, 429, 503, a crashed worker's 500).
 */
export async function runQuery(inputs: QueryInputs, user: AuthUser, { sql, limit }: { sql: string; limit?: number }): Promise<QueryResult> {
  const { default_limit, max_limit, timeout_ms, max_result_bytes } = inputs.config.query;
  const rows = limit ?? default_limit;
  if (rows > max_limit) {
    throw new ValidationError('request validation failed', [{ path: 'limit', message: `limit may be at most ${max_limit}` }]);
  }
  const spec = await querySpecFor({ access: inputs.access, catalog: inputs.catalog, snapshots: inputs.snapshots, dataDir: inputs.config.dataDir }, user);
  return inputs.queryPool.run(spec, { owner: user.id, sql, limit: rows, maxBytes: max_result_bytes, timeoutMs: timeout_ms });
}
