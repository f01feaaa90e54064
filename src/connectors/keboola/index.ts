import { join } from 'node:path';
import type { SourceConfig } from '../../config.ts';
import { quoteIdent, quoteLiteral } from '../../db/connection.ts';
import { copyToParquet, openScratchDb, readParquet, writeMerged, type ScratchDb } from '../duck.ts';
import { normaliseTableName, type Connector, type PullRequest, type PullResult, type SourceTable } from '../types.ts';
import { createStorageClient, type KbcJob, type KbcMetadata, type KbcTable, type StorageClient } from './client.ts';
import { downloadExport, firstLine, isHeaderRow, type StorageEndpoints } from './files.ts';

type KeboolaSource = Extract<SourceConfig, { type: 'keboola' }>;

/** How long an export job may take before the pull gives up. */
const JOB_DEADLINE_MS = 60 * 60 * 1000;

function metaValue(items: KbcMetadata[] | undefined, key: string): string | undefined {
  // Several providers may set one key; the last one written wins, as in Keboola's UI.
  return items?.filter((m) => m.key === key).at(-1)?.value;
}

/**
 * Keboola base type (KBC.datatype.basetype) → DuckDB type. NUMERIC keeps its precision
 * and scale when KBC.datatype.length gives them.
 */
export function duckTypeFor(basetype: string | undefined, length?: string): string {
  switch ((basetype ?? 'STRING').toUpperCase()) {
    case 'INTEGER':
      return 'BIGINT';
    case 'NUMERIC': {
      const m = /^\s*(\d+)\s*(?:,\s*(\d+))?\s*$/.exec(length ?? '');
      if (!m) return 'DECIMAL(38,9)';
      const precision = Math.min(38, Math.max(1, Number(m[1])));
      const scale = Math.min(precision, Number(m[2] ?? 0));
      return `DECIMAL(${precision},${scale})`;
    }
    case 'FLOAT':
      return 'DOUBLE';
    case 'BOOLEAN':
      return 'BOOLEAN';
    case 'DATE':
      return 'DATE';
    case 'TIMESTAMP':
      return 'TIMESTAMP';
    default:
      return 'VARCHAR';
  }
}

/**
 * Column names with DuckDB types: from the definition of a typed table, else from the
 * `KBC.datatype.*` hints of the column metadata. Alias and linked-bucket tables carry the
 * hints of the table they point to in `sourceColumnMetadata`; the alias's own win.
 */
export function columnsOf(table: KbcTable): Array<{ name: string; type: string }> {
  if (table.isTyped && table.definition?.columns?.length) {
    return table.definition.columns.map((c) => ({ name: c.name, type: duckTypeFor(c.basetype, c.definition?.length) }));
  }
  return (table.columns ?? []).map((name) => {
    const hint = (key: string) => metaValue(table.columnMetadata?.[name], key) ?? metaValue(table.sourceColumnMetadata?.[name], key);
    return { name, type: duckTypeFor(hint('KBC.datatype.basetype'), hint('KBC.datatype.length')) };
  });
}

/**
 * The connector's watermark: unix seconds to pass as `changedSince` next time, and when
 * the last full pull ran (for `full_refresh_every`). Stored as JSON; an ISO time (older
 * watermarks) reads as `changed_since` with no full pull known.
 */
export interface KeboolaWatermark {
  changed_since: number;
  full_at: number | null;
}

export function parseWatermark(text: string | null): KeboolaWatermark | null {
  if (!text) return null;
  try {
    const parsed = JSON.parse(text) as Partial<KeboolaWatermark>;
    if (typeof parsed.changed_since === 'number') return { changed_since: parsed.changed_since, full_at: parsed.full_at ?? null };
  } catch {}
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? { changed_since: Math.floor(ms / 1000), full_at: null } : null;
}

function exceptionOf(job: KbcJob): string {
  return job.error?.exceptionId ? ` (exceptionId ${job.error.exceptionId})` : '';
}

async function waitForJob(client: StorageClient, job: KbcJob, pollMs: number, signal?: AbortSignal): Promise<KbcJob> {
  const deadline = Date.now() + JOB_DEADLINE_MS;
  let current = job;
  let wait = pollMs;
  while (current.status !== 'success') {
    if (['error', 'cancelled', 'terminated'].includes(current.status)) {
      throw new Error(
        `Keboola export job ${current.id} ended with status ${current.status}: ${current.error?.message ?? 'no message'}${exceptionOf(current)}`,
      );
    }
    if (Date.now() > deadline) throw new Error(`Keboola export job ${current.id} did not finish within ${JOB_DEADLINE_MS / 60000} minutes`);
    signal?.throwIfAborted();
    await Bun.sleep(wait);
    // Long exports: ask less often as time goes on, as the official clients do.
    wait = Math.min(wait * 1.5, Math.max(pollMs, 20_000));
    current = await client.getJob(current.id);
  }
  return current;
}

