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
  /** Rows as strings (Keboola stores text), each with when it last changed. */
  rows: Array<{ values: Record<string, string>; changedAt: Date }>;
}

export interface KeboolaStandIn {
  url: string;
  token: string;
  tables: Map<string, StandInTable>;
  /** Export jobs of these table ids end with status `error`. */
  failExports: Set<string>;
  /** Rows per slice of a sliced export. */
  sliceRows: number;
  /** Every request as `METHOD path?query`. */
  requests: string[];
  /** Called before a slice is served (tests hold a download here). */
  onSlice?: (tableId: string, slice: number) => Promise<void> | void;
  addTable(table: Omit<StandInTable, 'rows'> & { rows?: Array<Record<string, string>> }): StandInTable;
  /** Inserts or replaces rows (on the primary key) and stamps them as changed now. */
  upsert(tableId: string, rows: Array<Record<string, string>>): void;
  stop(): void;
}

interface Job {
  id: number;
  tableId: string;
  fileId: number | null;
  polls: number;
  fail: boolean;
  createdTime: string;
}

/** RFC 4180 field: always quoted, quotes doubled (as Keboola exports). */
const csvField = (v: string) => `"${v.replace(/"/g, '""')}"`;

/**
 * A local stand-in for the Keboola Storage API v2: token check, buckets, tables with
 * column metadata, asynchronous table export (job waiting → processing → success or
 * error), file detail with a sliced-file manifest, and gzipped CSV slices (no header)
 * served by itself, the way S3 would serve the pre-signed URLs.
 */
