import { gzipSync } from 'node:zlib';

/** A column of a stand-in table, with its Keboola base type. */
export interface StandInColumn {
  name: string;
  basetype: 'STRING' | 'INTEGER' | 'NUMERIC' | 'FLOAT' | 'BOOLEAN' | 'DATE' | 'TIMESTAMP';
  length?: string;
}

export interface StandInTable {
  id: string;
  bucket: string;
  name: string;
  description?: string;
  primaryKey: string[];
  columns: StandInColumn[];
  /** Rows as strings (Keboola stores text), each with when it was last imported. */
  rows: Array<{ values: Record<string, string>; changedAt: Date }>;
  /** A native-types table: its types are in `definition`, not in column metadata. */
  isTyped?: boolean;
  /** An alias (or a table of a linked bucket) of this table id: it shares its rows and columns. */
  aliasOf?: string;
}

/**
 * How export files are handed out, as the stacks do:
 * - `https`: the manifest lists pre-signed HTTPS slice URLs;
 * - `aws`: `s3://` slice URLs, read with the file's federation token (`credentials`);
 * - `azure`: `azure://<account>.blob.core.windows.net/…` slices, `absCredentials` with a SAS connection string;
 * - `gcp`: `gs://` slices, `gcsCredentials` with an OAuth access token.
 */
export type StandInProvider = 'https' | 'aws' | 'azure' | 'gcp';

/** A failure the stand-in answers once, to the next request whose `METHOD path` matches. */
export interface InjectedFailure {
  match: RegExp;
  status: number;
  retryAfter?: string;
  /** Answer only after this many ms (a source that hangs). */
  delayMs?: number;
}

export interface KeboolaStandIn {
  url: string;
  token: string;
  tables: Map<string, StandInTable>;
  /** Export jobs of these table ids end with status `error`. */
  failExports: Set<string>;
  /** Rows per slice of a sliced export. */
  sliceRows: number;
  /** Where slices live (default `https`, pre-signed URLs). */
  provider: StandInProvider;
  /** Exports are one file with a header row instead of headerless slices. */
  singleFile: boolean;
  /** Polls a job answers `processing` (with `results: []`) before it ends. */
  pollsUntilDone: number;
  /** Failures answered once each, in order, before the normal answer. */
  failures: InjectedFailure[];
  /** Every request as `METHOD path?query`. */
  requests: string[];
  /** When each request arrived (ms, same order as `requests`). */
  requestTimes: number[];
  /** The form parameters of every export-async call. */
  exports: Array<Record<string, string>>;
  /** Storage reads refused for a bad signature or token (should stay empty). */
  refusedReads: string[];
  /** Called before a slice is served (tests hold a download here). */
  onSlice?: (tableId: string, slice: number) => Promise<void> | void;
  addTable(table: Omit<StandInTable, 'rows'> & { rows?: Array<Record<string, string>> }): StandInTable;
  /** Adds an alias of `sourceId` (as a linked bucket's table or an alias table looks). */
  addAlias(alias: { id: string; bucket: string; name: string; sourceId: string }): StandInTable;
  /** Inserts or replaces rows (on the primary key) and stamps them as imported now. */
  upsert(tableId: string, rows: Array<Record<string, string>>): void;
  /** A full load: the table holds exactly these rows, all imported now. */
  replace(tableId: string, rows: Array<Record<string, string>>): void;
  /** Deletes rows by primary key value (one-column keys); the rest keep their import time. */
  deleteRows(tableId: string, keys: string[]): void;
  stop(): void;
}

interface Job {
  id: number;
  tableId: string;
  fileId: number | null;
  polls: number;
  fail: boolean;
  cacheHit: boolean;
  createdTime: string;
}

interface StoredFile {
  tableId: string;
  provider: StandInProvider;
  sliced: boolean;
  /** CSV lines per slice (headerless), or the one file's lines (header first) when not sliced. */
  slices: string[][];
}

/** RFC 4180 field: always quoted, quotes doubled (as Keboola exports). */
const csvField = (v: string) => `"${v.replace(/"/g, '""')}"`;

const AWS_KEY = 'ASIASTANDIN';
const AWS_SESSION = 'stand-in-session-token';
const S3_BUCKET = 'kbc-sapi-files';
const AZURE_ACCOUNT = 'kbcstandin';
const AZURE_SAS = 'sv=2021-08-06&sr=c&sp=rl&sig=stand-in-signature';
const GCS_BUCKET = 'kbc-gcs-files';
const GCS_TOKEN = 'ya29.stand-in-access-token';

