import type { AppDeps } from '../context.ts';
import { findCollisions, type Connector, type SourceTable } from '../connectors/types.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { SyncState } from '../repositories/sync-state.ts';
import type { RegisteredTable } from '../repositories/table-registry.ts';
import { NAME_PATTERN } from './paths.ts';
import { isRemoteDataset } from '../connectors/bigquery/remote.ts';

/** What registration needs of the sync engine: the connector of a dataset. */
export interface SourceAccess {
  connectorFor(dataset: string): Connector;
}

/** A table a source offers, with what the registry knows about it. */
export interface DiscoveredTable extends SourceTable {
  table_id: string;
  registered: boolean;
  /** Why this table cannot be registered under its normalised name, if it cannot. */
  conflict: string | null;
}

export interface RegisterInput {
  dataset: string;
  source_table: string;
  name?: string;
  sync_strategy: 'full' | 'incremental';
  primary_key?: string[] | null;
  description?: string | null;
}

/** A configured source as admins see it: never a token. */
export interface SourceInfo {
  dataset: string;
  type: AppDeps['config']['sources'][string]['type'];
  public: boolean;
  description: string | null;
  /** Folder (local) or Storage API URL (keboola). */
  location: string;
  /** New tables are registered on each sync. */
  auto_register: boolean;
}

/** The configured sources, without secrets. */
export function listSources(sources: AppDeps['config']['sources']): SourceInfo[] {
  return Object.entries(sources).map(([dataset, s]) => ({
    dataset,
    type: s.type,
    public: s.public,
    description: s.description ?? null,
    location: s.type === 'local' ? s.path : s.type === 'bigquery' ? `bigquery://${s.project}/${s.dataset}` : s.url,
    auto_register: s.auto_register,
  }));
}

/** What sync_state says about the file served now. */
export type TableSyncFacts = Pick<SyncState, 'last_sync' | 'rows' | 'file_size_bytes' | 'columns' | 'hash' | 'watermark' | 'status' | 'error'>;

/** The registered tables, each with its sync facts (null before its first sync). */
export async function listTablesWithState(deps: AppDeps): Promise<Array<RegisteredTable & { missing: boolean; remote: boolean; sync: TableSyncFacts | null }>> {
  const { tableRegistry, syncState } = deps.repos;
  const [tables, states] = await Promise.all([tableRegistry.list(), syncState.list()]);
  const byId = new Map(states.map((s) => [s.table_id, s]));
  return tables.map((t) => {
    const s = byId.get(t.id);
    return {
      ...t,
      missing: t.missing_since !== null,
      remote: isRemoteDataset(deps.config, t.dataset),
      sync: s
        ? { last_sync: s.last_sync, rows: s.rows, file_size_bytes: s.file_size_bytes, columns: s.columns, hash: s.hash,
            watermark: s.watermark, status: s.status, error: s.error }
        : null,
    };
  });
}

function mustBeConfigured(deps: AppDeps, dataset: string) {
  const source = deps.config.sources[dataset];
  if (!source) throw new NotFoundError(`no source is configured for dataset ${dataset}`);
  return source;
}

/** Lists the tables a source offers, marking registered ones and name collisions. */
export async function discoverTables(
  deps: AppDeps, engine: SourceAccess, dataset: string, options: { brief?: boolean } = {},
): Promise<DiscoveredTable[]> {
  mustBeConfigured(deps, dataset);
  const offered = await engine.connectorFor(dataset).listTables(options);
  const registered = (await deps.repos.tableRegistry.list()).filter((t) => t.dataset === dataset);
  const bySource = new Map(registered.map((t) => [t.source_table, t]));
  const byName = new Map(registered.map((t) => [t.name, t]));
  const collisions = new Map(findCollisions(offered).map((c) => [c.name, c.source_tables]));
  return offered.map((t) => {
    const mine = bySource.get(t.source_table);
    const taken = byName.get(t.name);
    let conflict: string | null = null;
    if (!mine && taken) conflict = `${dataset}.${t.name} is already registered for source table ${taken.source_table}`;
    else if (!mine && collisions.has(t.name)) conflict = `source tables ${collisions.get(t.name)!.join(', ')} all normalise to ${t.name}`;
    return { ...t, table_id: `${dataset}.${mine?.name ?? t.name}`, registered: !!mine, conflict };
  });
}

/** The one rule for sync strategies: an incremental sync merges on a primary key, so it needs one. */
export function assertStrategyHasKey(strategy: 'full' | 'incremental', primaryKey: string[] | null | undefined): void {
  if (strategy === 'incremental' && !primaryKey?.length) {
    throw new ValidationError('incremental sync needs a primary key', [{ path: 'primary_key', message: 'required for incremental sync' }]);
  }
}

export type TablePatch = Partial<Pick<RegisteredTable, 'sync_strategy' | 'primary_key' | 'description' | 'enabled'>>;

/** Changes a registered table's settings (strategy, key, enabled, description). */
export async function updateTable(deps: AppDeps, id: string, patch: TablePatch): Promise<RegisteredTable> {
  const table = await deps.repos.tableRegistry.get(id);
  if (!table) throw new NotFoundError(`table ${id} is not registered`);
  assertStrategyHasKey(patch.sync_strategy ?? table.sync_strategy, patch.primary_key !== undefined ? patch.primary_key : table.primary_key);
  return (await deps.repos.tableRegistry.update(id, patch))!;
}

