import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AppDeps } from '../context.ts';
import { createEventBus, type EventBus } from '../events.ts';
import { createConnector, type Connector, type ConnectorOptions } from '../connectors/index.ts';
import { openScratchDb, readParquet, type ScratchDb } from '../connectors/duck.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { quoteLiteral } from '../db/connection.ts';
import type { RegisteredTable } from '../repositories/table-registry.ts';
import type { SyncJob } from '../repositories/sync-state.ts';
import { finalNameOfTemp, fsyncFile, listTempEntries, removePath, scratchDirFor, sha256File, tempPathFor } from './files.ts';
import { parquetPath } from './paths.ts';
import { profileParquet } from './profiler.ts';
import { rebuildAnalyticsViews } from './views.ts';
import { reconcileSource, type SourceReconciliation } from './registry.ts';
import { partsDir, updateParts } from './delta.ts';
import { isRemoteDataset } from '../connectors/bigquery/remote.ts';

/** The outcome of one table within a sync job (stored in the job's result). */
export interface TableSyncResult {
  table_id: string;
  status: 'ok' | 'error';
  mode: 'full' | 'incremental' | null;
  rows: number | null;
  rows_read: number | null;
  bytes: number | null;
  columns: number | null;
  hash: string | null;
  duration_ms: number;
  error: string | null;
  /** Set when the file synced but profiling it failed (the sync still counts). */
  profile_error?: string | null;
  /** What the connector wants the admin to know (a full pull instead of an incremental one and why, values that did not convert). */
  notes?: string[];
  /** Values the source typed loosely that did not convert to the column's type and became NULL. */
  unconverted_values?: number;
  /** Bytes the warehouse scanned for the pull (BigQuery). */
  bytes_scanned?: number;
  /** Estimated cost of that scan in US dollars. */
  estimated_cost_usd?: number;
}

/** What a sync job stores as its result (GET /api/sync/jobs/{id} shows it). */
export interface SyncJobResult {
  tables: TableSyncResult[];
  /** Per configured source: what automatic registration did (only for syncs of every table). */
  sources?: SourceReconciliation[];
  /** Set when the job had nothing to do or something the admin should act on. */
  message?: string | null;
}

export interface TriggerResult {
  job: SyncJob;
  /** True when a sync was already running: `job` is that one, no second one started. */
  already_running: boolean;
}

export interface SyncEngineOptions {
  /** Where `sync.finished` / `sync.failed` go. */
  events?: EventBus;
  /** Builds the connector of a dataset (default: from `sources:` in the config). */
  connectorFor?: (dataset: string) => Connector;
  connectorOptions?: ConnectorOptions;
}

/** Facts about a finished Parquet file. */
interface FileFacts {
  rows: number;
  columns: number;
  bytes: number;
  uncompressed: number;
  hash: string;
}

async function factsOf(db: ScratchDb, path: string, hash?: string): Promise<FileFacts> {
  const file = readParquet(path);
  const [{ rows }] = await db.all<{ rows: string }>(`SELECT count(*)::BIGINT AS rows FROM ${file}`);
  const columns = (await db.all(`DESCRIBE SELECT * FROM ${file}`)).length;
  const [{ u }] = await db.all<{ u: string | null }>(
    `SELECT sum(total_uncompressed_size)::BIGINT AS u FROM parquet_metadata(${quoteLiteral(path)})`,
  );
  return { rows: Number(rows), columns, bytes: statSync(path).size, uncompressed: Number(u ?? 0), hash: hash ?? (await sha256File(path)) };
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 2000);

/**
 * The sync engine: pulls registered tables from their sources into Parquet, one job at a
 * time per process. Per table: pull into a temporary file beside the final one, hash it,
 * record the new facts in sync_state (the commit point), rename into place, write
 * history, profile; then rebuild the analytics views. A table that fails keeps its
 * previous file and facts. `recover()` (at start-up) fails jobs a dead process left,
 * finishes renames that were committed, and removes every other temporary file.
 */
