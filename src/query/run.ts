import type { Config } from '../config.ts';
import type { AuthUser } from '../context.ts';
import { ValidationError } from '../errors.ts';
import type { AccessCache, TableCatalog } from '../sync/catalog.ts';
import type { QueryPool, QueryResult } from './pool.ts';
import type { SystemSnapshots } from './state-snapshots.ts';
import { querySpecFor } from './spec.ts';
import { mentionsRemoteTables, runRemoteQuery, type RemoteQueryResult } from '../connectors/bigquery/remote.ts';
import type { RegisteredTable } from '../repositories/table-registry.ts';

/** What running a user's query needs: the query settings and the services that scope and run it. */
export interface QueryInputs {
  config: Pick<Config, 'query' | 'dataDir' | 'sources'>;
  access: AccessCache;
  /** The registry, for remote tables' BigQuery names; without it queries never go to BigQuery. */
  registry?: { get(id: string): Promise<RegisteredTable | undefined> };
  catalog: TableCatalog;
  snapshots: SystemSnapshots;
  queryPool: QueryPool;
}

/**
 * Runs one read-only query for a user: in a worker of the pool, in a sandbox holding only
 * the tables they may read (admins also `state.*`), cut at `limit` rows (default
 * `query.default_limit`, at most `query.max_limit`) and at `query.max_result_bytes`.
 * What `POST /api/query` and the query box of the catalog page both call: the same
 * scope, limits and refusals (SqlError 400, 408, 429, 503, a crashed worker's 500). A query
 * naming remote tables (`mode: remote` BigQuery sources) is pushed down to BigQuery instead.
 */
export async function runQuery(
  inputs: QueryInputs, user: AuthUser, { sql, limit }: { sql: string; limit?: number },
): Promise<QueryResult | RemoteQueryResult> {
  const { default_limit, max_limit, timeout_ms, max_result_bytes } = inputs.config.query;
  const rows = limit ?? default_limit;
  if (rows > max_limit) {
    throw new ValidationError('request validation failed', [{ path: 'limit', message: `limit may be at most ${max_limit}` }]);
  }
  // A query that names tables of a remote BigQuery source runs in BigQuery (src/connectors/bigquery/remote.ts).
  if (inputs.registry && mentionsRemoteTables(inputs.config, sql)) {
    return runRemoteQuery({ config: inputs.config, access: inputs.access, catalog: inputs.catalog, registry: inputs.registry }, user, { sql, limit: rows });
  }
  const spec = await querySpecFor({ access: inputs.access, catalog: inputs.catalog, snapshots: inputs.snapshots, dataDir: inputs.config.dataDir }, user);
  return inputs.queryPool.run(spec, { owner: user.id, sql, limit: rows, maxBytes: max_result_bytes, timeoutMs: timeout_ms });
}