/** Registers one source table. A name that is taken is a conflict, never an overwrite. */
export async function registerTable(
  deps: AppDeps,
  engine: SourceAccess,
  input: RegisterInput,
  actorId: string | null,
  discovered?: DiscoveredTable[],
): Promise<RegisteredTable> {
  mustBeConfigured(deps, input.dataset);
  const offered = discovered ?? (await discoverTables(deps, engine, input.dataset));
  const source = offered.find((t) => t.source_table === input.source_table);
  if (!source) {
    throw new ValidationError(`source ${input.dataset} offers no table ${input.source_table}`, [
      { path: 'source_table', message: 'not offered by the source; see GET /api/sources/{dataset}/discover' },
    ]);
  }
  const name = input.name ?? source.name;
  if (!NAME_PATTERN.test(name)) {
    throw new ValidationError(`table name ${name} is invalid`, [{ path: 'name', message: `must match ${NAME_PATTERN.source}` }]);
  }
  const id = `${input.dataset}.${name}`;
  const existing = await deps.repos.tableRegistry.get(id);
  if (existing) throw new ConflictError(`${id} is already registered (source table ${existing.source_table})`);
  if (source.registered) throw new ConflictError(`source table ${input.source_table} is already registered as ${source.table_id}`);
  if (!input.name && source.conflict) throw new ConflictError(`${source.conflict}; register it with an explicit name`);
  const primaryKey = input.primary_key ?? source.primary_key;
  assertStrategyHasKey(input.sync_strategy, primaryKey);
  return deps.repos.tableRegistry.insert({
    id, name, dataset: input.dataset, source_table: input.source_table, sync_strategy: input.sync_strategy,
    primary_key: primaryKey?.length ? primaryKey : null, description: input.description ?? source.description ?? null,
    registered_by: actorId,
  });
}

/** Registers every offered table not yet registered; colliding names are skipped and reported. */
export async function registerAllTables(
  deps: AppDeps, engine: SourceAccess, dataset: string, actorId: string | null, discovered?: DiscoveredTable[],
) {
  const offered = discovered ?? (await discoverTables(deps, engine, dataset));
  const registered: RegisteredTable[] = [];
  const skipped: Array<{ source_table: string; reason: string }> = [];
  for (const t of offered) {
    if (t.registered) continue;
    if (t.conflict) {
      skipped.push({ source_table: t.source_table, reason: t.conflict });
      continue;
    }
    const strategy = t.primary_key?.length && hasIncrementalSupport(deps, dataset, t) ? 'incremental' : 'full';
    registered.push(await registerTable(deps, engine, { dataset, source_table: t.source_table, sync_strategy: strategy }, actorId, offered));
  }
  return { registered, skipped };
}

/** Incremental by default where the source can say what changed: Keboola and Jira always, local files and BigQuery tables with a configured watermark / incremental column. */
function hasIncrementalSupport(deps: AppDeps, dataset: string, t: SourceTable): boolean {
  const source = deps.config.sources[dataset]!;
  if (source.type === 'bigquery') return !!source.tables[t.name]?.incremental_column;
  if (source.type !== 'local') return true;
  return !!source.tables[t.name]?.watermark_column;
}

/** What one sync's look at one source changed in the registry. */
export interface SourceReconciliation {
  dataset: string;
  status: 'ok' | 'error';
  auto_register: boolean;
  /** Tables registered by this sync. */
  registered: string[];
  /** Offered tables not registered because their name collides (with the reason). */
  skipped: Array<{ source_table: string; reason: string }>;
  /** Registered tables the source no longer offers (marked `missing`, still served). */
  missing: string[];
  /** Tables that were missing and are offered again. */
  returned: string[];
  /** Why the source could not be listed (its tables keep their state). */
  error: string | null;
}

/**
 * Brings the registry in line with what one source offers now: registers its new tables
 * (unless the source says `auto_register: false`), marks registered tables it no longer
 * offers as missing (they keep their last file) and clears the mark of those that are back.
 * A source that cannot be listed changes nothing and reports why.
 */
export async function reconcileSource(deps: AppDeps, engine: SourceAccess, dataset: string): Promise<SourceReconciliation> {
  const source = mustBeConfigured(deps, dataset);
  const out: SourceReconciliation = {
    dataset, status: 'ok', auto_register: source.auto_register, registered: [], skipped: [], missing: [], returned: [], error: null,
  };
  const mine = (await deps.repos.tableRegistry.list()).filter((t) => t.dataset === dataset);
  // Nothing to register and nothing that could go missing: leave a big warehouse unlisted.
  if (!source.auto_register && !mine.length) return out;
  let offered: DiscoveredTable[];
  try {
    offered = await discoverTables(deps, engine, dataset, { brief: true });
  } catch (err) {
    out.status = 'error';
    out.error = `listing the tables of source ${dataset} failed: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`;
    return out;
  }
  const offeredSources = new Set(offered.map((t) => t.source_table));
  const gone = mine.filter((t) => !offeredSources.has(t.source_table));
  out.missing = gone.map((t) => t.id);
  out.returned = mine.filter((t) => t.missing_since && offeredSources.has(t.source_table)).map((t) => t.id);
  await deps.repos.tableRegistry.setMissing({ missing: out.missing, present: out.returned });
  if (source.auto_register) {
    try {
      const { registered, skipped } = await registerAllTables(deps, engine, dataset, null, offered);
      out.registered = registered.map((t) => t.id);
      out.skipped = skipped;
    } catch (err) {
      out.status = 'error';
      out.error = `registering the new tables of source ${dataset} failed: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`;
    }
  }
  return out;
}