function fileIdOf(job: KbcJob): string | number | undefined {
  const results = job.results;
  return results && !Array.isArray(results) ? results.file?.id : undefined;
}

/** One export read into DuckDB: its rows as text, ready to be cast. */
interface ExportRead {
  /** `SELECT` of the typed rows. */
  select: string;
  /** Values that did not convert, by column (untyped tables only). */
  unconverted: Map<string, number>;
  jobCreated: number;
  cacheHit: boolean;
}

/**
 * The `keboola` connector over the Storage API v2: lists buckets and their tables with
 * metadata; pulls a table with an asynchronous export job (gzipped RFC CSV of the columns
 * asked for, sliced on most stacks), polls the job, downloads the file or slices from S3,
 * Azure Blob Storage or Cloud Storage and writes Parquet with the table's types: a typed
 * table's definition cast strictly, the type hints of an untyped one with TRY_CAST (values
 * that do not convert become NULL and are counted). Incremental pulls pass `changedSince`
 * (unix seconds of the previous export) and merge on the primary key; when the source then
 * counts a different number of rows than the merged file (rows were deleted, or a full load
 * replaced the table), or `full_refresh_every` has passed, the table is pulled in full.
 */
export function createKeboolaConnector(
  dataset: string,
  source: KeboolaSource,
  options: { fetch?: typeof fetch } = {},
): Connector {
  const client = createStorageClient({
    url: source.url, token: source.token, fetch: options.fetch,
    retry: { maxRetries: source.max_retries, backoffMs: source.retry_backoff_ms, timeoutMs: source.request_timeout_ms },
  });
  const endpoints: StorageEndpoints = { s3: source.s3_endpoint, gcs: source.gcs_endpoint, azure: source.azure_endpoint };

  /** Exports `table` (changed rows only when `since` is set) and returns how to read it typed. */
  async function readExport(db: ScratchDb, table: KbcTable, since: number | null, req: PullRequest, tag: string): Promise<ExportRead> {
    const columns = columnsOf(table);
    const names = columns.map((c) => c.name);
    const params: Record<string, string> = { format: 'rfc', gzip: '1', columns: names.join(',') };
    if (since !== null) params.changedSince = String(since);
    const started = await client.exportAsync(table.id, params);
    const job = await waitForJob(client, started, source.poll_interval_ms, req.signal);
    const fileId = fileIdOf(job);
    if (fileId === undefined) throw new Error(`Keboola export job ${job.id} finished without a file${exceptionOf(job)}`);
    const file = await client.getFile(fileId);
    const { paths, sliced } = await downloadExport(client, file, join(req.scratch_dir, `export-${tag}`), { endpoints, signal: req.signal });
    const header = !sliced && paths.length === 1 && isHeaderRow(firstLine(paths[0]!), names);

    const csvColumns = `{${columns.map((c) => `${quoteLiteral(c.name)}: 'VARCHAR'`).join(', ')}}`;
    const reader = paths.length
      ? `read_csv([${paths.map(quoteLiteral).join(', ')}], columns = ${csvColumns}, header = ${header}, delim = ',', quote = '"', escape = '"', compression = 'gzip', auto_detect = false, allow_quoted_nulls = false)`
      : undefined;
    // Exports hold text; an empty field is NULL in a typed column. A typed table's values
    // are what its backend stored, so a value that does not cast is an error; an untyped
    // table's types are hints, so such a value becomes NULL and is counted.
    const cast = table.isTyped ? 'CAST' : 'TRY_CAST';
    const typedCols = columns.map((c) => {
      const col = quoteIdent(c.name);
      return c.type === 'VARCHAR' ? col : `${cast}(NULLIF(${col}, '') AS ${c.type}) AS ${col}`;
    });
    const unconverted = new Map<string, number>();
    const checked = columns.filter((c) => c.type !== 'VARCHAR');
    if (reader && !table.isTyped && checked.length) {
      const counts = checked
        .map((c, i) => {
          const col = quoteIdent(c.name);
          return `count(*) FILTER (WHERE NULLIF(${col}, '') IS NOT NULL AND TRY_CAST(${col} AS ${c.type}) IS NULL)::BIGINT AS c${i}`;
        })
        .join(', ');
      const [row] = await db.all<Record<string, string>>(`SELECT ${counts} FROM ${reader}`);
      checked.forEach((c, i) => {
        const n = Number(row?.[`c${i}`] ?? 0);
        if (n) unconverted.set(c.name, n);
      });
    }
    const emptyRow = columns.map((c) => `NULL::${c.type} AS ${quoteIdent(c.name)}`).join(', ');
    const createdMs = job.createdTime ? Date.parse(job.createdTime) : Date.now();
    return {
      select: reader ? `SELECT ${typedCols.join(', ')} FROM ${reader}` : `SELECT ${emptyRow} WHERE false`,
      unconverted,
      jobCreated: Math.floor((Number.isFinite(createdMs) ? createdMs : Date.now()) / 1000),
      cacheHit: !!(job.results && !Array.isArray(job.results) && job.results.cacheHit),
    };
  }

  const unconvertedNote = (counts: Map<string, number>) => {
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    return total
      ? `${total} value${total === 1 ? '' : 's'} did not convert to the column type and became NULL (${[...counts].map(([c, n]) => `${c}: ${n}`).join(', ')})`
      : null;
  };

  return {
    type: 'keboola',

    async listTables(): Promise<SourceTable[]> {
      let buckets = await client.listBuckets();
      if (source.buckets) buckets = buckets.filter((b) => source.buckets!.includes(b.id));
      const out: SourceTable[] = [];
      for (const bucket of buckets.sort((a, b) => a.id.localeCompare(b.id))) {
        for (const t of await client.listTables(bucket.id)) {
          out.push({
            source_table: t.id,
            name: normaliseTableName(t.name),
            description: metaValue(t.metadata, 'KBC.description') ?? null,
            primary_key: t.primaryKey?.length ? t.primaryKey : null,
            row_estimate: t.rowsCount ?? null,
            columns: columnsOf(t),
          });
        }
      }
      return out;
    },

    async pull(req: PullRequest): Promise<PullResult> {
      try {
        return await pullTable(req);
      } catch (err) {
        throw new Error(`Keboola table ${req.source_table}: ${(err as Error).message.split('\n')[0]}`);
      }
    },
  };

  async function pullTable(req: PullRequest): Promise<PullResult> {
    const table = await client.getTable(req.source_table);
    if (!columnsOf(table).length) throw new Error(`Keboola table ${req.source_table} reports no columns`);
    const primaryKey = req.primary_key ?? (table.primaryKey?.length ? table.primaryKey : null);
    const previous = parseWatermark(req.watermark);
    let incremental = req.mode === 'incremental' && !!req.existing && !!previous;
    if (incremental && !primaryKey?.length) throw new Error(`incremental sync of ${req.source_table} needs a primary key`);
    const notes: string[] = [];
    const now = Math.floor(Date.now() / 1000);
    if (incremental && source.full_refresh_every && (previous!.full_at === null || (now - previous!.full_at) * 1000 >= source.full_refresh_every)) {
      incremental = false;
      notes.push(`pulled in full: the last full pull is older than full_refresh_every`);
    }

    const db = await openScratchDb({ threads: 2 });
    try {
      let unconverted = new Map<string, number>();
      const full = async (tag: string): Promise<PullResult> => {
        const read = await readExport(db, table, null, req, tag);
        const rows = await copyToParquet(db, read.select, req.target);
        unconverted = read.unconverted;
        if (read.cacheHit) notes.push('Keboola served the export from its cache');
        return { mode: 'full', rows_read: rows, watermark: JSON.stringify({ changed_since: read.jobCreated, full_at: read.jobCreated }) };
      };
      let result: PullResult;
      if (incremental) {
        const read = await readExport(db, table, previous!.changed_since, req, 'changes');
        const rows = await writeMerged(db, { existing: req.existing!, changedSql: read.select, primaryKey: primaryKey!, target: req.target });
        unconverted = read.unconverted;
        result = { mode: 'incremental', rows_read: rows, watermark: JSON.stringify({ changed_since: read.jobCreated, full_at: previous!.full_at }) };
        // changedSince only sees rows whose import time moved: deletes and rows a full
        // load dropped never show up. The source's row count tells.
        const sourceRows = (await client.getTable(req.source_table)).rowsCount;
        const [{ n }] = await db.all<{ n: string }>(`SELECT count(*)::BIGINT AS n FROM ${readParquet(req.target)}`);
        if (typeof sourceRows === 'number' && sourceRows !== Number(n)) {
          notes.push(`pulled in full: the source counts ${sourceRows} rows, the merged file ${n} (rows were deleted or a full load replaced them)`);
          result = await full('full');
        }
      } else {
        result = await full('full');
      }
      const note = unconvertedNote(unconverted);
      if (note) notes.push(note);
      return {
        ...result,
        ...(notes.length ? { notes } : {}),
        ...(table.isTyped ? {} : { unconverted_values: [...unconverted.values()].reduce((a, b) => a + b, 0) }),
      };
    } finally {
      db.close();
    }
  }
}