export function createSyncEngine(deps: AppDeps, options: SyncEngineOptions = {}) {
  const { repos, config, logger } = deps;
  const events = options.events ?? createEventBus(logger);
  const dataDir = config.dataDir;
  const parquetRoot = join(dataDir, 'parquet');
  let active: { id: string; done: Promise<void> } | null = null;

  const connectorFor =
    options.connectorFor ??
    ((dataset: string) => {
      const source = config.sources[dataset];
      if (!source) throw new Error(`dataset ${dataset} has no source in the config`);
      return createConnector(dataset, source, { jiraEvents: repos.jiraEvents, ...options.connectorOptions });
    });

  /**
   * Delta sync: updates the table's base and delta parts for the new file (src/sync/delta.ts).
   * A failure here never fails the table: its parts are dropped and da downloads the full file.
   */
  async function refreshParts(
    table: RegisteredTable, previous: { path: string; hash: string } | null, next: string, facts: FileFacts, db: ScratchDb,
  ): Promise<string | undefined> {
    try {
      const outcome = await updateParts({
        dataDir, parts: repos.tableParts, db, table, previous, next: { path: next, hash: facts.hash, rows: facts.rows },
        ratio: config.sync.delta_compact_ratio,
      });
      return outcome.note;
    } catch (err) {
      await repos.tableParts.remove(table.id).catch(() => {});
      removePath(partsDir(dataDir, table.dataset, table.name));
      logger.warn('delta parts not updated', { table: table.id, error: message(err) });
      return `delta parts not updated (${message(err)}); clients download the full file`;
    }
  }

  async function syncTable(table: RegisteredTable, jobId: string, db: ScratchDb): Promise<TableSyncResult> {
    const started = performance.now();
    const target = parquetPath(dataDir, table.dataset, table.name);
    const temp = tempPathFor(target, jobId);
    const scratch = scratchDirFor(target, jobId);
    const result: TableSyncResult = {
      table_id: table.id, status: 'ok', mode: null, rows: null, rows_read: null, bytes: null, columns: null, hash: null,
      duration_ms: 0, error: null,
    };
    let committed = false;
    try {
      mkdirSync(dirname(target), { recursive: true });
      mkdirSync(scratch, { recursive: true });
      const state = await repos.syncState.get(table.id);
      const canMerge = table.sync_strategy === 'incremental' && !!state?.hash && existsSync(target);
      const pulled = await connectorFor(table.dataset).pull({
        source_table: table.source_table,
        target: temp,
        mode: canMerge ? 'incremental' : 'full',
        existing: canMerge ? target : null,
        watermark: canMerge ? state!.watermark : null,
        primary_key: table.primary_key,
        scratch_dir: scratch,
      });
      const facts = await factsOf(db, temp);
      fsyncFile(temp);
      const deltaNote = await refreshParts(table, state?.hash && existsSync(target) ? { path: target, hash: state.hash } : null, temp, facts, db);
      // The state row is the commit point: once it names the new hash, recover() finishes the rename.
      await repos.syncState.recordSuccess({
        tableId: table.id, rows: facts.rows, fileSizeBytes: facts.bytes, uncompressedSizeBytes: facts.uncompressed,
        columns: facts.columns, hash: facts.hash, watermark: pulled.watermark,
      });
      committed = true;
      renameSync(temp, target);
      Object.assign(result, { mode: pulled.mode, rows: facts.rows, rows_read: pulled.rows_read, bytes: facts.bytes, columns: facts.columns, hash: facts.hash });
      const notes = [...(pulled.notes ?? []), ...(deltaNote ? [deltaNote] : [])];
      if (notes.length) result.notes = notes;
      if (pulled.unconverted_values !== undefined) result.unconverted_values = pulled.unconverted_values;
      if (pulled.bytes_scanned !== undefined) result.bytes_scanned = pulled.bytes_scanned;
      if (pulled.estimated_cost_usd !== undefined) result.estimated_cost_usd = pulled.estimated_cost_usd;
    } catch (err) {
      // A committed file whose rename failed stays for recover() to move into place.
      if (!committed) removePath(temp);
      result.status = 'error';
      result.error = message(err);
      await repos.syncState.recordFailure(table.id, result.error).catch(() => {});
      logger.warn('table sync failed', { table: table.id, job_id: jobId, error: result.error });
    } finally {
      removePath(scratch);
    }
    result.duration_ms = Math.round(performance.now() - started);
    await repos.syncState.addHistory({
      id: randomUUID(), table_id: table.id, job_id: jobId, rows: result.rows, bytes: result.bytes, columns: result.columns,
      duration_ms: result.duration_ms, status: result.status, error: result.error,
    });
    if (result.status === 'ok') {
      try {
        const profile = await profileParquet(target, { tableId: table.id, sampleThreshold: config.sync.profile_sample_threshold, db });
        await repos.profiles.put(table.id, profile);
      } catch (err) {
        result.profile_error = message(err);
        logger.warn('profiling failed', { table: table.id, error: result.profile_error });
      }
    }
    return result;
  }

  /**
   * Registers the new tables of every configured source and marks vanished ones missing;
   * returns the enabled tables still offered. A source that fails is reported, the others go on.
   */
  async function reconcileSources(): Promise<{ sources: SourceReconciliation[]; tables: RegisteredTable[] }> {
    const sources: SourceReconciliation[] = [];
    for (const dataset of Object.keys(config.sources)) {
      const outcome = await reconcileSource(deps, { connectorFor }, dataset);
      if (outcome.status === 'error') logger.warn('source reconciliation failed', { dataset, error: outcome.error });
      sources.push(outcome);
    }
    const tables = (await repos.tableRegistry.list()).filter((t) => t.enabled && !t.missing_since);
    return { sources, tables };
  }

  /** Why a sync of every table had nothing to pull, in words an admin can act on. */
  function nothingRegistered(sources: SourceReconciliation[]): string {
    if (!Object.keys(config.sources).length) return 'Nothing was synced: no source is configured (add one under sources: in instance.yaml).';
    const manual = sources.filter((s) => s.status === 'ok' && !s.auto_register).map((s) => s.dataset);
    const failed = sources.filter((s) => s.status === 'error').map((s) => s.dataset);
    const parts = ['Nothing was synced: no table is registered'];
    if (manual.length) {
      parts.push(`source ${manual.join(', ')} has auto_register: false; register tables at /admin/tables or POST /api/sources/{dataset}/register-all`);
    }
    if (failed.length) parts.push(`source ${failed.join(', ')} could not be listed`);
    if (!manual.length && !failed.length) parts.push('the sources offer no tables, or every table is disabled or missing');
    return parts.join('; ') + '.';
  }

  async function runJob(jobId: string, requested: RegisteredTable[] | null): Promise<void> {
    await repos.syncState.updateJob(jobId, { status: 'running' });
    const results: TableSyncResult[] = [];
    const result: SyncJobResult = { tables: results };
    let jobError: string | null = null;
    let db: ScratchDb | undefined;
    try {
      let tables = requested;
      if (!tables) {
        const reconciled = await reconcileSources();
        result.sources = reconciled.sources;
        tables = reconciled.tables;
        if (!tables.length) result.message = nothingRegistered(reconciled.sources);
      }
      // Remote tables stay in their warehouse: nothing to pull.
      tables = tables.filter((t) => !isRemoteDataset(config, t.dataset));
      db = await openScratchDb({ threads: 2 });
      for (const table of tables) results.push(await syncTable(table, jobId, db));
      await rebuildViews();
      const problems: string[] = [];
      const failed = results.filter((r) => r.status === 'error');
      if (failed.length) problems.push(`${failed.length} of ${results.length} tables failed: ${failed.map((f) => f.table_id).join(', ')}`);
      for (const s of result.sources ?? []) if (s.error) problems.push(s.error);
      if (problems.length) jobError = problems.join('; ');
    } catch (err) {
      jobError = message(err);
      logger.error('sync job failed', { job_id: jobId, error: jobError });
    } finally {
      db?.close();
    }
    if (result.message) logger.warn('sync job had nothing to sync', { job_id: jobId, message: result.message });
    await repos.syncState.updateJob(jobId, { status: jobError ? 'failed' : 'succeeded', result, error: jobError });
    const failedTableIds = results.filter((r) => r.status === 'error').map((r) => r.table_id);
    logger.info('sync job finished', { job_id: jobId, tables: results.length, failed: failedTableIds.length });
    const tableIds = results.filter((r) => r.status === 'ok').map((r) => r.table_id);
    const at = new Date().toISOString();
    if (jobError) events.emit({ type: 'sync.failed', at, jobId, error: jobError, tableIds, failedTableIds });
    else events.emit({ type: 'sync.finished', at, jobId, tableIds, failedTableIds });
  }

  async function rebuildViews(): Promise<string[]> {
    const tables = await repos.tableRegistry.list();
    return rebuildAnalyticsViews(dataDir, tables.map((t) => ({ dataset: t.dataset, name: t.name })));
  }

  return {
    /**
     * Starts a sync of `tables` (ids; default every enabled table) and returns at once
     * with the queued job. While a sync runs, returns that job with `already_running`.
     */
    async trigger(opts: { tables?: string[]; requestedBy?: string | null } = {}): Promise<TriggerResult> {
      const registered = await repos.tableRegistry.list();
      let selected: RegisteredTable[];
      if (opts.tables?.length) {
        const byId = new Map(registered.map((t) => [t.id, t]));
        const unknown = opts.tables.filter((id) => !byId.has(id));
        if (unknown.length) throw new NotFoundError(`not registered: ${unknown.join(', ')}`);
        selected = [...new Set(opts.tables)].map((id) => byId.get(id)!);
      } else {
        selected = registered.filter((t) => t.enabled && !t.missing_since);
      }
      // Check and claim in one synchronous step: no await between them.
      if (active) return { job: (await repos.syncState.getJob(active.id))!, already_running: true };
      const id = randomUUID();
      let release!: () => void;
      active = { id, done: new Promise<void>((r) => (release = r)) };
      try {
        const job = await repos.syncState.createJob({ id, requestedBy: opts.requestedBy ?? null, tables: selected.map((t) => t.id) });
        // A sync of every table first registers what the sources newly offer (inside the job: listing a source takes time).
        void runJob(id, opts.tables?.length ? selected : null)
          .catch((err) => logger.error('sync job crashed', { job_id: id, error: message(err) }))
          .finally(() => {
            active = null;
            release();
          });
        return { job, already_running: false };
      } catch (err) {
        active = null;
        release();
        throw err;
      }
    },

    /** The id of the running job, if any. */
    runningJobId(): string | null {
      return active?.id ?? null;
    },

    /** Resolves when no sync is running. */
    async idle(): Promise<void> {
      while (active) await active.done;
    },

    /** Runs a sync and waits for it (jobs and tests). */
    async runNow(opts: { tables?: string[]; requestedBy?: string | null } = {}): Promise<SyncJob> {
      const { job } = await this.trigger(opts);
      await this.idle();
      return (await repos.syncState.getJob(job.id))!;
    },

    rebuildViews,

    connectorFor,

    /**
     * Start-up: fails jobs a dead process left queued or running, completes renames whose
     * new hash sync_state already records, removes every other temporary file, and
     * rebuilds the views.
     */
    async recover(): Promise<void> {
      await repos.syncState.failUnfinishedJobs('the server stopped while this sync was running');
      const states = new Map((await repos.syncState.list()).map((s) => [s.table_id, s]));
      for (const entry of listTempEntries(parquetRoot)) {
        const finalName = finalNameOfTemp(basename(entry));
        const dataset = basename(dirname(entry));
        const tableId = finalName ? `${dataset}.${finalName.replace(/\.parquet$/, '')}` : undefined;
        const state = tableId ? states.get(tableId) : undefined;
        const committed =
          finalName && state?.hash && statSync(entry).isFile() && statSync(entry).size === state.file_size_bytes &&
          (await sha256File(entry)) === state.hash;
        if (committed) {
          renameSync(entry, join(dirname(entry), finalName!));
          logger.info('completed an interrupted rename', { table: tableId });
        } else {
          removePath(entry);
          logger.info('removed a leftover temporary file', { path: entry });
        }
      }
      await rebuildViews().catch((err) => logger.warn('rebuilding views failed', { error: message(err) }));
    },

    /**
     * Unregisters a table: removes it from the registry, deletes its file, sync state and
     * profile, and rebuilds the views. Refused while a sync runs (it may be writing the file).
     */
    async unregister(tableId: string): Promise<void> {
      const table = await repos.tableRegistry.get(tableId);
      if (!table) throw new NotFoundError(`table ${tableId} is not registered`);
      if (active) throw new ConflictError(`a sync is running (job ${active.id}); unregister ${tableId} when it has finished`);
      await repos.tableRegistry.remove(tableId);
      await repos.syncState.remove(tableId);
      await repos.profiles.remove(tableId);
      await repos.tableAnnotations.remove(tableId);
      removePath(parquetPath(dataDir, table.dataset, table.name));
      await repos.tableParts.remove(tableId);
      removePath(partsDir(dataDir, table.dataset, table.name));
      await rebuildViews();
    },

    /** Waits for a running sync to finish (shutdown). */
    async close(): Promise<void> {
      await this.idle();
    },
  };
}

export type SyncEngine = ReturnType<typeof createSyncEngine>;
