import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SourceConfig } from '../../config.ts';
import { quoteIdent, quoteLiteral } from '../../db/connection.ts';
import { copyToParquet, openScratchDb, writeMerged } from '../duck.ts';
import { normaliseTableName, type Connector, type PullRequest, type PullResult, type SourceTable } from '../types.ts';
import { createStorageClient, type KbcFile, type KbcJob, type KbcMetadata, type KbcTable, type StorageClient } from './client.ts';

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

/** Column names with DuckDB types from the table's definition (typed tables) or column metadata. */
export function columnsOf(table: KbcTable): Array<{ name: string; type: string }> {
  if (table.isTyped && table.definition?.columns?.length) {
    return table.definition.columns.map((c) => ({ name: c.name, type: duckTypeFor(c.basetype, c.definition?.length) }));
  }
  return (table.columns ?? []).map((name) => {
    const meta = table.columnMetadata?.[name];
    return { name, type: duckTypeFor(metaValue(meta, 'KBC.datatype.basetype'), metaValue(meta, 'KBC.datatype.length')) };
  });
}

async function waitForJob(client: StorageClient, job: KbcJob, pollMs: number, signal?: AbortSignal): Promise<KbcJob> {
  const deadline = Date.now() + JOB_DEADLINE_MS;
  let current = job;
  while (current.status !== 'success') {
    if (['error', 'cancelled', 'terminated'].includes(current.status)) {
      throw new Error(`Keboola export job ${current.id} ended with status ${current.status}: ${current.error?.message ?? 'no message'}`);
    }
    if (Date.now() > deadline) throw new Error(`Keboola export job ${current.id} did not finish within ${JOB_DEADLINE_MS / 60000} minutes`);
    signal?.throwIfAborted();
    await Bun.sleep(pollMs);
    current = await client.getJob(current.id);
  }
  return current;
}

/** Downloads every slice (or the single file) of an export into `dir`; returns the paths and whether they carry a header. */
async function downloadExport(client: StorageClient, file: KbcFile, dir: string, signal?: AbortSignal) {
  mkdirSync(dir, { recursive: true });
  const fetchTo = async (url: string, dest: string) => {
    if (/^https?:\/\//i.test(url)) {
      await Bun.write(dest, await client.download(url, signal));
    } else if (url.startsWith('s3://') && file.credentials) {
      // Sliced exports on AWS stacks list s3:// URLs, read with the federation token the file detail carries.
      const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(url) ?? [];
      if (!bucket || !key) throw new Error(`cannot read slice URL ${url}`);
      const s3 = new Bun.S3Client({
        accessKeyId: file.credentials.AccessKeyId,
        secretAccessKey: file.credentials.SecretAccessKey,
        sessionToken: file.credentials.SessionToken,
        region: file.region,
        bucket,
      });
      await Bun.write(dest, s3.file(key));
    } else {
      throw new Error(`slice URL ${url.split('?')[0]} uses a storage this connector cannot read (provider ${file.provider ?? 'unknown'})`);
    }
  };
  if (!file.isSliced) {
    const dest = join(dir, 'export.csv.gz');
    await fetchTo(file.url, dest);
    return { paths: [dest], header: true };
  }
  const manifest = (await (await client.download(file.url, signal)).json()) as { entries?: Array<{ url: string }> };
  const entries = manifest.entries ?? [];
  const paths: string[] = [];
  // A few slices at a time: the store serves them in parallel and each can be large.
  const queue = entries.map((e, i) => ({ url: e.url, dest: join(dir, `slice-${String(i).padStart(5, '0')}.csv.gz`) }));
  const workers = Array.from({ length: Math.min(4, queue.length) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      await fetchTo(next.url, next.dest);
      paths.push(next.dest);
    }
  });
  await Promise.all(workers);
  return { paths: paths.sort(), header: false };
}

/**
 * The `keboola` connector over the Storage API v2: lists buckets and their tables with
 * metadata; pulls a table with an asynchronous export job (gzipped RFC CSV, sliced),
 * polls the job, downloads the slices the file manifest lists and writes Parquet with
 * the column types from the table's metadata. Incremental pulls pass `changedSince`
 * (the previous export's start) and merge the changed rows on the primary key.
 */
export function createKeboolaConnector(
  dataset: string,
  source: KeboolaSource,
  options: { fetch?: typeof fetch } = {},
): Connector {
  const client = createStorageClient({ url: source.url, token: source.token, fetch: options.fetch });

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
      const table = await client.getTable(req.source_table);
      const columns = columnsOf(table);
      if (!columns.length) throw new Error(`Keboola table ${req.source_table} reports no columns`);
      const primaryKey = req.primary_key ?? (table.primaryKey?.length ? table.primaryKey : null);
      const incremental = req.mode === 'incremental' && !!req.existing && !!req.watermark;
      if (incremental && !primaryKey?.length) throw new Error(`incremental sync of ${req.source_table} needs a primary key`);

      const requestedAt = new Date().toISOString();
      const params: Record<string, string> = { format: 'rfc', gzip: '1' };
      if (incremental) params.changedSince = req.watermark!;
      const started = await client.exportAsync(req.source_table, params);
      const job = await waitForJob(client, started, source.poll_interval_ms, req.signal);
      const fileId = job.results?.file?.id;
      if (fileId === undefined) throw new Error(`Keboola export job ${job.id} finished without a file`);
      const file = await client.getFile(fileId);
      const { paths, header } = await downloadExport(client, file, join(req.scratch_dir, 'slices'), req.signal);

      const db = await openScratchDb({ threads: 2 });
      try {
        // Read every value as text (that is what the export holds), then cast to the
        // metadata's types; an empty field is NULL in a typed column.
        const csvColumns = `{${columns.map((c) => `${quoteLiteral(c.name)}: 'VARCHAR'`).join(', ')}}`;
        const reader = paths.length
          ? `read_csv([${paths.map(quoteLiteral).join(', ')}], columns = ${csvColumns}, header = ${header}, delim = ',', quote = '"', escape = '"', compression = 'gzip', auto_detect = false, allow_quoted_nulls = false)`
          : undefined;
        const typed = columns
          .map((c) => {
            const col = quoteIdent(c.name);
            return c.type === 'VARCHAR' ? col : `CAST(NULLIF(${col}, '') AS ${c.type}) AS ${col}`;
          })
          .join(', ');
        const emptyRow = columns.map((c) => `NULL::${c.type} AS ${quoteIdent(c.name)}`).join(', ');
        const select = reader ? `SELECT ${typed} FROM ${reader}` : `SELECT ${emptyRow} WHERE false`;
        const watermark = job.createdTime ? new Date(job.createdTime).toISOString() : requestedAt;
        if (incremental) {
          const rows = await writeMerged(db, { existing: req.existing!, changedSql: select, primaryKey: primaryKey!, target: req.target });
          return { mode: 'incremental', rows_read: rows, watermark };
        }
        const rows = await copyToParquet(db, select, req.target);
        return { mode: 'full', rows_read: rows, watermark };
      } catch (err) {
        throw new Error(`Keboola table ${req.source_table}: ${(err as Error).message.split('\n')[0]}`);
      } finally {
        db.close();
      }
    },
  };
}