export function startKeboolaStandIn(opts: { token?: string } = {}): KeboolaStandIn {
  const token = opts.token ?? 'kbc-test-token';
  const tables = new Map<string, StandInTable>();
  const jobs = new Map<number, Job>();
  const files = new Map<number, { tableId: string; slices: string[][] }>();
  let seq = 100;
  const requests: string[] = [];

  const tableJson = (t: StandInTable) => ({
    id: t.id,
    name: t.name,
    displayName: t.name,
    bucket: { id: t.bucket },
    primaryKey: t.primaryKey,
    rowsCount: t.rows.length,
    isTyped: false,
    columns: t.columns.map((c) => c.name),
    columnMetadata: Object.fromEntries(
      t.columns.map((c) => [c.name, [
        { key: 'KBC.datatype.type', value: c.basetype === 'STRING' ? 'VARCHAR' : c.basetype, provider: 'user' },
        { key: 'KBC.datatype.basetype', value: c.basetype, provider: 'user' },
        ...(c.length ? [{ key: 'KBC.datatype.length', value: c.length, provider: 'user' }] : []),
      ]]),
    ),
    metadata: t.description ? [{ key: 'KBC.description', value: t.description, provider: 'user' }] : [],
  });

  const json = (body: unknown, status = 200) => Response.json(body, { status });
  const error = (status: number, message: string, code: string) => json({ error: message, code, status: 'error' }, status);

  let port = 0;
  const server: ReturnType<typeof Bun.serve> = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req): Promise<Response> {
      const url = new URL(req.url);
      const path = decodeURIComponent(url.pathname);
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      const base: string = `http://127.0.0.1:${port}`;

      // Pre-signed file URLs carry no token (like S3).
      let m = /^\/_files\/(\d+)\/manifest$/.exec(path);
      if (m && req.method === 'GET') {
        const file = files.get(Number(m[1]));
        if (!file) return new Response('NoSuchKey', { status: 404 });
        return json({ entries: file.slices.map((_, i) => ({ url: `${base}/_files/${m![1]}/slices/part${i}.csv.gz` })) });
      }
      m = /^\/_files\/(\d+)\/slices\/part(\d+)\.csv\.gz$/.exec(path);
      if (m && req.method === 'GET') {
        const file = files.get(Number(m[1]));
        const slice = file?.slices[Number(m[2])];
        if (!file || !slice) return new Response('NoSuchKey', { status: 404 });
        await stand.onSlice?.(file.tableId, Number(m[2]));
        const body = slice.length ? slice.join('\n') + '\n' : '';
        return new Response(gzipSync(body), { headers: { 'content-type': 'application/octet-stream' } });
      }

      if (req.headers.get('x-storageapi-token') !== token) return error(401, 'Invalid access token', 'storage.tokenInvalid');

      if (req.method === 'GET' && path === '/v2/storage/buckets') {
        const buckets = [...new Set([...tables.values()].map((t) => t.bucket))].sort();
        return json(buckets.map((id) => ({ id, name: id.split('.').pop()!.replace(/^c-/, ''), stage: id.split('.')[0] })));
      }
      m = /^\/v2\/storage\/buckets\/([^/]+)\/tables$/.exec(path);
      if (req.method === 'GET' && m) {
        const list = [...tables.values()].filter((t) => t.bucket === m![1]);
        if (!list.length && ![...tables.values()].some((t) => t.bucket === m![1])) return error(404, `Bucket ${m[1]} not found`, 'storage.buckets.notFound');
        return json(list.map(tableJson));
      }
      m = /^\/v2\/storage\/tables\/([^/]+)$/.exec(path);
      if (req.method === 'GET' && m) {
        const t = tables.get(m[1]!);
        return t ? json(tableJson(t)) : error(404, `The table "${m[1]}" was not found`, 'storage.tables.notFound');
      }
      m = /^\/v2\/storage\/tables\/([^/]+)\/export-async$/.exec(path);
      if (req.method === 'POST' && m) {
        const t = tables.get(m[1]!);
        if (!t) return error(404, `The table "${m[1]}" was not found`, 'storage.tables.notFound');
        const type = req.headers.get('content-type') ?? '';
        const params = type.includes('json')
          ? ((await req.json()) as Record<string, string>)
          : Object.fromEntries(new URLSearchParams(await req.text()));
        if (params.format && params.format !== 'rfc') return error(400, 'Invalid format', 'storage.validation');
        const since = params.changedSince ? new Date(/^\d+$/.test(params.changedSince) ? Number(params.changedSince) * 1000 : params.changedSince) : null;
        if (since && Number.isNaN(since.getTime())) return error(400, 'Invalid changedSince', 'storage.validation');
        const fail = stand.failExports.has(t.id);
        let fileId: number | null = null;
        if (!fail) {
          // The snapshot is taken when the job is created, like a real export.
          const rows = t.rows.filter((r) => !since || r.changedAt > since);
          const lines = rows.map((r) => t.columns.map((c) => csvField(r.values[c.name] ?? '')).join(','));
          const slices: string[][] = [];
          for (let i = 0; i < lines.length; i += stand.sliceRows) slices.push(lines.slice(i, i + stand.sliceRows));
          if (!slices.length) slices.push([]);
          fileId = ++seq;
          files.set(fileId, { tableId: t.id, slices });
        }
        const job: Job = { id: ++seq, tableId: t.id, fileId, polls: 0, fail, createdTime: new Date().toISOString() };
        jobs.set(job.id, job);
        return json({ id: job.id, status: 'waiting', operationName: 'tableExport', createdTime: job.createdTime, url: `${base}/v2/storage/jobs/${job.id}` }, 202);
      }
      m = /^\/v2\/storage\/jobs\/(\d+)$/.exec(path);
      if (req.method === 'GET' && m) {
        const job = jobs.get(Number(m[1]));
        if (!job) return error(404, 'Job not found', 'storage.jobs.notFound');
        job.polls++;
        const status = job.polls < 2 ? 'processing' : job.fail ? 'error' : 'success';
        return json({
          id: job.id, status, operationName: 'tableExport', createdTime: job.createdTime, tableId: job.tableId,
          results: status === 'success' ? { file: { id: job.fileId } } : null,
          error: status === 'error' ? { code: 'storage.export.failed', message: `Export of table ${job.tableId} failed in the backend` } : null,
        });
      }
      m = /^\/v2\/storage\/files\/(\d+)$/.exec(path);
      if (req.method === 'GET' && m) {
        const id = Number(m[1]);
        if (!files.has(id)) return error(404, 'File not found', 'storage.files.notFound');
        return json({
          id, name: `${files.get(id)!.tableId}.csv.gz`, isSliced: true, isEncrypted: true, provider: 'aws', region: 'us-east-1',
          url: `${base}/_files/${id}/manifest`, sizeBytes: 0,
          ...(url.searchParams.get('federationToken') === '1'
            ? { credentials: { AccessKeyId: 'ASIASTANDIN', SecretAccessKey: 'stand-in', SessionToken: 'stand-in', Expiration: new Date(Date.now() + 36e5).toISOString() } }
            : {}),
        });
      }
      return error(404, `no route ${req.method} ${path}`, 'notFound');
    },
  });

  port = server.port!;
  const stand: KeboolaStandIn = {
    url: `http://127.0.0.1:${port}`,
    token,
    tables,
    failExports: new Set(),
    sliceRows: 2,
    requests,
    addTable(table) {
      const full: StandInTable = { ...table, rows: (table.rows ?? []).map((values) => ({ values, changedAt: new Date() })) };
      tables.set(full.id, full);
      return full;
    },
    upsert(tableId, rows) {
      const t = tables.get(tableId)!;
      for (const values of rows) {
        const key = t.primaryKey.map((k) => values[k]).join('\u0000');
        const i = t.rows.findIndex((r) => t.primaryKey.map((k) => r.values[k]).join('\u0000') === key);
        const row = { values, changedAt: new Date() };
        if (i >= 0) t.rows[i] = row;
        else t.rows.push(row);
      }
    },
    stop() {
      server.stop(true);
    },
  };
  return stand;
}