/**
 * A local stand-in for the Keboola Storage API v2: token check, buckets, tables with
 * column metadata (honouring `include`), typed and alias tables, asynchronous table
 * export of the `columns` asked for (job waiting → processing with `results: []` →
 * success or error with an exceptionId, `cacheHit` for a repeated export of an unchanged
 * table), file detail with the credential shape of each stack, and gzipped CSV slices
 * (no header) or one file (with a header) served by itself the way S3, Azure Blob
 * Storage and Cloud Storage would: `/<bucket>/<key>` with an AWS presigned query,
 * `/_azure/<account>/<container>/<blob>?<sas>`, `/_gcs/<bucket>/<object>` with a bearer
 * token. Injected failures answer a 5xx or 429 (with Retry-After) once.
 */
export function startKeboolaStandIn(opts: { token?: string } = {}): KeboolaStandIn {
  const token = opts.token ?? 'kbc-test-token';
  const tables = new Map<string, StandInTable>();
  const jobs = new Map<number, Job>();
  const files = new Map<number, StoredFile>();
  /** The last export of each (table, columns, changedSince), for cacheHit. */
  const exportCache = new Map<string, { fileId: number; at: number }>();
  let seq = 100;
  const requests: string[] = [];
  const requestTimes: number[] = [];

  const rowsOf = (t: StandInTable) => (t.aliasOf ? tables.get(t.aliasOf)!.rows : t.rows);
  const columnsOfTable = (t: StandInTable) => (t.aliasOf ? tables.get(t.aliasOf)!.columns : t.columns);
  const lastChange = (t: StandInTable) => Math.max(0, ...rowsOf(t).map((r) => r.changedAt.getTime()), (t as { touched?: number }).touched ?? 0);

  const hints = (c: StandInColumn) => [
    { key: 'KBC.datatype.type', value: c.basetype === 'STRING' ? 'VARCHAR' : c.basetype, provider: 'user' },
    { key: 'KBC.datatype.basetype', value: c.basetype, provider: 'user' },
    ...(c.length ? [{ key: 'KBC.datatype.length', value: c.length, provider: 'user' }] : []),
  ];

  const tableJson = (t: StandInTable, include: Set<string>) => {
    const source = t.aliasOf ? tables.get(t.aliasOf)! : undefined;
    const cols = columnsOfTable(t);
    const body: Record<string, unknown> = {
      id: t.id,
      name: t.name,
      displayName: t.name,
      bucket: { id: t.bucket },
      primaryKey: source?.primaryKey ?? t.primaryKey,
      rowsCount: rowsOf(t).length,
      isTyped: !!(source ?? t).isTyped,
      isAlias: !!source,
    };
    if (source) body.sourceTable = { id: source.id, project: { id: 7, name: 'Shared data project' } };
    if ((source ?? t).isTyped) {
      body.definition = {
        primaryKeysNames: (source ?? t).primaryKey,
        columns: cols.map((c) => ({
          name: c.name, basetype: c.basetype,
          definition: { type: c.basetype === 'STRING' ? 'VARCHAR' : c.basetype === 'INTEGER' ? 'NUMBER' : c.basetype, nullable: true, ...(c.length ? { length: c.length } : {}) },
        })),
      };
    }
    if (include.has('columns')) body.columns = cols.map((c) => c.name);
    if (include.has('columnMetadata')) {
      // An alias has no hints of its own: they come with the source table's, as sourceColumnMetadata.
      body.columnMetadata = source || t.isTyped ? {} : Object.fromEntries(cols.map((c) => [c.name, hints(c)]));
      if (source) body.sourceColumnMetadata = source.isTyped ? {} : Object.fromEntries(cols.map((c) => [c.name, hints(c)]));
    }
    if (include.has('metadata')) body.metadata = t.description ? [{ key: 'KBC.description', value: t.description, provider: 'user' }] : [];
    return body;
  };
  const ALL = new Set(['columns', 'columnMetadata', 'metadata']);

  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => Response.json(body, { status, headers });
  const error = (status: number, message: string, code: string) =>
    json({ error: message, code, status: 'error', exceptionId: `exception-${(++seq).toString(16)}` }, status);

  const sliceKey = (fileId: number, i: number) => `exports/${fileId}/part${String(i).padStart(4, '0')}.csv.gz`;

  async function serveSlice(fileId: number, index: number): Promise<Response> {
    const file = files.get(fileId);
    const slice = file?.slices[index];
    if (!file || !slice) return new Response('<Error><Code>NoSuchKey</Code></Error>', { status: 404 });
    await stand.onSlice?.(file.tableId, index);
    const body = slice.length ? slice.join('\n') + '\n' : '';
    return new Response(gzipSync(body), { headers: { 'content-type': 'application/octet-stream' } });
  }

  function manifestEntries(fileId: number, base: string) {
    const file = files.get(fileId)!;
    return file.slices.map((_, i) => {
      const key = sliceKey(fileId, i);
      switch (file.provider) {
        case 'aws':
          return { url: `s3://${S3_BUCKET}/${key}` };
        case 'azure':
          return { url: `azure://${AZURE_ACCOUNT}.blob.core.windows.net/exp-${fileId}/${key}` };
        case 'gcp':
          return { url: `gs://${GCS_BUCKET}/${key}` };
        default:
          return { url: `${base}/_files/${fileId}/slices/${i}?X-Amz-Signature=presigned` };
      }
    });
  }

  function fileJson(id: number, base: string, federation: boolean) {
    const file = files.get(id)!;
    const common = {
      id, name: `${file.tableId}.csv.gz`, isSliced: file.sliced, isEncrypted: true, sizeBytes: 0,
      url: file.sliced ? `${base}/_files/${id}/manifest?signature=presigned` : `${base}/_files/${id}/slices/0?signature=presigned`,
      created: new Date().toISOString(),
    };
    switch (file.provider) {
      case 'azure':
        return {
          ...common, provider: 'azure', region: 'westeurope',
          absPath: { container: `exp-${id}`, name: file.sliced ? `${sliceKey(id, 0).replace(/part0000.csv.gz$/, '')}manifest` : sliceKey(id, 0) },
          ...(federation
            ? { absCredentials: { SASConnectionString: `BlobEndpoint=${base}/_azure/${AZURE_ACCOUNT};SharedAccessSignature=${AZURE_SAS}`, expiration: new Date(Date.now() + 36e5).toISOString() } }
            : {}),
        };
      case 'gcp':
        return {
          ...common, provider: 'gcp', region: 'europe-west3',
          gcsPath: { bucket: GCS_BUCKET, key: `exports/${id}/manifest` },
          ...(federation ? { gcsCredentials: { access_token: GCS_TOKEN, expires_in: 3600, token_type: 'Bearer', projectId: 'kbc-stand-in' } } : {}),
        };
      default:
        return {
          ...common, provider: 'aws', region: 'us-east-1',
          s3Path: { bucket: S3_BUCKET, key: `exports/${id}/` },
          ...(federation
            ? { credentials: { AccessKeyId: AWS_KEY, SecretAccessKey: 'stand-in-secret', SessionToken: AWS_SESSION, Expiration: new Date(Date.now() + 36e5).toISOString() } }
            : {}),
        };
    }
  }

  let port = 0;
  const server: ReturnType<typeof Bun.serve> = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req): Promise<Response> {
      const url = new URL(req.url);
      const path = decodeURIComponent(url.pathname);
      const line = `${req.method} ${url.pathname}${url.search}`;
      requests.push(line);
      requestTimes.push(performance.now());
      const base: string = `http://127.0.0.1:${port}`;

      const injected = stand.failures.findIndex((f) => f.match.test(line));
      if (injected >= 0) {
        const [f] = stand.failures.splice(injected, 1);
        if (f!.delayMs) await Bun.sleep(f!.delayMs);
        return json({ error: 'Service temporarily unavailable', code: 'maintenance', status: 'error', exceptionId: 'exception-retry' }, f!.status,
          f!.retryAfter !== undefined ? { 'retry-after': f!.retryAfter } : {});
      }

      // File storages: pre-signed or credential-checked reads, no Storage API token.
      let m = /^\/_files\/(\d+)\/manifest$/.exec(path);
      if (m && req.method === 'GET') {
        if (!files.has(Number(m[1]))) return new Response('NoSuchKey', { status: 404 });
        return json({ entries: manifestEntries(Number(m[1]), base) });
      }
      m = /^\/_files\/(\d+)\/slices\/(\d+)$/.exec(path);
      if (m && req.method === 'GET') return serveSlice(Number(m[1]), Number(m[2]));
      m = new RegExp(`^/${S3_BUCKET}/exports/(\\d+)/part(\\d+)\\.csv\\.gz$`).exec(path);
      if (m && req.method === 'GET') {
        const credential = url.searchParams.get('X-Amz-Credential') ?? '';
        if (!credential.startsWith(`${AWS_KEY}/`) || url.searchParams.get('X-Amz-Security-Token') !== AWS_SESSION || !url.searchParams.get('X-Amz-Signature')) {
          stand.refusedReads.push(line);
          return new Response('<Error><Code>AccessDenied</Code></Error>', { status: 403 });
        }
        return serveSlice(Number(m[1]), Number(m[2]));
      }
      m = new RegExp(`^/_azure/${AZURE_ACCOUNT}/exp-(\\d+)/exports/\\d+/part(\\d+)\\.csv\\.gz$`).exec(path);
      if (m && req.method === 'GET') {
        if (url.searchParams.get('sig') !== 'stand-in-signature' || url.searchParams.get('sv') !== '2021-08-06') {
          stand.refusedReads.push(line);
          return new Response('<Error><Code>AuthenticationFailed</Code></Error>', { status: 403 });
        }
        return serveSlice(Number(m[1]), Number(m[2]));
      }
      m = new RegExp(`^/_gcs/${GCS_BUCKET}/exports/(\\d+)/part(\\d+)\\.csv\\.gz$`).exec(path);
      if (m && req.method === 'GET') {
        if (req.headers.get('authorization') !== `Bearer ${GCS_TOKEN}`) {
          stand.refusedReads.push(line);
          return json({ error: { code: 401, message: 'Invalid Credentials' } }, 401);
        }
        return serveSlice(Number(m[1]), Number(m[2]));
      }

      if (req.headers.get('x-storageapi-token') !== token) return error(401, 'Invalid access token', 'storage.tokenInvalid');

      if (req.method === 'GET' && path === '/v2/storage/buckets') {
        const buckets = [...new Set([...tables.values()].map((t) => t.bucket))].sort();
        return json(buckets.map((id) => ({ id, name: id.split('.').pop()!.replace(/^c-/, ''), stage: id.split('.')[0] })));
      }
      m = /^\/v2\/storage\/buckets\/([^/]+)\/tables$/.exec(path);
      if (req.method === 'GET' && m) {
        if (![...tables.values()].some((t) => t.bucket === m![1])) return error(404, `Bucket ${m[1]} not found`, 'storage.buckets.notFound');
        const include = new Set((url.searchParams.get('include') ?? '').split(',').filter(Boolean));
        return json([...tables.values()].filter((t) => t.bucket === m![1]).map((t) => tableJson(t, include)));
      }
      m = /^\/v2\/storage\/tables\/([^/]+)$/.exec(path);
      if (req.method === 'GET' && m) {
        const t = tables.get(m[1]!);
        return t ? json(tableJson(t, ALL)) : error(404, `The table "${m[1]}" was not found`, 'storage.tables.notFound');
      }
      m = /^\/v2\/storage\/tables\/([^/]+)\/export-async$/.exec(path);
      if (req.method === 'POST' && m) {
        const t = tables.get(m[1]!);
        if (!t) return error(404, `The table "${m[1]}" was not found`, 'storage.tables.notFound');
        const type = req.headers.get('content-type') ?? '';
        const params = type.includes('json')
          ? ((await req.json()) as Record<string, string>)
          : Object.fromEntries(new URLSearchParams(await req.text()));
        stand.exports.push(params);
        if (params.format && params.format !== 'rfc') return error(400, 'Invalid format', 'storage.validation');
        // Unix seconds (an ISO time or a relative "-1 day" are accepted by the real API too).
        const since = params.changedSince ? new Date(/^\d+$/.test(params.changedSince) ? Number(params.changedSince) * 1000 : params.changedSince) : null;
        if (since && Number.isNaN(since.getTime())) return error(400, 'Invalid changedSince', 'storage.validation');
        const all = columnsOfTable(t).map((c) => c.name);
        const cols = params.columns ? params.columns.split(',') : all;
        const unknown = cols.filter((c) => !all.includes(c));
        if (unknown.length) return error(400, `Columns ${unknown.join(', ')} not found in table ${t.id}`, 'storage.tables.columnNotFound');
        const fail = stand.failExports.has(t.id);
        let fileId: number | null = null;
        let cacheHit = false;
        if (!fail) {
          const key = `${t.id}|${cols.join(',')}|${params.changedSince ?? ''}|${stand.provider}|${stand.singleFile}`;
          const cached = exportCache.get(key);
          if (cached && cached.at >= lastChange(t)) {
            fileId = cached.fileId;
            cacheHit = true;
          } else {
            // The snapshot is taken when the job is created, like a real export.
            const rows = rowsOf(t).filter((r) => !since || r.changedAt >= since);
            const lines = rows.map((r) => cols.map((c) => csvField(r.values[c] ?? '')).join(','));
            let slices: string[][];
            if (stand.singleFile) slices = [[cols.map(csvField).join(','), ...lines]];
            else {
              slices = [];
              for (let i = 0; i < lines.length; i += stand.sliceRows) slices.push(lines.slice(i, i + stand.sliceRows));
            }
            fileId = ++seq;
            files.set(fileId, { tableId: t.id, provider: stand.provider, sliced: !stand.singleFile, slices });
            exportCache.set(key, { fileId, at: Date.now() });
          }
        }
        const job: Job = { id: ++seq, tableId: t.id, fileId, polls: 0, fail, cacheHit, createdTime: new Date().toISOString() };
        jobs.set(job.id, job);
        return json({ id: job.id, status: 'waiting', operationName: 'tableExport', createdTime: job.createdTime, results: null, url: `${base}/v2/storage/jobs/${job.id}` }, 202);
      }
      m = /^\/v2\/storage\/jobs\/(\d+)$/.exec(path);
      if (req.method === 'GET' && m) {
        const job = jobs.get(Number(m[1]));
        if (!job) return error(404, 'Job not found', 'storage.jobs.notFound');
        job.polls++;
        const status = job.polls < stand.pollsUntilDone ? 'processing' : job.fail ? 'error' : 'success';
        return json({
          id: job.id, status, operationName: 'tableExport', createdTime: job.createdTime, tableId: job.tableId,
          results: status === 'success' ? { file: { id: job.fileId }, cacheHit: job.cacheHit } : status === 'error' ? null : [],
          error: status === 'error'
            ? { code: 'storage.export.failed', message: `Export of table ${job.tableId} failed in the backend`, exceptionId: `exception-job-${job.id}` }
            : null,
        });
      }
      m = /^\/v2\/storage\/files\/(\d+)$/.exec(path);
      if (req.method === 'GET' && m) {
        const id = Number(m[1]);
        if (!files.has(id)) return error(404, 'File not found', 'storage.files.notFound');
        return json(fileJson(id, base, url.searchParams.get('federationToken') === '1'));
      }
      return error(404, `no route ${req.method} ${path}`, 'notFound');
    },
  });

  port = server.port!;
  const keyOf = (t: StandInTable, values: Record<string, string>) => t.primaryKey.map((k) => values[k]).join('\u0000');
  const stand: KeboolaStandIn = {
    url: `http://127.0.0.1:${port}`,
    token,
    tables,
    failExports: new Set(),
    sliceRows: 2,
    provider: 'https',
    singleFile: false,
    pollsUntilDone: 2,
    failures: [],
    requests,
    requestTimes,
    exports: [],
    refusedReads: [],
    addTable(table) {
      // Rows a table starts with were imported a while ago (changedSince has one-second steps).
      const earlier = new Date(Date.now() - 60_000);
      const full: StandInTable = { ...table, rows: (table.rows ?? []).map((values) => ({ values, changedAt: earlier })) };
      tables.set(full.id, full);
      return full;
    },
    addAlias({ id, bucket, name, sourceId }) {
      const source = tables.get(sourceId)!;
      const alias: StandInTable = { id, bucket, name, primaryKey: source.primaryKey, columns: [], rows: [], aliasOf: sourceId };
      tables.set(id, alias);
      return alias;
    },
    upsert(tableId, rows) {
      const t = tables.get(tableId)!;
      for (const values of rows) {
        const i = t.rows.findIndex((r) => keyOf(t, r.values) === keyOf(t, values));
        const row = { values, changedAt: new Date() };
        if (i >= 0) t.rows[i] = row;
        else t.rows.push(row);
      }
    },
    replace(tableId, rows) {
      const t = tables.get(tableId)!;
      t.rows = rows.map((values) => ({ values, changedAt: new Date() }));
    },
    deleteRows(tableId, keys) {
      const t = tables.get(tableId)!;
      t.rows = t.rows.filter((r) => !keys.includes(r.values[t.primaryKey[0]!]!));
      (t as { touched?: number }).touched = Date.now();
    },
    stop() {
      server.stop(true);
    },
  };
  return stand;
}
